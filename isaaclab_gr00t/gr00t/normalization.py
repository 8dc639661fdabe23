"""State normalization and action un-normalization with an embodiment's statistics (``min_max`` mode).

GR00T N1.5 sees states mapped to [-1, 1] per dimension and zero-padded to ``max_state_dim`` (64), and predicts
actions in [-1, 1] padded to ``max_action_dim`` (32). The checkpoint's ``experiment_cfg/metadata.json`` holds,
per embodiment, ``statistics.{state,action}.{key}.{min,max,...}``; the keys' dimensions, concatenated in file
order, are the robot's state or action vector. Without statistics (a new robot whose env already gives values
in about [-1, 1]) both maps are the identity.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .n15.embodiments import EmbodimentStatistics


class MinMaxMap(nn.Module):
    """``normalize``: x -> 2 (x - min) / (max - min) - 1, clipped to [-1, 1]; ``unnormalize`` its inverse."""

    def __init__(self, low: torch.Tensor | None, high: torch.Tensor | None) -> None:
        """Store the bounds (None for the identity map)."""
        super().__init__()
        self.identity = low is None
        if not self.identity:
            span = (high - low).clamp_min(1e-8)  # a constant dimension maps to -1, as the published transform does
            self.register_buffer("low", low.float(), persistent=False)
            self.register_buffer("span", span.float(), persistent=False)

    @property
    def dim(self) -> int | None:
        """Dimensions the statistics describe (None for the identity)."""
        return None if self.identity else self.low.numel()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Map raw values to [-1, 1]."""
        return x if self.identity else (2.0 * (x - self.low) / self.span - 1.0).clamp(-1.0, 1.0)

    def unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Map [-1, 1] values back to raw values."""
        return x if self.identity else (x.clamp(-1.0, 1.0) + 1.0) / 2.0 * self.span + self.low


def min_max_map(statistics: EmbodimentStatistics | None, modality: str, env_dim: int, source: str) -> MinMaxMap:
    """Build the ``modality`` ("state" or "action") map of an embodiment, checked against the env's size.

    Args:
        statistics: The embodiment's statistics from ``metadata.json``, or None for the identity.
        modality: ``state`` or ``action``.
        env_dim: The env's state or action size that the map is applied to.
        source: What to name in errors (the metadata file and embodiment).

    Raises:
        ValueError: If the statistics' concatenated size differs from ``env_dim``.
    """
    if statistics is None:
        return MinMaxMap(None, None)
    keys = getattr(statistics, modality)
    low = torch.cat([torch.as_tensor(keys[key].min, dtype=torch.float32).flatten() for key in keys])
    high = torch.cat([torch.as_tensor(keys[key].max, dtype=torch.float32).flatten() for key in keys])
    if low.numel() != env_dim:
        raise ValueError(
            f"{source}: the {modality} statistics describe {low.numel()} dimensions ({', '.join(keys)}) but the env's"
            f" {modality} has {env_dim}; set the actor cfg field 'use_statistics' to False for a robot of its own."
        )
    return MinMaxMap(low, high)


def pad_to(x: torch.Tensor, width: int, what: str) -> torch.Tensor:
    """Zero-pad the last dimension of ``x`` to ``width`` (the model's ``max_state_dim`` or ``max_action_dim``)."""
    if x.shape[-1] > width:
        raise ValueError(f"The env's {what} has {x.shape[-1]} dimensions, more than the model's {width}.")
    return torch.nn.functional.pad(x, (0, width - x.shape[-1]))
