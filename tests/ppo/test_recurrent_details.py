"""LSTM details 32-36 with rsl_rl's RNNModel."""

from __future__ import annotations

import torch

import isaaclab_gr00t.ppo.ppo37 as ppo37_module
from isaaclab_gr00t.ppo.minibatches import trajectory_batch

_RNN = {"class_name": "RNNModel", "hidden_dims": [16], "activation": "tanh", "rnn_type": "lstm",
        "rnn_hidden_dim": 8, "rnn_num_layers": 1}
_GAUSSIAN = {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "log"}


def _build(kit, **kwargs):
    return kit.build(actor={**_RNN, "distribution_cfg": _GAUSSIAN}, critic=dict(_RNN), num_mini_batches=2, **kwargs)


def test_zero_initial_state_and_reset_on_done(kit):
    alg, env = _build(kit)
    assert alg.is_recurrent and alg.actor.get_hidden_state() is None  # zero state at start
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in range(2):
            alg.act(obs)
            alg.process_env_step(obs, torch.zeros(4), torch.zeros(4, dtype=torch.long), {})
        alg.act(obs)
        alg.process_env_step(obs, torch.zeros(4), torch.tensor([1, 0, 0, 1]), {})
    for state in alg.actor.get_hidden_state() + alg.critic.get_hidden_state():
        assert torch.count_nonzero(state[:, 0]) == 0 and torch.count_nonzero(state[:, 3]) == 0
        assert torch.count_nonzero(state[:, 1]) > 0 and torch.count_nonzero(state[:, 2]) > 0


def test_stored_initial_state_is_replayed_in_the_update(kit):
    alg, env = _build(kit)
    kit.rollout(alg, env)
    alg.update()
    kit.rollout(alg, env)  # this rollout starts from the carried, non-zero state
    batch = trajectory_batch(alg.storage, torch.arange(4))
    with torch.no_grad():
        alg.actor(batch.observations, masks=batch.masks, hidden_state=batch.hidden_states[0], stochastic_output=True)
        replayed = alg.actor.get_output_log_prob(batch.actions)
        zeros = tuple(torch.zeros_like(h) for h in batch.hidden_states[0])
        alg.actor(batch.observations, masks=batch.masks, hidden_state=zeros, stochastic_output=True)
        from_zero = alg.actor.get_output_log_prob(batch.actions)
    stored = batch.old_actions_log_prob.squeeze(-1)
    torch.testing.assert_close(replayed, stored, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(from_zero, stored, atol=1e-4)


def test_recurrent_minibatches_are_whole_env_trajectories_reshuffled(kit, monkeypatch):
    seen = []
    original = ppo37_module.trajectory_batch

    def recording(storage, env_ids):
        seen.append(env_ids.clone())
        return original(storage, env_ids)

    monkeypatch.setattr(ppo37_module, "trajectory_batch", recording)
    alg, env = _build(kit, num_learning_epochs=4)
    kit.rollout(alg, env)
    metrics = alg.update()
    assert metrics["num_optimizer_steps"] == 8 and all(ids.numel() == 2 for ids in seen)
    orders = [torch.cat(seen[i * 2:(i + 1) * 2]) for i in range(4)]
    assert all(torch.equal(o.sort().values, torch.arange(4)) for o in orders)
    assert len({tuple(o.tolist()) for o in orders}) > 1
