"""PPO37Runner: a drop-in rsl_rl on-policy runner without per-step host syncs, with crash-safe checkpoints.

See ``docs/runner.md`` for what differs from ``rsl_rl.runners.OnPolicyRunner`` and why.
"""

from .checkpoint import CheckpointError
from .ppo37_runner import PPO37Runner
from .runner_cfg import PPO37RunnerCfg

__all__ = ["CheckpointError", "PPO37Runner", "PPO37RunnerCfg"]
