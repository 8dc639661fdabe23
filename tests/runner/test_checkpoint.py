"""Atomic checkpoint writes and all-or-nothing, validated loads."""

import copy
import os
import re

import pytest
import torch
from isaaclab_rl.entrypoints.common import resolve_checkpoint_selector, write_run_manifest
from isaaclab_tasks.utils import get_checkpoint_path

from isaaclab_gr00t.runner import CheckpointError, PPO37Runner
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv


def make_runner(cfg, log_dir=None, hidden_dims=(32, 32)) -> PPO37Runner:
    cfg["actor"]["hidden_dims"] = list(hidden_dims)
    return PPO37Runner(PointMassVecEnv(num_envs=8), cfg, log_dir=log_dir, device="cpu")


def trained_checkpoint(train_cfg, directory) -> str:
    """A real checkpoint after one iteration (so the optimizer has state)."""
    runner = make_runner(train_cfg(num_steps_per_env=4, save_interval=1), log_dir=str(directory))
    runner.learn(1)
    return os.path.join(directory, "model_1.pt")


@pytest.fixture(scope="module")
def shared_checkpoint(train_cfg, tmp_path_factory):
    """One trained checkpoint for the tests that only read it."""
    return trained_checkpoint(train_cfg, tmp_path_factory.mktemp("good"))


def isaaclab_latest(run_dir) -> tuple[str, str]:
    """What Isaac Lab's two checkpoint pickers choose in the run folder."""
    root, run = os.path.split(str(run_dir))
    write_run_manifest(str(run_dir), library="rsl_rl", task="Synthetic-Task")
    selected = resolve_checkpoint_selector(
        root, "latest", library="rsl_rl", task="Synthetic-Task", checkpoint_pattern=r"model_.*\.pt"
    )
    return selected, get_checkpoint_path(root, run, "model_.*.pt")


def test_crash_during_write_keeps_previous_checkpoint(train_cfg, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    first = trained_checkpoint(train_cfg, run_dir)
    reference = torch.load(first, weights_only=True)
    runner = make_runner(train_cfg())

    def killed_while_writing(obj, file):
        file.write(b"PK\x03\x04 half a zip archive")
        raise KeyboardInterrupt  # the process dies half-way through the write

    monkeypatch.setattr(torch, "save", killed_while_writing)
    # a SIGKILL also skips the clean-up of the temporary file: emulate that too
    monkeypatch.setattr(os, "remove", lambda path: None)
    for target in ("model_1.pt", "model_2.pt"):  # overwrite an existing checkpoint, then write a new one
        with pytest.raises(KeyboardInterrupt):
            runner.save(str(run_dir / target))
    monkeypatch.undo()

    leftovers = sorted(name for name in os.listdir(run_dir) if name.endswith(".tmp"))
    assert len(leftovers) == 2, "the emulated kill should have left the temporary files behind"
    assert not any(re.fullmatch(r"model_.*\.pt", name) or re.match("model_.*.pt", name) for name in leftovers)
    assert not (run_dir / "model_2.pt").exists()
    assert isaaclab_latest(run_dir) == (first, first)
    loaded = torch.load(first, weights_only=True)
    for name, tensor in reference["actor_state_dict"].items():
        assert torch.equal(loaded["actor_state_dict"][name], tensor)
    make_runner(train_cfg()).load(first)  # still a complete, loadable checkpoint


def test_interrupted_write_cleans_up_its_temporary_file(train_cfg, tmp_path, monkeypatch):
    runner = make_runner(train_cfg())
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        runner.save(str(tmp_path / "model_3.pt"))
    assert os.listdir(tmp_path) == []


def snapshot(runner: PPO37Runner) -> dict:
    return copy.deepcopy({**runner.alg.save(), "iteration": runner.current_learning_iteration})


def assert_untouched(runner: PPO37Runner, before: dict) -> None:
    after = snapshot(runner)
    assert after["iteration"] == before["iteration"]
    for key in ("actor_state_dict", "critic_state_dict"):
        for name, tensor in before[key].items():
            assert torch.equal(after[key][name], tensor), f"{key}.{name} was modified"
    assert after["optimizer_state_dict"]["param_groups"] == before["optimizer_state_dict"]["param_groups"]
    assert after["optimizer_state_dict"]["state"].keys() == before["optimizer_state_dict"]["state"].keys()


class NotATensor:
    """A custom object: weights_only loading must refuse to unpickle it."""


@pytest.mark.parametrize(
    "damage, message",
    [
        ("garbage", "cannot be read"),
        ("truncated", "cannot be read"),
        ("custom_object", "cannot be read"),
        ("not_a_dict", "expected a dict"),
        ("missing_critic", "lacks required entries \\['critic_state_dict'\\]"),
        ("missing_iter", "lacks required entries \\['iter'\\]"),
        ("wrong_shape", "has shape"),
        ("extra_tensor", "unexpected \\['extra.weight'\\]"),
        ("optimizer_groups", "parameter groups"),
    ],
)
def test_bad_checkpoint_is_refused_and_models_stay_untouched(train_cfg, tmp_path, damage, message, shared_checkpoint):
    good = shared_checkpoint
    checkpoint = torch.load(good, weights_only=True)
    bad = str(tmp_path / f"model_{damage}.pt")
    if damage == "garbage":
        with open(bad, "wb") as file:
            file.write(os.urandom(4096))
    elif damage == "truncated":
        with open(good, "rb") as source, open(bad, "wb") as file:
            data = source.read()
            file.write(data[: len(data) // 2])
    elif damage == "custom_object":
        torch.save({**checkpoint, "infos": NotATensor()}, bad)
    elif damage == "not_a_dict":
        torch.save([checkpoint["actor_state_dict"]], bad)
    elif damage == "wrong_shape":
        make_runner(train_cfg(), hidden_dims=(16, 16)).save(bad)
    else:
        if damage == "missing_critic":
            del checkpoint["critic_state_dict"]
        elif damage == "missing_iter":
            del checkpoint["iter"]
        elif damage == "extra_tensor":
            checkpoint["actor_state_dict"]["extra.weight"] = torch.zeros(1)
        elif damage == "optimizer_groups":
            checkpoint["optimizer_state_dict"]["param_groups"].append({"params": [99]})
        torch.save(checkpoint, bad)

    runner = make_runner(train_cfg())
    runner.learn(1)  # give the receiving optimizer state too, so "untouched" is checked on real state
    before = snapshot(runner)
    with pytest.raises(CheckpointError, match=message) as error:
        runner.load(bad)
    assert bad in str(error.value)
    assert_untouched(runner, before)


def test_missing_file_is_named(train_cfg, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        make_runner(train_cfg()).load(str(tmp_path / "model_7.pt"))


def test_load_restores_models_optimizer_and_iteration(train_cfg, tmp_path, shared_checkpoint):
    good = shared_checkpoint
    runner = make_runner(train_cfg())
    runner.load(good, map_location="cpu")
    stored = torch.load(good, weights_only=True)
    assert runner.current_learning_iteration == stored["iter"] == 1
    for name, tensor in stored["actor_state_dict"].items():
        assert torch.equal(runner.alg.save()["actor_state_dict"][name], tensor)
    # a selection without optimizer and iteration does not need those entries
    del stored["optimizer_state_dict"], stored["iter"]
    partial = str(tmp_path / "weights_only.pt")
    torch.save(stored, partial)
    fresh = make_runner(train_cfg())
    fresh.load(partial, load_cfg={"actor": True, "critic": True, "optimizer": False, "iteration": False})
    assert fresh.current_learning_iteration == 0


def test_keep_last_checkpoints(train_cfg, tmp_path):
    runner = make_runner(train_cfg(num_steps_per_env=2, save_interval=1, keep_last_checkpoints=2), str(tmp_path))
    runner.learn(4)
    assert sorted(name for name in os.listdir(tmp_path) if name.endswith(".pt")) == ["model_3.pt", "model_4.pt"]
