"""Checkpoint resolution and success rules of the record/evaluate commands, without an env."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from isaaclab_gr00t.bench.policy_rollout import GR00T_AGENT, choose_agent, parse_obs_map, resolve_checkpoint
from isaaclab_gr00t.bench.success import StickyTermSuccess, TimeLimitSuccess, UprightAtTimeLimitSuccess, success_rule


def save_checkpoint(path):
    torch.save({"actor_state_dict": {"w": torch.zeros(1)}, "iter": 1}, path)


def test_a_run_folder_gives_its_latest_checkpoint_by_iteration(tmp_path):
    for iteration in (9, 10, 2):
        save_checkpoint(tmp_path / f"model_{iteration}.pt")
    checkpoint = resolve_checkpoint(str(tmp_path))
    assert checkpoint.path.endswith("model_10.pt") and not checkpoint.is_gr00t


def test_a_gr00t_folder_is_recognized_and_goes_to_the_gr00t_agent(tmp_path):
    (tmp_path / "experiment_cfg").mkdir()
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "experiment_cfg" / "metadata.json").write_text("{}")
    checkpoint = resolve_checkpoint(str(tmp_path))
    assert checkpoint.is_gr00t and choose_agent("any task", checkpoint, None) == GR00T_AGENT
    assert choose_agent("any task", checkpoint, "my_entry_point") == "my_entry_point"


def test_bad_checkpoints_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a run folder with model_<N>.pt files nor a GR00T"):
        resolve_checkpoint(str(tmp_path))
    (tmp_path / "model_1.pt").write_text("not torch")
    with pytest.raises(ValueError, match="model_1.pt: not a torch checkpoint"):
        resolve_checkpoint(str(tmp_path))
    torch.save({"model": torch.zeros(1)}, tmp_path / "model_2.pt")
    with pytest.raises(ValueError, match="model_2.pt: not an rsl_rl checkpoint"):
        resolve_checkpoint(str(tmp_path / "model_2.pt"))
    with pytest.raises(ValueError, match="--obs_map 'policy': expected POLICY_GROUP=TASK_GROUP"):
        parse_obs_map(["policy"])


class StickyTerm:
    """Like Isaac Lab's lift ``success_reward``: a flag set during the episode, cleared on reset."""

    def __init__(self):
        self.succeeded = torch.zeros(3, dtype=torch.bool)

    def reset(self, env_ids=None):
        self.succeeded[slice(None) if env_ids is None else env_ids] = False


def test_sticky_success_is_read_before_the_reset_clears_it():
    term = StickyTerm()
    rule = StickyTermSuccess("success", term)
    term.succeeded[:] = torch.tensor([True, True, False])
    term.reset([0, 2])  # envs 0 and 2 end in this step; the env resets them before step() returns
    dones = torch.tensor([True, False, True])
    assert rule.ended(dones, {}).tolist() == [True, False, False]
    assert term.succeeded.tolist() == [False, True, False]


def test_time_limit_success_is_a_time_out_not_a_termination():
    dones = torch.tensor([True, True, False])
    extras = {"time_outs": torch.tensor([True, False, False])}
    assert TimeLimitSuccess().ended(dones, extras).tolist() == [True, False, False]
    with pytest.raises(KeyError, match="time_outs"):
        TimeLimitSuccess().ended(dones, {})


def test_a_cartpole_succeeds_at_its_time_limit_only_with_the_pole_upright():
    """Isaac Lab 3.0's cartpole does not terminate on a fallen pole: a pole hanging down at the time limit fails."""
    joint_pos = torch.tensor([[0.1, 0.05], [0.0, math.pi], [2.0, -0.1], [0.0, 2 * math.pi + 0.1]])
    data = SimpleNamespace(joint_pos=SimpleNamespace(torch=joint_pos))
    env = SimpleNamespace(cartpole=SimpleNamespace(data=data), _pole_dof_idx=[1], num_envs=4, device="cpu")
    env.unwrapped = env
    rule = success_rule(env)
    assert isinstance(rule, UprightAtTimeLimitSuccess)
    rule.before_step()
    dones = torch.tensor([True, True, True, True])
    extras = {"time_outs": torch.tensor([True, True, False, True])}
    # upright and timed out; fallen; upright but terminated; upright after a full turn (angle wraps)
    assert rule.ended(dones, extras).tolist() == [True, False, False, True]
