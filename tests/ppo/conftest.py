"""Shared helpers for PPO37 tests: a tiny deterministic torch VecEnv and an algorithm builder."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from isaaclab_gr00t.ppo import PPO37


class ToyVecEnv(VecEnv):
    """Obs in R^3, actions in R^2; reward = -|a - W obs|^2; episodes end every ``episode_length`` steps.

    Even envs terminate, odd envs time out, so both kinds of done occur.
    """

    def __init__(self, num_envs: int = 4, episode_length: int = 5, seed: int = 0, num_actions: int = 2) -> None:
        self.num_envs = num_envs
        self.num_actions = num_actions
        self.max_episode_length = episode_length
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.device = "cpu"
        self.cfg = {}
        self.generator = torch.Generator().manual_seed(seed)
        self.weights = torch.randn(3, num_actions, generator=self.generator)
        self.state = torch.randn(num_envs, 3, generator=self.generator)
        self.applied_actions: list[torch.Tensor] = []

    def get_observations(self) -> TensorDict:
        return TensorDict({"policy": self.state.clone()}, batch_size=[self.num_envs])

    def step(self, actions):
        self.applied_actions.append(actions.clone())
        target = self.state @ self.weights
        rewards = -(actions[:, : target.shape[1]] - target).square().sum(-1)
        self.episode_length_buf += 1
        dones = (self.episode_length_buf >= self.max_episode_length).long()
        time_outs = dones.bool() & (torch.arange(self.num_envs) % 2 == 1)
        self.episode_length_buf[dones.bool()] = 0
        self.state = torch.randn(self.num_envs, 3, generator=self.generator)
        return self.get_observations(), rewards, dones, {"time_outs": time_outs}


class ImageToyVecEnv(ToyVecEnv):
    """:class:`ToyVecEnv` plus an 8 x 8 three-channel uint8 ``image`` whose brightness follows the first state entry.

    Channels and pixels differ (a gradient over the image, one brightness per channel), so a layout mix-up of the
    CNN's weights shows in the numbers.
    """

    pattern = torch.linspace(20.0, 80.0, 64).view(1, 1, 8, 8) * torch.tensor([1.0, 0.5, 0.25]).view(1, 3, 1, 1)

    def get_observations(self) -> TensorDict:
        image = (self.state[:, :1, None, None].abs() * self.pattern).clamp(0, 255).to(torch.uint8)
        return TensorDict({"policy": self.state.clone(), "image": image}, batch_size=[self.num_envs])


CNN_MODEL = {
    "class_name": "CNNModel", "hidden_dims": [16], "activation": "tanh",
    "cnn_cfg": {"output_channels": [4], "kernel_size": 3, "activation": "relu", "flatten": True},
}
"""An rsl_rl CNN model config for :class:`ImageToyVecEnv` (critic; the actor adds a distribution)."""


def cnn_train_cfg(**algorithm) -> dict:
    """:func:`train_cfg` with CNN actor and critic reading the policy state and the image."""
    distribution = {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "log"}
    actor = {**CNN_MODEL, "distribution_cfg": distribution}
    cfg = train_cfg(actor=actor, critic=dict(CNN_MODEL), **algorithm)
    cfg["obs_groups"] = {"actor": ["policy", "image"], "critic": ["policy", "image"]}
    return cfg


def train_cfg(num_steps: int = 8, max_iterations: int = 10, actor: dict | None = None, critic: dict | None = None,
              **algorithm) -> dict:
    """Runner-style config dict for PPO37 on :class:`ToyVecEnv`."""
    model = {"class_name": "MLPModel", "hidden_dims": [16, 16], "activation": "tanh"}
    return {
        "num_steps_per_env": num_steps,
        "max_iterations": max_iterations,
        "obs_groups": {"actor": ["policy"], "critic": ["policy"]},
        "actor": actor or {**model, "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 1.0,
                                                          "std_type": "log"}},
        "critic": critic or dict(model),
        "algorithm": {"class_name": "isaaclab_gr00t.ppo:PPO37", "num_mini_batches": 4, "num_learning_epochs": 2,
                      **algorithm},
    }


def build(env: VecEnv | None = None, seed: int = 0, **kwargs) -> tuple[PPO37, VecEnv]:
    """Seeded PPO37 + env built through ``construct_algorithm`` like OnPolicyRunner does."""
    env = env or ToyVecEnv()
    torch.manual_seed(seed)
    alg = PPO37.construct_algorithm(env.get_observations(), env, train_cfg(**kwargs), "cpu")
    return alg, env


def rollout(alg: PPO37, env: VecEnv) -> None:
    """Collect one rollout and compute returns, like OnPolicyRunner.learn."""
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in range(alg.storage.num_transitions_per_env):
            actions = alg.act(obs)
            obs, rewards, dones, extras = env.step(actions)
            alg.process_env_step(obs, rewards, dones, extras)
        alg.compute_returns(obs)


def params(alg: PPO37) -> list[torch.Tensor]:
    """Copies of all actor and critic parameters."""
    return [p.detach().clone() for p in list(alg.actor.parameters()) + list(alg.critic.parameters())]


@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above (tests run with --import-mode=importlib, so they cannot import conftest)."""
    return SimpleNamespace(ToyVecEnv=ToyVecEnv, ImageToyVecEnv=ImageToyVecEnv, train_cfg=train_cfg,
                           cnn_train_cfg=cnn_train_cfg, build=build, rollout=rollout, params=params)
