"""Behaviour of PPO37's core details (1-13): each test could fail if the detail were missing or wrong."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

import isaaclab_gr00t.ppo.ppo37 as ppo37_module


def _linears(model):
    return [m for m in model.mlp.modules() if isinstance(m, nn.Linear)]


def test_orthogonal_init_gains_measured_by_singular_values(kit):
    alg, _ = kit.build()
    for model, head_gain in ((alg.actor, 0.01), (alg.critic, 1.0)):
        *hidden, head = _linears(model)
        for layer in hidden:
            # An orthogonal matrix scaled by the gain has all singular values equal to the gain.
            torch.testing.assert_close(torch.linalg.svdvals(layer.weight), torch.full((min(layer.weight.shape),),
                                                                                    math.sqrt(2.0)))
            assert torch.count_nonzero(layer.bias) == 0
        torch.testing.assert_close(torch.linalg.svdvals(head.weight), torch.full((min(head.weight.shape),), head_gain))
        assert torch.count_nonzero(head.bias) == 0
    # state-independent log std, initialized to 0 (std 1)
    torch.testing.assert_close(alg.actor.distribution.log_std_param.detach(), torch.zeros(2))


def test_orthogonal_init_can_be_switched_off(kit):
    alg, _ = kit.build(orthogonal_init=False)
    head = _linears(alg.actor)[-1]
    assert not torch.allclose(torch.linalg.svdvals(head.weight), torch.full((2,), 0.01), atol=1e-3)


def test_adam_eps_and_the_cpu_implementations(kit):
    eager, _ = kit.build(update_mode="eager")
    assert isinstance(eager.optimizer, torch.optim.Adam)
    assert eager.optimizer.defaults["eps"] == 1e-5
    assert eager.optimizer.defaults["foreach"] is True
    auto, _ = kit.build()  # rsl_rl's MLPs with Adam on the CPU: the device-resident update, with fused Adam
    assert auto.update_mode == "device"
    assert auto.optimizer.defaults["eps"] == 1e-5 and auto.optimizer.defaults["fused"] is True


def _record_minibatches(monkeypatch):
    seen = []
    original = ppo37_module.flat_batch

    def recording(storage, flat, index):
        seen.append(index.clone())
        return original(storage, flat, index)

    monkeypatch.setattr(ppo37_module, "flat_batch", recording)
    return seen


def test_minibatches_reshuffled_every_epoch(kit, monkeypatch):
    seen = _record_minibatches(monkeypatch)
    alg, env = kit.build(num_learning_epochs=3, num_mini_batches=4)
    kit.rollout(alg, env)
    alg.update()
    batch_size = 4 * 8
    epochs = [torch.cat(seen[i * 4:(i + 1) * 4]) for i in range(3)]
    for order in epochs:
        assert torch.equal(order.sort().values, torch.arange(batch_size))  # every sample once an epoch
    assert not torch.equal(epochs[0], epochs[1]) and not torch.equal(epochs[1], epochs[2])


def test_one_shuffle_per_update_when_reshuffling_is_off(kit, monkeypatch):
    seen = _record_minibatches(monkeypatch)
    alg, env = kit.build(num_learning_epochs=2, num_mini_batches=4, reshuffle_every_epoch=False)
    kit.rollout(alg, env)
    alg.update()
    assert torch.equal(torch.cat(seen[:4]), torch.cat(seen[4:]))


def test_gae_matches_hand_computation(kit):
    alg, env = kit.build(gamma=0.9, lam=0.8)
    kit.rollout(alg, env)
    head = _linears(alg.critic)[-1]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(2.0)  # V(last obs) = 2
    st = alg.storage
    torch.manual_seed(0)
    st.rewards.copy_(torch.randn_like(st.rewards))
    st.values.copy_(torch.randn_like(st.values))
    st.dones.copy_((torch.rand_like(st.rewards) < 0.3).to(st.dones.dtype))
    alg.compute_returns(env.get_observations())
    r, v, d = st.rewards.squeeze(-1), st.values.squeeze(-1), st.dones.squeeze(-1).float()
    expected = torch.zeros_like(r)
    next_value, next_advantage = torch.full((r.shape[1],), 2.0), torch.zeros(r.shape[1])
    for t in reversed(range(r.shape[0])):
        delta = r[t] + 0.9 * next_value * (1 - d[t]) - v[t]
        next_advantage = delta + 0.9 * 0.8 * (1 - d[t]) * next_advantage
        expected[t] = next_advantage
        next_value = v[t]
    torch.testing.assert_close(st.advantages.squeeze(-1), expected)
    torch.testing.assert_close(st.returns.squeeze(-1), expected + v)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_clipped_surrogate_is_pessimistic(kit, sign):
    alg, env = kit.build(num_learning_epochs=1, num_mini_batches=1, clip_param=0.2, normalize_advantage=False)
    kit.rollout(alg, env)
    alg.storage.actions_log_prob -= 1.0  # every ratio becomes e > 1 + clip
    alg.storage.advantages.fill_(sign)
    metrics = alg.update()
    # A > 0: the objective is capped at (1 + clip) * A; A < 0: the unclipped e * A is kept
    expected = -1.2 if sign > 0 else math.e
    assert metrics["policy_loss"] == pytest.approx(expected, rel=1e-5)
    assert metrics["clip_fraction"] == 1.0


def test_clipped_surrogate_max_has_torch_max_values_and_gradients():
    """PPO37's two-kernel max gives the clipped surrogate (detail 8) torch.max's loss and ratio gradient, ties
    included."""
    clip = 0.2
    # ratios inside the clip range (where the two terms tie), on its bounds and outside; advantages of both signs and 0
    ratio_values = torch.tensor([0.5, 0.5, 0.8, 0.9, 1.0, 1.1, 1.2, 1.5, 1.5, 1.0, 3.0])
    advantages = torch.tensor([1.0, -1.0, -1.0, 2.0, -0.5, 1.0, -1.0, 1.0, -2.0, 0.0, 0.0])
    gradients = {}
    for name, maximum in (("torch.max", torch.max), ("PPO37", ppo37_module._loss_max)):
        ratio = ratio_values.clone().requires_grad_(True)
        loss = maximum(-advantages * ratio, -advantages * ratio.clamp(1.0 - clip, 1.0 + clip)).mean()
        loss.backward()
        gradients[name] = (loss.detach(), ratio.grad)
    assert torch.equal(gradients["PPO37"][0], gradients["torch.max"][0])
    assert torch.equal(gradients["PPO37"][1], gradients["torch.max"][1])
    # no gradient where the clipped term is the pessimistic one (entries 1 and 7) or the advantage is 0
    assert gradients["PPO37"][1].nonzero().flatten().tolist() == [0, 2, 3, 4, 5, 6, 8]


def test_entropy_bonus_widens_the_policy(kit):
    alg, env = kit.build(num_learning_epochs=1, num_mini_batches=1, entropy_coef=1.0, normalize_advantage=False)
    kit.rollout(alg, env)
    alg.storage.advantages.zero_()  # no policy-gradient signal: only the entropy bonus moves log std
    alg.update()
    assert (alg.actor.distribution.log_std_param > 0).all()


def test_advantages_normalized_with_minibatch_statistics(kit, monkeypatch):
    seen_stats = []
    original = ppo37_module.PPO37._advantage_stats

    def recording(self, advantages):
        mean, std = original(self, advantages)
        seen_stats.append((advantages.clone(), mean, std))
        return mean, std

    monkeypatch.setattr(ppo37_module.PPO37, "_advantage_stats", recording)
    alg, env = kit.build(num_learning_epochs=2, num_mini_batches=4)
    kit.rollout(alg, env)
    alg.update()
    assert len(seen_stats) == 2 * 4
    for advantages, mean, std in seen_stats:
        assert advantages.numel() == 8
        torch.testing.assert_close(mean, advantages.mean())
        torch.testing.assert_close(std, advantages.std())

    seen_stats.clear()
    alg, env = kit.build(normalize_advantage_per_mini_batch=False)
    kit.rollout(alg, env)
    alg.update()
    assert len(seen_stats) == 1 and seen_stats[0][0].numel() == 32


def _fill_value_scenario(alg, env, kit, value_now: float, value_old: float, ret: float):
    kit.rollout(alg, env)
    head = _linears(alg.critic)[-1]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(value_now)
    alg.storage.values.fill_(value_old)
    alg.storage.returns.fill_(ret)
    alg.storage.advantages.normal_()


@pytest.mark.parametrize("clipped, expected", [(True, 0.5 * (0.1 - 1.0) ** 2), (False, 0.5 * (0.5 - 1.0) ** 2)])
def test_value_loss_clipped_with_its_own_range(kit, clipped, expected):
    alg, env = kit.build(num_learning_epochs=1, num_mini_batches=1, clip_param=0.3, value_clip_param=0.1,
                         use_clipped_value_loss=clipped)
    _fill_value_scenario(alg, env, kit, value_now=0.5, value_old=0.0, ret=1.0)
    metrics = alg.update()
    assert metrics["value_loss"] == pytest.approx(expected, rel=1e-5)


def test_one_global_gradient_clip_over_actor_and_critic(kit, monkeypatch):
    alg, env = kit.build(num_learning_epochs=1, num_mini_batches=1, max_grad_norm=1e-3)
    kit.rollout(alg, env)
    norms = {}
    original_step = alg.optimizer.step

    def grad_norm(model):
        return torch.norm(torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None]))

    def recording_step(*args, **kwargs):
        norms["actor"], norms["critic"] = grad_norm(alg.actor), grad_norm(alg.critic)
        return original_step(*args, **kwargs)

    monkeypatch.setattr(alg.optimizer, "step", recording_step)
    metrics = alg.update()
    assert metrics["grad_norm"] > 1e-3  # the pre-clip norm is reported
    total = torch.sqrt(norms["actor"] ** 2 + norms["critic"] ** 2)
    assert total.item() == pytest.approx(1e-3, rel=1e-4)
    # per-network clipping would give each network the full 1e-3
    assert norms["actor"] < 1e-3 and norms["critic"] < 1e-3


def test_linear_lr_annealing_values_and_resume(kit, tmp_path):
    alg, env = kit.build(learning_rate=1e-3, max_iterations=4)
    lrs = []
    for _ in range(2):
        kit.rollout(alg, env)
        lrs.append(alg.update()["learning_rate"])
    path = tmp_path / "ckpt.pt"
    torch.save(alg.save(), path)
    resumed, _ = kit.build(learning_rate=1e-3, max_iterations=50)  # a different runner horizon must not matter
    resumed.load(torch.load(path, weights_only=True), None, strict=True)
    for _ in range(2):
        kit.rollout(resumed, env)
        lrs.append(resumed.update()["learning_rate"])
    assert lrs == pytest.approx([1e-3, 7.5e-4, 5e-4, 2.5e-4])
    assert [g["lr"] for g in resumed.optimizer.param_groups] == pytest.approx([2.5e-4, 2.5e-4])


def test_param_group_hook_and_proportional_schedule(kit):
    class HookedCritic(ppo37_module.MLPModel):
        def optimizer_param_groups(self, base_lr):
            head = list(self.mlp.parameters())[-2:]
            rest = list(self.mlp.parameters())[:-2]
            return [{"params": rest, "lr": base_lr * 0.1}, {"params": head, "lr": base_lr}]

    critic_cfg = {"class_name": HookedCritic, "hidden_dims": [16, 16], "activation": "tanh"}
    alg, env = kit.build(learning_rate=1e-3, max_iterations=2, critic=critic_cfg)
    alg.critic.mlp[0].weight.requires_grad_(False)  # frozen after construction: must not matter to the check below
    lrs = sorted(g["lr"] for g in alg.optimizer.param_groups)
    assert lrs == pytest.approx([1e-4, 1e-3, 1e-3])
    kit.rollout(alg, env)
    alg.update()
    kit.rollout(alg, env)
    alg.update()
    assert sorted(g["lr"] for g in alg.optimizer.param_groups) == pytest.approx([0.5e-4, 0.5e-3, 0.5e-3])


def test_frozen_parameters_never_reach_the_optimizer(kit):
    class FrozenFirstLayer(ppo37_module.MLPModel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.mlp[0].weight.requires_grad_(False)

    critic_cfg = {"class_name": FrozenFirstLayer, "hidden_dims": [16, 16], "activation": "tanh"}
    alg, _ = kit.build(critic=critic_cfg)
    optimized = {id(p) for g in alg.optimizer.param_groups for p in g["params"]}
    assert id(alg.critic.mlp[0].weight) not in optimized
    assert id(alg.critic.mlp[0].bias) in optimized


def test_kl_early_stop_ends_update_after_first_epoch(kit):
    alg, env = kit.build(num_learning_epochs=5, num_mini_batches=4, learning_rate=1e-2, target_kl=1e-9)
    kit.rollout(alg, env)
    metrics = alg.update()
    assert metrics["num_epochs"] == 1 and metrics["num_optimizer_steps"] == 4
    alg, env = kit.build(num_learning_epochs=5, num_mini_batches=4, learning_rate=1e-2)
    kit.rollout(alg, env)
    assert alg.update()["num_epochs"] == 5


def test_adaptive_schedule_lowers_lr_when_kl_is_large(kit):
    alg, env = kit.build(schedule="adaptive", desired_kl=1e-8, learning_rate=1e-3)
    kit.rollout(alg, env)
    assert alg.update()["learning_rate"] < 1e-3


def test_gradient_accumulation_equals_one_big_batch(kit, monkeypatch):
    """num_micro_batches=4 and micro_batch_size=4 (of minibatches of 16) both give the one-big-batch update."""
    seen = _record_minibatches(monkeypatch)
    # SGD: Adam's sign-like first steps would amplify float rounding of near-zero gradients
    results, chunk_sizes = [], []
    for micro in ({}, {"num_micro_batches": 4}, {"micro_batch_size": 4}):
        alg, env = kit.build(seed=3, num_learning_epochs=2, num_mini_batches=2, optimizer="sgd", learning_rate=0.1,
                             **micro)
        torch.manual_seed(7)
        kit.rollout(alg, env)
        torch.manual_seed(8)
        seen.clear()
        alg.update()
        results.append(kit.params(alg))
        chunk_sizes.append({len(index) for index in seen})
    assert chunk_sizes == [{16}, {4}, {4}]  # 4 envs x 8 steps / 2 minibatches; accumulated over chunks of 4
    for a, b in zip(results[0], results[1]):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    for a, b in zip(results[1], results[2]):  # the same chunks: the same numbers
        assert torch.equal(a, b)


def test_micro_batch_size_counts_env_trajectories_of_recurrent_models(kit):
    rnn = {"class_name": "RNNModel", "hidden_dims": [16], "activation": "tanh", "rnn_type": "lstm",
           "rnn_hidden_dim": 8, "rnn_num_layers": 1}
    gaussian = {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "log"}
    alg, env = kit.build(actor={**rnn, "distribution_cfg": gaussian}, critic=dict(rnn), num_mini_batches=1,
                         micro_batch_size=2)
    assert alg.num_micro_batches == 2  # minibatches of 4 env trajectories, 2 a backward pass
    kit.rollout(alg, env)
    assert math.isfinite(alg.update()["policy_loss"])
    # at most 3 of 4 trajectories a pass: the fewest equal chunks are 2 of 2
    alg, _ = kit.build(actor={**rnn, "distribution_cfg": gaussian}, critic=dict(rnn), num_mini_batches=1,
                       micro_batch_size=3)
    assert alg.num_micro_batches == 2


def test_metrics_are_finite_floats(kit):
    alg, env = kit.build()
    kit.rollout(alg, env)
    metrics = alg.update()
    expected = {"policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "explained_variance",
                "learning_rate", "grad_norm", "action_std", "nonfinite_skips"}
    assert expected <= set(metrics)
    assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())
    assert metrics["approx_kl"] >= 0 and 0 <= metrics["clip_fraction"] <= 1


@pytest.mark.parametrize("update_mode", ["eager", "device"])
def test_a_frozen_parameter_a_hook_lists_trains_once_unfrozen(kit, update_mode):
    """A model's own groups keep a parameter it unfreezes later (progressive unfreezing): the optimizer's layout is
    fixed, the parameter is skipped while frozen and trained from its first gradient on."""
    class LaterFirstLayer(ppo37_module.MLPModel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.mlp[0].weight.requires_grad_(False)

        def optimizer_param_groups(self, base_lr):
            return [{"params": list(self.mlp.parameters()), "lr": base_lr}]

    critic_cfg = {"class_name": LaterFirstLayer, "hidden_dims": [16, 16], "activation": "tanh"}
    alg, env = kit.build(critic=critic_cfg, update_mode=update_mode)
    weight = alg.critic.mlp[0].weight
    assert any(p is weight for g in alg.optimizer.param_groups for p in g["params"])
    before = weight.detach().clone()
    kit.rollout(alg, env)
    alg.update()
    assert torch.equal(weight, before)
    weight.requires_grad_(True)
    kit.rollout(alg, env)
    alg.update()
    assert not torch.equal(weight, before)
