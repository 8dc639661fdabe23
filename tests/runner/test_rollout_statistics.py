"""Device-side rollout statistics against a plain host-side computation."""

import math

import pytest
import torch
from tensordict import TensorDict

from isaaclab_gr00t.runner.rollout_statistics import RolloutStatistics


def host_finished_episodes(rewards: torch.Tensor, dones: torch.Tensor) -> list[tuple[int, float, int]]:
    """Walk each env's rewards in Python: (step the episode ended, its return, its length), like rsl_rl's logger."""
    episodes = []
    for env in range(rewards.shape[1]):
        episode_return, episode_length = 0.0, 0
        for step in range(rewards.shape[0]):
            episode_return += rewards[step, env].item()
            episode_length += 1
            if dones[step, env]:
                episodes.append((step, episode_return, episode_length))
                episode_return, episode_length = 0.0, 0
    return episodes


def test_episode_statistics_match_host_computation():
    torch.manual_seed(3)
    num_envs, steps = 7, 40
    obs = TensorDict({"policy": torch.zeros(num_envs, 3)}, batch_size=[num_envs])
    statistics = RolloutStatistics(num_envs, obs, "cpu")
    rewards = torch.randn(2 * steps, num_envs)
    dones = (torch.rand(2 * steps, num_envs) < 0.15).long()
    episodes = host_finished_episodes(rewards, dones)

    for iteration in range(2):  # the second iteration includes episodes that started in the first
        window = range(iteration * steps, (iteration + 1) * steps)
        for step in window:
            statistics.record(obs, rewards[step], dones[step], {})
        summary = statistics.read()
        expected = [(ret, length) for end, ret, length in episodes if end in window]
        assert summary.episodes == len(expected) > 0
        assert summary.mean_return == pytest.approx(sum(r for r, _ in expected) / len(expected), rel=1e-5, abs=1e-5)
        assert summary.mean_length == pytest.approx(sum(n for _, n in expected) / len(expected), rel=1e-6)
        assert summary.nonfinite == {}


def test_no_finished_episode_reports_nan_and_counts_nonfinite_values():
    obs = TensorDict({"policy": torch.zeros(4, 2), "critic": torch.zeros(4, 1)}, batch_size=[4])
    statistics = RolloutStatistics(4, obs, "cpu")
    bad = obs.clone()
    bad["critic"][1, 0] = float("inf")
    bad["critic"][2, 0] = float("nan")
    rewards = torch.tensor([0.0, float("nan"), 1.0, 1.0])
    statistics.record(bad, rewards, torch.zeros(4, dtype=torch.long), {})
    summary = statistics.read()
    assert summary.episodes == 0 and math.isnan(summary.mean_return) and math.isnan(summary.mean_length)
    assert summary.nonfinite == {"observation group 'critic'": 2, "rewards": 1}
    # totals are cleared after each read
    statistics.record(obs, torch.zeros(4), torch.zeros(4, dtype=torch.long), {})
    assert statistics.read().nonfinite == {}


def test_returns_only_statistics_skip_the_nonfinite_count():
    obs = TensorDict({"policy": torch.full((2, 1), float("nan"))}, batch_size=[2])
    statistics = RolloutStatistics(2, obs, "cpu", count_nonfinite=False)
    statistics.record(obs, torch.tensor([1.0, 2.0]), torch.tensor([1, 0]), {})
    summary = statistics.read()
    assert summary.nonfinite == {}
    assert summary.episodes == 1 and summary.mean_return == 1.0 and summary.mean_length == 1.0


def test_extras_are_averaged_over_all_values_like_rsl_rl():
    obs = TensorDict({"policy": torch.zeros(2, 1)}, batch_size=[2])
    statistics = RolloutStatistics(2, obs, "cpu")
    no_done = torch.zeros(2, dtype=torch.long)
    statistics.record(obs, torch.zeros(2), no_done, {"log": {"a": torch.tensor(1.0), "b": 4.0}})
    statistics.record(obs, torch.zeros(2), no_done, {"log": {"a": torch.tensor([2.0, 6.0])}})
    statistics.record(obs, torch.zeros(2), no_done, {"episode": {"a": torch.tensor(3.0)}, "log": {"a": 100.0}})
    summary = statistics.read()
    assert summary.extras == pytest.approx({"a": (1.0 + 2.0 + 6.0 + 3.0) / 4, "b": 4.0})
    statistics.record(obs, torch.zeros(2), no_done, {})
    assert statistics.read().extras == {}


def test_intrinsic_rewards_are_summed_separately_and_included_in_the_return():
    obs = TensorDict({"policy": torch.zeros(2, 1)}, batch_size=[2])
    statistics = RolloutStatistics(2, obs, "cpu")
    statistics.record(obs, torch.tensor([1.0, 2.0]), torch.tensor([0, 1]), {}, torch.tensor([0.5, 0.25]))
    statistics.record(obs, torch.tensor([3.0, 4.0]), torch.tensor([1, 0]), {}, torch.tensor([0.125, 1.0]))
    summary = statistics.read()
    # env 1 ended after step 1 (2 + 0.25), env 0 after step 2 (1 + 3 + 0.5 + 0.125)
    assert summary.episodes == 2
    assert summary.mean_return == pytest.approx((2.25 + 4.625) / 2)
    assert summary.mean_intrinsic_return == pytest.approx((0.25 + 0.625) / 2)
