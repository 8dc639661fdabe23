"""Lets Gymnasium's MuJoCo environments import when the optional ``imageio`` package is absent.

``gymnasium.envs.mujoco.mujoco_rendering`` imports ``imageio`` at module level but only calls it to write rendered
frames to disk, which training never does. When ``imageio`` is not installed, an empty placeholder module is
registered so the environments load; any attempt to write frames then fails with AttributeError. Installing
``imageio`` (Gymnasium's ``mujoco`` extra) makes this a no-op.
"""

from __future__ import annotations

import importlib.util
import sys
import types


def ensure_mujoco_envs_importable() -> None:
    """Register the placeholder ``imageio`` module if the real one is missing."""
    if "imageio" not in sys.modules and importlib.util.find_spec("imageio") is None:
        placeholder = types.ModuleType("imageio")
        placeholder.__doc__ = "Placeholder registered by isaaclab_gr00t.gym: imageio is not installed."
        sys.modules["imageio"] = placeholder
