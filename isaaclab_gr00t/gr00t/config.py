"""Isaac Lab configclasses of the GR00T N1.5 actor and critic.

Both subclass :class:`isaaclab_rl.rsl_rl.RslRlMLPModelCfg`, so a runner cfg naming them passes Isaac Lab's
``handle_deprecated_rsl_rl_cfg`` and ``to_dict`` unchanged; every field arrives in the model's constructor as a
keyword argument, and the model builds its cfg back from them: each default is written here only.
"""

from __future__ import annotations

from dataclasses import MISSING
from typing import Literal

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg

UnfreezeGroup = Literal["action_head", "vision_projector", "llm_lora_top", "vision_lora"]
"""The parameter sets a stage of progressive unfreezing can bring into training (:mod:`.unfreeze`)."""


@configclass
class UnfreezeStageCfg:
    """One stage of progressive unfreezing: a parameter group of the N1.5 model, frozen until ``iteration``, trains
    from that iteration's update on at its own learning rate (gradual unfreezing, Howard & Ruder, ACL 2018)."""

    iteration: int = MISSING
    """The learning iteration (0-based, as checkpoints count completed iterations) whose update first trains the
    group: ``iteration: 100`` leaves the group unchanged by iterations 0..99; a run resumed from ``model_<N>.pt``
    trains it from iteration ``N`` on when ``N >= 100``."""

    group: UnfreezeGroup = MISSING
    """``action_head``: the action head as ``train_action_head`` trains it (which must then be false);
    ``vision_projector``: Eagle's ``mlp1`` (vision tokens to the language model's width), in float32;
    ``llm_lora_top``: the LoRA adapters (``lora_rank``, ``lora_alpha``, ``lora_llm_targets``) of the language
    model's top ``layers`` layers, those of earlier ``llm_lora_top`` stages excepted;
    ``vision_lora``: the vision tower's LoRA adapters (``lora_vision_targets``)."""

    layers: int = 0
    """``llm_lora_top`` only (at least 1 there, 0 for the other groups): how many of the language model's top layers
    have trained adapters from this stage on, counting those of earlier stages."""

    lr_scale: float = 1.0
    """Learning rate of the group relative to the algorithm's."""


@configclass
class GR00TActorCfg(RslRlMLPModelCfg):
    """GR00T N1.5 actor: frozen Eagle backbone (+ LoRA), trained flow-matching action head, a stochastic policy."""

    class_name: str = "isaaclab_gr00t.gr00t:GR00TActor"
    """The model class, resolved by rsl_rl."""

    hidden_dims: list[int] = []
    """Not used by the N1.5 architecture: must stay empty (an error says so otherwise)."""

    activation: str = "none"
    """Not used by the N1.5 architecture: must stay ``none``."""

    obs_normalization: bool = False
    """Normalize the state groups with running statistics before the embodiment's ``min_max`` map."""

    distribution_cfg: RslRlMLPModelCfg.GaussianDistributionCfg | None = RslRlMLPModelCfg.GaussianDistributionCfg(
        init_std=0.5, std_type="log"
    )
    """Gaussian around the flow output (``policy="gaussian"``); unused by ``flow_sde``, whose noise is in the flow."""

    checkpoint: str | None = None
    """Local GR00T N1.5 checkpoint folder (``config.json``, sharded safetensors, ``experiment_cfg/metadata.json``);
    never downloaded. None builds a model with random weights at ``size``."""

    processor: str | None = None
    """Eagle 2.5 processor folder (tokenizer, chat template, vision/text sizes) when the checkpoint folder has none."""

    size: Literal["tiny", "full"] = "tiny"
    """Sizes of the random model when ``checkpoint`` is None: ``full`` (published) or ``tiny`` (CPU tests)."""

    embodiment: str = "new_embodiment"
    """Embodiment tag (or slot id as a string) whose action-head slot and statistics are used."""

    use_statistics: bool = True
    """Normalize state and un-normalize actions with the embodiment's statistics when the checkpoint has them."""

    normalization_modes: dict[str, str] = {}
    """``"state.<key>"`` / ``"action.<key>"`` -> normalization mode (``min_max``, ``q99``, ``mean_std``, ``binary``,
    ``sin_cos`` for state), keys as in the embodiment's statistics. A key not named takes the mode the checkpoint's
    metadata recorded (a fine-tune of this package), else ``min_max`` (:mod:`isaaclab_gr00t.gr00t.normalization`)."""

    instruction: str = "perform the task"
    """Language instruction, chat-templated once at construction."""

    policy: Literal["gaussian", "flow_sde"] = "gaussian"
    """Stochastic policy for PPO: a Gaussian around the deterministic flow output, or RLinf's flow-SDE (needs
    PPO37, which stores the denoising chain)."""

    noise_level: float = 0.5
    """Flow-SDE noise level ``a`` (sigma_t = a * sqrt((1 - t) / t))."""

    execute_steps: int = 1
    """Chunk actions executed per policy decision (k of 16); the PPO action is their concatenation. Read by
    :class:`~isaaclab_gr00t.gr00t.GR00TRunner`, which steps the env k times per decision."""

    pixel_scale: float = 1.0
    """Maps image observations to [0, 1] with ``pixel_offset``: ``1/255`` for uint8 pixels."""

    pixel_offset: float = 0.0
    """Added after ``pixel_scale``: ``0.5`` for Isaac Lab's mean-subtracted ``pixel / 255 - mean`` images."""

    channels_per_frame: Literal[1, 3] = 3
    """Channels of one camera frame in an image group (frames stack along channels): 3 RGB, 1 grey or depth."""

    dtype: Literal["float32", "bfloat16"] = "float32"
    """Storage dtype of the frozen weights; trained weights (action head, LoRA) are always float32."""

    train_action_head: bool = True
    """Train the whole action head (RLinf's recipe); False freezes it (e.g. LoRA only)."""

    lora_rank: int = 0
    """LoRA rank on the backbone; 0 adds none."""

    lora_alpha: float = 32.0
    """LoRA scaling numerator (the update is scaled by ``lora_alpha / lora_rank``)."""

    lora_llm_targets: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    """Language-model linear layers that get LoRA adapters (with ``lora_rank > 0``)."""

    lora_vision_targets: list[str] = []
    """Vision-tower linear layers that get LoRA adapters (empty: the tower runs without gradients)."""

    unfreeze: list[UnfreezeStageCfg] = []
    """Progressive unfreezing: stages, in increasing ``iteration``, each bringing a group into training (a list of
    mappings from YAML). A stage's parameters (zero-initialized LoRA adapters included) exist and have their own
    optimizer group from construction, frozen until the stage's iteration. With an ``llm_lora_top`` stage the
    language model's adapters sit on the top layers the stages name and train from their stages only; with a
    ``vision_lora`` stage the vision tower's adapters train from that stage only. A schedule that ever trains the
    backbone stores no backbone features with the rollout, so every update runs the backbone."""

    action_head_lr_scale: float = 1.0
    """Learning rate of the action head relative to the algorithm's."""

    lora_lr_scale: float = 1.0
    """Learning rate of the LoRA adapters relative to the algorithm's."""

    std_lr_scale: float = 1.0
    """Learning rate of the Gaussian's std relative to the algorithm's."""

    gradient_checkpointing: bool = False
    """Recompute the activations of the trained transformer blocks in the backward pass: the action head's DiT and
    vl_self_attention blocks, and the language model's layers when LoRA trains them. More update compute for less
    activation memory, so larger micro-batches fit (docs/benchmarks.md)."""

    compile_blocks: bool = False
    """``torch.compile`` each transformer block of the vision tower, language model, vl_self_attention and DiT
    (regional compilation): norms, casts and activations fuse into fewer kernels, at the cost of compiling each block
    type once per batch shape and grad mode, on first use. Needs a C/C++ compiler on PATH (an error says so)."""


@configclass
class GR00TCriticCfg(RslRlMLPModelCfg):
    """Value function for the GR00T actor: the published value head on its features, or an MLP on state."""

    class_name: str = "isaaclab_gr00t.gr00t:GR00TCritic"
    """The model class, resolved by rsl_rl."""

    hidden_dims: list[int] = [1024, 512, 256]
    """Hidden layers of the value MLP (RLinf's value head: 1024, 512, 256)."""

    activation: str = "relu"
    """Activation of the value MLP."""

    value_input: Literal["features", "state"] = "features"
    """``features``: mean-pooled context tokens after ``vl_self_attention`` and the state token (RLinf's value
    head), which needs the algorithm's ``share_cnn_encoders`` (it hands the actor's encoding to the critic);
    ``state``: the critic's 1-D groups (e.g. privileged state)."""

    lr_scale: float = 1.0
    """Learning rate of the value MLP relative to the algorithm's."""
