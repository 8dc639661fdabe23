"""The published flow-matching objective, piece by piece against hand computations."""

from __future__ import annotations

import torch

from isaaclab_gr00t.gr00t.n15.config import ActionHeadConfig
from isaaclab_gr00t.gr00t.n15.flow_matching import (
    flow_matching_loss,
    flow_time,
    masked_mse,
    noisy_chunk,
    sample_flow_time,
    time_bucket,
)


def test_flow_time_and_bucket():
    t = flow_time(torch.tensor([0.0, 0.999, 0.5]), 0.999)
    torch.testing.assert_close(t, torch.tensor([1.0, 0.0, 0.4994995]))
    assert time_bucket(t, 1000).tolist() == [1000, 0, 499]
    assert time_bucket(torch.tensor([0.2999]), 1000).tolist() == [299]  # truncated, not rounded


def test_sampled_times_follow_beta_one_and_a_half_one():
    torch.manual_seed(0)
    t = sample_flow_time(20000, ActionHeadConfig(), "cpu")
    s = 0.999 - 0.999 * t
    assert -0.001 <= float(t.min()) and float(t.max()) < 1.0  # s in [0, 1]: t in [-0.001, 1)
    assert abs(float(s.mean()) - 1.5 / 2.5) < 0.01  # Beta(1.5, 1) has mean 0.6
    assert abs(float((s < 0.5).float().mean()) - 0.5**1.5) < 0.01  # its CDF is s ** 1.5


def test_noisy_chunk_and_masked_mse_by_hand():
    actions = torch.tensor([[[1.0, 2.0]], [[3.0, -1.0]]])
    noise = torch.tensor([[[0.0, 0.0]], [[1.0, 1.0]]])
    x = noisy_chunk(actions, noise, torch.tensor([0.25, 0.5]))
    torch.testing.assert_close(x, torch.tensor([[[0.25, 0.5]], [[2.0, 0.0]]]))
    mask = torch.tensor([1.0, 0.0])  # the second dimension is padding
    predicted = torch.tensor([[[2.0, 9.0]], [[0.0, 9.0]]])
    # (2 - 1)^2 + (0 - 3)^2 over 2 real entries
    torch.testing.assert_close(masked_mse(predicted, actions, mask), torch.tensor(5.0))


def test_loss_feeds_the_velocity_the_published_input_and_target():
    cfg = ActionHeadConfig(action_dim=3, action_horizon=2)
    actions = torch.randn(4, 2, 3)
    mask = torch.tensor([1.0, 1.0, 0.0])
    seen = {}

    def velocity(x_t, bucket):
        seen["x_t"], seen["bucket"] = x_t, bucket
        return torch.zeros_like(x_t)

    torch.manual_seed(3)
    loss = flow_matching_loss(velocity, actions, mask, cfg)
    torch.manual_seed(3)
    t = sample_flow_time(4, cfg, "cpu")
    noise = torch.randn_like(actions)
    torch.testing.assert_close(seen["x_t"], (1 - t)[:, None, None] * noise + t[:, None, None] * actions)
    assert seen["bucket"].tolist() == [int(v * 1000) for v in t.tolist()]
    expected = ((actions - noise)[..., :2] ** 2).sum() / (4 * 2 * 2)
    torch.testing.assert_close(loss, expected)
