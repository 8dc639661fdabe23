"""Model building blocks for rsl_rl models: discrete distributions, init helpers, normalizers, a mixed-precision CNN."""

from .distributions import CategoricalDistribution, MultiCategoricalDistribution
from .image_scaling import ScaledImageEncoder
from .init import orthogonal_init_
from .mixed_precision_cnn import MixedPrecisionCNNModel, MixedPrecisionCNNModelCfg
from .normalization import ClippedObsNormalizer, RunningMeanStd

__all__ = [
    "CategoricalDistribution",
    "ClippedObsNormalizer",
    "MixedPrecisionCNNModel",
    "MixedPrecisionCNNModelCfg",
    "MultiCategoricalDistribution",
    "RunningMeanStd",
    "ScaledImageEncoder",
    "orthogonal_init_",
]
