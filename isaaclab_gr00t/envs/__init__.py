"""Environment-side helpers shared by the runner, the benchmarks and the GR00T policy."""

from .wrapper import VecEnvWrapper

__all__ = ["VecEnvWrapper"]
