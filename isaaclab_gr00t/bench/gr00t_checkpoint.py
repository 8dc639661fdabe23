"""Write a GR00T N1.5 checkpoint folder with random weights in the published layout, for load measurements.

Example (a full-size folder, about 4.8 GB in bfloat16)::

    python -m isaaclab_gr00t.bench.gr00t_checkpoint --write /tmp/gr00t_full --pooling-head
    /usr/bin/time -v python -m isaaclab_gr00t.gr00t.doctor /tmp/gr00t_full
    /usr/bin/time -v python -m isaaclab_gr00t.gr00t.doctor /tmp/gr00t_full --load

The folder holds ``config.json``, the sharded safetensors with their index, ``experiment_cfg/metadata.json`` (random
statistics for the published tags) and a byte-level tokenizer whose special tokens sit at the published ids, with a
chat template. Tensors are generated and written one at a time (never the whole model in memory). The table printed
gives tensors, parameters, bytes and the write time. Nothing is downloaded; the weights are noise.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from isaaclab_gr00t.gr00t.n15.checkpoint import POOLING_HEAD_PREFIX, expected_layout, write_layout
from isaaclab_gr00t.gr00t.n15.config import N15Config, config_to_checkpoint_json
from isaaclab_gr00t.gr00t.n15.embodiments import METADATA_FILE, PUBLISHED_SLOTS
from isaaclab_gr00t.gr00t.n15.testing import TINY_SPECIAL_TOKENS, write_tokenizer

PUBLISHED_SPECIAL_TOKENS = {
    "<|endoftext|>": 151643,
    "<|im_start|>": 151644,
    "<|im_end|>": 151645,
    "<IMG_CONTEXT>": 151669,
    "<img>": 151670,
    "</img>": 151671,
}
"""Qwen3's chat tokens and Eagle 2.5's image tokens at their published ids."""


def pooling_head_layout(config: N15Config) -> dict[str, tuple[int, ...]]:
    """The 11 tensors of SigLIP's (unused) pooling head, which the published checkpoint probably holds."""
    width, mlp = config.vision.hidden_size, config.vision.mlp_size
    shapes = {
        "probe": (1, 1, width), "attention.in_proj_weight": (3 * width, width), "attention.in_proj_bias": (3 * width,),
        "attention.out_proj.weight": (width, width), "attention.out_proj.bias": (width,),
        "layernorm.weight": (width,), "layernorm.bias": (width,), "mlp.fc1.weight": (mlp, width),
        "mlp.fc1.bias": (mlp,), "mlp.fc2.weight": (width, mlp), "mlp.fc2.bias": (width,),
    }
    return {POOLING_HEAD_PREFIX + name: shape for name, shape in shapes.items()}


def random_metadata(config: N15Config, generator: torch.Generator) -> dict:
    """Random statistics for the published tags except ``new_embodiment`` (as in a base checkpoint)."""

    def stats(dims: int) -> dict:
        low = (-1 - torch.rand(dims, generator=generator)).tolist()
        high = (1 + torch.rand(dims, generator=generator)).tolist()
        return {"max": high, "min": low, "mean": [0.0] * dims, "std": [0.5] * dims, "q01": low, "q99": high}

    dims = config.action_head.action_dim
    return {tag: {"statistics": {"state": {"joints": stats(dims)}, "action": {"joints": stats(dims)}},
                  "modalities": {}, "embodiment_tag": tag}
            for tag in PUBLISHED_SLOTS if tag != "new_embodiment"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", required=True, help="Checkpoint folder to create (never inside the repository).")
    parser.add_argument("--size", choices=["full", "tiny"], default="full", help="Model size.")
    parser.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16", help="Stored dtype.")
    parser.add_argument("--shards", type=int, default=2, help="Safetensors shards.")
    parser.add_argument("--pooling-head", action="store_true", help="Also store SigLIP's unused pooling head.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the random weights.")
    args = parser.parse_args(argv)

    config = N15Config.preset(args.size)
    dtype = getattr(torch, args.dtype)
    layout = expected_layout(config)
    if args.pooling_head:
        layout.update(pooling_head_layout(config))
    generator = torch.Generator().manual_seed(args.seed)

    def produce(key: str) -> torch.Tensor:
        if key.endswith(".weight") and len(layout[key]) == 1:  # the one-dimensional weights are norm scales
            return torch.ones(layout[key], dtype=dtype)
        return torch.empty(layout[key], dtype=dtype).normal_(0.0, 0.02, generator=generator)

    start = time.perf_counter()
    entries = [(key, dtype, shape) for key, shape in layout.items()]
    write_layout(args.write, config_to_checkpoint_json(config), entries, produce, num_shards=args.shards)
    os.makedirs(os.path.join(args.write, "experiment_cfg"), exist_ok=True)
    with open(os.path.join(args.write, METADATA_FILE), "w", encoding="utf-8") as file:
        json.dump(random_metadata(config, generator), file, indent=2)
    write_tokenizer(args.write, PUBLISHED_SPECIAL_TOKENS if args.size == "full" else TINY_SPECIAL_TOKENS)
    seconds = time.perf_counter() - start

    params = sum(torch.Size(shape).numel() for shape in layout.values())
    nbytes = sum(os.path.getsize(os.path.join(args.write, name)) for name in os.listdir(args.write)
                 if name.endswith(".safetensors"))
    print("| folder | size | dtype | tensors | parameters | safetensors bytes | write time |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| {args.write} | {args.size} | {args.dtype} | {len(layout)} | {params / 1e9:.3f} B | "
          f"{nbytes / 2**30:.2f} GiB | {seconds:.1f} s |")


if __name__ == "__main__":
    main()
