"""Crash-safe checkpoint files: atomic writes, validated reads.

A checkpoint is only ever visible under its final name once it is complete and on disk: it is written to
a hidden temporary file in the same directory, flushed and fsync'ed, then renamed over the final name
with :func:`os.replace` (atomic on POSIX within one filesystem) and the directory entry is fsync'ed. A
SIGKILL or power loss at any moment therefore leaves either the previous checkpoint set or the new one,
never a truncated ``model_N.pt``. The temporary name starts with ``.`` so neither Isaac Lab's
``--checkpoint latest`` (``re.fullmatch(r"model_.*\\.pt")``) nor ``get_checkpoint_path``
(``re.match("model_.*.pt")``) can pick it up.
"""

from __future__ import annotations

import os
import re

import torch

CHECKPOINT_NAME = re.compile(r"model_(\d+)\.pt")
"""Checkpoint file names written by the runner (same as stock rsl_rl)."""

LOAD_CFG_KEYS = {
    "actor": ("actor_state_dict",),
    "critic": ("critic_state_dict",),
    "optimizer": ("optimizer_state_dict",),
    "iteration": ("iter",),
}
"""Checkpoint entries that each rsl_rl ``load_cfg`` switch needs."""


class CheckpointError(RuntimeError):
    """A checkpoint file is unreadable, incomplete or does not fit the models; nothing was loaded."""


def save_atomically(obj: dict, path: str) -> None:
    """``torch.save`` *obj* to *path* so that *path* is either absent, the old file, or the complete new one."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary_path = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(temporary_path, "wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary_path, path)
    except BaseException:
        if os.path.exists(temporary_path):
            os.remove(temporary_path)
        raise
    # the rename itself must reach the disk, or a power loss could bring the old directory entry back
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def read_checkpoint(path: str, map_location: str | None = None) -> dict:
    """Load a checkpoint with ``weights_only=True``, turning every failure into a :class:`CheckpointError`."""
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError as error:
        raise CheckpointError(f"Checkpoint file '{path}' does not exist.") from error
    except Exception as error:  # truncated zip, foreign pickle, disallowed global, ...
        raise CheckpointError(
            f"Checkpoint file '{path}' cannot be read with torch.load(weights_only=True) (corrupt, truncated or"
            f" not a checkpoint): {type(error).__name__}: {error}"
        ) from error
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"Checkpoint file '{path}' holds a {type(checkpoint).__name__}, expected a dict.")
    return checkpoint


def validate_checkpoint(path: str, checkpoint: dict, reference: dict, load_cfg: dict, strict: bool) -> None:
    """Check that *checkpoint* can be loaded into the models whose live state is *reference*.

    Args:
        path: File name, for error messages.
        checkpoint: The loaded checkpoint.
        reference: ``alg.save()`` of the receiving algorithm (state dicts of the live models and optimizers).
        load_cfg: rsl_rl load selection (``{"actor": True, "optimizer": False, ...}``).
        strict: Whether model state dicts must have exactly the reference's keys (as ``load_state_dict``).

    Raises:
        CheckpointError: Naming the file and the first entry that is missing or does not fit.
    """
    required = [key for switch, keys in LOAD_CFG_KEYS.items() if load_cfg.get(switch) for key in keys]
    missing = [key for key in required if key not in checkpoint]
    if missing:
        raise CheckpointError(
            f"Checkpoint file '{path}' lacks required entries {missing} (present: {sorted(checkpoint)})."
        )
    if load_cfg.get("iteration") and not (isinstance(checkpoint["iter"], int) and checkpoint["iter"] >= 0):
        raise CheckpointError(f"Checkpoint file '{path}': 'iter' is {checkpoint['iter']!r}, expected an int >= 0.")
    selected = set(required) | {key for key in reference if key in checkpoint and key not in _unselected(load_cfg)}
    for key in sorted(selected & set(reference)):
        expected, stored = reference[key], checkpoint[key]
        if key.endswith("optimizer_state_dict"):
            _validate_optimizer_state(path, key, stored, expected)
        elif key.endswith("state_dict"):
            _validate_module_state(path, key, stored, expected, strict)


def _unselected(load_cfg: dict) -> set[str]:
    """Checkpoint entries the caller explicitly asked not to load."""
    switched_off = [switch for switch in LOAD_CFG_KEYS if switch in load_cfg and not load_cfg[switch]]
    return {key for switch in switched_off for key in LOAD_CFG_KEYS[switch]}


def _validate_module_state(path: str, key: str, stored: object, expected: dict, strict: bool) -> None:
    """Same tensor names (when strict) and shapes as the live module."""
    if not isinstance(stored, dict):
        raise CheckpointError(f"Checkpoint file '{path}': '{key}' is a {type(stored).__name__}, expected a dict.")
    if strict:
        missing, unexpected = sorted(set(expected) - set(stored)), sorted(set(stored) - set(expected))
        if missing or unexpected:
            raise CheckpointError(
                f"Checkpoint file '{path}': '{key}' does not match the model (missing {missing}, unexpected"
                f" {unexpected})."
            )
    for name, tensor in stored.items():
        if name not in expected or not isinstance(expected[name], torch.Tensor):
            continue
        if not isinstance(tensor, torch.Tensor) or tensor.shape != expected[name].shape:
            shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise CheckpointError(
                f"Checkpoint file '{path}': '{key}.{name}' has shape {shape}, the model expects"
                f" {tuple(expected[name].shape)}."
            )


def _validate_optimizer_state(path: str, key: str, stored: object, expected: dict) -> None:
    """Same parameter-group layout as the live optimizer (what ``Optimizer.load_state_dict`` would reject)."""
    if not isinstance(stored, dict) or "param_groups" not in stored or "state" not in stored:
        raise CheckpointError(f"Checkpoint file '{path}': '{key}' is not an optimizer state dict.")
    stored_sizes = [len(group.get("params", ())) for group in stored["param_groups"]]
    expected_sizes = [len(group["params"]) for group in expected["param_groups"]]
    if stored_sizes != expected_sizes:
        raise CheckpointError(
            f"Checkpoint file '{path}': '{key}' has parameter groups of sizes {stored_sizes}, the optimizer has"
            f" {expected_sizes}."
        )
