"""Where PPO37Runner's logger files each metric of :meth:`PPO37.update` in TensorBoard."""

from __future__ import annotations

METRIC_TAGS: dict[str, str | None] = {
    "policy_loss": "Loss/surrogate",
    "value_loss": "Loss/value",
    "entropy": "Policy/entropy",
    "approx_kl": "Policy/approx_kl",
    "analytic_kl": "Policy/analytic_kl",
    "clip_fraction": "Policy/clip_fraction",
    "action_std": "Policy/action_std",
    "explained_variance": "Value/explained_variance",
    "grad_norm": "Optimizer/grad_norm",
    "nonfinite_skips": "Optimizer/nonfinite_skips",
    "num_optimizer_steps": "Optimizer/steps",
    "num_epochs": "Optimizer/epochs",
    "learning_rate": None,
}
"""The TensorBoard tag of each metric ``update()`` returns (PPO37Runner's logger files them so); None: rsl_rl's
logger writes it already (``Loss/learning_rate``)."""
