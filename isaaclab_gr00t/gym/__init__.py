"""Gymnasium -> rsl_rl VecEnv adapter and the ``isaaclab-gr00t-gym`` training command."""

from .vec_env import GymVecEnv

__all__ = ["GymVecEnv"]
