"""Finding and loading pretrained backbone weights from disk; never from the network.

A pretrained checkpoint is a directory of ``*.safetensors`` files (one or sharded). ``pretrained_path`` is either
that directory or a Hugging Face repository id already in the local Hugging Face cache: the cache is looked up
with ``local_files_only=True``, so nothing is downloaded. Checkpoint keys are renamed through a prefix map before
loading, which lets a checkpoint with another module layout (e.g. ``nvidia/GR00T-N1.5-3B``) feed this backbone.
"""

from __future__ import annotations

import glob
import os

import torch
import torch.nn as nn

BACKBONE_WEIGHTS_FILE = "model.safetensors"
"""File name :func:`save_backbone_weights` writes."""


class PretrainedWeightsNotFoundError(FileNotFoundError):
    """Raised when ``pretrained_path`` names no local directory or cached repository with safetensors files."""


def resolve_pretrained_dir(pretrained_path: str) -> str:
    """Return a local directory holding the checkpoint named by ``pretrained_path``.

    Raises:
        PretrainedWeightsNotFoundError: If the path is neither a directory with ``*.safetensors`` files nor a
            repository id present in the local Hugging Face cache.
    """
    directory = os.path.expanduser(pretrained_path)
    if not os.path.isdir(directory):
        directory = _cached_snapshot(pretrained_path)
    if directory is None or not glob.glob(os.path.join(directory, "*.safetensors")):
        raise PretrainedWeightsNotFoundError(
            f"GR00T pretrained_path '{pretrained_path}': no directory with *.safetensors files and no local"
            " Hugging Face cache entry of that name (nothing is downloaded at run time)."
        )
    return directory


def _cached_snapshot(repo_id: str) -> str | None:
    """Return the cached snapshot directory of a Hugging Face repository, or None when it is not cached."""
    if repo_id.count("/") != 1:
        return None
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return None
    try:
        return snapshot_download(repo_id, local_files_only=True)
    except (LocalEntryNotFoundError, ValueError, OSError):
        return None


def save_backbone_weights(backbone: nn.Module, directory: str) -> str:
    """Write the backbone's base (non-LoRA) weights as ``model.safetensors`` in ``directory``; return the file.

    Keys are those of the backbone before LoRA injection (peft's ``.base_layer`` infix removed), which is what
    :func:`load_backbone_weights` expects.
    """
    from safetensors.torch import save_file

    os.makedirs(directory, exist_ok=True)
    state = {
        k.replace(".base_layer", ""): v.detach().contiguous().cpu()
        for k, v in backbone.state_dict().items()
        if "lora_" not in k
    }
    path = os.path.join(directory, BACKBONE_WEIGHTS_FILE)
    save_file(state, path)
    return path


def load_backbone_weights(backbone: nn.Module, directory: str, key_map: dict[str, str] | None = None) -> int:
    """Load every backbone weight from the checkpoint in ``directory``; return the number of ignored keys.

    Checkpoint keys are first renamed by replacing the longest matching prefix from ``key_map``. Keys the backbone
    does not have (another model's action head, language-model layers beyond the kept ones) are ignored and
    counted; a backbone weight the checkpoint lacks, or a shape mismatch, is an error.

    Raises:
        KeyError: If backbone weights are missing from the checkpoint (the first few are named).
        ValueError: If a checkpoint tensor's shape differs from the backbone's.
    """
    from safetensors.torch import load_file

    own = backbone.state_dict()
    expected = {k for k in own if "lora_" not in k}
    loaded: dict[str, torch.Tensor] = {}
    ignored = 0
    for file in sorted(glob.glob(os.path.join(directory, "*.safetensors"))):
        for key, tensor in load_file(file).items():
            key = _rename(key, key_map or {})
            if key not in expected:
                ignored += 1
                continue
            if tensor.shape != own[key].shape:
                raise ValueError(
                    f"Checkpoint '{file}' key '{key}' has shape {tuple(tensor.shape)}, the backbone expects"
                    f" {tuple(own[key].shape)}: check the cfg field 'size' against the checkpoint."
                )
            loaded[key] = tensor
    missing = sorted(expected - loaded.keys())
    if missing:
        raise KeyError(
            f"Checkpoint in '{directory}' lacks {len(missing)} backbone weights, e.g. {missing[:5]}: check the cfg"
            " field 'checkpoint_key_map'."
        )
    with torch.no_grad():
        for key, tensor in loaded.items():
            own[key].copy_(tensor)
    return ignored


def _rename(key: str, key_map: dict[str, str]) -> str:
    """Replace the longest prefix of ``key`` found in ``key_map``."""
    for prefix in sorted(key_map, key=len, reverse=True):
        if key.startswith(prefix):
            return key_map[prefix] + key[len(prefix) :]
    return key

