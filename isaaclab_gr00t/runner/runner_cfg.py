"""Configuration of :class:`~.ppo37_runner.PPO37Runner`."""

from __future__ import annotations

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg

from ..ppo import PPO37AlgorithmCfg


@configclass
class PPO37RunnerCfg(RslRlOnPolicyRunnerCfg):
    """Runner settings: every field of Isaac Lab's on-policy runner config plus the fast runner's own.

    ``check_for_nan`` keeps its meaning (check environment outputs), but the check runs on the device
    and is read once per iteration, before the update, instead of once per step.
    """

    class_name: str = "isaaclab_gr00t.runner:PPO37Runner"
    """The runner class, resolved by the project's runner hook. Defaults to the PPO37 runner."""

    algorithm: RslRlPpoAlgorithmCfg = PPO37AlgorithmCfg()
    """The algorithm configuration: PPO37 by default; stock rsl_rl PPO (class_name "PPO") works too."""

    keep_last_checkpoints: int = 0
    """How many ``model_<N>.pt`` files of the run to keep on disk; older ones are deleted after each save.

    0 keeps all of them, as stock rsl_rl does. A small number bounds disk use for large models; the
    newest complete checkpoint is never deleted.
    """

    check_loss_finite: bool = True
    """Raise after an update whose losses are NaN or inf, before that iteration is saved.

    The last checkpoint on disk then still holds finite weights to resume from.
    """
