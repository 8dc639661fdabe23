"""Gymnasium vector environments as rsl_rl :class:`~rsl_rl.env.VecEnv`.

- observations: ``TensorDict({"policy": float32 [num_envs, obs_dim]})``;
- actions: Box spaces are clipped to the bounds here, in the env (detail 27: the algorithm keeps the unclipped
  sample); Discrete/MultiDiscrete actions arrive as float class indices (see :mod:`isaaclab_gr00t.models`);
- ``dones = terminated | truncated`` and ``extras["time_outs"] = truncated & ~terminated``;
- auto-reset in the same step (Gymnasium ``AutoresetMode.SAME_STEP``), as in Isaac Lab;
- episode statistics use the TRUE environment rewards: ``extras["log"]`` gets ``/episode/return`` and
  ``/episode/length`` on steps where episodes finished, and :attr:`GymVecEnv.finished_episodes` keeps
  ``(env_steps, seconds_since_creation, return, length)`` of every finished episode.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from ._mujoco_compat import ensure_mujoco_envs_importable


class GymVecEnv(VecEnv):
    """rsl_rl view of a Gymnasium vector env (sync vectorization, CPU tensors)."""

    def __init__(self, env_id: str, num_envs: int, seed: int = 0, device: str = "cpu", **make_kwargs) -> None:
        """Create ``num_envs`` copies of ``env_id`` and reset them with ``seed``."""
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}.")
        ensure_mujoco_envs_importable()
        self.env_id = env_id
        self.envs = gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
            **make_kwargs,
        )
        self.num_envs = num_envs
        self.device = device
        self.action_space = self.envs.single_action_space
        observation_space = self.envs.single_observation_space
        if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 1:
            raise ValueError(f"{env_id}: only flat Box observations are supported, got {observation_space}.")
        if isinstance(self.action_space, gym.spaces.Box):
            self.num_actions = int(np.prod(self.action_space.shape))
            self._low = torch.as_tensor(self.action_space.low, dtype=torch.float32).flatten()
            self._high = torch.as_tensor(self.action_space.high, dtype=torch.float32).flatten()
        elif isinstance(self.action_space, gym.spaces.Discrete):
            self.num_actions = 1
        elif isinstance(self.action_space, gym.spaces.MultiDiscrete):
            self.num_actions = len(self.action_space.nvec)
        else:
            raise ValueError(f"{env_id}: unsupported action space {self.action_space}.")
        spec = gym.spec(env_id)
        self.max_episode_length = spec.max_episode_steps or 1_000_000
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.cfg = {"env_id": env_id, "num_envs": num_envs, "seed": seed}
        self.total_env_steps = 0
        self.finished_episodes: list[tuple[int, float, float, int]] = []
        self._episode_return = np.zeros(num_envs)
        self._episode_length = np.zeros(num_envs, dtype=np.int64)
        self._start_time = time.perf_counter()
        self.envs.action_space.seed(seed)
        obs, _ = self.envs.reset(seed=seed)
        self._obs = self._to_tensordict(obs)

    def distribution_cfg(self) -> dict:
        """The rsl_rl ``distribution_cfg`` matching the action space."""
        if isinstance(self.action_space, gym.spaces.Discrete):
            return {"class_name": "isaaclab_gr00t.models:CategoricalDistribution",
                    "num_classes": int(self.action_space.n)}
        if isinstance(self.action_space, gym.spaces.MultiDiscrete):
            return {"class_name": "isaaclab_gr00t.models:MultiCategoricalDistribution",
                    "nvec": [int(n) for n in self.action_space.nvec]}
        # [detail 24] state-independent log std, initialized to 0 (std 1)
        return {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "log"}

    def _to_tensordict(self, obs: np.ndarray) -> TensorDict:
        policy = torch.as_tensor(np.asarray(obs), dtype=torch.float32).reshape(self.num_envs, -1)
        return TensorDict({"policy": policy.to(self.device)}, batch_size=[self.num_envs], device=self.device)

    def get_observations(self) -> TensorDict:
        """Current observations."""
        return self._obs

    def _to_env_actions(self, actions: torch.Tensor) -> np.ndarray:
        actions = actions.detach().cpu()
        if isinstance(self.action_space, gym.spaces.Box):
            clipped = torch.max(torch.min(actions, self._high), self._low)
            return clipped.reshape(self.num_envs, *self.action_space.shape).numpy()
        if isinstance(self.action_space, gym.spaces.Discrete):
            return actions.reshape(self.num_envs).long().numpy()
        return actions.long().numpy()

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        """Step all envs; finished ones are reset in the same step."""
        obs, rewards, terminated, truncated, _ = self.envs.step(self._to_env_actions(actions))
        self.total_env_steps += self.num_envs
        self._obs = self._to_tensordict(obs)
        done = np.logical_or(terminated, truncated)
        self.episode_length_buf += 1
        self._episode_length += 1
        self._episode_return += rewards
        extras: dict = {"time_outs": torch.as_tensor(np.logical_and(truncated, ~terminated)).to(self.device)}
        if done.any():
            finished = np.flatnonzero(done)
            returns = self._episode_return[finished]
            lengths = self._episode_length[finished]
            now = time.perf_counter() - self._start_time
            self.finished_episodes.extend(
                (self.total_env_steps, now, float(r), int(n)) for r, n in zip(returns, lengths)
            )
            extras["log"] = {"/episode/return": torch.as_tensor(returns, dtype=torch.float32),
                             "/episode/length": torch.as_tensor(lengths, dtype=torch.float32)}
            self._episode_return[finished] = 0.0
            self._episode_length[finished] = 0
            self.episode_length_buf[torch.as_tensor(finished)] = 0
        return (
            self._obs,
            torch.as_tensor(rewards, dtype=torch.float32).to(self.device),
            torch.as_tensor(done, dtype=torch.long).to(self.device),
            extras,
        )

    def close(self) -> None:
        """Close the Gymnasium envs."""
        self.envs.close()
