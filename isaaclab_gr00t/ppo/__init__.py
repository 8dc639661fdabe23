"""PPO37: PPO with the 37 implementation details of Huang et al. (ICLR 2022 blog track) for rsl-rl-lib 5.5.1.

The config classes import Isaac Lab (slow); they load on first access so ``from isaaclab_gr00t.ppo import PPO37``
stays cheap (e.g. in spawned worker processes).
"""

from .ppo37 import PPO37

__all__ = ["PPO37", "PPO37AlgorithmCfg"]


def __getattr__(name: str):
    if name == "PPO37AlgorithmCfg":
        from .ppo37_cfg import PPO37AlgorithmCfg

        return PPO37AlgorithmCfg
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
