"""Reading and writing safetensors files one tensor at a time.

Format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, a JSON header
``{key: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`` padded with spaces to a multiple of 8,
then the raw little-endian tensor bytes. :func:`read_header` reads only the header, so a layout check costs no
tensor data. :func:`read_tensor` reads one tensor with ``readinto`` into memory it owns: the bytes pass through the
page cache, which is not counted in the process's resident memory (pages of a memory-mapped shard are, as long as
the map lives, which adds up to a whole shard on top of the loaded weights). :func:`write_file` writes tensors
produced one at a time, so a full-size random checkpoint never sits in memory at once.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .errors import MissingShardError

DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
"""safetensors dtype names -> torch dtypes."""

_NAMES = {dtype: name for name, dtype in DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024


@dataclass(frozen=True)
class TensorInfo:
    """Where one tensor lies in a safetensors file."""

    file: str
    dtype: torch.dtype
    shape: tuple[int, ...]
    begin: int
    """Absolute byte offset of the data in the file."""
    end: int


def read_header(path: str) -> dict[str, TensorInfo]:
    """The tensors of a safetensors file, from its header only.

    Raises:
        MissingShardError: If the file is absent or its header is not valid safetensors.
    """
    if not os.path.isfile(path):
        raise MissingShardError(f"{path}: safetensors file not found.")
    size = os.path.getsize(path)
    with open(path, "rb") as file:
        prefix = file.read(8)
        if len(prefix) != 8:
            raise MissingShardError(f"{path}: not a safetensors file (shorter than 8 bytes).")
        (length,) = struct.unpack("<Q", prefix)
        if length > min(_MAX_HEADER, size - 8):
            raise MissingShardError(f"{path}: not a safetensors file (header length {length}).")
        try:
            header = json.loads(file.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise MissingShardError(f"{path}: safetensors header is not JSON ({err}).") from err
    start = 8 + length
    infos = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        try:
            dtype = DTYPES[entry["dtype"]]
            shape = tuple(int(d) for d in entry["shape"])
            begin, end = (int(o) for o in entry["data_offsets"])
        except (KeyError, TypeError, ValueError) as err:
            raise MissingShardError(f"{path}: tensor '{key}' has an unsupported or malformed header entry "
                                    f"{entry}.") from err
        nbytes = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        if end - begin != nbytes or start + end > size:
            raise MissingShardError(f"{path}: tensor '{key}' data offsets {begin}..{end} do not fit shape {shape} "
                                    f"{entry['dtype']} in a file of {size} bytes.")
        infos[key] = TensorInfo(path, dtype, shape, start + begin, start + end)
    return infos


def read_tensor(info: TensorInfo, file=None) -> torch.Tensor:
    """Read one tensor into a new CPU tensor (``file``: an open binary handle on ``info.file`` to reuse)."""
    raw = torch.empty(info.end - info.begin, dtype=torch.uint8)
    own = file is None
    file = open(info.file, "rb") if own else file
    try:
        file.seek(info.begin)
        if file.readinto(raw.numpy()) != raw.numel():
            raise MissingShardError(f"{info.file}: truncated data at byte {info.begin}.")
    finally:
        if own:
            file.close()
    return raw.view(info.dtype).reshape(info.shape)


def write_file(
    path: str,
    entries: Sequence[tuple[str, torch.dtype, Sequence[int]]],
    produce: Callable[[str], torch.Tensor],
    metadata: dict[str, str] | None = None,
) -> int:
    """Write a safetensors file holding ``entries`` (key, dtype, shape), calling ``produce(key)`` for each tensor's
    data in turn; return the bytes of tensor data written.

    Raises:
        ValueError: If a produced tensor's dtype or shape differs from its entry.
    """
    header: dict[str, object] = {"__metadata__": metadata or {"format": "pt"}}
    offset = 0
    for key, dtype, shape in entries:
        nbytes = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        header[key] = {"dtype": _NAMES[dtype], "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(encoded)))
        file.write(encoded)
        for key, dtype, shape in entries:
            tensor = produce(key).detach().to("cpu").contiguous()
            if tensor.dtype != dtype or tuple(tensor.shape) != tuple(shape):
                raise ValueError(f"{path}: tensor '{key}' is {tensor.dtype} {tuple(tensor.shape)}, its entry says "
                                 f"{dtype} {tuple(shape)}.")
            file.write(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return offset
