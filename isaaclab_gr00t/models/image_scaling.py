"""Image scaling to [0, 1] in front of a CNN encoder (detail 22 of Huang et al., ICLR 2022 blog track)."""

from __future__ import annotations

import torch
import torch.nn as nn


class ScaledImageEncoder(nn.Module):
    """Casts images to float and multiplies them by ``scale`` before the wrapped encoder.

    Exposes the wrapped encoder's ``output_dim``/``output_channels`` so rsl_rl's CNNModel keeps working.
    """

    def __init__(self, encoder: nn.Module, scale: float = 1.0 / 255.0) -> None:
        """Wrap ``encoder``."""
        super().__init__()
        self.encoder = encoder
        self.scale = float(scale)
        self.output_dim = getattr(encoder, "output_dim", None)
        self.output_channels = getattr(encoder, "output_channels", None)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Scale, then encode."""
        return self.encoder(images.float() * self.scale)
