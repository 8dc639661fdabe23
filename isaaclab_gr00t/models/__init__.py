"""Model building blocks for rsl_rl models: discrete distributions, init helpers, normalizers."""

from .distribution_cfgs import CategoricalDistributionCfg, MultiCategoricalDistributionCfg
from .distributions import CategoricalDistribution, MultiCategoricalDistribution
from .image_scaling import ScaledImageEncoder, use_channels_last
from .init import orthogonal_init_
from .normalization import ClippedObsNormalizer, RunningMeanStd

__all__ = [
    "CategoricalDistribution",
    "CategoricalDistributionCfg",
    "ClippedObsNormalizer",
    "MultiCategoricalDistribution",
    "MultiCategoricalDistributionCfg",
    "RunningMeanStd",
    "ScaledImageEncoder",
    "orthogonal_init_",
    "use_channels_last",
]
