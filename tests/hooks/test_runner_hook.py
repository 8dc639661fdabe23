"""The runner hook: a "module:Class" runner name is built, stock names and errors are Isaac Lab's own."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

import isaaclab_gr00t.registration  # noqa: F401  (the entry point module installs the hooks)
import isaaclab_rl.rsl_rl
import isaaclab_rl.rsl_rl.utils as rsl_rl_utils


class RecordingRunner:
    def __init__(self, env, train_cfg, log_dir=None, device="cpu"):
        self.env, self.train_cfg, self.log_dir, self.device = env, train_cfg, log_dir, device


def agent_cfg(class_name: str):
    from isaaclab_rl.rsl_rl import RslRlOnPolicyRunnerCfg

    return RslRlOnPolicyRunnerCfg(class_name=class_name, device="cpu", experiment_name="hook_test")


@pytest.fixture
def runner_module(tmp_path, monkeypatch):
    (tmp_path / "hook_test_runners.py").write_text(
        "class CustomRunner:\n"
        "    def __init__(self, env, train_cfg, log_dir=None, device='cpu'):\n"
        "        self.args = (env, train_cfg, log_dir, device)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "hook_test_runners"
    sys.modules.pop("hook_test_runners", None)


def test_a_module_class_name_builds_that_runner_with_the_stock_signature(runner_module):
    env = SimpleNamespace(name="env")
    runner = isaaclab_rl.rsl_rl.create_rsl_rl_runner(env, agent_cfg(f"{runner_module}:CustomRunner"), log_dir="/tmp/x")
    assert type(runner).__name__ == "CustomRunner"
    built_env, train_cfg, log_dir, device = runner.args
    assert built_env is env and log_dir == "/tmp/x" and device == "cpu"
    assert isinstance(train_cfg, dict) and train_cfg["experiment_name"] == "hook_test"


@pytest.mark.parametrize("stock_name", ["OnPolicyRunner", "DistillationRunner"])
def test_stock_names_still_build_the_stock_runners(stock_name, monkeypatch):
    monkeypatch.setattr(rsl_rl_utils, stock_name, RecordingRunner)
    runner = isaaclab_rl.rsl_rl.create_rsl_rl_runner("env", agent_cfg(stock_name), log_dir="logs")
    assert isinstance(runner, RecordingRunner)
    assert (runner.env, runner.log_dir, runner.device) == ("env", "logs", "cpu")


@pytest.mark.parametrize("bad_name", ["NoSuchRunner", "no_such_module:Runner", "isaaclab_gr00t:NoSuchRunner"])
def test_unknown_names_fail_with_isaac_labs_error(bad_name):
    with pytest.raises(ValueError, match=f"Unsupported runner class: {bad_name}"):
        isaaclab_rl.rsl_rl.create_rsl_rl_runner("env", agent_cfg(bad_name))


def test_the_train_and_play_commands_see_the_hook():
    from isaaclab_rl.entrypoints.backends import play_rsl_rl, train_rsl_rl

    hooked = rsl_rl_utils.create_rsl_rl_runner
    assert getattr(hooked, "_isaaclab_gr00t_runner_hook", False)
    assert train_rsl_rl.create_rsl_rl_runner is hooked
    assert play_rsl_rl.create_rsl_rl_runner is hooked
    assert isaaclab_rl.rsl_rl.create_rsl_rl_runner is hooked


def test_installing_twice_wraps_once():
    from isaaclab_gr00t.hooks import install_runner_hook

    before = rsl_rl_utils.create_rsl_rl_runner
    install_runner_hook()
    assert rsl_rl_utils.create_rsl_rl_runner is before
