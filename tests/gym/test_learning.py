"""PPO37 learns classic control (discrete) and MuJoCo (continuous) tasks within a fixed budget, on most seeds.

Each test counts the seeds that reach its bar and needs two of three (:func:`runs_until_decided` stops once that is
decided): one seeded run would pass or fail on its seed. Rollouts use more parallel envs than the blog's presets (and
a larger lr) so a run stays under ~20 s on one shared core; the algorithm settings are otherwise the presets'.
"""

from __future__ import annotations

import statistics

import torch

from isaaclab_gr00t.gym.cli import train
from isaaclab_gr00t.testing.seeds import runs_until_decided


def eval_mean(env_id: str, steps: int, rollout: tuple[int, int], **algorithm_overrides):
    def run(seed: int) -> float:
        torch.set_num_threads(1)
        result = train(env_id, steps, seed=seed, algo="ppo37", eval_episodes=10, rollout=rollout,
                       algorithm_overrides=algorithm_overrides)
        return statistics.fmean(result.eval_returns)

    return run


def test_ppo37_learns_cartpole_on_most_seeds():
    # a random policy lasts about 20 steps, a solved one 500; after 60k steps most seeds are near 500, some at ~300
    runs = runs_until_decided(eval_mean("CartPole-v1", 60_000, (32, 16), learning_rate=2.5e-3),
                              lambda mean: mean >= 200.0, seeds=(1, 2, 3), needed=2)
    assert sum(ok for _, _, ok in runs) >= 2, runs


def test_ppo37_solves_inverted_pendulum_on_most_seeds():
    runs = runs_until_decided(
        eval_mean("InvertedPendulum-v5", 35_000, (16, 64), learning_rate=1e-3, num_learning_epochs=5,
                  num_mini_batches=4),
        lambda mean: mean >= 900.0, seeds=(1, 2, 3), needed=2)
    assert sum(ok for _, _, ok in runs) >= 2, runs
