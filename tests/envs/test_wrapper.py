"""VecEnvWrapper passes the wrapped env through, including assignments of the episode lengths."""

import torch

from isaaclab_gr00t.envs import VecEnvWrapper
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv


def test_wrapper_passes_attributes_observations_steps_and_episode_lengths_through():
    env = PointMassVecEnv(4, seed=0)
    wrapped = VecEnvWrapper(env)
    assert (wrapped.num_envs, wrapped.num_actions, wrapped.max_episode_length) == (4, 2, 32)
    assert wrapped.unwrapped is env.unwrapped  # anything not copied is looked up on the wrapped env
    assert torch.equal(wrapped.get_observations()["policy"], env.get_observations()["policy"])
    wrapped.episode_length_buf = torch.full((4,), 7, dtype=torch.long)
    assert torch.equal(env.episode_length_buf, torch.full((4,), 7, dtype=torch.long))
    obs, _, _, _ = wrapped.step(torch.zeros(4, 2))
    assert torch.equal(obs["policy"], env.get_observations()["policy"])
    assert torch.equal(env.episode_length_buf, torch.full((4,), 8, dtype=torch.long))
