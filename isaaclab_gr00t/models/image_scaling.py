"""Wrappers in front of a CNN encoder: image scaling to [0, 1] (detail 22 of Huang et al., ICLR 2022 blog track)
and the channels-last memory format."""

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


class ToChannelsLast(nn.Module):
    """Copies ``[B, C, H, W]`` images into the channels-last (NHWC) memory format; values and shape stay the same."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.contiguous(memory_format=torch.channels_last)


def use_channels_last(cnn: nn.Sequential) -> None:
    """Run a sequential CNN (rsl_rl's ``CNN``) in the channels-last memory format: same weights and maths, other
    kernels.

    cuDNN runs few-channel float32 convolutions in the default NCHW format with generic kernels; in NHWC it picks
    tensor-core kernels (TF32 where allowed): on an H200 the camera task's actor CNN took 15% less time for a forward
    and backward pass over 4096 images (docs/benchmarks.md, session 7). The parameters are converted here, and a
    parameter-free first layer copies the input into the format; the other layers keep their names, so the state
    dict and checkpoints stay as they were. Calling it again changes nothing.
    """
    if "to_channels_last" in cnn._modules:
        return
    cnn.to(memory_format=torch.channels_last)
    layers = list(cnn._modules.items())
    cnn._modules.clear()
    cnn._modules["to_channels_last"] = ToChannelsLast()
    cnn._modules.update(layers)
