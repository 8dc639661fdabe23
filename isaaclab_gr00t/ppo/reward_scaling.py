"""Reward scaling by the running std of the discounted return (detail 30 of Huang et al., ICLR 2022 blog track).

Per environment ``G_t = gamma * G_{t-1} + r_t``; the running variance of all ``G_t`` seen so far scales the reward,
``r_t / sqrt(var + eps)``, and ``G`` restarts at 0 after a done (as in the reference code's ``NormalizeReward``).
The mean is not subtracted: shifting rewards would change the optimal policy of episodic tasks.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from isaaclab_gr00t.models.normalization import RunningMeanStd


class DiscountedReturnScaler(nn.Module):
    """Stateful reward scaler; call once per environment step."""

    def __init__(self, num_envs: int, gamma: float, eps: float = 1e-8) -> None:
        """Create the per-env return accumulator and the return statistics."""
        super().__init__()
        self.gamma = float(gamma)
        self.eps = float(eps)
        self.return_stats = RunningMeanStd(())
        self.register_buffer("discounted_return", torch.zeros(num_envs))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Restore the return statistics; the per-env returns only when the env count is the same.

        A checkpoint is often loaded with another number of envs (``isaaclab play --num_envs 1``): the returns
        of episodes in flight then restart at 0, as after a done, while the statistics carry over.
        """
        key = prefix + "discounted_return"
        if key in state_dict and state_dict[key].shape != self.discounted_return.shape:
            state_dict = {**state_dict, key: torch.zeros_like(self.discounted_return)}
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def forward(self, rewards: torch.Tensor, dones: torch.Tensor) -> torch.Tensor:
        """Scale ``rewards`` (shape [num_envs]) and restart the return of envs with ``dones``."""
        self.discounted_return.mul_(self.gamma).add_(rewards)
        self.return_stats.update(self.discounted_return)
        scaled = rewards / torch.sqrt(self.return_stats.var + self.eps)
        self.discounted_return.mul_(1.0 - dones.to(self.discounted_return.dtype))
        return scaled
