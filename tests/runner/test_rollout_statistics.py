"""Device-side rollout statistics against a plain host-side computation."""

import math

import pytest
import torch
from tensordict import TensorDict

from isaaclab_gr00t.runner.rollout_statistics import RolloutStatistics


def host_episode_means(rewards: torch.Tensor, dones: torch.Tensor) -> tuple[int, float, float]:
    """Walk each env's reward sequence in Python and average the episodes that ended (like rsl_rl's logger)."""
    returns, lengths = [], []
    for env in range(rewards.shape[1]):
        episode_return, episode_length = 0.0, 0
        for step in range(rewards.shape[0]):
            episode_return += rewards[step, env].item()
            episode_length += 1
            if dones[step, env]:
                returns.append(episode_return)
                lengths.append(episode_length)
                episode_return, episode_length = 0.0, 0
    if not returns:
        return 0, math.nan, math.nan
    return len(returns), sum(returns) / len(returns), sum(lengths) / len(lengths)


def test_episode_statistics_match_host_computation():
    torch.manual_seed(3)
    num_envs, steps = 7, 40
    obs = TensorDict({"policy": torch.zeros(num_envs, 3)}, batch_size=[num_envs])
    statistics = RolloutStatistics(num_envs, obs, "cpu")
    rewards = torch.randn(2 * steps, num_envs)
    dones = (torch.rand(2 * steps, num_envs) < 0.15).long()

    for iteration in range(2):  # the second iteration must include episodes that started in the first
        for step in range(iteration * steps, (iteration + 1) * steps):
            statistics.record(obs, rewards[step], dones[step], {})
        summary = statistics.read()
        # episodes finished in this iteration = those of the whole history minus those finished before it
        n_all, ret_all, len_all = host_episode_means(rewards[: (iteration + 1) * steps], dones[: (iteration + 1) * steps])
        n_before, ret_before, len_before = host_episode_means(rewards[: iteration * steps], dones[: iteration * steps])
        expected_n = n_all - n_before
        expected_return = (n_all * ret_all - (n_before * ret_before if n_before else 0.0)) / expected_n
        expected_length = (n_all * len_all - (n_before * len_before if n_before else 0.0)) / expected_n
        assert summary.episodes == expected_n > 0
        assert summary.mean_return == pytest.approx(expected_return, rel=1e-5, abs=1e-5)
        assert summary.mean_length == pytest.approx(expected_length, rel=1e-6)
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
