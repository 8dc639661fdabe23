"""PPO37 presets (algorithm settings; the rollout size each preset assumes is in its docstring).

- :class:`PPO37MujocoCfg`: the blog's MuJoCo setting (CleanRL ``ppo_continuous_action.py``): 1 env x 2048 steps,
  32 minibatches of 64, 10 epochs, lr 3e-4 annealed, obs/reward normalization and clipping, no entropy bonus.
- :class:`PPO37ClassicControlCfg`: the blog's classic-control setting (CleanRL ``ppo.py``): 4 envs x 128 steps,
  4 minibatches, 4 epochs, lr 2.5e-4 annealed, entropy 0.01, no normalization.
- :class:`PPO37GpuCfg`: thousands of Isaac Lab envs (e.g. 4096 x 24 steps): time-out bootstrapping, KL-adaptive LR
  (as rsl_rl/rl_games do at this scale), 4 large minibatches, 5 epochs, rsl_rl's usual lr 1e-3 and grad clip 1.0.
"""

from __future__ import annotations

from isaaclab.utils import configclass

from .ppo37_cfg import PPO37AlgorithmCfg


@configclass
class PPO37MujocoCfg(PPO37AlgorithmCfg):
    """Blog-faithful MuJoCo setting; use with num_envs * num_steps_per_env = 2048 (1 x 2048 in the blog)."""

    num_learning_epochs: int = 10
    """10 epochs per rollout."""
    num_mini_batches: int = 32
    """32 minibatches (64 samples each for a 2048-sample rollout)."""
    learning_rate: float = 3.0e-4
    """Adam lr 3e-4."""
    schedule: str = "linear"
    """Linear annealing to 0."""
    entropy_coef: float = 0.0
    """No entropy bonus for continuous control."""
    obs_normalization: bool = True
    """Running observation normalization (clip 10)."""
    reward_scaling: bool = True
    """Reward scaling by the discounted-return std (clip 10)."""
    bootstrap_time_outs: bool = False
    """The blog treats truncation as termination."""


@configclass
class PPO37ClassicControlCfg(PPO37AlgorithmCfg):
    """Blog's classic-control (CartPole) setting; use with 4 envs x 128 steps."""

    num_learning_epochs: int = 4
    """4 epochs per rollout."""
    num_mini_batches: int = 4
    """4 minibatches."""
    learning_rate: float = 2.5e-4
    """Adam lr 2.5e-4."""
    entropy_coef: float = 0.01
    """Entropy bonus 0.01."""
    obs_normalization: bool = False
    """Classic control runs on raw observations."""
    reward_scaling: bool = False
    """Classic control runs on raw rewards."""
    reward_clip: float | None = None
    """No reward clipping."""


@configclass
class PPO37GpuCfg(PPO37AlgorithmCfg):
    """Thousands of parallel Isaac Lab envs (e.g. 4096 envs x 24 steps = 98k samples a rollout)."""

    num_learning_epochs: int = 5
    """5 epochs: large rollouts carry many gradient steps already."""
    num_mini_batches: int = 4
    """4 large minibatches (~25k samples) keep the GPU busy."""
    learning_rate: float = 1.0e-3
    """rsl_rl's usual starting lr; the adaptive schedule moves it."""
    schedule: str = "adaptive"
    """KL-adaptive LR (rsl_rl / rl_games practice at GPU scale)."""
    desired_kl: float = 0.01
    """Target KL of the adaptive schedule."""
    max_grad_norm: float = 1.0
    """rsl_rl's usual gradient clip for large batches."""
    entropy_coef: float = 0.005
    """Small entropy bonus, as in Isaac Lab's locomotion presets."""
    bootstrap_time_outs: bool = True
    """Isaac Lab episodes end by time-out: bootstrap instead of treating them as terminal."""
