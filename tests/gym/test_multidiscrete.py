"""A MultiDiscrete Gymnasium env trains end to end (adapter + MultiCategoricalDistribution + PPO37)."""

from __future__ import annotations

import statistics

import gymnasium as gym
import numpy as np
import torch

from isaaclab_gr00t.gym import GymVecEnv
from isaaclab_gr00t.gym.cli import train
from isaaclab_gr00t.testing.seeds import runs_until_decided


class SignBandit(gym.Env):
    """One-step episodes: the best action is (2 if x0 > 0 else 0, 1 if x1 > 0 else 0); reward counts hits (max 2)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.MultiDiscrete([3, 2])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._obs = self.np_random.uniform(-1.0, 1.0, 2).astype(np.float32)
        return self._obs, {}

    def step(self, action):
        target = (2 if self._obs[0] > 0 else 0, 1 if self._obs[1] > 0 else 0)
        reward = float(action[0] == target[0]) + float(action[1] == target[1])
        self._obs = self.np_random.uniform(-1.0, 1.0, 2).astype(np.float32)
        return self._obs, reward, True, False, {}


gym.register("IsaacLabGr00tSignBandit-v0", entry_point=SignBandit)


def test_adapter_exposes_multidiscrete_heads():
    env = GymVecEnv("IsaacLabGr00tSignBandit-v0", num_envs=3, seed=0)
    assert env.num_actions == 2
    assert env.distribution_cfg() == {"class_name": "isaaclab_gr00t.models:MultiCategoricalDistribution",
                                      "nvec": [3, 2]}
    _, rewards, dones, extras = env.step(torch.tensor([[2.0, 1.0], [0.0, 0.0], [1.0, 1.0]]))
    assert dones.tolist() == [1, 1, 1] and not extras["time_outs"].any()
    env.close()


def test_ppo37_learns_a_multidiscrete_bandit():
    def first_and_last(seed: int) -> tuple[float, float]:
        torch.set_num_threads(1)
        result = train("IsaacLabGr00tSignBandit-v0", 8192, seed=seed, algo="ppo37", eval_episodes=0,
                       algorithm_overrides={"learning_rate": 3e-3})
        return (statistics.fmean(e[2] for e in result.episodes[:200]),
                statistics.fmean(e[2] for e in result.episodes[-200:]))

    # judged over seeds: one seeded run would pass or fail on its seed
    runs = runs_until_decided(first_and_last, lambda scores: scores[0] < 1.2 and scores[1] > 1.8, seeds=(0, 1, 2),
                              needed=2)
    assert sum(ok for _, _, ok in runs) >= 2, runs
