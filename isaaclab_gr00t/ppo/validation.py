"""PPO37's checks of its configuration: every inconsistent setting is refused at construction, naming the field."""

from __future__ import annotations

import torch.nn as nn
from rsl_rl.storage import RolloutStorage

from .lr_schedule import SCHEDULES
from .model_hooks import SharesEncoder, StoresRolloutExtras, offers
from .update_modes import UPDATE_MODES

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
"""The ``optimizer`` values PPO37 builds (rsl_rl's choices)."""


def validate_cfg(cfg, storage: RolloutStorage, is_recurrent: bool, actor: nn.Module, critic: nn.Module) -> None:
    """Raise ``ValueError`` naming the first invalid field of ``cfg`` (a PPO37AlgorithmCfg) for this rollout."""
    # Extensions of stock rsl_rl PPO that PPO37 does not implement: accepted as disabled, refused when enabled.
    for name in ("rnd_cfg", "symmetry_cfg"):
        if getattr(cfg, name):
            raise ValueError(f"PPO37 does not support '{name}'; set it to None or use rsl_rl's PPO.")
    if cfg.use_mixed_precision:
        raise ValueError(
            "PPO37 does not support 'use_mixed_precision': autocasting is the model's job (autocast inside the"
            " model's forward); set use_mixed_precision=False."
        )
    # share_cnn_encoders is applied when the models are built (construct_algorithm); here it must hold
    shared = offers(actor, SharesEncoder) and offers(critic, SharesEncoder) and critic.cnns is actor.cnns
    if cfg.share_cnn_encoders and not shared:
        raise ValueError(
            "PPO37 config field 'share_cnn_encoders' = True, but the actor and critic do not share their CNN"
            " encoders; build them with PPO37.construct_algorithm, which shares them."
        )
    if is_recurrent and offers(actor, StoresRolloutExtras):
        raise ValueError(
            f"PPO37 keeps a model's rollout_extras for feed-forward models only; {type(actor).__name__} is recurrent."
        )
    bounds = tuple(cfg.adaptive_lr_bounds)
    checks = [
        ("num_learning_epochs", cfg.num_learning_epochs, cfg.num_learning_epochs >= 1, ">= 1"),
        ("num_mini_batches", cfg.num_mini_batches, cfg.num_mini_batches >= 1, ">= 1"),
        ("num_micro_batches", cfg.num_micro_batches, cfg.num_micro_batches >= 1, ">= 1"),
        ("learning_rate", cfg.learning_rate, cfg.learning_rate > 0, "> 0"),
        ("clip_param", cfg.clip_param, cfg.clip_param > 0, "> 0"),
        ("value_clip_param", cfg.value_clip_param, cfg.value_clip_param > 0, "> 0"),
        ("gamma", cfg.gamma, 0 <= cfg.gamma <= 1, "in [0, 1]"),
        ("lam", cfg.lam, 0 <= cfg.lam <= 1, "in [0, 1]"),
        ("value_loss_coef", cfg.value_loss_coef, cfg.value_loss_coef >= 0, ">= 0"),
        ("entropy_coef", cfg.entropy_coef, cfg.entropy_coef >= 0, ">= 0"),
        ("max_grad_norm", cfg.max_grad_norm, cfg.max_grad_norm > 0, "> 0"),
        ("adam_eps", cfg.adam_eps, cfg.adam_eps > 0, "> 0"),
        ("obs_clip", cfg.obs_clip, cfg.obs_clip is None or cfg.obs_clip > 0, "> 0 or None"),
        ("reward_clip", cfg.reward_clip, cfg.reward_clip is None or cfg.reward_clip > 0, "> 0 or None"),
        ("target_kl", cfg.target_kl, cfg.target_kl is None or cfg.target_kl > 0, "> 0 or None"),
        ("max_consecutive_nonfinite_updates", cfg.max_consecutive_nonfinite_updates,
         cfg.max_consecutive_nonfinite_updates >= 1, ">= 1"),
        ("optimizer", cfg.optimizer, cfg.optimizer in OPTIMIZERS, f"one of {sorted(OPTIMIZERS)}"),
        ("schedule", cfg.schedule, cfg.schedule in SCHEDULES, "'linear', 'adaptive' or 'fixed'"),
        ("image_scaling", cfg.image_scaling, cfg.image_scaling in ("uint8", "all", "off"), "'uint8', 'all' or 'off'"),
        ("update_mode", cfg.update_mode, cfg.update_mode in UPDATE_MODES, f"one of {UPDATE_MODES}"),
        ("adaptive_lr_bounds", bounds, len(bounds) == 2 and 0 < bounds[0] <= bounds[1],
         "(min, max) with 0 < min <= max"),
    ]
    if cfg.schedule == "adaptive":
        checks.append(("desired_kl", cfg.desired_kl, cfg.desired_kl is not None and cfg.desired_kl > 0,
                       "> 0 for schedule='adaptive'"))
    if cfg.schedule == "linear":
        checks.append(("lr_anneal_iterations", cfg.lr_anneal_iterations,
                       cfg.lr_anneal_iterations is not None and cfg.lr_anneal_iterations >= 1,
                       ">= 1 for schedule='linear' (defaults to the runner's max_iterations)"))
    for name, value, ok, requirement in checks:
        if not ok:
            raise ValueError(f"PPO37 config field '{name}' = {value!r} is invalid: must be {requirement}.")

    units, unit_name = rollout_units(storage, is_recurrent)
    if units % cfg.num_mini_batches:
        raise ValueError(
            f"PPO37 config field 'num_mini_batches' = {cfg.num_mini_batches} must divide {unit_name} = {units}."
        )


def rollout_units(storage: RolloutStorage, is_recurrent: bool) -> tuple[int, str]:
    """How many units the update shuffles into minibatches, and what they are called.

    Recurrent minibatches are whole env trajectories, feed-forward minibatches are samples.
    """
    if is_recurrent:
        return storage.num_envs, "num_envs"
    return storage.num_envs * storage.num_transitions_per_env, "num_envs * num_steps_per_env"


def micro_batch_count(cfg, storage: RolloutStorage, is_recurrent: bool) -> int:
    """How many equal micro-batches (backward passes) each minibatch is split into; ``cfg`` passed :func:`validate_cfg`.

    ``num_micro_batches``, or, when ``micro_batch_size`` is set, the fewest equal chunks of at most that many
    samples. Raises ``ValueError`` naming the field that does not fit the minibatch size.
    """
    units, unit_name = rollout_units(storage, is_recurrent)
    minibatch = units // cfg.num_mini_batches
    minibatch_size = f"the minibatch size {minibatch} ({unit_name} / num_mini_batches)"
    size = cfg.micro_batch_size
    if size is None:
        if minibatch % cfg.num_micro_batches:
            raise ValueError(
                f"PPO37 config field 'num_micro_batches' = {cfg.num_micro_batches} must divide {minibatch_size}."
            )
        return cfg.num_micro_batches
    if cfg.num_micro_batches != 1:
        raise ValueError(
            f"PPO37 config field 'micro_batch_size' = {size} replaces 'num_micro_batches', which must then stay 1"
            f" (it is {cfg.num_micro_batches}); {minibatch_size}."
        )
    if size < 1:
        raise ValueError(f"PPO37 config field 'micro_batch_size' = {size} must be >= 1.")
    # the fewest equal chunks of at most `size`: equal chunks keep every sample's weight in the gradient equal
    count = -(-minibatch // size)
    while minibatch % count:
        count += 1
    return count
