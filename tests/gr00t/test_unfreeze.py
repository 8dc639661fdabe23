"""Progressive unfreezing of the GR00T actor (``unfreeze`` stages): each group's weights stay unchanged through the
iterations before its stage and change after, at its stage's learning rate; a resumed run continues the schedule;
bad schedules are refused at construction, naming the stage and field."""

from __future__ import annotations

import contextlib
import io
from typing import get_args

import pytest
import torch
import yaml
from tensordict import TensorDict

from isaaclab_gr00t.gr00t import GR00TActor, GR00TRunner
from isaaclab_gr00t.gr00t.config import UnfreezeGroup
from isaaclab_gr00t.gr00t.n15.testing import write_tiny_checkpoint
from isaaclab_gr00t.gr00t.unfreeze import GROUPS

from .test_ppo37_runner import _runner

LEARNING_RATE = 3e-4
"""The gr00t_tiny preset's learning rate."""

SCHEDULE = [
    {"iteration": 1, "group": "action_head", "lr_scale": 2.0},
    {"iteration": 2, "group": "vision_projector", "lr_scale": 0.5},
    {"iteration": 2, "group": "llm_lora_top", "layers": 1, "lr_scale": 0.1},
]
"""Action head from iteration 1, the projector and the language model's top layer's adapters from iteration 2."""


def _schedule_runner(env):
    return _runner(env, lora_rank=4, train_action_head=False, unfreeze=SCHEDULE)


def _groups(actor: GR00TActor) -> dict[str, dict[str, torch.Tensor]]:
    """Copies of each stage's parameters, by stage (its optimizer group's name)."""
    named = {id(p): n for n, p in actor.named_parameters()}
    return {stage.name: {named[id(p)]: p.detach().clone() for p in stage.parameters}
            for stage in actor.unfreeze_schedule.stages}


def _changed(before: dict[str, torch.Tensor], actor: GR00TActor) -> bool:
    params = dict(actor.named_parameters())
    return any(not torch.equal(params[name], value) for name, value in before.items())


def _learn(runner, iterations: int = 1) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        runner.learn(num_learning_iterations=iterations)


def test_every_group_of_the_cfg_has_its_function():
    assert set(GROUPS) == set(get_args(UnfreezeGroup))


def test_each_group_trains_from_its_stage_on_at_its_learning_rate(env):
    runner = _schedule_runner(env)
    actor, optimizer = runner.alg.actor, runner.alg.optimizer
    names = ["unfreeze.0.action_head", "unfreeze.1.vision_projector", "unfreeze.2.llm_lora_top"]
    lrs = {group.get("name"): group["lr"] for group in optimizer.param_groups}
    assert [lrs[name] for name in names] == pytest.approx([2 * LEARNING_RATE, 0.5 * LEARNING_RATE,
                                                          0.1 * LEARNING_RATE])
    assert "action_head" not in lrs and "lora" not in lrs  # nothing trains these at the start
    # adapters only on the language model's top layer: the bottom one runs unchanged
    lora = [n for n, _ in actor.gr00t.backbone.named_parameters() if "lora_" in n]
    assert lora and all(".layers.1." in n for n in lora)
    starts = {"unfreeze.0.action_head": 1, "unfreeze.1.vision_projector": 2, "unfreeze.2.llm_lora_top": 2}
    for iteration in range(3):
        before = _groups(actor)
        _learn(runner)
        for name, start in starts.items():
            assert _changed(before[name], actor) == (iteration >= start), (name, iteration)
    # a schedule that trains the backbone stores no backbone features: its updates run the backbone
    assert "features" not in runner.alg.rollout_extras.buffer.keys()


def test_a_head_only_schedule_keeps_replaying_stored_features(env):
    runner = _runner(env, train_action_head=False, unfreeze=[{"iteration": 1, "group": "action_head"}])
    _learn(runner)
    assert "features" in runner.alg.rollout_extras.buffer.keys()
    assert not runner.alg.actor.backbone_trains


@pytest.mark.parametrize("saved_at, unfreezes_at", [(1, 2), (3, 3)])
def test_resume_continues_the_schedule(env, make_env, tmp_path, saved_at, unfreezes_at):
    """From a checkpoint saved before the projector's stage (iteration 2) the resumed run unfreezes it at the same
    iteration; from one saved after, it trains from the first resumed iteration with the checkpoint's weights."""
    stages = [{"iteration": 2, "group": "vision_projector", "lr_scale": 0.5}]
    runner = _runner(env, unfreeze=stages)
    _learn(runner, saved_at)
    path = str(tmp_path / f"model_{saved_at}.pt")
    runner.save(path)
    projector = _groups(runner.alg.actor)["unfreeze.0.vision_projector"]

    resumed = _runner(make_env(), unfreeze=stages)
    with contextlib.redirect_stdout(io.StringIO()):
        resumed.load(path)
    actor = resumed.alg.actor
    assert resumed.current_learning_iteration == saved_at
    assert not _changed(projector, actor)  # the checkpoint holds the projector, trained or not
    for iteration in range(saved_at, unfreezes_at + 1):
        before = _groups(actor)["unfreeze.0.vision_projector"]
        _learn(resumed)
        assert _changed(before, actor) == (iteration >= unfreezes_at), iteration
    assert actor.gr00t.backbone.eagle_model.mlp1[0].weight.requires_grad


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    return write_tiny_checkpoint(str(tmp_path_factory.mktemp("gr00t")))


def _obs(num_envs: int = 2) -> TensorDict:
    torch.manual_seed(1)
    return TensorDict({"policy": torch.rand(num_envs, 3, 30, 30) - 0.5, "critic": torch.randn(num_envs, 4)},
                      batch_size=[num_envs], device="cpu")


def test_stages_of_a_checkpoint_folder_model_are_saved_and_trained_in_float32(tiny_checkpoint):
    """The folder rebuilds the frozen weights, so PPO checkpoints leave them out, but not a stage's; a bfloat16
    backbone runs with its float32 projector and adapters."""
    obs = _obs()
    actor = GR00TActor(obs, {"actor": ["policy"]}, "actor", 6, checkpoint=tiny_checkpoint.checkpoint_dir,
                       processor=tiny_checkpoint.processor_dir, dtype="bfloat16", lora_rank=2, pixel_offset=0.5,
                       use_statistics=False,
                       unfreeze=[{"iteration": 3, "group": "vision_projector"},
                                 {"iteration": 5, "group": "llm_lora_top", "layers": 2}])
    state = actor.state_dict()
    stage_parameters = actor.unfreeze_schedule.parameters()
    named = {id(p): n for n, p in actor.named_parameters()}
    assert {named[id(p)] for p in stage_parameters} <= set(state)
    assert not any(k.startswith("gr00t.backbone.eagle_model.vision_model") for k in state)
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in stage_parameters)
    assert actor.unfreeze_due(4) == ["unfreeze.0.vision_projector"] and actor.unfreeze_due(4) == []
    actions = actor(obs, stochastic_output=True).detach()
    actor(obs, stochastic_output=True)
    actor.get_output_log_prob(actions).sum().backward()
    projector = actor.gr00t.backbone.eagle_model.mlp1[0].weight
    assert projector.grad is not None and projector.grad.abs().sum() > 0
    assert all(p.grad is None for p in actor.unfreeze_schedule.stages[1].parameters)  # not due yet


def _actor(**cfg) -> GR00TActor:
    return GR00TActor(_obs(), {"actor": ["policy"]}, "actor", 1, pixel_offset=0.5, **cfg)


@pytest.mark.parametrize("cfg, match", [
    ({"unfreeze": "[{iteration:1,group:vision_projector}]"}, r"'unfreeze' must be a list of stages.*YAML"),
    ({"unfreeze": [{"iteration": 1, "group": "decoder"}]}, r"unfreeze\[0\].*unknown group 'decoder'"),
    ({"unfreeze": [{"group": "vision_projector"}]}, r"unfreeze\[0\].*'iteration' required"),
    ({"unfreeze": [{"iteration": 1, "group": "vision_projector", "lr": 0.1}]}, r"unfreeze\[0\].*unknown field.*'lr'"),
    ({"unfreeze": [{"iteration": 1, "group": "vision_projector", "lr_scale": 0.0}]}, r"unfreeze\[0\].*'lr_scale'"),
    ({"unfreeze": [{"iteration": 4, "group": "vision_projector"}, {"iteration": 2, "group": "action_head"}],
      "train_action_head": False}, r"unfreeze\[1\].*order of iteration.*2 follows 4"),
    ({"unfreeze": [{"iteration": 1, "group": "llm_lora_top", "layers": 1}]}, r"unfreeze\[0\].*'lora_rank' > 0"),
    ({"unfreeze": [{"iteration": 1, "group": "vision_lora"}], "lora_rank": 4},
     r"unfreeze\[0\].*non-empty 'lora_vision_targets'"),
    ({"unfreeze": [{"iteration": 1, "group": "llm_lora_top", "layers": 3}], "lora_rank": 4},
     r"unfreeze\[0\].*'layers' = 3 exceeds the language model's 2 layers"),
    ({"unfreeze": [{"iteration": 1, "group": "llm_lora_top"}], "lora_rank": 4}, r"unfreeze\[0\].*'layers'"),
    ({"unfreeze": [{"iteration": 1, "group": "vision_projector", "layers": 2}]}, r"unfreeze\[0\].*'layers'"),
    ({"unfreeze": [{"iteration": 1, "group": "action_head"}]}, r"unfreeze\[0\].*already trains from the start"),
    ({"unfreeze": [{"iteration": 1, "group": "llm_lora_top", "layers": 2},
                   {"iteration": 2, "group": "llm_lora_top", "layers": 1}], "lora_rank": 4},
     r"unfreeze\[1\].*adds no parameters"),
])
def test_a_bad_schedule_is_refused_naming_the_stage(cfg, match):
    with pytest.raises(ValueError, match=match):
        _actor(**cfg)


def test_a_schedule_written_in_yaml_reaches_the_actor(env):
    """A task spec's agent overrides (or the preset) give the stages as YAML mappings; the actor rebuilds them."""
    from isaaclab.utils import to_dict
    from isaaclab_rl.rsl_rl.utils import handle_deprecated_rsl_rl_cfg

    from isaaclab_gr00t.registration.agents import build_agent_cfg, load_agent_preset
    from isaaclab_gr00t.registration.register import _project_folder

    overrides = yaml.safe_load("""
        num_steps_per_env: 4
        actor:
          lora_rank: 4
          unfreeze:
            - {iteration: 10, group: vision_projector, lr_scale: 0.1}
            - {iteration: 20, group: llm_lora_top, layers: 1}
    """)
    preset = load_agent_preset(_project_folder("agents") / "gr00t_tiny.yaml")
    cfg = to_dict(handle_deprecated_rsl_rl_cfg(build_agent_cfg(preset, overrides, "spec.yaml", "cpu"), "5.5.1"))
    with contextlib.redirect_stdout(io.StringIO()):
        runner = GR00TRunner(env, cfg, log_dir=None, device="cpu")
    stages = runner.alg.actor.unfreeze_schedule.stages
    assert [(s.cfg.iteration, s.cfg.group, s.cfg.layers, s.cfg.lr_scale) for s in stages] == [
        (10, "vision_projector", 0, 0.1), (20, "llm_lora_top", 1, 1.0)]
