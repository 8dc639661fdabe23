"""The runner's rollout protocol: ``start``, then ``act`` and ``store`` for each step, then ``finish``.

:class:`Rollout` runs each call eagerly; :class:`~.captured_rollout.CapturedRollout` replays
them from CUDA graphs. The runner's loop is the same for both.
"""

from __future__ import annotations

import torch
from tensordict import TensorDict

from .rollout_statistics import RolloutStatistics


class Rollout:
    """The learner's share of each rollout step, run eagerly: the algorithm's calls and the step statistics."""

    def __init__(self, alg, statistics: RolloutStatistics, uses_rnd: bool = False) -> None:
        """Run ``alg``'s rollout calls and record their steps in ``statistics``.

        Args:
            alg: The algorithm (its ``act``, ``process_env_step`` and ``compute_returns`` are used).
            statistics: The runner's device-side episode statistics.
            uses_rnd: Whether the algorithm adds RND intrinsic rewards, which the statistics then record.
        """
        self.alg = alg
        self.statistics = statistics
        self.uses_rnd = uses_rnd
        self.obs: TensorDict | None = None

    def start(self, obs: TensorDict) -> TensorDict:
        """Begin a rollout from ``obs``; returns the observation the rollout's first ``act`` reads."""
        self.obs = obs
        return obs

    def act(self, step: int) -> torch.Tensor:
        """Actions for the current observation (and the transition recorded for ``store``)."""
        return self.alg.act(self.obs)

    def store(self, step: int, obs: TensorDict, rewards: torch.Tensor, dones: torch.Tensor, extras: dict) -> TensorDict:
        """Record the step's outcome in storage and statistics; returns the observation for the next ``act``."""
        self.alg.process_env_step(obs, rewards, dones, extras)
        intrinsic_rewards = self.alg.intrinsic_rewards if self.uses_rnd else None
        self.statistics.record(obs, rewards, dones, extras, intrinsic_rewards)
        self.obs = obs
        return obs

    def finish(self) -> None:
        """End the rollout: compute the returns and advantages of the stored transitions."""
        self.alg.compute_returns(self.obs)
