"""PPO37: PPO with the 37 implementation details of Huang et al. (ICLR 2022 blog track) for rsl-rl-lib 5.5.1."""

from .ppo37 import PPO37
from .ppo37_cfg import PPO37AlgorithmCfg

__all__ = ["PPO37", "PPO37AlgorithmCfg"]
