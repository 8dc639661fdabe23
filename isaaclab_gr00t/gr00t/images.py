"""Camera observations to vision-tower input."""

from __future__ import annotations

import torch
import torch.nn as nn


def camera_frames(images: list[torch.Tensor], channels_per_frame: int, image_size: int, scale: float) -> torch.Tensor:
    """Turn channel-stacked camera observations into SigLIP views.

    Isaac Lab camera tasks stack ``K`` frames along channels, ``(N, K * C, H, W)``; RGB frames come as
    ``pixel / 255 - per-image mean``, so ``scale = 2`` maps them to about SigLIP's ``2 * pixel / 255 - 1``.

    Args:
        images: Image observation groups, each ``(N, K * channels_per_frame, H, W)``.
        channels_per_frame: 3 for RGB frames, 1 for single-channel frames (repeated to RGB).
        image_size: Side length the vision tower expects.
        scale: Factor applied to the observation values.

    Returns:
        ``(N, V, 3, image_size, image_size)`` views, V = frames over all groups.

    Raises:
        ValueError: If a group's channel count is not a multiple of ``channels_per_frame``.
    """
    views = []
    for group in images:
        if group.shape[1] % channels_per_frame:
            raise ValueError(
                f"Image observation with {group.shape[1]} channels is not a stack of frames of cfg field"
                f" 'channels_per_frame'={channels_per_frame}."
            )
        frames = group.unflatten(1, (-1, channels_per_frame)).flatten(0, 1)
        if channels_per_frame == 1:
            frames = frames.expand(-1, 3, -1, -1)
        if frames.shape[-2:] != (image_size, image_size):
            frames = nn.functional.interpolate(frames, size=(image_size, image_size), mode="bilinear", align_corners=False)
        views.append(frames.unflatten(0, (group.shape[0], -1)))
    return torch.cat(views, dim=1) * scale
