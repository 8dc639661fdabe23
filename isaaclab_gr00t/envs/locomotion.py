"""Isaac Lab's direct ant and humanoid, reset from the mask (see :mod:`isaaclab_gr00t.envs.mask_reset`).

The reset reproduces ``LocomotionDirectEnv._reset_idx`` (default root pose at the env origin, joints drawn
around the default pose and clamped to the limits, zeroed actions, the potential towards the target); the step,
rewards, observations and terminations are the stock ones.
"""

from __future__ import annotations

import torch
import warp as wp
from isaaclab_tasks.core.locomotion.ant.ant_direct_env import AntEnv
from isaaclab_tasks.core.locomotion.humanoid.humanoid_direct_env import HumanoidEnv

from .mask_reset import MaskReset


class MaskResetLocomotion(MaskReset):
    """The locomotion reset with masks; combine with ``AntEnv`` or ``HumanoidEnv``."""

    def __init__(self, cfg, render_mode: str | None = None, **kwargs):
        super().__init__(cfg, render_mode, **kwargs)
        self._reset_root_pose, self._reset_root_velocity = self._default_root_state(self.robot)
        # the potential of the reset pose: constant, since neither the reset pose nor the target moves
        to_target = self.targets - self._reset_root_pose[:, :3]
        to_target[:, 2] = 0.0
        self._reset_potentials = -torch.linalg.norm(to_target, ord=2, dim=-1) / self.step_dt

    def _reset_task_state(self, mask: torch.Tensor, mask_wp: wp.array) -> None:
        self.actions.masked_fill_(mask.unsqueeze(1), 0.0)
        self.robot.write_root_pose_to_sim_mask(root_pose=self._reset_root_pose, env_mask=mask_wp)
        self.robot.write_root_velocity_to_sim_mask(root_velocity=self._reset_root_velocity, env_mask=mask_wp)
        position, velocity = self._draw_joint_state(
            self.robot, self.cfg.initial_joint_pos_range, self.cfg.initial_joint_vel_range
        )
        self.robot.write_joint_state_to_sim_mask(position=position, velocity=velocity, env_mask=mask_wp)

        self.potentials.copy_(torch.where(mask, self._reset_potentials, self.potentials))
        self._compute_intermediate_values()


class MaskResetAntEnv(MaskResetLocomotion, AntEnv):
    """``Isaac-Ant-Direct`` whose auto-reset runs from the reset mask, with no host sync."""


class MaskResetHumanoidEnv(MaskResetLocomotion, HumanoidEnv):
    """``Isaac-Humanoid-Direct`` whose auto-reset runs from the reset mask, with no host sync."""
