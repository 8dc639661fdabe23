"""The device hook: project tasks stay on the CPU without --device when there is no CUDA device."""

from __future__ import annotations

import argparse

import pytest
import torch

import isaaclab_gr00t.registration  # noqa: F401  (installs the hooks)
import isaaclab_rl.entrypoints.common as common


def env_cfg(device: str):
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    cfg = load_cfg_from_registry("GR00T-Cartpole-Direct", "env_cfg_entry_point")
    cfg.sim.device = device
    return cfg


def args(task: str, device: str = "cuda:0", explicit: bool = False) -> argparse.Namespace:
    namespace = argparse.Namespace(task=task, device=device, num_envs=None)
    if explicit:
        namespace.device_explicit = True
    return namespace


@pytest.mark.parametrize(
    ("task", "cuda", "explicit", "expected"),
    [
        ("GR00T-Cartpole-Direct", False, False, "cpu"),  # implicit cuda:0 on a CPU machine: keep the task's CPU
        ("GR00T-Cartpole-Direct", False, True, "cuda:0"),  # the user asked for it: their call
        ("GR00T-Cartpole-Direct", True, False, "cuda:0"),  # a GPU exists: Isaac Lab's default applies
        ("Isaac-Cartpole-Direct", False, False, "cuda:0"),  # not a project task: untouched
    ],
)
def test_apply_env_overrides(task, cuda, explicit, expected, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    cfg = env_cfg("cpu")
    common.apply_env_overrides(args(task, explicit=explicit), cfg)
    assert cfg.sim.device == expected
