"""A deterministic torch-only VecEnv for runner tests and learner-only benchmarks.

The task is a point mass on a line per action dimension: the action is a velocity, the reward is
``1 - |position|^2`` (clamped to ``[-1, 1]``), an episode terminates when the point leaves the box
``|position| > 2`` and is truncated at ``max_episode_length``. It needs no physics engine, is fully
reproducible from ``seed`` (its own ``torch.Generator``) and is solved by steering towards 0, so a
learner visibly improves on it within a few iterations.
"""

from __future__ import annotations

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict


class PointMassVecEnv(VecEnv):
    """Point masses steered by velocity commands; the rsl_rl ``VecEnv`` interface of Isaac Lab's wrapper."""

    def __init__(
        self,
        num_envs: int,
        num_actions: int = 2,
        max_episode_length: int = 32,
        seed: int = 0,
        device: str = "cpu",
        nan_at_step: int | None = None,
    ) -> None:
        """Create the environments and reset them all.

        Args:
            num_envs: Number of parallel environments.
            num_actions: Action (and position) dimensions of each point mass.
            max_episode_length: Steps after which an episode is truncated.
            seed: Seed of the environment's own random generator (initial positions).
            device: Torch device of all buffers.
            nan_at_step: If set, the observations of env 0 become NaN at this global step (for NaN-check tests).
        """
        self.num_envs = num_envs
        self.num_actions = num_actions
        self.max_episode_length = max_episode_length
        self.device = device
        self.cfg = {"name": "PointMassVecEnv", "num_envs": num_envs, "max_episode_length": max_episode_length}
        self.nan_at_step = nan_at_step
        self.global_step = 0
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.position = torch.zeros(num_envs, num_actions, device=device)
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long, device=device)
        self._reset(torch.ones(num_envs, dtype=torch.bool, device=device))

    step_dt = 0.1
    """Seconds per step (the velocity integration step); rsl_rl's RND scales its weight by it."""

    @property
    def unwrapped(self) -> "PointMassVecEnv":
        """This env itself (Isaac Lab envs expose their base env here; rsl_rl's RND reads ``step_dt`` from it)."""
        return self

    def _reset(self, mask: torch.Tensor) -> None:
        """Draw new initial positions in ``[-1, 1]`` for the masked environments (no host sync)."""
        fresh = torch.rand(self.position.shape, generator=self.generator, device=self.device) * 2.0 - 1.0
        self.position = torch.where(mask.unsqueeze(1), fresh, self.position)
        self.episode_length_buf = torch.where(mask, 0, self.episode_length_buf)

    def get_observations(self) -> TensorDict:
        """Position (actor and critic both read the ``policy`` group)."""
        policy = self.position.clone()
        if self.nan_at_step is not None and self.global_step >= self.nan_at_step:
            policy[0] = float("nan")
        return TensorDict({"policy": policy}, batch_size=[self.num_envs], device=self.device)

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        """Move, reward, terminate/truncate and auto-reset, like Isaac Lab's ``RslRlVecEnvWrapper.step``."""
        self.position = self.position + self.step_dt * actions.clamp(-1.0, 1.0)
        self.episode_length_buf = self.episode_length_buf + 1
        self.global_step += 1
        rewards = (1.0 - self.position.square().sum(dim=1)).clamp(-1.0, 1.0)
        terminated = self.position.abs().amax(dim=1) > 2.0
        truncated = self.episode_length_buf >= self.max_episode_length
        done = terminated | truncated
        extras = {
            "time_outs": truncated,
            "log": {"Episode_Termination/out_of_bounds": terminated.float().mean()},
        }
        self._reset(done)
        return self.get_observations(), rewards, done.long(), extras


POINT_MASS_UPDATE = {"num_learning_epochs": 2, "num_mini_batches": 2}
"""What the point-mass task changes in the stock preset: a shorter update for its small rollouts."""


def point_mass_train_cfg(algorithm: dict | None = None, **runner_overrides) -> dict:
    """A small rsl_rl training config (dict form, as ``to_dict(agent_cfg)``) for :class:`PointMassVecEnv`.

    Args:
        algorithm: Algorithm section; defaults to the stock PPO preset (``agents/stock_ppo.yaml``, Isaac Lab's usual
            hyperparameters) with :data:`POINT_MASS_UPDATE`.
        runner_overrides: Top-level runner entries to replace (``num_steps_per_env``, ``save_interval``, ...).
    """
    if algorithm is None:
        from isaaclab.utils import to_dict

        from isaaclab_gr00t.registration import project_agent_cfg

        algorithm = to_dict(project_agent_cfg("stock_ppo").algorithm) | POINT_MASS_UPDATE
    cfg = {
        "seed": 0,
        "max_iterations": 50,
        "num_steps_per_env": 16,
        "save_interval": 5,
        "check_for_nan": True,
        "obs_groups": {"actor": ["policy"], "critic": ["policy"]},
        "actor": {
            "class_name": "MLPModel",
            "hidden_dims": [32, 32],
            "activation": "elu",
            "obs_normalization": False,
            "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "scalar"},
        },
        "critic": {"class_name": "MLPModel", "hidden_dims": [32, 32], "activation": "elu", "obs_normalization": False},
        "algorithm": algorithm,
    }
    cfg.update(runner_overrides)
    return cfg
