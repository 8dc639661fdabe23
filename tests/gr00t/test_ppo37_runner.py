"""The GR00T N1.5 agent under GR00TRunner + PPO37 (the gr00t_tiny preset): stored rollout extras make the update
skip the backbone and re-score flow-SDE chains exactly; chunked execution trains and plays, and the plug-in runner
trains exactly as PPO37Runner on the env chunked by hand."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch
from isaaclab.utils import to_dict
from isaaclab_rl.rsl_rl.utils import handle_deprecated_rsl_rl_cfg

from rsl_rl.utils import resolve_callable

from isaaclab_gr00t.gr00t import ChunkedActionEnv, GR00TRunner
from isaaclab_gr00t.registration import project_agent_cfg
from isaaclab_gr00t.runner import PPO37Runner


def _train_cfg(**actor) -> dict:
    cfg = project_agent_cfg("gr00t_tiny")
    cfg.num_steps_per_env = 4
    cfg.algorithm.num_mini_batches = 2
    cfg.critic.hidden_dims = [32, 32]
    for name, value in actor.items():
        setattr(cfg.actor, name, value)
    return to_dict(handle_deprecated_rsl_rl_cfg(cfg, "5.5.1"))


def _runner(env, **actor) -> GR00TRunner:
    """The runner the preset names, as Isaac Lab's runner hook builds it."""
    train_cfg = _train_cfg(**actor)
    runner_class = resolve_callable(train_cfg["class_name"])
    assert runner_class is GR00TRunner
    with contextlib.redirect_stdout(io.StringIO()):
        return runner_class(env, train_cfg, log_dir=None, device="cpu")


def _rollout(runner: GR00TRunner) -> None:
    alg, env = runner.alg, runner.env
    obs = env.get_observations()
    alg.train_mode()
    with torch.inference_mode():
        for _ in range(runner.cfg["num_steps_per_env"]):
            obs, rewards, dones, extras = env.step(alg.act(obs))
            alg.process_env_step(obs, rewards, dones, extras)
        alg.compute_returns(obs)


@pytest.mark.parametrize("policy", ["gaussian", "flow_sde"])
def test_update_replays_stored_extras_with_first_epoch_ratio_one(env, policy):
    runner = _runner(env, policy=policy)
    alg, actor = runner.alg, runner.alg.actor
    assert alg.update_mode == "eager"  # a model of its own is never captured in a CUDA graph
    _rollout(runner)
    stored = alg.rollout_extras.buffer
    assert stored["features"].shape[:2] == (4, env.num_envs)
    assert ("chain" in stored.keys()) == (policy == "flow_sde")
    assert ("noise" in stored.keys()) == (policy == "gaussian")  # the Gaussian mode's start noise x_0
    backbone_runs = [0]
    actor.gr00t.backbone.register_forward_hook(lambda *_: backbone_runs.__setitem__(0, backbone_runs[0] + 1))
    flat = torch.arange(4 * env.num_envs)
    batch_obs = alg.storage.observations.flatten(0, 1)
    alg.rollout_extras.replay(flat)
    actor(batch_obs, stochastic_output=True)
    log_prob = actor.get_output_log_prob(alg.storage.actions.flatten(0, 1))
    torch.testing.assert_close(log_prob, alg.storage.actions_log_prob.flatten(), atol=1e-5, rtol=0)
    metrics = alg.update()
    assert backbone_runs[0] == 0, "the update ran the frozen backbone"
    assert metrics["approx_kl"] >= 0 and torch.isfinite(torch.tensor(metrics["value_loss"]))


def test_learning_changes_the_action_head_and_keeps_the_backbone(env):
    runner = _runner(env, policy="flow_sde")
    actor = runner.alg.actor
    frozen = {n: p.clone() for n, p in actor.gr00t.backbone.named_parameters()}
    head = {n: p.clone() for n, p in actor.gr00t.action_head.named_parameters()}
    with contextlib.redirect_stdout(io.StringIO()):
        runner.learn(num_learning_iterations=2)
    assert all(torch.equal(p, frozen[n]) for n, p in actor.gr00t.backbone.named_parameters())
    assert any(not torch.equal(p, head[n]) for n, p in actor.gr00t.action_head.named_parameters())


def test_chunked_execution_trains_and_plays_one_action_a_step(make_env):
    env = make_env()
    runner = _runner(env, execute_steps=2)
    assert isinstance(runner.env, ChunkedActionEnv) and runner.env.num_actions == 2
    with contextlib.redirect_stdout(io.StringIO()):
        runner.learn(num_learning_iterations=1)
    policy = runner.get_inference_policy("cpu")
    obs = env.get_observations()
    with torch.inference_mode():
        torch.manual_seed(5)  # each chunk integrates from fresh start noise: the same seed gives the same chunk
        first, second = policy(obs), policy(obs)
        torch.manual_seed(5)
        chunk = runner.alg.get_policy()(obs)
    assert first.shape == (env.num_envs, 1)
    torch.testing.assert_close(torch.cat([first, second], dim=1), chunk)


def _trained(runner_class, make_env, chunk_by_hand: int, train_cfg: dict) -> tuple[dict, dict, float]:
    """Weights, last update's metrics and learning rate after two iterations from seed 0."""
    torch.manual_seed(0)
    env = ChunkedActionEnv(make_env(), chunk_by_hand) if chunk_by_hand else make_env()
    with contextlib.redirect_stdout(io.StringIO()):
        runner = runner_class(env, train_cfg, log_dir=None, device="cpu")
        metrics = {}
        update = runner.alg.update
        runner.alg.update = lambda: metrics.update(update()) or metrics
        runner.learn(num_learning_iterations=2)
    models = {"actor": runner.alg.actor, "critic": runner.alg.critic}
    weights = {f"{name}.{key}": value for name, model in models.items() for key, value in model.state_dict().items()}
    return weights, metrics, runner.alg.learning_rate


def test_gr00t_runner_trains_as_ppo37_runner_on_the_env_chunked_by_hand(make_env):
    train_cfg = _train_cfg(execute_steps=2, policy="flow_sde")
    plugin = _trained(GR00TRunner, make_env, 0, train_cfg)
    by_hand = _trained(PPO37Runner, make_env, 2, train_cfg)
    assert plugin[0].keys() == by_hand[0].keys()
    assert all(torch.equal(plugin[0][key], by_hand[0][key]) for key in plugin[0])
    assert plugin[1] == by_hand[1] and plugin[1]["num_optimizer_steps"] > 0
    assert plugin[2] == by_hand[2]
