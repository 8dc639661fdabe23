"""Model building blocks for rsl_rl models: discrete distributions, init helpers, normalizers."""

from .distributions import CategoricalDistribution, MultiCategoricalDistribution
from .image_scaling import ScaledImageEncoder
from .init import orthogonal_init_
from .normalization import ClippedObsNormalizer, RunningMeanStd

__all__ = [
    "CategoricalDistribution",
    "ClippedObsNormalizer",
    "MultiCategoricalDistribution",
    "RunningMeanStd",
    "ScaledImageEncoder",
    "orthogonal_init_",
]
