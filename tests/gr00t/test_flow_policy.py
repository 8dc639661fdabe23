"""The two PPO policy modes on the flow head, and the rollout extras that let the update skip the backbone."""

from __future__ import annotations

import math

import pytest
import torch
from tensordict import TensorDict

from isaaclab_gr00t.gr00t import GR00TActor, GR00TCritic

GROUPS = {"actor": ["policy", "state"], "critic": ["critic"]}


def _obs(num_envs: int = 5) -> TensorDict:
    torch.manual_seed(3)
    return TensorDict(
        {"policy": torch.rand(num_envs, 3, 30, 30) - 0.5, "state": torch.randn(num_envs, 3),
         "critic": torch.randn(num_envs, 4)},
        batch_size=[num_envs],
    )


def _count_backbone_runs(actor: GR00TActor) -> list[int]:
    runs = [0]
    actor.gr00t.backbone.register_forward_hook(lambda *_: runs.__setitem__(0, runs[0] + 1))
    return runs


def test_flow_sde_step_noise_follows_the_published_schedule():
    obs = _obs()
    actor = GR00TActor(obs, GROUPS, "actor", 2, policy="flow_sde", pixel_offset=0.5)
    with torch.no_grad():
        context, state_tokens, _ = actor.shared.encode(obs)
        denoiser = actor._denoiser(context, state_tokens)
        head = actor.gr00t.config.action_head
        x = torch.randn(5, head.action_horizon, head.action_dim)
        sigmas = []
        for k in range(4):
            _, std = actor.policy._step_gaussian(denoiser, x, torch.full((5,), k))
            sigmas.append(float(std[0, 0, 0]) / math.sqrt(0.25))
    assert sigmas == pytest.approx([1.0, 0.5 * math.sqrt(3), 0.5, 0.5 / math.sqrt(3)], rel=1e-6)


@pytest.mark.parametrize("policy", ["gaussian", "flow_sde"])
def test_replayed_extras_reproduce_log_probs_without_the_backbone(policy):
    obs = _obs()
    actor = GR00TActor(obs, GROUPS, "actor", 2, policy=policy, pixel_offset=0.5)
    critic = GR00TCritic(obs, GROUPS, "critic", 1, cnns=actor.cnns)
    runs = _count_backbone_runs(actor)
    with torch.no_grad():
        actions = actor(obs, stochastic_output=True)
        log_prob = actor.get_output_log_prob(actions)
        values = critic(obs)
    extras = actor.rollout_extras
    assert runs[0] == 1
    assert extras["features"].shape[:2] == (5, actor.input_ids.shape[1])
    if policy == "flow_sde":
        head = actor.gr00t.config.action_head
        assert extras["chain"].shape == (5, 5, head.action_horizon, head.action_dim)
        assert extras["step"].unique().numel() == 1
        # the chain ends at the executed action (identity statistics for new_embodiment)
        torch.testing.assert_close(actions, extras["chain"][:, -1, :1, :2].flatten(1))
    order = torch.tensor([4, 2, 0, 1, 3])  # a shuffled minibatch, as the update draws it
    batch = obs[order]
    actor.replay(extras[order])
    actor(batch, stochastic_output=True)
    torch.testing.assert_close(actor.get_output_log_prob(actions[order]), log_prob[order], atol=1e-5, rtol=0)
    torch.testing.assert_close(critic(batch), values[order], atol=1e-5, rtol=0)  # from the actor's stash
    assert runs[0] == 1, "the update ran the frozen backbone although its features were stored"
    assert actor.rollout_extras is None, "an update forward must not produce new extras"


def test_flow_sde_log_prob_is_the_noisy_steps_gaussian():
    obs = _obs()
    actor = GR00TActor(obs, GROUPS, "actor", 2, policy="flow_sde", pixel_offset=0.5)
    with torch.no_grad():
        actions = actor(obs, stochastic_output=True)
        log_prob = actor.get_output_log_prob(actions)
        extras = actor.rollout_extras
        context, state_tokens, _ = actor.shared.encode(obs)
        denoiser = actor._denoiser(context, state_tokens)
        step = extras["step"]
        rows = torch.arange(5)
        mean, std = actor.policy._step_gaussian(denoiser, extras["chain"][rows, step], step)
    executed = (slice(None), slice(0, 1), slice(0, 2))  # first action of the chunk, the env's 2 dims
    target = extras["chain"][rows, step + 1][executed]
    expected = torch.distributions.Normal(mean[executed], std[executed]).log_prob(target).sum(dim=(1, 2))
    torch.testing.assert_close(log_prob, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("policy", ["gaussian", "flow_sde"])
def test_the_deterministic_action_integrates_from_sampled_noise(policy):
    """The published model starts every integration from x_0 ~ N(0, I), never from its mode 0."""
    obs = _obs()
    actor = GR00TActor(obs, GROUPS, "actor", 2, policy=policy, pixel_offset=0.5)
    with torch.no_grad():
        context, state_tokens, _ = actor.shared.encode(obs)
        denoiser = actor._denoiser(context, state_tokens)
        torch.manual_seed(11)
        action = actor(obs)
        torch.manual_seed(11)
        expected = denoiser.action_from(torch.randn_like(denoiser.chunk_like))
        from_zero = denoiser.action_from(torch.zeros_like(denoiser.chunk_like))
    torch.testing.assert_close(action, expected)
    assert (action - from_zero).abs().max() > 1e-3


def test_gaussian_rollout_stores_its_start_noise_and_the_update_reuses_it():
    obs = TensorDict({"state": torch.randn(4, 3)}, batch_size=[4])
    actor = GR00TActor(obs, {"actor": ["state"]}, "actor", 2)
    with torch.no_grad():
        actions = actor(obs, stochastic_output=True)
        log_prob = actor.get_output_log_prob(actions)
        extras = actor.rollout_extras
        assert set(extras.keys()) == {"noise"} and extras["noise"].shape[0] == 4
        actor.replay(extras)
        actor(obs, stochastic_output=True)
        torch.testing.assert_close(actor.get_output_log_prob(actions), log_prob, atol=1e-5, rtol=0)
        actor(obs, stochastic_output=True)  # without the stored noise the mean moves
        assert (actor.get_output_log_prob(actions) - log_prob).abs().max() > 1e-4


def test_lora_backbone_is_not_stored_and_runs_in_the_update():
    obs = _obs()
    actor = GR00TActor(obs, GROUPS, "actor", 2, lora_rank=2, pixel_offset=0.5)
    with torch.no_grad():
        actor(obs, stochastic_output=True)
    assert set(actor.rollout_extras.keys()) == {"noise"}  # a trained backbone's features go stale: not stored


def test_flow_sde_on_a_task_without_cameras_stores_the_chain_only():
    obs = TensorDict({"state": torch.randn(4, 3)}, batch_size=[4])
    actor = GR00TActor(obs, {"actor": ["state"]}, "actor", 2, policy="flow_sde")
    with torch.no_grad():
        actions = actor(obs, stochastic_output=True)
        log_prob = actor.get_output_log_prob(actions)
    extras = actor.rollout_extras
    assert set(extras.keys()) == {"chain", "step"} and extras.batch_size == (4,)
    actor.replay(extras)
    with torch.no_grad():
        actor(obs, stochastic_output=True)
    torch.testing.assert_close(actor.get_output_log_prob(actions), log_prob, atol=1e-5, rtol=0)
