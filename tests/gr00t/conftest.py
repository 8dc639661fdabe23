"""Shared fixtures of the GR00T model tests: a tiny synthetic camera env and runner configs."""

from __future__ import annotations

import pytest
import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict


class SyntheticImageEnv(VecEnv):
    """A few envs whose 'policy' group is a 2-frame image rendering of a 4-D state kept in the 'critic' group.

    The reward is highest when the action equals the first state entry; episodes last ``episode_length`` steps.
    """

    def __init__(self, num_envs: int = 4, image_size: int = 16, with_images: bool = True, episode_length: int = 6):
        self.num_envs = num_envs
        self.num_actions = 1
        self.max_episode_length = episode_length
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.device = "cpu"
        self.cfg = {}
        self.image_size = image_size
        self.with_images = with_images
        self.state = torch.randn(num_envs, 4)

    def _observations(self) -> TensorDict:
        groups = {"critic": self.state.clone()}
        if self.with_images:
            ramp = torch.linspace(-1, 1, self.image_size)
            image = torch.tanh(self.state[:, :, None, None] * ramp[None, None, :, None] + ramp[None, None, None, :])
            groups["policy"] = torch.cat([image[:, :3], image[:, 1:]], dim=1) * 0.5
        else:
            groups["policy"] = self.state[:, :2].clone()
        return TensorDict(groups, batch_size=[self.num_envs])

    def get_observations(self) -> TensorDict:
        return self._observations()

    def step(self, actions: torch.Tensor):
        rewards = -(actions[:, 0] - self.state[:, 0]).pow(2)
        self.episode_length_buf += 1
        dones = self.episode_length_buf >= self.max_episode_length
        self.state = self.state + 0.1 * torch.randn_like(self.state)
        self.state[dones] = torch.randn(int(dones.sum()), 4)
        self.episode_length_buf[dones] = 0
        return self._observations(), rewards, dones.long(), {"time_outs": dones.clone(), "log": {}}


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny models run ~10x faster on one thread on this shared 2-core machine; restore the setting afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def env() -> SyntheticImageEnv:
    torch.manual_seed(0)
    return SyntheticImageEnv()


@pytest.fixture
def make_env():
    return SyntheticImageEnv


def runner_cfg_dict(actor_kwargs: dict | None = None, critic_kwargs: dict | None = None, **runner_kwargs) -> dict:
    """A full Isaac Lab runner cfg with GR00T actor/critic, through handle_deprecated_rsl_rl_cfg and to_dict."""
    from isaaclab.utils import to_dict
    from isaaclab_rl.rsl_rl import RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg
    from isaaclab_rl.rsl_rl.utils import handle_deprecated_rsl_rl_cfg

    from isaaclab_gr00t.gr00t import GR00TActorCfg, GR00TCriticCfg

    cfg = RslRlOnPolicyRunnerCfg(
        seed=0,
        device="cpu",
        num_steps_per_env=4,
        max_iterations=3,
        save_interval=100,
        experiment_name="gr00t_test",
        empirical_normalization=False,
        obs_groups={"actor": ["policy"], "critic": ["critic"]},
        actor=GR00TActorCfg(instruction="match the cart", lora_rank=4, pixel_offset=0.5, **(actor_kwargs or {})),
        critic=GR00TCriticCfg(hidden_dims=[32, 32], **(critic_kwargs or {})),
        algorithm=RslRlPpoAlgorithmCfg(
            num_learning_epochs=2,
            num_mini_batches=2,
            learning_rate=1e-3,
            schedule="fixed",
            gamma=0.99,
            lam=0.95,
            entropy_coef=0.0,
            desired_kl=0.01,
            max_grad_norm=1.0,
            value_loss_coef=1.0,
            use_clipped_value_loss=True,
            clip_param=0.2,
            # hands the actor's encoding to the critic's value head (value_input="features", the default)
            share_cnn_encoders=(critic_kwargs or {}).get("value_input", "features") == "features",
        ),
        **runner_kwargs,
    )
    cfg = handle_deprecated_rsl_rl_cfg(cfg, "5.5.1")
    return to_dict(cfg)


@pytest.fixture
def make_runner_cfg():
    return runner_cfg_dict
