"""Contract 6: act() and process_env_step() never turn tensor values into Python values (a host sync on GPU)."""

from __future__ import annotations

import pytest
import torch

_CONVERSIONS = ("item", "tolist", "numpy", "cpu", "nonzero", "__bool__", "__float__", "__int__", "__index__")


@pytest.fixture
def forbid_tensor_to_python(monkeypatch):
    def install():
        for name in _CONVERSIONS:
            def refuse(*args, _name=name, **kwargs):
                raise AssertionError(f"Tensor.{_name} called during the rollout")

            monkeypatch.setattr(torch.Tensor, name, refuse)

    return install


@pytest.mark.parametrize("recurrent", [False, True])
def test_rollout_calls_never_convert_tensors(kit, forbid_tensor_to_python, recurrent):
    rnn = {"class_name": "RNNModel", "hidden_dims": [16], "activation": "tanh", "rnn_type": "lstm",
           "rnn_hidden_dim": 8, "rnn_num_layers": 1}
    gaussian = {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "log"}
    models = {"actor": {**rnn, "distribution_cfg": gaussian}, "critic": dict(rnn)} if recurrent else {}
    alg, env = kit.build(num_mini_batches=2, bootstrap_time_outs=True, **models)
    obs = env.get_observations()
    steps = []
    with torch.inference_mode():
        for _ in range(alg.storage.num_transitions_per_env):
            steps.append(env.step(torch.zeros(4, 2)))
    forbid_tensor_to_python()
    with torch.inference_mode():
        for next_obs, rewards, dones, extras in steps:
            alg.act(obs)
            alg.process_env_step(next_obs, rewards, dones, extras)
            obs = next_obs
    assert alg.storage.step == alg.storage.num_transitions_per_env


def test_the_guard_catches_a_conversion(forbid_tensor_to_python):
    forbid_tensor_to_python()
    with pytest.raises(AssertionError, match="item"):
        torch.ones(1).item()
    with pytest.raises(AssertionError, match="__bool__"):
        bool(torch.ones(1) > 0)
