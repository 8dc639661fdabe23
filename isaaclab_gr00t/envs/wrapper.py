"""Base class of rsl_rl ``VecEnv`` wrappers."""

from __future__ import annotations

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict


class VecEnvWrapper(VecEnv):
    """Passes the wrapped env through: its attributes, episode lengths and observations; subclasses change ``step``.

    ``episode_length_buf`` is a property because the runner assigns it (``init_at_random_ep_len``) and the
    assignment must reach the wrapped env.
    """

    def __init__(self, env: VecEnv) -> None:
        """Wrap ``env``, copying the attributes rsl_rl's runner reads directly."""
        self.env = env
        self.num_envs = env.num_envs
        self.num_actions = env.num_actions
        self.max_episode_length = env.max_episode_length
        self.device = env.device
        self.cfg = env.cfg

    def __getattr__(self, name: str):
        if name == "env":  # not set yet (e.g. during construction or unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.env, name)

    @property
    def episode_length_buf(self) -> torch.Tensor:
        """The wrapped env's episode lengths."""
        return self.env.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        self.env.episode_length_buf = value

    def get_observations(self) -> TensorDict:
        """The wrapped env's observations."""
        return self.env.get_observations()

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        """Step the wrapped env."""
        return self.env.step(actions)
