"""PPO37Runner files PPO37's metrics under their own TensorBoard tags; stock PPO's keep rsl_rl's ``Loss/<key>``."""

from __future__ import annotations

import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import isaaclab_gr00t.runner.ppo37_runner as runner_module
from isaaclab_gr00t.ppo.ppo37 import METRIC_TAGS
from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv, point_mass_train_cfg


def logged(tmp_path, capsys, algorithm: dict | None) -> tuple[set[str], str]:
    torch.manual_seed(0)
    runner = PPO37Runner(PointMassVecEnv(16, seed=0), point_mass_train_cfg(algorithm, save_interval=100),
                         log_dir=str(tmp_path), device="cpu")
    capsys.readouterr()
    runner.learn(2)
    console = capsys.readouterr().out
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    return set(events.Tags()["scalars"]), console


def test_ppo37_metrics_are_filed_under_their_tags(tmp_path, capsys):
    tags, console = logged(tmp_path, capsys, {"class_name": "isaaclab_gr00t.ppo:PPO37", "num_mini_batches": 4})
    for tag in ("Policy/approx_kl", "Policy/clip_fraction", "Policy/entropy", "Loss/value", "Loss/surrogate",
                "Value/explained_variance", "Optimizer/grad_norm", "Loss/learning_rate", "Train/mean_reward"):
        assert tag in tags, tag
    renamed = {key for key, tag in METRIC_TAGS.items() if tag}  # learning_rate keeps rsl_rl's Loss/learning_rate
    assert not [tag for tag in tags if tag.startswith("Loss/") and tag.removeprefix("Loss/") in renamed]
    assert console.count("Policy/approx_kl:") == 2 and "Mean approx_kl loss" not in console
    assert "Loss/value:" in console and "Mean value_loss loss" not in console


def test_stock_ppo_metrics_keep_rsl_rl_names(tmp_path, capsys):
    tags, console = logged(tmp_path, capsys, None)
    assert {"Loss/value", "Loss/surrogate", "Loss/entropy"} <= tags
    assert not any(tag.startswith("Policy/approx") for tag in tags)
    assert console.count("Mean value loss:") == 2


def test_peak_memory_is_logged_per_phase_only_on_cuda(tmp_path, capsys, monkeypatch):
    ppo37 = {"class_name": "isaaclab_gr00t.ppo:PPO37", "num_mini_batches": 4}
    tags, console = logged(tmp_path / "cpu", capsys, ppo37)
    assert not any("peak_memory" in tag for tag in tags) and "Perf/peak_memory" not in console
    assert runner_module.peak_memory("cpu", "rollout") == {}

    # the CUDA reading (torch.cuda.max_memory_allocated) cannot run here; what it returns reaches both outputs
    readings = iter([1.5, 2.0, 2.5, 3.0])  # per iteration: the rollout, the update
    monkeypatch.setattr(runner_module, "peak_memory",
                        lambda device, phase: {f"Perf/peak_memory_{phase}_gib": next(readings)})
    tags, console = logged(tmp_path / "cuda", capsys, ppo37)
    assert "Perf/peak_memory_rollout_gib: 1.5000" in console and "Perf/peak_memory_update_gib: 3.0000" in console
    events = EventAccumulator(str(tmp_path / "cuda"))
    events.Reload()
    assert [event.value for event in events.Scalars("Perf/peak_memory_rollout_gib")] == [1.5, 2.5]
    assert [event.value for event in events.Scalars("Perf/peak_memory_update_gib")] == [2.0, 3.0]
