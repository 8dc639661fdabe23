"""Continuous-control details (23-31), time-out bootstrapping and image scaling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from isaaclab_gr00t.models import ClippedObsNormalizer
from isaaclab_gr00t.ppo.reward_scaling import DiscountedReturnScaler


def test_reward_scaling_matches_hand_computation_with_reset_on_done():
    gamma, steps, num_envs = 0.9, 400, 3
    rng = np.random.default_rng(0)
    rewards = rng.normal(1.0, 2.0, size=(steps, num_envs))
    dones = rng.random((steps, num_envs)) < 0.1
    scaler = DiscountedReturnScaler(num_envs, gamma)

    # Hand computation: G = gamma * G + r per env, restarted after a done; var over every G seen so far
    returns_seen, g = [], np.zeros(num_envs)
    for t in range(steps):
        g = gamma * g + rewards[t]
        returns_seen.extend(g.tolist())
        scaled = scaler(torch.tensor(rewards[t], dtype=torch.float32), torch.tensor(dones[t]))
        np.testing.assert_allclose(scaler.discounted_return.numpy(), np.where(dones[t], 0.0, g), rtol=1e-5, atol=1e-5)
        var = np.var(returns_seen)
        if t > 20:  # the (count=1e-4, var=1) prior is negligible after a few samples
            np.testing.assert_allclose(scaled.numpy(), rewards[t] / np.sqrt(var + 1e-8), rtol=1e-3)
        g = np.where(dones[t], 0.0, g)


def test_rewards_scaled_then_clipped_in_process_env_step(kit):
    alg, env = kit.build(reward_scaling=False, reward_clip=10.0)
    obs = env.get_observations()
    with torch.inference_mode():
        alg.act(obs)
        alg.process_env_step(obs, torch.tensor([100.0, -100.0, 3.0, -3.0]), torch.zeros(4, dtype=torch.long), {})
    torch.testing.assert_close(alg.storage.rewards[0].flatten(), torch.tensor([10.0, -10.0, 3.0, -3.0]))

    alg, env = kit.build(reward_scaling=False, reward_clip=None)
    with torch.inference_mode():
        alg.act(obs)
        alg.process_env_step(obs, torch.tensor([100.0, -100.0, 3.0, -3.0]), torch.zeros(4, dtype=torch.long), {})
    torch.testing.assert_close(alg.storage.rewards[0].flatten(), torch.tensor([100.0, -100.0, 3.0, -3.0]))


def test_observations_normalized_and_clipped_inside_models(kit):
    alg, env = kit.build(obs_clip=10.0)
    assert isinstance(alg.actor.obs_normalizer, ClippedObsNormalizer)
    assert isinstance(alg.critic.obs_normalizer, ClippedObsNormalizer)
    kit.rollout(alg, env)
    rollout_obs = alg.storage.observations["policy"].flatten(0, 1).clone()
    alg.update()
    normalizer = alg.actor.obs_normalizer
    # statistics of the rollout merged into the (count=1e-4, mean=0, var=1) prior
    torch.testing.assert_close(normalizer.mean, rollout_obs.mean(0), rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(normalizer.var, rollout_obs.var(0, unbiased=False), rtol=1e-3, atol=1e-4)
    outlier = torch.full((1, 3), 1e6)
    torch.testing.assert_close(normalizer(outlier), torch.full((1, 3), 10.0))


def test_unclipped_sample_stored_while_env_sees_clipped(kit):
    """Isaac Lab's wrapper clips with clip_actions; PPO37 must keep the raw sample and its log-prob."""

    class ClippingEnv(kit.ToyVecEnv):
        def step(self, actions):
            return super().step(actions.clamp(-0.1, 0.1))

    alg, env = kit.build(env=ClippingEnv())
    obs = env.get_observations()
    with torch.inference_mode():
        actions = alg.act(obs)
        log_prob = alg.actor.get_output_log_prob(actions)
        obs, rewards, dones, extras = env.step(actions)
        alg.process_env_step(obs, rewards, dones, extras)
    assert actions.abs().max() > 0.1
    torch.testing.assert_close(alg.storage.actions[0], actions)
    torch.testing.assert_close(alg.storage.actions_log_prob[0].flatten(), log_prob)
    # independent action dimensions: log-probs summed over dimensions
    normal = torch.distributions.Normal(alg.actor.output_mean, alg.actor.output_std)
    torch.testing.assert_close(log_prob, normal.log_prob(actions).sum(-1))
    assert env.applied_actions[0].abs().max() <= 0.1


@pytest.mark.parametrize("bootstrap", [True, False])
def test_time_out_bootstrap_adds_discounted_value(kit, bootstrap):
    alg, env = kit.build(reward_scaling=False, reward_clip=None, bootstrap_time_outs=bootstrap, gamma=0.9)
    obs = env.get_observations()
    with torch.inference_mode():
        alg.act(obs)
        values = alg.transition.values.flatten().clone()
        rewards = torch.tensor([1.0, 2.0, 3.0, 4.0])
        time_outs = torch.tensor([False, True, False, False])
        alg.process_env_step(obs, rewards, time_outs.long(), {"time_outs": time_outs})
    expected = rewards + (0.9 * values * time_outs if bootstrap else 0.0)
    torch.testing.assert_close(alg.storage.rewards[0].flatten(), expected)


def test_uint8_images_scaled_to_unit_range_before_cnn(kit):
    env = kit.ImageToyVecEnv()
    torch.manual_seed(0)
    from isaaclab_gr00t.ppo import PPO37

    cfg = kit.cnn_train_cfg(share_cnn_encoders=True)
    alg = PPO37.construct_algorithm(env.get_observations(), env, cfg, "cpu")
    wrapper = alg.actor.cnns["image"]
    assert alg.critic.cnns["image"] is wrapper  # shared encoder wrapped once
    image = env.get_observations()["image"]
    torch.testing.assert_close(wrapper(image), wrapper.encoder(image.float() / 255.0))
    # shared encoder parameters are optimized once
    ids = [id(p) for g in alg.optimizer.param_groups for p in g["params"]]
    assert len(ids) == len(set(ids))
    kit.rollout(alg, env)
    assert alg.storage.observations["image"].dtype == torch.uint8
    assert np.isfinite(alg.update()["policy_loss"])


def test_reward_scaler_state_loads_into_another_env_count():
    from isaaclab_gr00t.ppo.reward_scaling import DiscountedReturnScaler

    trained = DiscountedReturnScaler(num_envs=4, gamma=0.99)
    for _ in range(5):
        trained(torch.ones(4), torch.zeros(4))
    played = DiscountedReturnScaler(num_envs=2, gamma=0.99)
    played.load_state_dict(trained.state_dict())
    assert torch.equal(played.discounted_return, torch.zeros(2))
    assert torch.allclose(played.return_stats.var, trained.return_stats.var)
