"""GR00T N1.5 actor/critic under rsl_rl's stock PPO: frozen backbone, first-epoch values, one encoding per
act(), gradient accumulation, and a short OnPolicyRunner training run from Isaac Lab configclasses."""

from __future__ import annotations

import contextlib
import io

import torch
from rsl_rl.runners import OnPolicyRunner
from tensordict import TensorDict

from isaaclab_gr00t.gr00t import GR00TActor, GR00TCritic


def _runner(env, cfg) -> OnPolicyRunner:
    with contextlib.redirect_stdout(io.StringIO()):  # rsl_rl prints both models
        return OnPolicyRunner(env, cfg, log_dir=None, device="cpu")


def _collect_rollout(runner: OnPolicyRunner) -> None:
    """One rollout + returns, as OnPolicyRunner.learn does it."""
    alg, env = runner.alg, runner.env
    obs = env.get_observations()
    alg.train_mode()
    with torch.inference_mode():
        for _ in range(runner.cfg["num_steps_per_env"]):
            actions = alg.act(obs)
            obs, rewards, dones, extras = env.step(actions)
            alg.process_env_step(obs, rewards, dones, extras)
        alg.compute_returns(obs)


def test_training_run_from_isaaclab_cfg_trains_lora_and_heads_only(env, make_runner_cfg):
    runner = _runner(env, make_runner_cfg())
    actor, critic = runner.alg.actor, runner.alg.critic
    assert isinstance(actor, GR00TActor) and isinstance(critic, GR00TCritic)
    backbone, head = actor.gr00t.backbone, actor.gr00t.action_head
    frozen = {n: p.detach().clone() for n, p in backbone.named_parameters() if not p.requires_grad}
    lora = {n: p.detach().clone() for n, p in backbone.named_parameters() if p.requires_grad}
    head_before = {n: p.detach().clone() for n, p in head.named_parameters()}
    value = {n: p.detach().clone() for n, p in critic.named_parameters()}
    assert frozen and lora and all("lora_" in n for n in lora)
    assert all(p.dtype == torch.float32 for p in head.parameters())
    # the per-embodiment layers train the actor's slot alone, as slot_W/slot_b; the published W/b freeze
    slot_frozen = {n for n, p in head.named_parameters() if not p.requires_grad}
    assert slot_frozen and all(n.endswith((".W", ".b")) for n in slot_frozen)
    # the critic must not register the actor's model
    assert not any(n.startswith("gr00t") for n, _ in critic.named_parameters())

    runner.learn(num_learning_iterations=3)

    assert all(torch.equal(p, frozen[n]) for n, p in backbone.named_parameters() if n in frozen)
    # LoRA B starts at zero, so it changes in the first update
    changed_lora = [n for n, p in backbone.named_parameters() if n in lora and not torch.equal(p, lora[n])]
    assert any("lora_B" in n for n in changed_lora)
    changed_head = {n.split(".")[0] for n, p in head.named_parameters() if not torch.equal(p, head_before[n])}
    assert {"model", "vl_self_attention", "state_encoder", "action_encoder", "action_decoder"} <= changed_head
    assert all(torch.equal(p, head_before[n]) for n, p in head.named_parameters() if n in slot_frozen)
    assert any(not torch.equal(p, head_before[n]) for n, p in head.named_parameters() if n.endswith(".slot_W"))
    assert any(not torch.equal(p, value[n]) for n, p in critic.named_parameters())
    # dropout stays off in the whole model (the published config has 0.2)
    assert not actor.gr00t.training and all(not m.training for m in actor.gr00t.modules())


def test_first_epoch_values_match_rollout(env, make_runner_cfg):
    """Stock PPO stores no rollout extras, so the Gaussian mode's mean is integrated from fresh start noise in the
    update (the ratio is exactly 1 at the first epoch under PPO37, which replays the stored noise:
    test_ppo37_runner); the values do not depend on that noise."""
    runner = _runner(env, make_runner_cfg())
    _collect_rollout(runner)
    alg = runner.alg
    for batch in alg.storage.mini_batch_generator(alg.num_mini_batches, 1):
        alg.actor(batch.observations, stochastic_output=True)
        log_prob = alg.actor.get_output_log_prob(batch.actions)
        values = alg.critic(batch.observations)
        assert torch.isfinite(log_prob).all()
        torch.testing.assert_close(values, batch.values, atol=1e-5, rtol=0)


def test_encoding_runs_once_per_act_and_per_update_minibatch(env, make_runner_cfg):
    runner = _runner(env, make_runner_cfg())
    alg, shared = runner.alg, runner.alg.actor.shared
    obs = env.get_observations()
    with torch.inference_mode():
        before = shared.num_encodings
        alg.act(obs)
        assert shared.num_encodings == before + 1
        # compute_returns calls the critic alone: it encodes the observation itself
        before = shared.num_encodings
        alg.critic(obs)
        assert shared.num_encodings == before + 1
    alg.storage.clear()
    _collect_rollout(runner)
    before = shared.num_encodings
    alg.update()
    assert shared.num_encodings == before + alg.num_learning_epochs * alg.num_mini_batches


def test_critic_does_not_reuse_features_of_other_observations(env, make_runner_cfg):
    runner = _runner(env, make_runner_cfg())
    actor, critic = runner.alg.actor, runner.alg.critic
    obs_a = env.get_observations()
    obs_b = env.step(torch.zeros(env.num_envs, 1))[0]
    with torch.no_grad():
        expected_b = critic(obs_b)
        actor(obs_a)  # stashes features of obs_a
        assert torch.equal(critic(obs_b), expected_b)
        actor(obs_b)
        assert torch.equal(critic(obs_b), expected_b)


def test_micro_batch_gradients_equal_full_batch(env, make_runner_cfg):
    runner = _runner(env, make_runner_cfg())
    _collect_rollout(runner)
    alg = runner.alg
    batch = next(alg.storage.mini_batch_generator(1, 1))
    params = [p for p in (*alg.actor.parameters(), *alg.critic.parameters()) if p.requires_grad]
    lora = [p for p in alg.actor.gr00t.backbone.parameters() if p.requires_grad]
    head = alg.actor.gr00t.config.action_head
    # one start noise per sample for both passes, replayed as PPO37 replays the stored rollout noise
    noise = torch.randn(batch.actions.shape[0], head.action_horizon, head.action_dim)

    def ppo_loss(indices: torch.Tensor) -> torch.Tensor:
        obs = batch.observations[indices]
        alg.actor.replay(TensorDict({"noise": noise[indices]}, batch_size=[len(indices)]))
        alg.actor(obs, stochastic_output=True)
        log_prob = alg.actor.get_output_log_prob(batch.actions[indices])
        ratio = torch.exp(log_prob - batch.old_actions_log_prob[indices].squeeze(-1))
        advantages = batch.advantages[indices].squeeze(-1)
        surrogate = torch.max(-advantages * ratio, -advantages * ratio.clamp(0.8, 1.2)).mean()
        value_loss = (alg.critic(obs) - batch.returns[indices]).pow(2).mean()
        return surrogate + value_loss - 0.01 * alg.actor.output_entropy.mean()

    size = batch.actions.shape[0]
    alg.optimizer.zero_grad()
    ppo_loss(torch.arange(size)).backward()
    full = [p.grad.clone() for p in params]
    assert any(p.grad.abs().sum() > 0 for p in lora)

    alg.optimizer.zero_grad()
    for chunk in torch.arange(size).chunk(4):
        (ppo_loss(chunk) * (len(chunk) / size)).backward()
    for p, g in zip(params, full):
        torch.testing.assert_close(p.grad, g, atol=1e-6, rtol=1e-5)


def test_state_only_task_uses_instruction_and_state(make_env, make_runner_cfg):
    env = make_env(with_images=False)
    runner = _runner(env, make_runner_cfg(critic_kwargs={"value_input": "state"}))
    actor = runner.alg.actor
    assert actor.image_groups == [] and actor.obs_groups == ["policy"]
    runner.learn(num_learning_iterations=1)
    obs = env.get_observations()
    with torch.no_grad():
        context, state_tokens, _ = actor.shared.encode(obs)
    # without cameras the context is the instruction's, the same for every env; the state tokens differ
    assert context.shape[0] == env.num_envs and torch.equal(context[0], context[-1])
    assert not torch.equal(state_tokens[0], state_tokens[-1])


def test_optimizer_param_groups_cover_trainable_params_once(env, make_runner_cfg):
    cfg = make_runner_cfg(actor_kwargs={"lora_lr_scale": 0.1, "std_lr_scale": 2.0, "action_head_lr_scale": 0.5},
                          critic_kwargs={"lr_scale": 3.0})
    runner = _runner(env, cfg)
    for model in (runner.alg.actor, runner.alg.critic):
        groups = model.optimizer_param_groups(1e-3)
        grouped = [id(p) for g in groups for p in g["params"]]
        trainable = [id(p) for p in model.parameters() if p.requires_grad]
        assert sorted(grouped) == sorted(trainable) and len(set(grouped)) == len(grouped)
    lrs = {g["name"]: g["lr"] for g in runner.alg.actor.optimizer_param_groups(1e-3)}
    assert lrs == {"lora": 1e-4, "action_head": 5e-4, "std": 2e-3}
    assert runner.alg.critic.optimizer_param_groups(1e-3)[0]["lr"] == 3e-3


def test_critic_uses_the_encoding_of_the_actor_it_is_handed(env, make_runner_cfg):
    runner = _runner(env, make_runner_cfg())
    assert runner.alg.critic.cnns is runner.alg.actor.cnns  # stock PPO passed it with share_cnn_encoders
    obs = env.get_observations()
    groups = {"actor": ["policy"], "critic": ["critic"]}
    tiny = {"size": "tiny", "pixel_offset": 0.5}
    actor_a = GR00TActor(obs, groups, "actor", 1, **tiny)
    actor_b = GR00TActor(obs, groups, "actor", 1, **tiny)
    critic_a = GR00TCritic(obs, groups, "critic", 1, cnns=actor_a.cnns)
    assert critic_a.cnns is actor_a.shared and critic_a.cnns is not actor_b.shared
    runs_a, runs_b = actor_a.shared.num_encodings, actor_b.shared.num_encodings
    with torch.no_grad():
        critic_a(obs)
    assert (actor_a.shared.num_encodings, actor_b.shared.num_encodings) == (runs_a + 1, runs_b)


def test_chunked_execution_trains_with_chunk_log_probs(make_env, make_runner_cfg):
    from isaaclab_gr00t.gr00t import ChunkedActionEnv

    env = ChunkedActionEnv(make_env(), execute_steps=2)
    runner = _runner(env, make_runner_cfg(actor_kwargs={"execute_steps": 2}))
    actor = runner.alg.actor
    assert actor.adapter.action_dim == 1 and actor.adapter.execute_steps == 2
    _collect_rollout(runner)
    batch = next(runner.alg.storage.mini_batch_generator(1, 1))
    assert batch.actions.shape[-1] == 2
    with torch.no_grad():  # the chunk's log-prob is re-scored exactly from the stored start noise
        obs = env.get_observations()
        actions = actor(obs, stochastic_output=True)
        log_prob = actor.get_output_log_prob(actions)
        actor.replay(actor.rollout_extras)
        actor(obs, stochastic_output=True)
    torch.testing.assert_close(actor.get_output_log_prob(actions), log_prob, atol=1e-5, rtol=0)
    runner.alg.update()
