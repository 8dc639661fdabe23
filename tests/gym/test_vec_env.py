"""Gymnasium -> rsl_rl VecEnv adapter."""

from __future__ import annotations

import numpy as np
import torch

from isaaclab_gr00t.gym import GymVecEnv
from isaaclab_gr00t.gym.cli import main


def test_time_outs_dones_and_true_episode_returns():
    env = GymVecEnv("CartPole-v1", num_envs=2, seed=0, max_episode_steps=5)
    assert env.num_actions == 1 and env.distribution_cfg()["num_classes"] == 2
    obs = env.get_observations()
    assert obs["policy"].shape == (2, 4) and obs["policy"].dtype == torch.float32
    for step in range(5):
        obs, rewards, dones, extras = env.step(torch.tensor([[step % 2], [(step + 1) % 2]], dtype=torch.float32))
    assert dones.tolist() == [1, 1] and dones.dtype == torch.long
    assert extras["time_outs"].tolist() == [True, True]
    torch.testing.assert_close(extras["log"]["/episode/return"], torch.tensor([5.0, 5.0]))
    assert [episode[2:] for episode in env.finished_episodes] == [(5.0, 5), (5.0, 5)]
    env.close()


def test_terminations_are_not_time_outs():
    env = GymVecEnv("CartPole-v1", num_envs=1, seed=0)
    for _ in range(200):  # always pushing right topples the pole within a few dozen steps
        _, _, dones, extras = env.step(torch.ones(1, 1))
        if dones[0]:
            break
    assert dones[0] == 1 and not extras["time_outs"][0]
    env.close()


def test_box_actions_clipped_in_env_only():
    env = GymVecEnv("InvertedPendulum-v5", num_envs=2, seed=0)
    applied = []
    original = env.envs.step
    env.envs.step = lambda actions: applied.append(actions.copy()) or original(actions)
    raw = torch.tensor([[7.0], [-0.5]])
    env.step(raw)
    np.testing.assert_allclose(applied[0], [[3.0], [-0.5]])
    assert raw[0, 0] == 7.0  # the caller's (stored) action is untouched
    assert env.distribution_cfg() == {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "log"}
    env.close()


def test_cli_trains_and_prints_a_table(capsys):
    main(["--env", "CartPole-v1", "--steps", "512", "--eval-episodes", "1", "--algo", "ppo37"])
    main(["--env", "CartPole-v1", "--steps", "512", "--eval-episodes", "1", "--algo", "stock"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| CartPole-v1")]
    assert len(rows) == 2 and "| ppo37 |" in rows[0] and "| stock |" in rows[1]
