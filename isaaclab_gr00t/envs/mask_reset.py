"""Auto-reset from the reset mask, for Isaac Lab direct tasks: no ``nonzero()``, so no host sync a step.

Stock ``DirectRLEnv.step`` turns the reset mask into indices with ``nonzero()``, which stops the host until the
GPU has finished the step, and then resets the chosen environments with a few dozen small indexed kernels. At
thousands of environments some episode ends on every step, so a training rollout pays both every step (an
env-only run from a fresh reset, where all episodes start together, mostly does not). Isaac Lab 3.0 lets a task
reset from the mask instead: ``DirectRLEnv._reset_envs_from_buffer`` may return None, and Newton's assets and
sensors take ``env_mask`` in ``reset`` and in their ``*_to_sim_mask`` writers. :class:`MaskReset` does the
task-independent part; a task adds :meth:`MaskReset._reset_task_state` (its own ``_reset_idx`` done with masks).
"""

from __future__ import annotations

import torch
import warp as wp
from isaaclab.actuators import ImplicitActuatorCfg


class MaskReset:
    """Mixin for a ``DirectRLEnv`` subclass (list it first): mask-based auto-reset on CUDA.

    The stock index path stays in use where the mask path would not reproduce it: terminal observations
    (``compute_final_obs``), reset events, noise models, RTX re-renders, scene entities other than
    articulations and sensors, and actuators with state (``Articulation.reset(env_mask=...)`` resets the
    actuator state of every environment). On the CPU ``nonzero()`` waits for nothing and resetting only the ended
    environments is less work, so the index path is kept there too unless :attr:`uses_mask_reset` is set.
    """

    def __init__(self, cfg, render_mode: str | None = None, **kwargs):
        super().__init__(cfg, render_mode, **kwargs)
        scene = self.scene
        other_entities = (scene.rigid_objects, scene.rigid_object_collections, scene.deformable_objects,
                          scene.cable_objects, scene.surface_grippers)
        self.supports_mask_reset = not (
            cfg.compute_final_obs or cfg.events or cfg.action_noise_model or cfg.observation_noise_model
            or self.has_rtx_sensors or any(other_entities)
            or not all(
                isinstance(actuator, ImplicitActuatorCfg)
                for articulation in scene.articulations.values()
                for actuator in articulation.cfg.actuators.values()
            )
        )
        self.uses_mask_reset = self.supports_mask_reset and torch.device(self.device).type == "cuda"
        self._reset_mask = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        self._reset_mask_wp = wp.from_torch(self._reset_mask, dtype=wp.bool)  # one warp view, made once
        # stock logs the success rate of the episodes that ended at the last step that had any; kept on the device
        # (it reads 0 until the first episode ends, where stock has no entry yet)
        self._success_rate = torch.zeros((), device=self.device)

    def _reset_envs_from_buffer(self) -> torch.Tensor | None:
        if not self.uses_mask_reset:
            return super()._reset_envs_from_buffer()
        mask = self._reset_mask.copy_(self.reset_buf)
        ended = mask.sum()
        survived = (self.reset_time_outs & mask).sum()
        self._success_rate.copy_(torch.where(ended > 0, survived / ended.clamp_min(1), self._success_rate))
        self.extras.setdefault("log", {})["Metrics/success_rate"] = self._success_rate

        for entity in (*self.scene.articulations.values(), *self.scene.sensors.values()):
            entity.reset(env_mask=self._reset_mask_wp)
        self.episode_length_buf.masked_fill_(mask, 0)
        self._reset_task_state(mask, self._reset_mask_wp)
        return None

    def _reset_task_state(self, mask: torch.Tensor, mask_wp: wp.array) -> None:
        """Draw the task's initial state where ``mask`` is set and write it to the simulation (device work only)."""
        raise NotImplementedError

    def _default_root_state(self, articulation) -> tuple[torch.Tensor, torch.Tensor]:
        """The root pose (placed at each env's origin) and velocity an articulation is reset to, for every env."""
        pose = articulation.data.default_root_pose.torch.clone()
        pose[:, :3] += self.scene.env_origins
        return pose, articulation.data.default_root_vel.torch.clone()

    def _draw_joint_state(self, articulation, position_offsets, velocity_offsets) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint positions and velocities drawn around the defaults, clamped to the soft limits, for every env.

        Each ``*_offsets`` is ``(low, high)``: floats, or tensors with one bound per joint column.
        """
        def around(default: torch.Tensor, offsets) -> torch.Tensor:
            low, high = offsets
            return default + torch.rand(default.shape, device=self.device) * (high - low) + low

        data = articulation.data
        position = around(data.default_joint_pos.torch, position_offsets)
        velocity = around(data.default_joint_vel.torch, velocity_offsets)
        limits, velocity_limits = data.soft_joint_pos_limits.torch, data.soft_joint_vel_limits.torch
        return position.clamp_(limits[..., 0], limits[..., 1]), velocity.clamp_(-velocity_limits, velocity_limits)
