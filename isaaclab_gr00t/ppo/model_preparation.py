"""What PPO37 does to the actor and critic before training, and which of their parameters it optimizes.

rsl_rl builds the models from their own configs; PPO37 then re-initializes them (details 2 and 32), installs the
observation normalizers inside them (details 28 and 29, so they are exported with the policy), scales images in front
of the CNN encoders (detail 22) and, on CUDA, runs those encoders in the channels-last memory format. Models that are
not rsl_rl's (e.g. the GR00T models) keep their own initialization and observation handling.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn as nn
from rsl_rl.models import CNNModel, MLPModel
from rsl_rl.storage import RolloutStorage

from isaaclab_gr00t.models import ClippedObsNormalizer, ScaledImageEncoder, orthogonal_init_, use_channels_last

from .model_hooks import GroupsParameters, offers


def prepare_models(actor: nn.Module, critic: nn.Module, cfg, storage: RolloutStorage, device: str,
                   multi_gpu: bool) -> None:
    """Apply the model-side settings of ``cfg`` (a :class:`~isaaclab_gr00t.ppo.PPO37AlgorithmCfg`) in place."""
    # [detail 2] orthogonal init: hidden gain sqrt(2), policy head 0.01, value head 1, biases 0
    # [detail 32] LSTM init: weights orthogonal (gain init_rnn_gain), biases 0
    if cfg.orthogonal_init:
        for model, head_gain in ((actor, cfg.init_policy_head_gain), (critic, cfg.init_value_head_gain)):
            # models built on MLPModel without its MLP trunk (the GR00T policy) initialize themselves
            if isinstance(model, MLPModel) and hasattr(model, "mlp"):
                orthogonal_init_(model, head_gain, cfg.init_hidden_gain, cfg.init_rnn_gain)
    if cfg.obs_normalization:
        install_obs_normalizers(actor, critic, cfg.obs_clip, device)
    # not multi-GPU: rsl_rl's gradient all-reduce flattens each gradient with view(-1), which channels-last refuses
    if cfg.channels_last_images and torch.device(device).type == "cuda" and not multi_gpu:
        install_channels_last_encoders(actor, critic)
    if cfg.image_scaling != "off":
        install_image_scaling(actor, critic, storage, scale_float_images=cfg.image_scaling == "all")


def install_obs_normalizers(actor: nn.Module, critic: nn.Module, obs_clip: float | None, device: str) -> None:
    """[detail 28] running observation normalization, [detail 29] observation clipping, inside each model."""
    for model in (actor, critic):
        if isinstance(model, MLPModel) and model.obs_dim == 0:
            continue  # an image-only CNN model has no flat observations to normalize
        if isinstance(model, MLPModel):
            model.obs_normalization = True
            model.obs_normalizer = ClippedObsNormalizer(model.obs_dim, clip=obs_clip).to(device)
        else:
            warnings.warn(
                f"PPO37 obs_normalization: {type(model).__name__} is not an rsl_rl MLPModel; it must normalize"
                " its own observations."
            )


def install_channels_last_encoders(actor: nn.Module, critic: nn.Module) -> None:
    """rsl_rl's sequential CNN encoders run in the channels-last memory format (before any image scaling wrapper)."""
    for model in (actor, critic):
        if isinstance(model, CNNModel):
            for encoder in model.cnns.values():
                if isinstance(encoder, nn.Sequential):
                    use_channels_last(encoder)


def install_image_scaling(actor: nn.Module, critic: nn.Module, storage: RolloutStorage,
                          scale_float_images: bool) -> None:
    """[detail 22] scale images to [0, 1] in front of every CNN encoder (uint8 always, float on request)."""
    obs_dtypes = {key: value.dtype for key, value in storage.observations.items()}
    for model in (actor, critic):
        if not isinstance(model, CNNModel):
            continue
        for group, encoder in model.cnns.items():
            if isinstance(encoder, ScaledImageEncoder):  # already wrapped through a shared encoder
                continue
            if obs_dtypes[group] == torch.uint8 or scale_float_images:
                model.cnns[group] = ScaledImageEncoder(encoder)


def optimizer_param_groups(actor: nn.Module, critic: nn.Module, base_lr: float) -> list[dict]:
    """Optimizer groups: a model's own (:class:`~.model_hooks.GroupsParameters`), else its trainable parameters at
    once.

    A model's own groups are kept as listed, frozen parameters included (a model lists those it unfreezes later);
    already-listed (shared) parameters are dropped. Each group remembers its own initial lr in ``"base_lr"`` so
    schedules scale all groups proportionally.
    """
    seen: set[int] = set()
    groups = []
    for model in (actor, critic):
        if offers(model, GroupsParameters):
            model_groups = model.optimizer_param_groups(base_lr)
        else:
            model_groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": base_lr}]
        for group in model_groups:
            params = [p for p in group["params"] if id(p) not in seen]
            seen.update(id(p) for p in params)
            if params:
                groups.append({**group, "params": params, "base_lr": float(group.get("lr", base_lr))})
    return groups
