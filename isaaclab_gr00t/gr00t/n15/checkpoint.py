"""Loading a GR00T N1.5 checkpoint folder (e.g. a downloaded ``nvidia/GR00T-N1.5-3B``), strictly, and writing one.

A folder holds ``config.json``, the weights (``model.safetensors.index.json`` + shards, or one
``model.safetensors``) and ``experiment_cfg/metadata.json``; the tokenizer and its chat template come from the
Eagle 2.5 processor folder or from the checkpoint folder. :func:`load_checkpoint` builds the model on the meta
device, reads each tensor straight into its final dtype and device, and assigns it (no random init, no fp32 copy of
the whole model). Loading is strict: every absent, unexpected or misshapen tensor is an error. Two published
variants are accepted: the SigLIP pooling head (``...vision_model.head.*``, unused) is ignored, and a
``language_model.lm_head.weight`` is ignored, or used as the token embedding when the file has no
``embed_tokens`` (the two are tied).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn

from .config import N15Config, config_to_checkpoint_json
from .embodiment_layers import CategorySpecificLinear
from .embodiments import METADATA_FILE, Embodiment, read_metadata, resolve_embodiment
from .errors import (
    CheckpointError,
    CheckpointNotFoundError,
    ConfigError,
    KeyMismatchError,
    MissingShardError,
    MissingTokenizerError,
    ShapeMismatchError,
)
from .model import GR00TN15
from .safetensors_io import TensorInfo, read_header, read_tensor, write_file

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
EMBED_KEY = "backbone.eagle_model.language_model.model.embed_tokens.weight"
LM_HEAD_KEY = "backbone.eagle_model.language_model.lm_head.weight"
POOLING_HEAD_PREFIX = "backbone.eagle_model.vision_model.vision_model.head."
CHAT_TEMPLATE_FILES = ("chat_template.json", "chat_template.jinja")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json")
_SHOWN = 8


@dataclass
class N15Checkpoint:
    """A loaded checkpoint."""

    model: GR00TN15
    config: N15Config
    tokenizer: Any
    """The Eagle 2.5 (Qwen2) tokenizer, with its ``chat_template`` set."""
    embodiment: Embodiment
    metadata: dict[str, Any] = field(default_factory=dict)
    """The whole ``experiment_cfg/metadata.json``."""


@dataclass
class LayoutReport:
    """How a folder's tensors compare with the architecture's."""

    sources: dict[str, str]
    """Architecture key -> the file key its tensor is read from."""
    missing: list[str]
    unexpected: list[str]
    misshapen: list[tuple[str, tuple[int, ...], tuple[int, ...]]]
    """(key, shape in the weights, shape of the architecture)."""
    ignored: list[str]
    """Published optional tensors that are not loaded (pooling head, tied ``lm_head``)."""

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.misshapen)


REPEATED_BLOCKS = (
    ("DiT blocks", "action_head.model.transformer_blocks.",
     "config.json action_head_cfg.diffusion_model_cfg.num_layers", lambda c: c.action_head.dit.num_layers),
    ("vl_self_attention blocks", "action_head.vl_self_attention.transformer_blocks.",
     "config.json action_head_cfg.vl_self_attention_cfg.num_layers",
     lambda c: c.action_head.vl_self_attention.num_layers if c.action_head.use_vlln else 0),
    ("language-model layers", "backbone.eagle_model.language_model.model.layers.",
     "config.json backbone_cfg.select_layer", lambda c: c.text.num_layers),
    ("vision layers", "backbone.eagle_model.vision_model.vision_model.encoder.layers.",
     "the processor config.json vision_config.num_hidden_layers", lambda c: c.vision.num_layers),
)
"""(what, key prefix, config field, count in a config) of each stack of repeated blocks."""


def check_block_counts(config: N15Config, keys: Iterable[str], ckpt_dir: str) -> None:
    """Refuse a config that asks for more repeated blocks than the weights hold, before anything is built (the
    meta-device model of an absurd config, e.g. 10^9 DiT blocks, would take minutes and gigabytes to build).

    Raises:
        ConfigError: Naming the config field, its value and the blocks the weights hold.
    """
    keys = list(keys)
    for what, prefix, field_name, count in REPEATED_BLOCKS:
        indices = {int(key[len(prefix):].split(".", 1)[0]) for key in keys
                   if key.startswith(prefix) and key[len(prefix):].split(".", 1)[0].isdigit()}
        held = max(indices) + 1 if indices else 0
        if count(config) > held:
            raise ConfigError(f"{ckpt_dir}: {field_name}={count(config)} asks for {count(config)} {what}, the weights "
                              f"hold {held} ({prefix}N).")


def expected_layout(config: N15Config) -> dict[str, tuple[int, ...]]:
    """Key -> shape of every tensor of the model built from ``config`` (on the meta device: no memory)."""
    with torch.device("meta"):
        model = GR00TN15(config)
    return {key: tuple(tensor.shape) for key, tensor in model.state_dict().items()}


def read_weight_layout(ckpt_dir: str) -> dict[str, TensorInfo]:
    """Key -> where its tensor lies, from the index and the shard headers (no tensor data is read).

    Raises:
        CheckpointNotFoundError: If the folder holds neither ``model.safetensors.index.json`` nor ``model.safetensors``.
        MissingShardError: If a shard the index names is absent or invalid, or lacks a key the index gives it.
    """
    index_path = os.path.join(ckpt_dir, INDEX_FILE)
    if os.path.isfile(index_path):
        try:
            with open(index_path, encoding="utf-8") as file:
                weight_map = json.load(file)["weight_map"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
            raise CheckpointError(f"{index_path}: not a safetensors index with a 'weight_map' ({err}).") from err
        by_file: dict[str, list[str]] = {}
        for key, name in weight_map.items():
            by_file.setdefault(name, []).append(key)
        layout = {}
        for name, keys in by_file.items():
            path = os.path.join(ckpt_dir, name)
            if not os.path.isfile(path):
                raise MissingShardError(f"{path}: shard named by {index_path} not found (it holds {len(keys)} "
                                        f"tensors, e.g. '{keys[0]}').")
            header = read_header(path)
            absent = [key for key in keys if key not in header]
            if absent:
                raise MissingShardError(f"{path}: lacks {len(absent)} tensors that {index_path} places there, "
                                        f"e.g. '{absent[0]}'.")
            layout.update({key: header[key] for key in keys})
        return layout
    single = os.path.join(ckpt_dir, SINGLE_FILE)
    if os.path.isfile(single):
        return read_header(single)
    raise CheckpointNotFoundError(f"{ckpt_dir}: no weights: expected {INDEX_FILE} with its shards, or {SINGLE_FILE}.")


def compare_layout(found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]) -> LayoutReport:
    """Match a folder's key -> shape against the architecture's, accepting the published optional tensors."""
    sources = {key: key for key in expected if key in found}
    ignored = sorted(key for key in found if key.startswith(POOLING_HEAD_PREFIX))
    if LM_HEAD_KEY in found and LM_HEAD_KEY not in expected:
        ignored.append(LM_HEAD_KEY)
        if EMBED_KEY in expected and EMBED_KEY not in found:
            sources[EMBED_KEY] = LM_HEAD_KEY
    missing = [key for key in expected if key not in sources]
    unexpected = sorted(key for key in found if key not in expected and key not in ignored)
    misshapen = [(key, found[source], expected[key]) for key, source in sources.items()
                 if found[source] != expected[key]]
    return LayoutReport(sources, missing, unexpected, misshapen, ignored)


def check_layout(report: LayoutReport, ckpt_dir: str) -> None:
    """Raise the error of the first problem in ``report``.

    Raises:
        KeyMismatchError: Missing or unexpected keys (the first few of each and their counts).
        ShapeMismatchError: A shape differs (key and both shapes).
    """
    if report.missing or report.unexpected:
        parts = []
        if report.missing:
            parts.append(f"{len(report.missing)} missing, e.g. {report.missing[:_SHOWN]}")
        if report.unexpected:
            parts.append(f"{len(report.unexpected)} unexpected, e.g. {report.unexpected[:_SHOWN]}")
        raise KeyMismatchError(f"{ckpt_dir}: weights do not match the GR00T N1.5 architecture of its config.json: "
                               + "; ".join(parts) + ".", report.missing, report.unexpected)
    if report.misshapen:
        key, have, want = report.misshapen[0]
        more = f" ({len(report.misshapen) - 1} more misshapen)" if len(report.misshapen) > 1 else ""
        raise ShapeMismatchError(f"{ckpt_dir}: tensor '{key}' has shape {have} in the weights, the architecture of "
                                 f"its config.json expects {want}{more}.")


def load_checkpoint(
    ckpt_dir: str,
    *,
    processor_dir: str | None = None,
    embodiment: str | int = "new_embodiment",
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.bfloat16,
    extra_slots: dict[str, int] | None = None,
) -> N15Checkpoint:
    """Load a GR00T N1.5 checkpoint folder strictly, in eval mode (dropout off).

    Args:
        ckpt_dir: Folder with ``config.json``, the safetensors weights and ``experiment_cfg/metadata.json``, or the
            id of a Hugging Face repository already in the local cache (e.g. ``nvidia/GR00T-N1.5-3B``).
        processor_dir: The Eagle 2.5 processor folder (or cached repository id): vision/language sizes (its
            ``config.json``) and tokenizer. Without it the published sizes are assumed and the tokenizer must be in
            ``ckpt_dir``.
        embodiment: Tag or slot id (see :mod:`.embodiments`); ``new_embodiment`` for a new robot.
        device: Where the weights go, tensor by tensor.
        dtype: Floating-point weights are converted to it as they are read.
        extra_slots: More tag -> slot entries for :func:`resolve_embodiment`.

    Raises:
        CheckpointError: Or a subclass, naming the file and key: missing folder or file, missing shard,
            missing/unexpected keys, shape mismatch, missing tokenizer, unknown embodiment, bad config or metadata.
    """
    ckpt_dir = resolve_folder(ckpt_dir, "checkpoint")
    processor_dir = None if processor_dir is None else resolve_folder(processor_dir, "processor")
    config = N15Config.from_checkpoint(ckpt_dir, processor_dir)
    metadata_path = os.path.join(ckpt_dir, METADATA_FILE)
    if not os.path.isfile(metadata_path):
        raise CheckpointNotFoundError(f"{metadata_path}: not found; it holds the per-embodiment state/action "
                                      "statistics.")
    metadata = read_metadata(metadata_path)
    resolved = resolve_embodiment(embodiment, metadata, extra_slots)
    tokenizer = load_tokenizer(ckpt_dir, processor_dir, config)

    layout = read_weight_layout(ckpt_dir)
    check_block_counts(config, layout, ckpt_dir)
    report = compare_layout({key: info.shape for key, info in layout.items()}, expected_layout(config))
    check_layout(report, ckpt_dir)

    with torch.device("meta"):
        model = GR00TN15(config)
    state = {}
    handles: dict[str, Any] = {}
    try:
        for key, source in report.sources.items():
            info = layout[source]
            if info.file not in handles:
                handles[info.file] = open(info.file, "rb")
            tensor = read_tensor(info, handles[info.file])
            state[key] = tensor.to(device=device, dtype=dtype if tensor.is_floating_point() else tensor.dtype)
    finally:
        for handle in handles.values():
            handle.close()
    model.load_state_dict(state, strict=True, assign=True)
    _materialize_buffers(model, torch.device(device))
    model.eval()
    return N15Checkpoint(model=model, config=config, tokenizer=tokenizer, embodiment=resolved, metadata=metadata)


def resolve_folder(path_or_repo: str, what: str) -> str:
    """A local folder: ``path_or_repo`` itself (``~`` expanded), or the snapshot of that Hugging Face repository id in
    the local cache (looked up with ``local_files_only``: nothing is downloaded).

    Raises:
        CheckpointNotFoundError: If it is neither.
    """
    folder = os.path.expanduser(path_or_repo)
    if os.path.isdir(folder):
        return folder
    if path_or_repo.count("/") == 1 and not path_or_repo.startswith((".", "/", "~")):
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            return snapshot_download(path_or_repo, local_files_only=True)
        except (LocalEntryNotFoundError, ValueError, OSError):
            pass
    raise CheckpointNotFoundError(f"{path_or_repo}: {what} folder not found (neither a folder nor a repository in the "
                                  "local Hugging Face cache; nothing is downloaded).")


def _materialize_buffers(model: nn.Module, device: torch.device) -> None:
    """Recompute the non-persistent buffers (SigLIP position ids, rotary frequencies) left on the meta device."""
    from transformers.models.qwen3.modeling_qwen3 import Qwen3RotaryEmbedding
    from transformers.models.siglip.modeling_siglip import SiglipVisionEmbeddings

    for module in model.modules():
        if isinstance(module, SiglipVisionEmbeddings):
            ids = torch.arange(module.num_positions, device=device).expand((1, -1))
            module.register_buffer("position_ids", ids, persistent=False)
        elif isinstance(module, Qwen3RotaryEmbedding):
            fresh = Qwen3RotaryEmbedding(module.config, device=device)
            module.register_buffer("inv_freq", fresh.inv_freq, persistent=False)
            module.register_buffer("original_inv_freq", fresh.original_inv_freq, persistent=False)
    left = [name for name, tensor in [*model.named_parameters(), *model.named_buffers()] if tensor.is_meta]
    if left:
        raise CheckpointError(f"GR00T N1.5 model: tensors left on the meta device after loading: {left[:_SHOWN]}.")


def tokenizer_folder(ckpt_dir: str, processor_dir: str | None) -> str | None:
    """The first of ``processor_dir``, ``ckpt_dir`` that holds tokenizer files, or None."""
    for folder in (processor_dir, ckpt_dir):
        if folder is not None and any(os.path.isfile(os.path.join(folder, name)) for name in TOKENIZER_FILES):
            return folder
    return None


def load_tokenizer(ckpt_dir: str, processor_dir: str | None, config: N15Config):
    """The tokenizer (``AutoTokenizer``, local files only) with its chat template, checked against ``config``'s ids.

    The chat template comes from the tokenizer's own config or from the folder's ``chat_template.json`` /
    ``chat_template.jinja`` (where the Eagle processor keeps it).

    Raises:
        MissingTokenizerError: If no folder holds a tokenizer or a chat template, or the image token ids differ.
    """
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    folder = tokenizer_folder(ckpt_dir, processor_dir)
    searched = [f for f in (processor_dir, ckpt_dir) if f is not None]
    if folder is None:
        raise MissingTokenizerError(f"No tokenizer in {searched}: expected {' or '.join(TOKENIZER_FILES)} (the Eagle "
                                    "2.5 processor folder's files); pass processor_dir=<that folder>.")
    # AutoTokenizer reads the folder's config.json and warns that a GR00T / Eagle model type is not a transformers
    # one: true and irrelevant to the tokenizer, so warnings are muted while it loads.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        # Qwen2's pre-tokenizer is right as stored; the flag only silences transformers' Mistral-regex heuristic,
        # which fires on a folder whose config.json has no transformers_version (as the Eagle folder's).
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, fix_mistral_regex=False)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise MissingTokenizerError(f"{folder}: tokenizer files could not be loaded ({err}).") from err
    finally:
        hf_logging.set_verbosity(verbosity)
    if not tokenizer.chat_template:
        tokenizer.chat_template = _read_chat_template(folder)
    if not tokenizer.chat_template:
        raise MissingTokenizerError(f"{folder}: the tokenizer has no chat template and the folder holds none of "
                                    f"{', '.join(CHAT_TEMPLATE_FILES)}.")
    wanted = {"<IMG_CONTEXT>": config.image_token_id, "<img>": config.image_start_id, "</img>": config.image_end_id}
    got = {token: tokenizer.convert_tokens_to_ids(token) for token in wanted}
    if got != wanted:
        raise MissingTokenizerError(f"{folder}: tokenizer ids of the image tokens are {got}, the model expects "
                                    f"{wanted}.")
    return tokenizer


def _read_chat_template(folder: str) -> str | None:
    """``chat_template`` of ``chat_template.json`` or the text of ``chat_template.jinja`` in ``folder``."""
    json_path = os.path.join(folder, "chat_template.json")
    if os.path.isfile(json_path):
        with open(json_path, encoding="utf-8") as file:
            return json.load(file).get("chat_template")
    jinja_path = os.path.join(folder, "chat_template.jinja")
    if os.path.isfile(jinja_path):
        with open(jinja_path, encoding="utf-8") as file:
            return file.read()
    return None


def published_state_dict(model: GR00TN15) -> dict[str, torch.Tensor]:
    """``model``'s state dict in the published layout: a per-embodiment layer that trains one slot has that slot's
    weights written into its ``W``/``b`` and no ``slot_W``/``slot_b``."""
    state = model.state_dict()
    for name, module in model.named_modules():
        if isinstance(module, CategorySpecificLinear) and module.trained_slot is not None:
            state[f"{name}.W"], state[f"{name}.b"] = (t.detach() for t in module.published_weights())
            del state[f"{name}.slot_W"], state[f"{name}.slot_b"]
    return state


def save_checkpoint(
    model: GR00TN15,
    ckpt_dir: str,
    *,
    num_shards: int = 2,
    metadata: dict[str, Any] | None = None,
    tokenizer=None,
) -> None:
    """Write ``model`` in the published layout: ``config.json``, ``model-0000i-of-0000n.safetensors`` shards of about
    equal size with ``model.safetensors.index.json``, ``experiment_cfg/metadata.json`` when ``metadata`` is given
    and the tokenizer files when ``tokenizer`` is given. Tensors are written one at a time in their own dtype."""
    state = published_state_dict(model)
    write_layout(ckpt_dir, config_to_checkpoint_json(model.config),
                 [(key, tensor.dtype, tuple(tensor.shape)) for key, tensor in state.items()], state.__getitem__,
                 num_shards=num_shards)
    if metadata is not None:
        os.makedirs(os.path.join(ckpt_dir, "experiment_cfg"), exist_ok=True)
        with open(os.path.join(ckpt_dir, METADATA_FILE), "w", encoding="utf-8") as file:
            json.dump(metadata, file, indent=2)
    if tokenizer is not None:
        tokenizer.save_pretrained(ckpt_dir)


def write_layout(
    ckpt_dir: str,
    config_json: dict[str, Any],
    entries: list[tuple[str, torch.dtype, tuple[int, ...]]],
    produce: Callable[[str], torch.Tensor],
    *,
    num_shards: int = 2,
) -> None:
    """Write ``config.json`` and the sharded weights of ``entries`` (key, dtype, shape) with ``produce(key)``."""
    os.makedirs(ckpt_dir, exist_ok=True)
    with open(os.path.join(ckpt_dir, "config.json"), "w", encoding="utf-8") as file:
        json.dump(config_json, file, indent=2)
    sizes = [torch.empty((), dtype=dtype).element_size() * torch.Size(shape).numel() for _, dtype, shape in entries]
    total = sum(sizes)
    shards: list[list[tuple]] = [[] for _ in range(num_shards)]
    written = 0
    for entry, size in zip(entries, sizes):
        shards[min(num_shards - 1, written * num_shards // max(total, 1))].append(entry)
        written += size
    shards = [shard for shard in shards if shard]
    weight_map = {}
    for i, shard in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_file(os.path.join(ckpt_dir, name), shard, produce)
        weight_map.update({key: name for key, _, _ in shard})
    with open(os.path.join(ckpt_dir, INDEX_FILE), "w", encoding="utf-8") as file:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, file, indent=2)
