"""Errors of GR00T N1.5 checkpoint loading: one family under :class:`CheckpointError` (a ``ValueError``); each
message names the file and, where there is one, the key."""

from __future__ import annotations

import json
from typing import Any


class CheckpointError(ValueError):
    """Base of every error raised while reading a GR00T N1.5 checkpoint folder."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint folder, or a file it must hold (``config.json``, ``experiment_cfg/metadata.json``), is absent."""


class ConfigError(CheckpointError):
    """A ``config.json`` is unreadable, or asks for an architecture variant this package does not build."""


class MissingShardError(CheckpointError):
    """The index names a safetensors shard that is not in the folder, or a shard is not valid safetensors."""


class KeyMismatchError(CheckpointError):
    """The weights lack tensors the architecture has (``missing``), or hold tensors it has not (``unexpected``)."""

    def __init__(self, message: str, missing: list[str], unexpected: list[str]):
        super().__init__(message)
        self.missing = missing
        self.unexpected = unexpected


class ShapeMismatchError(CheckpointError):
    """A tensor's shape in the weights differs from the architecture's."""


class MissingTokenizerError(CheckpointError):
    """Neither the processor folder nor the checkpoint folder holds a usable tokenizer with a chat template."""


class UnknownEmbodimentError(CheckpointError):
    """An embodiment name or slot id that is not in the slot table."""


class MetadataError(CheckpointError):
    """``experiment_cfg/metadata.json`` is malformed."""


def read_json_object(path: str, error: type[CheckpointError], expected: str) -> dict[str, Any]:
    """Parse the JSON object in ``path``; raise ``error`` naming the file when it is unreadable or not ``expected``."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, json.JSONDecodeError) as err:
        raise error(f"{path}: not a readable JSON file ({err}).") from err
    if not isinstance(data, dict):
        raise error(f"{path}: expected {expected}.")
    return data
