"""Isaac Lab configclasses of the GR00T actor and critic.

Both subclass :class:`isaaclab_rl.rsl_rl.RslRlMLPModelCfg`, so a runner cfg naming them passes Isaac Lab's
``handle_deprecated_rsl_rl_cfg`` and ``to_dict`` unchanged, and every field arrives in the model's constructor as a
keyword argument. The inherited ``hidden_dims``/``activation``/``obs_normalization``/``distribution_cfg`` keep their
rsl_rl meaning (see each class's overrides).
"""

from __future__ import annotations

from typing import Literal

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlCNNModelCfg, RslRlMLPModelCfg


@configclass
class GR00TActorCfg(RslRlMLPModelCfg):
    """GR00T-class VLA actor: frozen vision-language backbone + LoRA + flow-matching action head, Gaussian policy."""

    class_name: str = "isaaclab_gr00t.gr00t:GR00TActor"
    """The model class, resolved by rsl_rl."""

    hidden_dims: list[int] = [256, 256]
    """Hidden layers of the state encoder MLP (and of the fallback MLP policy)."""

    activation: str = "elu"
    """Activation of the state encoder MLP (and of the fallback MLP policy)."""

    obs_normalization: bool = False
    """Whether to normalize the 1-D (state) observation groups with running statistics."""

    distribution_cfg: RslRlMLPModelCfg.GaussianDistributionCfg | None = RslRlMLPModelCfg.GaussianDistributionCfg(
        init_std=1.0, std_type="log"
    )
    """Action distribution around the head's output: a Gaussian with state-independent std (rsl_rl's
    ``GaussianDistribution``); None gives a deterministic actor."""

    size: Literal["tiny", "full"] = "tiny"
    """Backbone and head dimensions: ``full`` is GR00T N1.5's, ``tiny`` a few hundred thousand parameters for tests."""

    instruction: str = "perform the task"
    """Language instruction given to the backbone, tokenized once at construction."""

    pretrained_path: str | None = None
    """Local checkpoint directory of ``*.safetensors`` or a Hugging Face repo id already in the local cache (never
    downloaded). None builds the backbone with random weights."""

    on_missing: Literal["fallback_mlp", "error"] = "error"
    """What to do when ``pretrained_path`` or the transformers/peft code is missing: ``error`` raises naming the path,
    ``fallback_mlp`` warns and builds rsl_rl's MLP (state-only) or CNN (images) policy instead."""

    checkpoint_key_map: dict[str, str] = {}
    """Prefix renames applied to checkpoint keys before loading (checkpoint prefix -> backbone prefix, e.g.
    ``{"backbone.vision.": "vision."}``)."""

    llm_layers: int | None = None
    """Language-model layers kept; None uses the size's value (12 for ``full``, as GR00T N1.5)."""

    lora_rank: int = 16
    """LoRA rank."""

    lora_alpha: float = 32.0
    """LoRA scaling numerator (the update is scaled by ``lora_alpha / lora_rank``)."""

    lora_llm_targets: list[str] = ["q_proj", "v_proj"]
    """Names of language-model linear layers that get LoRA adapters."""

    lora_vision_targets: list[str] = []
    """Names of vision-tower linear layers that get LoRA adapters (empty: the vision tower runs without gradients)."""

    autocast_dtype: Literal["auto", "bfloat16", "float32"] = "auto"
    """Backbone autocast: ``auto`` is bfloat16 on CUDA and off on CPU. The heads always run in float32."""

    frozen_dtype: Literal["float32", "bfloat16"] = "float32"
    """Storage dtype of the frozen backbone weights (bfloat16 halves their memory; LoRA weights stay float32)."""

    gradient_checkpointing: bool = False
    """Recompute backbone layer activations during backward instead of storing them."""

    channels_per_frame: Literal[1, 3] = 3
    """Channels of one camera frame in an image group (frames are stacked along channels): 3 RGB, 1 depth/grey."""

    image_scale: float = 2.0
    """Factor applied to image observations before the vision tower (2 maps Isaac Lab's mean-subtracted [0, 1] RGB
    to about SigLIP's [-1, 1])."""

    action_horizon: int = 16
    """Actions per predicted chunk (GR00T N1.5: 16)."""

    max_action_dim: int = 32
    """Padded action dimension of the head (GR00T N1.5: 32); the env's action dimension must not exceed it."""

    execute_steps: int = 1
    """Chunk actions executed per policy decision; the PPO action is their concatenation (needs
    :class:`~isaaclab_gr00t.gr00t.ChunkedActionEnv` when > 1)."""

    num_denoising_steps: int = 4
    """Euler steps of the flow-matching head (GR00T N1.5: 4)."""

    head_width: int | None = None
    """Action head token width; None uses the size's value."""

    head_layers: int | None = None
    """Action head transformer blocks; None uses the size's value."""

    head_heads: int | None = None
    """Action head attention heads; None uses the size's value."""

    lora_lr_scale: float = 1.0
    """Learning rate of the LoRA weights relative to the algorithm's (``optimizer_param_groups``)."""

    head_lr_scale: float = 1.0
    """Learning rate of the action head (with its state encoder) relative to the algorithm's."""

    std_lr_scale: float = 1.0
    """Learning rate of the action std relative to the algorithm's."""

    share_key: str = "default"
    """Registry key under which the actor publishes its backbone for the critic with the same key."""

    fallback_cnn_cfg: RslRlCNNModelCfg.CNNCfg = RslRlCNNModelCfg.CNNCfg(
        output_channels=[8, 16, 16], kernel_size=[5, 3, 3], stride=[2, 2, 2], activation="relu"
    )
    """CNN encoder of the fallback policy when the actor observes images."""


@configclass
class GR00TCriticCfg(RslRlMLPModelCfg):
    """Value function for the GR00T actor: an MLP on pooled, detached backbone features and/or 1-D observations."""

    class_name: str = "isaaclab_gr00t.gr00t:GR00TCritic"
    """The model class, resolved by rsl_rl."""

    hidden_dims: list[int] = [256, 256]
    """Hidden layers of the value MLP."""

    activation: str = "elu"
    """Activation of the value MLP."""

    obs_normalization: bool = False
    """Whether to normalize the critic's 1-D observation groups with running statistics."""

    value_input: Literal["features", "state"] = "features"
    """``features``: the actor's pooled backbone tokens (detached, RLinf-style) concatenated with the critic's 1-D
    groups; ``state``: the critic's 1-D groups only (e.g. privileged state)."""

    share_key: str = "default"
    """Registry key of the actor whose backbone output is reused (``value_input="features"``)."""

    lr_scale: float = 1.0
    """Learning rate of the value MLP relative to the algorithm's (``optimizer_param_groups``)."""
