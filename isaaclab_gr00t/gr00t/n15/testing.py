"""Tiny GR00T N1.5 checkpoint folders in the published layout, made offline, for tests.

:func:`write_tiny_checkpoint` writes a checkpoint folder (``config.json``, two safetensors shards with their index,
``experiment_cfg/metadata.json``) and an Eagle-style processor folder (``config.json`` with ``vision_config`` /
``text_config``, a byte-level BPE Qwen2 tokenizer with the Eagle special tokens in the Eagle folder's file format,
``chat_template.json``), from a
randomly initialized ``tiny`` model it also returns.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Literal

import torch

from .checkpoint import save_checkpoint
from .config import TINY_SPECIAL_TOKENS, N15Config, config_to_eagle_json
from .model import GR00TN15

TINY_MERGES = [
    ("Ġ", "t"), ("h", "e"), ("i", "n"), ("a", "n"), ("e", "r"), ("o", "n"), ("Ġ", "a"),
    ("r", "e"), ("a", "t"), ("o", "r"), ("e", "n"), ("Ġ", "s"), ("s", "t"), ("Ġt", "he"),
]
"""BPE merges of the tiny tokenizer: ids 256-269, after the 256 byte-level symbols."""

CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}"
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{% set image_count.value = image_count.value + 1 %}"
    "<image-{{ image_count.value }}>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""Qwen chat template in the Eagle 2.5 style: default system prompt, an image item renders as ``<image-N>`` (the
placeholder the Eagle processor expands to ``<image N><img>`` + image-context tokens + ``</img>``)."""


def _byte_symbols() -> list[str]:
    """The 256 byte-level BPE symbols in byte order (GPT-2's printable mapping of bytes)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = 0
    symbols = {}
    for byte in range(256):
        if byte in printable:
            symbols[byte] = chr(byte)
        else:
            symbols[byte] = chr(256 + extra)
            extra += 1
    return [symbols[byte] for byte in range(256)]


def write_processor_folder(folder: str, config: N15Config, special_tokens: dict[str, int] | None) -> None:
    """An Eagle-style processor folder for ``config``: ``config.json`` (vision/text sizes) and, unless
    ``special_tokens`` is None, a byte-level tokenizer with them and ``chat_template.json``."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as file:
        json.dump(config_to_eagle_json(config), file, indent=2)
    if special_tokens is not None:
        write_tokenizer(folder, special_tokens)


def write_tokenizer(folder: str, special_tokens: dict[str, int]) -> None:
    """Write a byte-level BPE Qwen2 tokenizer in the Eagle processor folder's format (``vocab.json``,
    ``merges.txt``, ``tokenizer_config.json`` with ``added_tokens_decoder``) and :data:`CHAT_TEMPLATE` as
    ``chat_template.json``.

    The vocabulary is the 256 byte-level symbols and :data:`TINY_MERGES`, padded with unused placeholder tokens up
    to the first special id; ``special_tokens`` (token -> id) follow as added tokens, placeholders filling the ids
    between them, so every id is where ``special_tokens`` puts it.
    """
    vocab = {symbol: i for i, symbol in enumerate(_byte_symbols())}
    for left, right in TINY_MERGES:
        vocab[left + right] = len(vocab)
    first, last = min(special_tokens.values()), max(special_tokens.values())
    if first < len(vocab):
        raise ValueError(f"special token ids {sorted(special_tokens.values())} collide with the {len(vocab)} "
                         "byte-level symbols and merges")
    vocab.update({f"<|unused_{i}|>": i for i in range(len(vocab), first)})
    by_id = {token_id: token for token, token_id in special_tokens.items()}
    added = {str(i): {"content": by_id.get(i, f"<|unused_{i}|>"), "lstrip": False, "normalized": False,
                      "rstrip": False, "single_word": False, "special": True} for i in range(first, last + 1)}
    config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "added_tokens_decoder": added,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "errors": "replace",
        "model_max_length": 131072,
        "split_special_tokens": False,
    }
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as file:
        json.dump(vocab, file, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as file:
        file.write("#version: 0.2\n" + "".join(f"{left} {right}\n" for left, right in TINY_MERGES))
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as file:
        json.dump(config, file, indent=2)
    with open(os.path.join(folder, "chat_template.json"), "w", encoding="utf-8") as file:
        json.dump({"chat_template": CHAT_TEMPLATE}, file)


def tiny_metadata(config: N15Config) -> dict:
    """``metadata.json`` content with ``new_embodiment`` and ``gr1`` entries: a robot of 5 arm joints and a gripper
    (state and action), at ``config``'s image size."""

    def stats(dims: int, offset: float) -> dict:
        low = [offset - 1.0 - 0.1 * i for i in range(dims)]
        high = [offset + 1.0 + 0.1 * i for i in range(dims)]
        return {"max": high, "min": low, "mean": [offset] * dims, "std": [0.5 + 0.1 * i for i in range(dims)],
                "q01": [v + 0.05 for v in low], "q99": [v - 0.05 for v in high]}

    def entry(tag: str, offset: float) -> dict:
        arm, gripper = 5, 1
        return {
            "statistics": {
                "state": {"arm": stats(arm, offset), "gripper": stats(gripper, offset)},
                "action": {"arm": stats(arm, -offset), "gripper": stats(gripper, -offset)},
            },
            "modalities": {"video": {"front": {"resolution": [config.vision.image_size] * 2, "channels": 3}},
                           "state": {"arm": {"absolute": True}, "gripper": {"absolute": True}},
                           "action": {"arm": {"absolute": True}, "gripper": {"absolute": True}}},
            "embodiment_tag": tag,
        }

    return {"new_embodiment": entry("new_embodiment", 0.25), "gr1": entry("gr1", -0.5)}


@dataclass
class TinyCheckpoint:
    """Folders written by :func:`write_tiny_checkpoint` and the model their weights came from."""

    checkpoint_dir: str
    processor_dir: str
    config: N15Config
    model: GR00TN15
    """The float32 source model, in eval mode."""


def write_tiny_checkpoint(
    root: str, *, seed: int = 0, tokenizer_in: Literal["processor", "checkpoint"] = "processor", num_shards: int = 2
) -> TinyCheckpoint:
    """Write ``root/checkpoint`` and ``root/processor`` for a random ``tiny`` model (float32 weights).

    Args:
        root: Parent folder (created).
        seed: Seed of the random weights.
        tokenizer_in: Which folder receives the tokenizer and chat template.
        num_shards: Safetensors shards of the weights.
    """
    config = N15Config.preset("tiny")
    torch.manual_seed(seed)
    model = GR00TN15(config).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(("norm1.weight", "norm3.weight", "vlln.weight", "layernorm.weight", "norm.weight")):
                param.add_(0.1 * torch.randn_like(param))  # non-trivial affine norms, so a swapped key shows
            elif name.endswith((".b", ".bias")):
                param.add_(0.02 * torch.randn_like(param))
    checkpoint_dir = os.path.join(root, "checkpoint")
    processor_dir = os.path.join(root, "processor")
    save_checkpoint(model, checkpoint_dir, num_shards=num_shards, metadata=tiny_metadata(config))
    write_processor_folder(processor_dir, config, TINY_SPECIAL_TOKENS if tokenizer_in == "processor" else None)
    if tokenizer_in == "checkpoint":
        write_tokenizer(checkpoint_dir, TINY_SPECIAL_TOKENS)
    return TinyCheckpoint(checkpoint_dir, processor_dir, config, model)


def model_outputs(model: GR00TN15, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Backbone features and the sampled action chunk of ``model`` on ``inputs`` (``pixel_values``, ``input_ids``,
    ``attention_mask``, ``state``, ``noise``, ``embodiment_id``), without gradients."""
    with torch.no_grad():
        features = model.backbone(inputs["pixel_values"], inputs["input_ids"], inputs["attention_mask"])
        head = model.action_head
        context = head.encode_context(features)
        state = head.encode_state(inputs["state"], inputs["embodiment_id"])
        actions = head.sample(context, state, inputs["embodiment_id"], inputs["noise"])
    return {"features": features, "actions": actions}
