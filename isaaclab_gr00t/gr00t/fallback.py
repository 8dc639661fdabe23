"""When the GR00T backbone cannot be built: say why, and build rsl_rl's own MLP or CNN policy instead."""

from __future__ import annotations

import importlib.util
import warnings

from rsl_rl.models import CNNModel, MLPModel
from tensordict import TensorDict

from .loading import PretrainedWeightsNotFoundError, resolve_pretrained_dir


def missing_backbone_error(pretrained_path: str | None) -> ImportError | FileNotFoundError | None:
    """Return the error saying why the backbone cannot be built (missing code or weights), or None when it can."""
    for package in ("transformers", "peft", "safetensors"):
        if importlib.util.find_spec(package) is None:
            return ImportError(f"Python package '{package}' is not installed")
    try:
        from transformers import Qwen3Model, SiglipVisionModel  # noqa: F401
    except ImportError as err:
        return ImportError(f"transformers lacks the SigLIP/Qwen3 models ({err})")
    if pretrained_path is not None:
        try:
            resolve_pretrained_dir(pretrained_path)
        except PretrainedWeightsNotFoundError as err:
            return err
    return None


def build_fallback_policy(
    obs: TensorDict, obs_groups: dict[str, list[str]], obs_set: str, output_dim: int, cfg: dict, reason: str
) -> MLPModel:
    """Warn with ``reason`` and return an rsl_rl ``CNNModel`` (if the set observes images) or ``MLPModel``.

    ``cfg`` holds the GR00T actor's keyword arguments; the fallback uses its ``hidden_dims``, ``activation``,
    ``obs_normalization``, ``distribution_cfg`` and ``fallback_cnn_cfg``.
    """
    has_images = any(obs[group].dim() == 4 for group in obs_groups[obs_set])
    kind = "CNNModel" if has_images else "MLPModel"
    warnings.warn(f"GR00T backbone unavailable: {reason}. Falling back to rsl_rl's {kind} policy.", RuntimeWarning)
    common = {
        "hidden_dims": cfg["hidden_dims"],
        "activation": cfg["activation"],
        "obs_normalization": cfg["obs_normalization"],
        "distribution_cfg": cfg["distribution_cfg"],
    }
    if has_images:
        cnn_cfg = cfg["fallback_cnn_cfg"]
        cnn_cfg = cnn_cfg if isinstance(cnn_cfg, dict) else cnn_cfg.to_dict()
        return CNNModel(obs, obs_groups, obs_set, output_dim, cnn_cfg=cnn_cfg, **common)
    return MLPModel(obs, obs_groups, obs_set, output_dim, **common)
