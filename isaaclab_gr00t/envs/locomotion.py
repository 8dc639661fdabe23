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
        data = self.robot.data
        self._reset_root_pose = data.default_root_pose.torch.clone()
        self._reset_root_pose[:, :3] += self.scene.env_origins
        self._reset_root_velocity = data.default_root_vel.torch.clone()
        # the potential of the reset pose: constant, since the reset pose and the target are
        to_target = self.targets - self._reset_root_pose[:, :3]
        to_target[:, 2] = 0.0
        self._reset_potentials = -torch.linalg.norm(to_target, ord=2, dim=-1) / self.step_dt

    def _reset_task_state(self, mask: torch.Tensor, mask_wp: wp.array) -> None:
        data, cfg = self.robot.data, self.cfg
        self.actions.masked_fill_(mask.unsqueeze(1), 0.0)
        self.robot.write_root_pose_to_sim_mask(root_pose=self._reset_root_pose, env_mask=mask_wp)
        self.robot.write_root_velocity_to_sim_mask(root_velocity=self._reset_root_velocity, env_mask=mask_wp)

        num_joints = data.default_joint_pos.torch.shape[1]
        limits = data.soft_joint_pos_limits.torch
        position = data.default_joint_pos.torch + self._draw_uniform(*cfg.initial_joint_pos_range, num_joints)
        position = position.clamp_(limits[..., 0], limits[..., 1])
        velocity_limits = data.soft_joint_vel_limits.torch
        velocity = data.default_joint_vel.torch + self._draw_uniform(*cfg.initial_joint_vel_range, num_joints)
        velocity = velocity.clamp_(-velocity_limits, velocity_limits)
        self.robot.write_joint_state_to_sim_mask(position=position, velocity=velocity, env_mask=mask_wp)

        self.potentials.copy_(torch.where(mask, self._reset_potentials, self.potentials))
        self._compute_intermediate_values()


class MaskResetAntEnv(MaskResetLocomotion, AntEnv):
    """``Isaac-Ant-Direct`` whose auto-reset runs from the reset mask, with no host sync."""


class MaskResetHumanoidEnv(MaskResetLocomotion, HumanoidEnv):
    """``Isaac-Humanoid-Direct`` whose auto-reset runs from the reset mask, with no host sync."""
