"""The GR00T N1.5 agent under PPO37Runner + PPO37 (the gr00t_tiny preset): stored rollout extras make the update
skip the backbone and re-score flow-SDE chains exactly; chunked execution trains and plays."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch
from isaaclab.utils import to_dict
from isaaclab_rl.rsl_rl.utils import handle_deprecated_rsl_rl_cfg

from isaaclab_gr00t.gr00t import ChunkedActionEnv
from isaaclab_gr00t.registration import project_agent_cfg
from isaaclab_gr00t.runner import PPO37Runner


def _runner(env, **actor) -> PPO37Runner:
    cfg = project_agent_cfg("gr00t_tiny")
    cfg.num_steps_per_env = 4
    cfg.algorithm.num_mini_batches = 2
    cfg.critic.hidden_dims = [32, 32]
    for name, value in actor.items():
        setattr(cfg.actor, name, value)
    train_cfg = to_dict(handle_deprecated_rsl_rl_cfg(cfg, "5.5.1"))
    with contextlib.redirect_stdout(io.StringIO()):
        return PPO37Runner(env, train_cfg, log_dir=None, device="cpu")


def _rollout(runner: PPO37Runner) -> None:
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
    alg.rollout_extras.replay(actor, flat)
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
