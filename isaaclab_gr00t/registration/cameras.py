"""The ``cameras`` section of a task spec: RGB cameras added to a manager-based task, each with its image group.

Each entry names a scene sensor and sets fields of Isaac Lab's :class:`~isaaclab.sensors.CameraCfg` (a pinhole
camera rendered by the Newton Warp renderer, RGB), plus ``obs_group``: the observation group that receives the
image as ``(num_envs, 3, height, width)``, normalized like Isaac Lab's camera tasks (``[0, 1]`` minus the image
mean)::

    cameras:
      front_camera:
        prim_path: "{ENV_REGEX_NS}/FrontCamera"
        offset: {pos: [1.3, 0.0, 0.9], rot: [0.0, 0.0, 0.0, 1.0], convention: world}
        width: 96
        height: 96
        spawn: {focal_length: 18.0, clipping_range: [0.05, 5.0]}
        obs_group: front_rgb
      wrist_camera:
        prim_path: "{ENV_REGEX_NS}/Robot/Geometry/.../panda_hand/WristCamera"
        update_latest_camera_pose: true   # a camera that moves with a body
        ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import SpecError
from .overrides import apply_overrides, missing_fields

CAMERA_KEYS = {"obs_group"}
"""Keys of a camera entry that are not :class:`CameraCfg` fields."""


def _camera_cfg() -> Any:
    from isaaclab_newton.renderers import NewtonWarpRendererCfg

    import isaaclab.sim as sim_utils
    from isaaclab.sensors import CameraCfg

    return CameraCfg(spawn=sim_utils.PinholeCameraCfg(), renderer_cfg=NewtonWarpRendererCfg(), data_types=["rgb"])


def _image_group(sensor_name: str) -> Any:
    import isaaclab.envs.mdp as mdp
    from isaaclab.managers import ObservationGroupCfg, ObservationTermCfg, SceneEntityCfg

    group = ObservationGroupCfg(concatenate_terms=True, enable_corruption=False)
    group.image = ObservationTermCfg(
        func=mdp.image_rgb,
        params={
            "sensor_cfg": SceneEntityCfg(sensor_name), "data_type": "rgb", "normalize": True, "channel_first": True,
            "frame_stack": 1,
        },
    )
    return group


def add_cameras(cfg: Any, cameras: Mapping[str, Mapping[str, Any]], source: str) -> None:
    """Add each camera to ``cfg.scene`` and its image group to ``cfg.observations``.

    Raises:
        SpecError: naming the camera and field, for an unknown or missing field, or a name already in use.
    """
    for name, settings in cameras.items():
        field = f"cameras.{name}"
        if hasattr(cfg.scene, name):
            raise SpecError(source, field, f"the scene of {type(cfg).__name__} already has an entry '{name}'")
        group = settings.get("obs_group", name)
        if not isinstance(group, str) or hasattr(cfg.observations, group):
            raise SpecError(source, f"{field}.obs_group", f"'{group}' is not a new observation group name")
        camera = _camera_cfg()
        apply_overrides(camera, {k: v for k, v in settings.items() if k not in CAMERA_KEYS}, source, prefix=field)
        missing = missing_fields(camera)
        if missing:
            raise SpecError(source, f"{field}.{missing[0]}", "required but not set")
        setattr(cfg.scene, name, camera)
        setattr(cfg.observations, group, _image_group(name))
