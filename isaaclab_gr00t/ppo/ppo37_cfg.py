"""Configuration of :class:`isaaclab_gr00t.ppo.PPO37`.

Defaults are the values of Huang et al., "The 37 Implementation Details of Proximal Policy Optimization"
(ICLR 2022 blog track) for MuJoCo; every detail that can be switched off has its own field.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlPpoAlgorithmCfg


@configclass
class PPO37AlgorithmCfg(RslRlPpoAlgorithmCfg):
    """PPO with the 37 implementation details, each a named switch (see docs/ppo37.md for the detail table)."""

    class_name: str = "isaaclab_gr00t.ppo:PPO37"
    """The algorithm class, resolved by rsl_rl's ``resolve_callable``."""

    # ---- inherited fields, re-defaulted to the blog's MuJoCo values ----
    num_learning_epochs: int = 10
    """Optimization epochs over each rollout (blog: 10)."""
    num_mini_batches: int = 32
    """Minibatches per epoch (blog: 32). Feed-forward: must divide num_envs * num_steps_per_env; recurrent models:
    must divide num_envs (minibatches are whole environment trajectories)."""
    learning_rate: float = 3.0e-4
    """Initial Adam learning rate (blog: 3e-4). Schedules scale every parameter group proportionally to its own lr."""
    schedule: Literal["linear", "adaptive", "fixed"] = "linear"
    """LR schedule. "linear": anneal to 0 over ``lr_anneal_iterations`` updates (detail 4). "adaptive": rsl_rl's
    KL-adaptive rule (divide by 1.5 above 2*desired_kl, multiply by 1.5 below desired_kl/2). "fixed": constant."""
    gamma: float = 0.99
    """Discount factor."""
    lam: float = 0.95
    """GAE lambda (detail 5)."""
    entropy_coef: float = 0.0
    """Entropy bonus coefficient (detail 10; blog: 0.0 for MuJoCo, 0.01 for Atari/classic control)."""
    desired_kl: float = 0.01
    """Target KL of the "adaptive" schedule; unused by the other schedules."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip over all trained parameters of actor and critic together (detail 11)."""
    value_loss_coef: float = 0.5
    """Coefficient of the value loss, which is itself 0.5 * mean squared error as in the reference code (so the
    effective MSE weight is 0.25 with the defaults; rsl_rl's stock PPO uses 1.0 * MSE)."""
    use_clipped_value_loss: bool = True
    """Clip the value prediction around the rollout value by ``value_clip_param`` (detail 9)."""
    clip_param: float = 0.2
    """Policy ratio clip range of the surrogate objective (detail 8)."""
    normalize_advantage_per_mini_batch: bool = True
    """Normalize advantages with the statistics of each minibatch (detail 7); False: of the whole rollout."""

    # ---- PPO37 fields ----
    reshuffle_every_epoch: bool = True
    """Draw a new minibatch permutation every epoch (detail 6); False: one permutation per update (stock rsl_rl)."""
    value_clip_param: float = 0.2
    """Clip range of the value loss, separate from the policy ``clip_param`` (detail 9)."""
    normalize_advantage: bool = True
    """Normalize advantages at all (detail 7); see ``normalize_advantage_per_mini_batch`` for the scope."""
    adam_eps: float = 1.0e-5
    """Adam/AdamW epsilon (detail 3; PyTorch default 1e-8)."""
    lr_anneal_iterations: int | None = None
    """Number of updates over which the "linear" schedule anneals to 0. None: the runner's ``max_iterations``. The
    schedule position and horizon are stored in checkpoints, so a resumed run continues the original schedule."""
    orthogonal_init: bool = True
    """Orthogonally re-initialize rsl_rl actor/critic models (detail 2; LSTM detail 32)."""
    init_hidden_gain: float = math.sqrt(2.0)
    """Orthogonal gain of hidden Linear/Conv layers."""
    init_policy_head_gain: float = 0.01
    """Orthogonal gain of the actor's output layer."""
    init_value_head_gain: float = 1.0
    """Orthogonal gain of the critic's output layer."""
    init_rnn_gain: float = 1.0
    """Orthogonal gain of LSTM/GRU weight matrices (biases 0)."""
    obs_normalization: bool = True
    """Running mean/std observation normalization installed in the actor and critic (detail 28). Statistics are
    updated once per rollout after the update so stored and recomputed log-probabilities agree."""
    obs_clip: float | None = 10.0
    """Clip normalized observations to [-obs_clip, obs_clip] (detail 29); None: no clipping."""
    reward_scaling: bool = True
    """Divide rewards by the running std of the per-env discounted return, reset at episode end (detail 30)."""
    reward_clip: float | None = 10.0
    """Clip (scaled) rewards to [-reward_clip, reward_clip] (detail 31); None: no clipping."""
    image_scaling: Literal["uint8", "all", "off"] = "uint8"
    """Scale image groups of CNN models to [0, 1] (detail 22): "uint8" scales uint8 images by 1/255, "all" scales
    every image group by 1/255 (float images in 0..255), "off" leaves images alone."""
    channels_last_images: bool = True
    """Run the CNN encoders of rsl_rl's CNN models in the channels-last memory format on CUDA: the same weights and
    maths (up to TF32 rounding), faster cuDNN kernels for few-channel convolutions, same checkpoint keys. Ignored on
    the CPU and in multi-GPU runs (rsl_rl's gradient all-reduce needs contiguous gradients)."""
    bootstrap_time_outs: bool = False
    """Add gamma * V(s_t) to the reward of time-out (truncated) steps, as rsl_rl does at GPU scale. The blog's MuJoCo
    code treats truncation as termination (False)."""
    target_kl: float | None = None
    """Stop the update's remaining epochs once an epoch's mean approx_kl exceeds this (blog option); None: never."""
    adaptive_lr_bounds: tuple[float, float] = (1.0e-5, 1.0e-2)
    """(min, max) learning rate of the "adaptive" schedule."""
    num_micro_batches: int = 1
    """Gradient accumulation: split each minibatch into this many equal chunks; losses are scaled so the gradient
    equals that of the whole minibatch."""
    micro_batch_size: int | None = None
    """At most this many samples (feed-forward) or env trajectories (recurrent) per backward pass. When set, each
    minibatch is split into the fewest equal chunks of at most this size (gradient accumulation, as
    ``num_micro_batches``), so the update's activation memory does not grow with ``num_envs``. It replaces
    ``num_micro_batches``, which must then stay 1. None: ``num_micro_batches`` decides."""
    max_consecutive_nonfinite_updates: int = 3
    """A non-finite loss or gradient skips the optimizer step; this many skipped steps in a row raise RuntimeError."""
    grad_reduce_bucket_mb: float = 25.0
    """Bucket size (MB) of the multi-GPU gradient all-reduce."""
    update_mode: Literal["auto", "eager", "device", "graph"] = "auto"
    """How the update's kernels are issued; all modes compute the same numbers. "eager": the host checks every
    optimizer step for non-finite values before stepping (one sync per step). "device": no host sync inside the
    update: the lr lives in a device tensor (the adaptive schedule runs on the device) and fused Adam skips a
    non-finite step on the device (Adam/AdamW only). "graph": "device" with each minibatch step replayed from a CUDA
    graph (CUDA, feed-forward rsl_rl models, one process). "auto": for rsl_rl's feed-forward models with Adam/AdamW
    in one process, "graph" on CUDA and "device" on the CPU (its fused Adam step is cheaper than the eager one there);
    else "eager"."""


def as_ppo37_cfg(cfg: PPO37AlgorithmCfg | Mapping[str, Any]) -> PPO37AlgorithmCfg:
    """``cfg`` as a :class:`PPO37AlgorithmCfg`: a config is copied, a dict (``to_dict`` of one, as the runner passes
    it) fills the fields it names; an unknown key is refused with the accepted fields."""
    if isinstance(cfg, PPO37AlgorithmCfg):
        return cfg.copy()
    accepted = {field.name for field in dataclasses.fields(PPO37AlgorithmCfg)}
    unknown = sorted(set(cfg) - accepted)
    if unknown:
        raise ValueError(f"Unknown PPO37 config field(s) {unknown}; accepted fields: {sorted(accepted)}")
    return PPO37AlgorithmCfg(**cfg)
