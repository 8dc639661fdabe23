"""The fine-tuned model as a published N1.5 checkpoint folder: ``config.json``, sharded safetensors with their
index, ``experiment_cfg/metadata.json`` and the tokenizer files, so that the doctor and the loader read it."""

from __future__ import annotations

import json
import os
from typing import Any

import torch

from ..n15.checkpoint import published_state_dict, write_layout
from ..n15.config import EAGLE_SIZES_FIELD, N15Config, config_to_checkpoint_json, config_to_eagle_json
from ..n15.embodiments import EMBODIMENT_SLOT_FIELD, METADATA_FILE, NORMALIZATION_MODES_FIELD, PUBLISHED_SLOTS
from ..n15.embodiments import KeyStatistics
from ..n15.model import GR00TN15


def merged_state_dict(model: GR00TN15) -> dict[str, torch.Tensor]:
    """:func:`published_state_dict` with every LoRA adapter folded into its base layer's weight (the published keys,
    no ``lora_`` or ``base_layer`` names)."""
    from peft.tuners.lora import LoraLayer

    state = published_state_dict(model)
    for name, module in model.named_modules():
        if not isinstance(module, LoraLayer):
            continue
        delta = sum(module.get_delta_weight(adapter) for adapter in module.active_adapters)
        state[f"{name}.weight"] = (state.pop(f"{name}.base_layer.weight") + delta).detach()
        if f"{name}.base_layer.bias" in state:
            state[f"{name}.bias"] = state.pop(f"{name}.base_layer.bias")
        for key in [k for k in state if k.startswith(f"{name}.lora_")]:
            del state[key]
    return state


def embodiment_metadata(tag: str, slot: int, statistics: dict[str, dict[str, KeyStatistics]], modes: dict[str, str],
                        video_shapes: dict[str, tuple[int, int]], fps: float) -> dict[str, Any]:
    """One tag's ``metadata.json`` entry in the published form, plus this package's mode (and, for a tag that is
    not published, slot) fields."""
    def key_entry(stats: KeyStatistics) -> dict[str, list[float]]:
        return {name: getattr(stats, name).astype(float).tolist() for name in ("max", "min", "mean", "std", "q01",
                                                                                  "q99")}

    entry: dict[str, Any] = {
        "statistics": {modality: {key: key_entry(stats) for key, stats in keys.items()}
                       for modality, keys in statistics.items()},
        "modalities": {
            "video": {key: {"resolution": [width, height], "channels": 3, "fps": fps}
                      for key, (height, width) in video_shapes.items()},
            **{modality: {key: {"absolute": True, "rotation_type": None, "shape": [stats.dim], "continuous": True}
                          for key, stats in keys.items()} for modality, keys in statistics.items()},
        },
        "embodiment_tag": tag,
        NORMALIZATION_MODES_FIELD: modes,
    }
    if PUBLISHED_SLOTS.get(tag) != slot:
        entry[EMBODIMENT_SLOT_FIELD] = slot
    return entry


def write_checkpoint(out: str, model: GR00TN15, tokenizer, metadata: dict[str, Any]) -> None:
    """Write the checkpoint folder ``out`` (tensors in their training dtype). A backbone of other sizes than the
    published one (a random ``tiny`` model) has them recorded in ``config.json``'s :data:`EAGLE_SIZES_FIELD`."""
    state = merged_state_dict(model)
    entries = [(key, tensor.dtype, tuple(tensor.shape)) for key, tensor in state.items()]
    config_json = config_to_checkpoint_json(model.config)
    published = N15Config()
    if (model.config.vision, model.config.text) != (published.vision, published.text):
        config_json[EAGLE_SIZES_FIELD] = config_to_eagle_json(model.config)
    write_layout(out, config_json, entries, lambda key: state[key].cpu())
    os.makedirs(os.path.join(out, "experiment_cfg"), exist_ok=True)
    with open(os.path.join(out, METADATA_FILE), "w", encoding="utf-8") as file:
        json.dump(metadata, file, indent=2)
    tokenizer.save_pretrained(out)
