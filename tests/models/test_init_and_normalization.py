"""Orthogonal init of LSTM models and the running statistics."""

from __future__ import annotations

import torch
from rsl_rl.models import RNNModel
from tensordict import TensorDict

from isaaclab_gr00t.models import RunningMeanStd, orthogonal_init_


def test_lstm_weights_orthogonal_gain_one_biases_zero():
    obs = TensorDict({"policy": torch.randn(2, 5)}, batch_size=[2])
    model = RNNModel(obs, {"critic": ["policy"]}, "critic", 1, hidden_dims=[8], activation="tanh",
                     rnn_hidden_dim=6, rnn_num_layers=1)
    orthogonal_init_(model, head_gain=1.0)
    lstm = model.rnn.rnn
    for name, param in lstm.named_parameters():
        if name.startswith("weight"):
            torch.testing.assert_close(torch.linalg.svdvals(param), torch.ones(min(param.shape)))
        else:
            assert torch.count_nonzero(param) == 0


def test_running_statistics_merge_batches_like_one_big_batch():
    torch.manual_seed(0)
    data = torch.randn(1000, 3) * torch.tensor([1.0, 5.0, 0.1]) + torch.tensor([2.0, -1.0, 0.0])
    stats = RunningMeanStd(3)
    for chunk in data.split([1, 10, 300, 689]):
        stats.update(chunk)
    torch.testing.assert_close(stats.mean, data.mean(0), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(stats.var, data.var(0, unbiased=False), rtol=1e-3, atol=1e-4)
    assert float(stats.count) == 1000 + 1e-4
