"""PPO37 learns classic control (discrete) and MuJoCo (continuous) tasks within a fixed, seeded budget.

Rollouts use more parallel envs than the blog's presets (and a larger lr) so each test stays under ~2.5 min on one
shared core; the algorithm settings are otherwise the presets'.
"""

from __future__ import annotations

import statistics

import torch

from isaaclab_gr00t.gym.cli import train


def test_ppo37_solves_cartpole():
    torch.set_num_threads(1)
    result = train("CartPole-v1", 60_000, seed=1, algo="ppo37", eval_episodes=10, rollout=(32, 16),
                   algorithm_overrides={"learning_rate": 2.5e-3})
    assert statistics.fmean(result.eval_returns) >= 450.0, result.eval_returns


def test_ppo37_solves_inverted_pendulum():
    torch.set_num_threads(1)
    result = train("InvertedPendulum-v5", 50_000, seed=1, algo="ppo37", eval_episodes=10, rollout=(16, 64),
                   algorithm_overrides={"learning_rate": 1e-3, "num_learning_epochs": 5, "num_mini_batches": 4})
    assert statistics.fmean(result.eval_returns) >= 900.0, result.eval_returns
