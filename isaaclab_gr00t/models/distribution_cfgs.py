"""Config classes of the discrete distributions, so task specs and agent configs can name them
(``distribution_cfg: {kind: categorical, num_classes: 2}``) like rsl_rl's Gaussian ones."""

from __future__ import annotations

from dataclasses import MISSING

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg


@configclass
class CategoricalDistributionCfg(RslRlMLPModelCfg.DistributionCfg):
    """One categorical head over ``num_classes`` actions (Discrete action spaces)."""

    class_name: str = "isaaclab_gr00t.models:CategoricalDistribution"
    """The distribution class."""

    num_classes: int = MISSING
    """Number of discrete actions."""


@configclass
class MultiCategoricalDistributionCfg(RslRlMLPModelCfg.DistributionCfg):
    """Independent categorical heads, one per action dimension (MultiDiscrete action spaces, detail 37)."""

    class_name: str = "isaaclab_gr00t.models:MultiCategoricalDistribution"
    """The distribution class."""

    nvec: list[int] = MISSING
    """Number of classes of every head."""
