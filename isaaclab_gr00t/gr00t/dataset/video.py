"""Camera frames to the dataset's videos: H.264 in an MP4 container, yuv420p, as GR00T N1.5's demo data is stored.

yuv420p stores colour at half the resolution in both directions, so a frame's width and height must be even; an
odd size is refused (a padded video would no longer be the camera's image, so the choice is left to the caller).
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

CODEC = "h264"
PIXEL_FORMAT = "yuv420p"
ENCODER_OPTIONS = {"crf": "18"}
"""libx264's constant-quality setting: 18 is visually lossless (the default 23 blurs the small camera frames)."""


def check_frames(frames: np.ndarray, what: str) -> None:
    """Raise ValueError naming ``what`` unless ``frames`` is ``(T, H, W, 3)`` uint8 with even ``H`` and ``W``."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"{what}: expected (T, H, W, 3) uint8 RGB frames, got {frames.dtype} {frames.shape}")
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        raise ValueError(f"{what}: {PIXEL_FORMAT} video needs an even width and height, got {width}x{height}")


def encode_video(path: str, frames: np.ndarray, fps: float) -> None:
    """Write ``(T, H, W, 3)`` uint8 RGB ``frames`` to ``path`` as an H.264 MP4 at ``fps`` frames a second."""
    with av.open(path, mode="w") as container:
        stream = container.add_stream(CODEC, rate=Fraction(fps).limit_denominator(1000), options=ENCODER_OPTIONS)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = PIXEL_FORMAT
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())  # flush the frames the encoder still holds
