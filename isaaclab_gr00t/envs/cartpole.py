"""Isaac Lab's direct cartpole, reset from the mask (see :mod:`isaaclab_gr00t.envs.mask_reset`).

The reset draws the initial-state distribution of ``CartpoleEnv._reset_idx``; the step, rewards, observations and
terminations are the stock ones.
"""

from __future__ import annotations

import torch
import warp as wp
from isaaclab_tasks.core.cartpole.cartpole_direct_env import CartpoleEnv

from .mask_reset import MaskReset


class MaskResetCartpoleEnv(MaskReset, CartpoleEnv):
    """``Isaac-Cartpole-Direct`` whose auto-reset runs from the reset mask, with no host sync."""

    def __init__(self, cfg, render_mode: str | None = None, **kwargs):
        super().__init__(cfg, render_mode, **kwargs)
        self._reset_root_pose, self._reset_root_velocity = self._default_root_state(self.cartpole)
        # per joint column: the (low, high) offset ranges of the initial position and velocity draws
        num_joints = self.cartpole.data.default_joint_pos.torch.shape[1]
        self._position_offsets = torch.zeros(2, num_joints, device=self.device)
        self._velocity_offsets = torch.zeros(2, num_joints, device=self.device)
        for columns, position_range, velocity_range in (
            (self._cart_dof_idx, cfg.initial_cart_position_range, cfg.initial_cart_velocity_range),
            (self._pole_dof_idx, cfg.initial_pole_angle_range, cfg.initial_pole_velocity_range),
        ):
            self._position_offsets[:, columns] = torch.tensor(position_range, device=self.device).view(2, 1)
            self._velocity_offsets[:, columns] = torch.tensor(velocity_range, device=self.device).view(2, 1)

    def _reset_task_state(self, mask: torch.Tensor, mask_wp: wp.array) -> None:
        position, velocity = self._draw_joint_state(self.cartpole, self._position_offsets, self._velocity_offsets)
        column_mask = mask.unsqueeze(1)
        self.joint_pos.copy_(torch.where(column_mask, position, self.joint_pos))
        self.joint_vel.copy_(torch.where(column_mask, velocity, self.joint_vel))
        self.cartpole.write_root_pose_to_sim_mask(root_pose=self._reset_root_pose, env_mask=mask_wp)
        self.cartpole.write_root_velocity_to_sim_mask(root_velocity=self._reset_root_velocity, env_mask=mask_wp)
        self.cartpole.write_joint_position_to_sim_mask(position=position, env_mask=mask_wp)
        self.cartpole.write_joint_velocity_to_sim_mask(velocity=velocity, env_mask=mask_wp)
