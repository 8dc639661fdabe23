"""Isaac Lab's direct cartpole with an auto-reset that never waits for the device.

Stock ``DirectRLEnv.step`` turns the reset mask into indices with ``nonzero()``, which stops the host until the
GPU has finished the step, and then resets the chosen environments with a few dozen small indexed kernels. At
thousands of environments some episode ends every step, so a training rollout pays both every step (an
env-only run from a fresh reset, where all episodes start together, mostly does not). Isaac Lab 3.0 lets a
task reset from the mask instead (``DirectRLEnv._reset_envs_from_buffer`` returning None, with Newton's
``*_to_sim_mask`` writers): that is all this class adds. The reset draws the same initial-state distribution as
``CartpoleEnv._reset_idx``; the step, rewards, observations and terminations are the stock ones.
"""

from __future__ import annotations

import torch
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.utils.math import sample_uniform
from isaaclab_tasks.core.cartpole.cartpole_direct_env import CartpoleEnv


class MaskResetCartpoleEnv(CartpoleEnv):
    """``Isaac-Cartpole-Direct`` whose auto-reset runs from the reset mask, with no host sync."""

    def __init__(self, cfg, render_mode: str | None = None, **kwargs):
        super().__init__(cfg, render_mode, **kwargs)
        # what the mask path does not reproduce keeps the stock index path
        self.supports_mask_reset = not (
            cfg.compute_final_obs or cfg.events or cfg.action_noise_model or cfg.observation_noise_model
            or self.has_rtx_sensors or len(self.scene.sensors) > 0 or len(self.scene.articulations) > 1
            # Articulation.reset(env_mask=...) resets actuator state of *all* environments: only stateless ones
            or not all(isinstance(a, ImplicitActuatorCfg) for a in self.cartpole.cfg.actuators.values())
        )
        # on the CPU nonzero() waits for nothing, and resetting only the ended environments is less work
        self.uses_mask_reset = self.supports_mask_reset and torch.device(self.device).type == "cuda"
        data = self.cartpole.data
        self._reset_root_pose = data.default_root_pose.torch.clone()
        self._reset_root_pose[:, :3] += self.scene.env_origins
        self._reset_root_velocity = data.default_root_vel.torch.clone()
        # per joint column: the (low, high) offset ranges of the initial position and velocity draws
        num_joints = data.default_joint_pos.torch.shape[1]
        self._position_offset_range = torch.zeros(2, num_joints, device=self.device)
        self._velocity_offset_range = torch.zeros(2, num_joints, device=self.device)
        for columns, position_range, velocity_range in (
            (self._cart_dof_idx, cfg.initial_cart_position_range, cfg.initial_cart_velocity_range),
            (self._pole_dof_idx, cfg.initial_pole_angle_range, cfg.initial_pole_velocity_range),
        ):
            self._position_offset_range[:, columns] = torch.tensor(position_range, device=self.device).view(2, 1)
            self._velocity_offset_range[:, columns] = torch.tensor(velocity_range, device=self.device).view(2, 1)
        # stock logs the success rate of the episodes that ended at the last step that had any; kept on the device
        self._success_rate = torch.zeros((), device=self.device)

    def _reset_envs_from_buffer(self) -> torch.Tensor | None:
        if not self.uses_mask_reset:
            return super()._reset_envs_from_buffer()
        self._reset_masked(self.reset_buf)
        return None

    def _reset_masked(self, mask: torch.Tensor) -> None:
        """Reset the environments where ``mask`` is set to a freshly drawn initial state; queues device work only."""
        ended = mask.sum()
        survived = (self.reset_time_outs & mask).sum()
        self._success_rate.copy_(torch.where(ended > 0, survived / ended.clamp_min(1), self._success_rate))
        self.extras.setdefault("log", {})["Metrics/success_rate"] = self._success_rate

        data = self.cartpole.data
        limits = data.soft_joint_pos_limits.torch
        position = data.default_joint_pos.torch + self._draw(self._position_offset_range)
        position = position.clamp_(limits[..., 0], limits[..., 1])
        velocity_limits = data.soft_joint_vel_limits.torch
        velocity = data.default_joint_vel.torch + self._draw(self._velocity_offset_range)
        velocity = velocity.clamp_(-velocity_limits, velocity_limits)

        self.cartpole.reset(env_mask=mask)
        self.episode_length_buf.masked_fill_(mask, 0)
        column_mask = mask.unsqueeze(1)
        self.joint_pos.copy_(torch.where(column_mask, position, self.joint_pos))
        self.joint_vel.copy_(torch.where(column_mask, velocity, self.joint_vel))
        self.cartpole.write_root_pose_to_sim_mask(root_pose=self._reset_root_pose, env_mask=mask)
        self.cartpole.write_root_velocity_to_sim_mask(root_velocity=self._reset_root_velocity, env_mask=mask)
        self.cartpole.write_joint_position_to_sim_mask(position=position, env_mask=mask)
        self.cartpole.write_joint_velocity_to_sim_mask(velocity=velocity, env_mask=mask)

    def _draw(self, offset_range: torch.Tensor) -> torch.Tensor:
        """Uniform offsets in ``[low, high)`` per joint column, for every environment."""
        low, high = offset_range
        return sample_uniform(low, high, (self.num_envs, low.shape[0]), self.device)
