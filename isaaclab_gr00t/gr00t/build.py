"""Build the N1.5 model an actor fine-tunes: loaded from a checkpoint folder, or random at a preset size.

Then freeze it, make the trainable set trainable (action head in float32 master weights, LoRA adapters on the
language model and/or vision tower), set up the progressive-unfreezing schedule (:mod:`.unfreeze`), the mapping of
its action chunk to the PPO action and the embodiment's state and action maps.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

from .action_adapter import ActionAdapter
from .n15.checkpoint import load_checkpoint, load_tokenizer
from .n15.config import TINY_SPECIAL_TOKENS, N15Config
from .n15.dit import VLSelfAttention
from .n15.embodiments import Embodiment, resolve_embodiment
from .n15.model import GR00TN15
from .n15.testing import write_tokenizer
from .normalization import StatisticsMap, statistics_map
from .unfreeze import UnfreezeSchedule, llm_lora_layers, parse_stages, resolve_stages, train_action_head_slot

if TYPE_CHECKING:
    from .config import GR00TActorCfg

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass
class GR00TBuild:
    """A model ready for PPO, with what its inputs and outputs need."""

    model: GR00TN15
    tokenizer: Any
    embodiment: Embodiment
    adapter: ActionAdapter
    state_map: StatisticsMap
    action_map: StatisticsMap
    schedule: UnfreezeSchedule
    """The groups that join training later (:mod:`.unfreeze`), frozen for now."""


def build_gr00t(cfg: GR00TActorCfg, state_dim: int, output_dim: int) -> GR00TBuild:
    """Load or build the model of ``cfg`` and set its trainable set.

    Args:
        cfg: The actor's configuration.
        state_dim: Size of the actor's state (its 1-D observation groups).
        output_dim: Size of the PPO action: ``execute_steps`` env actions.

    Raises:
        ValueError: For an unknown ``dtype``, an ``execute_steps`` that does not fit, statistics that do not fit
            the env's state or action size, or an ``unfreeze`` schedule that does not fit the model or the cfg.
        CheckpointError: For a checkpoint folder that does not load strict (the file and key are named).
    """
    if cfg.dtype not in DTYPES:
        raise ValueError(f"GR00T actor cfg field 'dtype' must be one of {sorted(DTYPES)}, got {cfg.dtype!r}.")
    embodiment = cfg.embodiment
    if isinstance(embodiment, str) and embodiment.isdigit():
        embodiment = int(embodiment)  # a slot id given on the command line
    dtype = DTYPES[cfg.dtype]
    stage_cfgs = parse_stages(cfg)
    if cfg.checkpoint is not None:
        loaded = load_checkpoint(cfg.checkpoint, processor_dir=cfg.processor, embodiment=embodiment, dtype=dtype)
        model, tokenizer, resolved = loaded.model, loaded.tokenizer, loaded.embodiment
        source = f"{cfg.checkpoint}/experiment_cfg/metadata.json [{resolved.name}]"
    else:
        model, tokenizer = random_model(cfg.size, dtype)
        resolved = resolve_embodiment(embodiment, None)
        source = f"random {cfg.size} model"
    head = model.config.action_head
    adapter = ActionAdapter(output_dim, head.action_horizon, head.action_dim, cfg.execute_steps)
    statistics = resolved.statistics if cfg.use_statistics else None
    state_map = statistics_map(statistics, "state", state_dim, source, cfg.normalization_modes)
    action_map = statistics_map(statistics, "action", adapter.action_dim, source, cfg.normalization_modes)

    model.requires_grad_(False)
    if cfg.train_action_head:
        train_action_head_slot(model, resolved.slot_id)
    llm_layers = llm_lora_layers(stage_cfgs, len(model.backbone.eagle_model.language_model.model.layers))
    add_lora(model, cfg.lora_rank, cfg.lora_alpha, cfg.lora_llm_targets, cfg.lora_vision_targets, llm_layers)
    stages = resolve_stages(model, stage_cfgs, resolved.slot_id)
    if cfg.gradient_checkpointing:  # while every part that will ever train still requires gradients
        enable_gradient_checkpointing(model)
    schedule = UnfreezeSchedule(stages)
    if cfg.compile_blocks:
        _compile_blocks(model)
    return GR00TBuild(model.eval(), tokenizer, resolved, adapter, state_map, action_map, schedule)


def random_model(size: str, dtype: torch.dtype) -> tuple[GR00TN15, Any]:
    """A randomly initialized model at a preset size, with the byte-level test tokenizer standing in for the
    Eagle tokenizer a random model does not have (the config takes that tokenizer's image-token ids)."""
    config = N15Config.preset(size)
    config.image_token_id = TINY_SPECIAL_TOKENS["<IMG_CONTEXT>"]
    config.image_start_id = TINY_SPECIAL_TOKENS["<img>"]
    config.image_end_id = TINY_SPECIAL_TOKENS["</img>"]
    with tempfile.TemporaryDirectory() as folder:
        write_tokenizer(folder, TINY_SPECIAL_TOKENS)
        tokenizer = load_tokenizer(folder, None, config)
    return GR00TN15(config).to(dtype), tokenizer


def enable_gradient_checkpointing(model: GR00TN15) -> None:
    """Recompute the trained blocks' activations in the backward pass: the action head's, and the language
    model's when LoRA trains it."""
    if any(p.requires_grad for p in model.action_head.parameters()):
        model.action_head.enable_gradient_checkpointing()
    lm = model.backbone.eagle_model.language_model.model
    if any(p.requires_grad for p in lm.parameters()):
        # non-reentrant: the frozen embeddings give inputs without gradients, which reentrant checkpointing
        # would cut off from the LoRA weights inside the layers
        lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def repeated_blocks(model: GR00TN15) -> list[nn.ModuleList]:
    """The model's stacks of identical transformer blocks: SigLIP's encoder layers, the language model's decoder
    layers, the DiT's blocks and ``vl_self_attention``'s blocks (when the head has them)."""
    eagle, head = model.backbone.eagle_model, model.action_head
    stacks = [eagle.vision_model.vision_model.encoder.layers, eagle.language_model.model.layers,
              head.model.transformer_blocks]
    if isinstance(head.vl_self_attention, VLSelfAttention):
        stacks.append(head.vl_self_attention.transformer_blocks)
    return stacks


C_COMPILERS = ("cc", "gcc", "clang", "c++", "g++", "clang++")
"""What ``torch.compile`` can build its kernels (CPU) and Triton's launchers (CUDA) with; one must be on PATH."""


def _compile_blocks(model: GR00TN15) -> None:
    """``torch.compile`` each repeated block in place (regional compilation): the blocks of a stack share their
    code, so each stack compiles once per input shape and grad mode, on first use, and the fused kernels then
    serve every layer. Compiling block by block keeps gradient checkpointing and LoRA outside the compiled graphs.

    Raises:
        ValueError: If no C/C++ compiler is on PATH (the first forward would fail deep inside torch).
    """
    if not any(shutil.which(name) for name in C_COMPILERS):
        raise ValueError(
            f"GR00T actor cfg field 'compile_blocks' needs a C/C++ compiler on PATH for torch.compile (looked for"
            f" {', '.join(C_COMPILERS)}); install one or set agent.actor.compile_blocks=false."
        )
    for stack in repeated_blocks(model):
        for block in stack:
            block.compile()


def add_lora(model: GR00TN15, rank: int, alpha: float, llm_targets: list[str], vision_targets: list[str],
              llm_layers: list[int] | None = None) -> None:
    """Inject float32 LoRA adapters (dropout 0, ``lora_B`` zero: no change until trained) into the language model
    (its layers ``llm_layers``, None: all) and/or the vision tower."""
    if rank <= 0:
        return
    from peft import LoraConfig, inject_adapter_in_model

    eagle = model.backbone.eagle_model
    for module, targets, layers in ((eagle.language_model, llm_targets, llm_layers),
                                    (eagle.vision_model, vision_targets, None)):
        if targets:
            config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(targets), lora_dropout=0.0,
                                layers_to_transform=layers, layers_pattern=None if layers is None else "layers")
            inject_adapter_in_model(config, module)
    for name, parameter in model.backbone.named_parameters():
        if "lora_" in name:
            parameter.data = parameter.data.float()
            parameter.requires_grad_(True)

