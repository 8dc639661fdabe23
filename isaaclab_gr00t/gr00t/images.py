"""Camera observations to GR00T N1.5's vision input, as its published evaluation transforms prepare them.

Each camera frame becomes one RGB view: centre crop to ``int(0.95 * side)`` pixels of each side, bilinear
(antialiased) resize to the vision tower's size (224 for N1.5), then the Eagle processor's normalization
``(x - 0.5) / 0.5`` of ``x`` in [0, 1] (docs/gr00t.md, "Inputs").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CROP_SCALE = 0.95
"""Side fraction of the centre crop (N1.5's evaluation transform; training used a random crop of this size)."""


def camera_views(
    images: list[torch.Tensor], image_size: int, pixel_scale: float, pixel_offset: float, channels_per_frame: int = 3
) -> torch.Tensor:
    """Turn camera observation groups into normalized vision-tower views.

    Args:
        images: Image groups, each ``(N, K * C, H, W)`` (Isaac Lab's channel-first frame stacks) or ``(N, H, W, C)``
            (camera terms in channel-last layout, one frame).
        image_size: Side length of the vision tower's input.
        pixel_scale: Factor that maps observation values to [0, 1] (``1/255`` for uint8 pixels).
        pixel_offset: Added after scaling (``0.5`` for Isaac Lab's mean-subtracted ``pixel / 255 - mean`` images).
        channels_per_frame: 3 for RGB frames, 1 for grey or depth frames (repeated to RGB).

    Returns:
        ``(N, V, 3, image_size, image_size)`` float views in [-1, 1], V = frames over all groups, in group order.

    Raises:
        ValueError: If a group's channel count is not a multiple of ``channels_per_frame``.
    """
    views = []
    for group in images:
        frames = _channel_first_frames(group, channels_per_frame)
        pixels = (frames.float() * pixel_scale + pixel_offset).clamp(0.0, 1.0)
        views.append(_crop_and_resize(pixels, image_size).unflatten(0, (group.shape[0], -1)))
    return (torch.cat(views, dim=1) - 0.5) / 0.5


def count_views(images: list[torch.Tensor], channels_per_frame: int = 3) -> int:
    """Views one sample of ``images`` gives (frames over all groups), from the shapes alone."""
    return sum(_channel_first_frames(group[:1], channels_per_frame).shape[0] for group in images)


def _channel_first_frames(group: torch.Tensor, channels_per_frame: int) -> torch.Tensor:
    """``(N * K, 3, H, W)`` RGB frames of one observation group."""
    if group.shape[-1] == channels_per_frame and group.shape[1] != channels_per_frame:
        group = group.permute(0, 3, 1, 2)  # channel-last camera term
    if group.shape[1] % channels_per_frame:
        raise ValueError(
            f"An image observation of shape {tuple(group.shape)} is not a stack of frames of cfg field"
            f" 'channels_per_frame'={channels_per_frame}."
        )
    frames = group.unflatten(1, (-1, channels_per_frame)).flatten(0, 1)
    return frames.expand(-1, 3, -1, -1) if channels_per_frame == 1 else frames


def _crop_and_resize(frames: torch.Tensor, image_size: int) -> torch.Tensor:
    """Centre crop to ``CROP_SCALE`` of each side, then resize to ``image_size`` (bilinear, antialiased)."""
    height, width = frames.shape[-2:]
    crop_h, crop_w = max(1, int(height * CROP_SCALE)), max(1, int(width * CROP_SCALE))  # truncated, as published
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    frames = frames[..., top : top + crop_h, left : left + crop_w]
    return F.interpolate(frames, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
