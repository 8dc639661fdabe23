"""Post-training (SFT) of GR00T N1.5 on demonstrations, as NVIDIA's fine-tuning recipe sets it up.

Trainable set (NVIDIA's defaults ``tune_projector`` and ``tune_diffusion_model`` on, ``tune_llm`` and
``tune_visual`` off): the whole action head (state/action encoders, decoder, position embedding, DiT, and the
``vlln``/``vl_self_attention``/``future_tokens`` that those switches leave trainable), in float32, in train mode
(its dropout on); the backbone frozen in eval mode, optionally with LoRA adapters that are merged into its weights
when saved. Optimizer as NVIDIA's fine-tuning script: AdamW (betas 0.95, 0.999, weight decay 1e-5), cosine
schedule with 5 % warm-up, gradient norm clipped at 1. The objective is :mod:`..n15.flow_matching`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import torch

from ..build import add_lora, enable_gradient_checkpointing, random_model
from ..config import GR00TActorCfg
from ..n15.checkpoint import load_checkpoint
from ..n15.embodiments import EMBODIMENT_SLOT_FIELD, PUBLISHED_SLOTS
from ..n15.flow_matching import flow_matching_loss
from ..n15.model import GR00TN15
from ..unfreeze import train_action_head_slot
from .samples import Batch

TRAINER_STATE_FILE = "trainer_state.pt"
"""In the output folder: step, optimizer, schedule and trainable weights for ``--resume`` (loads with
``weights_only=True``)."""

LORA = GR00TActorCfg()
"""LoRA alpha and language-model target layers of ``--lora-rank``: the GR00T actor's defaults."""


@dataclass
class TrainSetup:
    """What the command asked for, as recorded in the trainer state (``--resume`` checks it)."""

    base: str | None
    processor: str | None
    size: str
    embodiment: str
    slot: int
    lora_rank: int
    lr: float
    steps: int
    gradient_checkpointing: bool


def resolve_slot(embodiment: str, base_metadata: dict[str, Any]) -> tuple[str, int]:
    """Tag and action-head slot of ``--embodiment``: a published tag, a slot id, or a new tag on the lowest slot that
    neither the published table nor the base checkpoint's metadata uses."""
    if embodiment.isdigit():
        slot = int(embodiment)
        if not 0 <= slot < 32:
            raise ValueError(f"--embodiment {embodiment}: a slot id must be in [0, 32).")
        names = [tag for tag, used in PUBLISHED_SLOTS.items() if used == slot]
        return (names[0] if names else f"slot_{slot}"), slot
    if embodiment in PUBLISHED_SLOTS:
        return embodiment, PUBLISHED_SLOTS[embodiment]
    recorded = base_metadata.get(embodiment, {}).get(EMBODIMENT_SLOT_FIELD)
    if isinstance(recorded, int):
        return embodiment, recorded
    used = set(PUBLISHED_SLOTS.values()) | {entry.get(EMBODIMENT_SLOT_FIELD) for entry in base_metadata.values()
                                            if isinstance(entry, dict)}
    return embodiment, min(slot for slot in range(32) if slot not in used)


def build_model(setup: TrainSetup, device: torch.device) -> tuple[GR00TN15, Any]:
    """The base model (checkpoint or random preset) and its tokenizer, with the trainable set."""
    if setup.base is not None:
        loaded = load_checkpoint(setup.base, processor_dir=setup.processor, device="cpu", dtype=torch.float32)
        model, tokenizer = loaded.model, loaded.tokenizer
    else:
        torch.manual_seed(0)  # the same random base on every run, so --resume rebuilds it
        model, tokenizer = random_model(setup.size, torch.float32)
    model.requires_grad_(False)
    train_action_head_slot(model, setup.slot)
    add_lora(model, setup.lora_rank, LORA.lora_alpha, LORA.lora_llm_targets if setup.lora_rank else [], [])
    if setup.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    model.to(device)
    model.eval()
    model.action_head.train()
    return model, tokenizer


def flow_loss(model: GR00TN15, batch: Batch, slot: int) -> torch.Tensor:
    """The published flow-matching loss of ``batch`` (frozen backbone without gradients unless LoRA trains it)."""
    backbone_trains = any(p.requires_grad for p in model.backbone.parameters())
    with torch.set_grad_enabled(torch.is_grad_enabled() and backbone_trains):
        features = model.backbone(batch.pixels, batch.input_ids, batch.attention_mask)
    head = model.action_head
    context = head.encode_context(features.float())
    state_tokens = head.encode_state(batch.state, slot)
    context_kv = head.context_kv(context)

    def velocity(x: torch.Tensor, bucket: torch.Tensor) -> torch.Tensor:
        return head.velocity(context, state_tokens, x, bucket, slot, context_kv=context_kv)

    return flow_matching_loss(velocity, batch.actions, batch.action_mask, model.config.action_head)


def make_optimizer(model: GR00TN15, setup: TrainSetup) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW on the trainable parameters and the cosine schedule with 5 % linear warm-up."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=setup.lr, betas=(0.95, 0.999), eps=1e-8, weight_decay=1e-5)
    warmup = max(1, round(0.05 * setup.steps))

    def scale(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, setup.steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, scale)


def trainable_state(model: GR00TN15) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu() for name, p in model.named_parameters() if p.requires_grad}


def save_trainer_state(out: str, step: int, model: GR00TN15, optimizer, scheduler, setup: TrainSetup) -> None:
    torch.save({"step": step, "setup": vars(setup), "trainable": trainable_state(model),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng": torch.get_rng_state()}, os.path.join(out, TRAINER_STATE_FILE))


def load_trainer_state(out: str, model: GR00TN15, optimizer, scheduler, setup: TrainSetup) -> int:
    """Restore ``out``'s trainer state; return the step to continue from.

    Raises:
        ValueError: If there is none, or it was written by a run of another base, embodiment or LoRA rank.
    """
    path = os.path.join(out, TRAINER_STATE_FILE)
    if not os.path.isfile(path):
        raise ValueError(f"--resume: {path} not found; run without --resume to start.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    for name in ("base", "size", "embodiment", "slot", "lora_rank"):
        if state["setup"][name] != getattr(setup, name):
            raise ValueError(f"--resume: {path} was written with {name}={state['setup'][name]!r}, this run asks for "
                             f"{getattr(setup, name)!r}.")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in state["trainable"].items():
            params[name].copy_(tensor)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    return int(state["step"])


def fixed_batch_loss(model: GR00TN15, batch: Batch, slot: int, seed: int = 0) -> float:
    """The loss of ``batch`` with the flow times and noise of ``seed`` and dropout off: comparable across steps."""
    head_training = model.action_head.training
    model.action_head.eval()
    with torch.random.fork_rng(devices=[batch.actions.device] if batch.actions.is_cuda else []), torch.no_grad():
        torch.manual_seed(seed)
        loss = float(flow_loss(model, batch, slot))
    model.action_head.train(head_training)
    return loss
