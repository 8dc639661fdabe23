"""PPO37's update modes compute the same numbers: "device" (no host sync) against "eager" (host-checked steps).

The "graph" mode (CUDA graphs) is checked against both on a GPU in tests/gpu/test_cuda_graph_update.py.
"""

from __future__ import annotations

import copy
import traceback

import pytest
import torch

from isaaclab_gr00t.ppo.ppo37 import PPO37

_CONVERSIONS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")


def train(kit, update_mode: str, updates: int = 3, **algorithm) -> tuple[PPO37, list[dict]]:
    alg, env = kit.build(update_mode=update_mode, **algorithm)
    metrics = []
    for _ in range(updates):
        kit.rollout(alg, env)
        metrics.append(alg.update())
    return alg, metrics


@pytest.mark.parametrize("algorithm", [
    {},
    {"schedule": "adaptive", "desired_kl": 0.002, "learning_rate": 3e-3},
    {"normalize_advantage_per_mini_batch": False, "num_micro_batches": 2},
])
def test_device_mode_matches_eager(kit, algorithm):
    eager, eager_metrics = train(kit, "eager", **algorithm)
    device, device_metrics = train(kit, "device", **algorithm)
    assert eager.update_mode == "eager" and device.update_mode == "device"
    for a, b in zip(kit.params(eager), kit.params(device)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(eager_metrics, device_metrics):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-6), key
    if algorithm.get("schedule") == "adaptive":  # the device-side schedule moved the lr like the host one
        assert len({m["learning_rate"] for m in device_metrics}) > 1


def test_device_mode_update_reads_the_device_once(kit, monkeypatch):
    alg, env = kit.build(update_mode="device", schedule="adaptive")
    kit.rollout(alg, env)
    conversions = []
    for name in _CONVERSIONS:
        original = getattr(torch.Tensor, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            # CPU Adam reads its step counter, a CPU tensor, with item(); on CUDA (capturable) it stays on the device
            if "torch/optim/" not in traceback.extract_stack()[-2].filename:
                conversions.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    alg.update()
    assert conversions == ["tolist"]


def test_device_mode_skips_nonfinite_steps(kit):
    alg, env = kit.build(update_mode="device", num_learning_epochs=1, max_consecutive_nonfinite_updates=100)
    kit.rollout(alg, env)
    alg.storage.returns[0, 0] = float("nan")  # poisons exactly one of the four minibatches
    metrics = alg.update()
    assert metrics["nonfinite_skips"] == 1.0 and metrics["num_optimizer_steps"] == 3.0
    assert all(torch.isfinite(p).all() for p in kit.params(alg))

    alg, env = kit.build(update_mode="device", num_learning_epochs=1, max_consecutive_nonfinite_updates=100)
    kit.rollout(alg, env)
    before = kit.params(alg)
    alg.storage.returns.fill_(float("nan"))
    assert alg.update()["nonfinite_skips"] == 4.0
    for a, b in zip(before, kit.params(alg)):
        assert torch.equal(a, b)
    for state in alg.optimizer.state.values():  # Adam's moments and step count are as before any step
        assert int(state["step"]) == 0
        assert not state["exp_avg"].any() and not state["exp_avg_sq"].any()


def test_device_mode_resumes_exactly(kit, tmp_path):
    settings = {"update_mode": "device", "schedule": "adaptive", "desired_kl": 0.002, "learning_rate": 3e-3}
    alg, env = kit.build(**settings)
    kit.rollout(alg, env)
    alg.update()
    torch.save(alg.save(), tmp_path / "model.pt")
    env_at_save, rng_at_save = copy.deepcopy(env), torch.get_rng_state()
    kit.rollout(alg, env)
    continued = alg.update()

    resumed, _ = kit.build(seed=1, **settings)
    resumed.load(torch.load(tmp_path / "model.pt", weights_only=True), None, strict=True)
    assert isinstance(resumed.optimizer.param_groups[0]["lr"], torch.Tensor)
    torch.set_rng_state(rng_at_save)
    kit.rollout(resumed, env_at_save)
    assert resumed.update() == pytest.approx(continued, rel=1e-6)
    for a, b in zip(kit.params(alg), kit.params(resumed)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("overrides, reason", [
    ({"update_mode": "graph"}, "not CUDA"),
    ({"update_mode": "device", "optimizer": "sgd", "learning_rate": 0.1}, "not Adam"),
    ({"update_mode": "fast"}, "update_mode"),
])
def test_impossible_update_modes_are_refused(kit, overrides, reason):
    with pytest.raises(ValueError, match=reason):
        kit.build(**overrides)


@pytest.mark.parametrize("overrides, expected", [
    ({}, "device"),  # rsl_rl MLPs with Adam on the CPU
    ({"optimizer": "sgd", "learning_rate": 0.1}, "eager"),
    ({"actor": {"class_name": "RNNModel", "rnn_type": "gru", "rnn_hidden_dim": 8, "rnn_num_layers": 1,
                "hidden_dims": [8], "distribution_cfg": {"class_name": "GaussianDistribution"}},
      "critic": {"class_name": "RNNModel", "rnn_type": "gru", "rnn_hidden_dim": 8, "rnn_num_layers": 1,
                 "hidden_dims": [8]}, "num_mini_batches": 2}, "eager"),
])
def test_auto_mode_on_the_cpu(kit, overrides, expected):
    alg, _ = kit.build(**overrides)
    assert alg.update_mode == expected


@pytest.mark.parametrize("update_mode", ["eager", "device"])
def test_update_frees_the_gradients_before_the_next_rollout(kit, update_mode):
    alg, _ = train(kit, update_mode, updates=1)
    trained = [p for p in [*alg.actor.parameters(), *alg.critic.parameters()] if p.requires_grad]
    assert trained and all(p.grad is None for p in trained)
