"""Checkpoint doctor: does a GR00T N1.5 folder's weights match the architecture its config describes?

    python -m isaaclab_gr00t.gr00t.doctor CHECKPOINT_DIR [--processor DIR] [--load]

It reads only JSON files and safetensors headers (no tensor data), refuses a config that asks for more blocks than the
weights hold (before building anything), builds the architecture on the meta device and
lists every missing, unexpected or misshapen tensor by key; it exits 1 on any such problem (or an unreadable
config or shard), 0 otherwise. Without ``--processor`` the published vision/language sizes are assumed. A missing
``experiment_cfg/metadata.json`` or tokenizer is a warning: the loader needs them, the layout does not.
``--load`` then loads the folder strictly on the CPU in bfloat16 and prints the time and the peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from dataclasses import dataclass, field

from .checkpoint import (
    CHAT_TEMPLATE_FILES,
    check_block_counts,
    compare_layout,
    expected_layout,
    read_weight_layout,
    resolve_folder,
    tokenizer_folder,
)
from .config import N15Config
from .embodiments import METADATA_FILE, PUBLISHED_SLOTS, read_metadata
from .errors import CheckpointError


@dataclass
class Diagnosis:
    """What the doctor found."""

    problems: list[str] = field(default_factory=list)
    """Each makes the folder unloadable; any of them means exit status 1."""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def diagnose(ckpt_dir: str, processor_dir: str | None = None) -> Diagnosis:
    """Check ``ckpt_dir`` (and ``processor_dir``), folders or cached Hugging Face repository ids, without reading
    tensor data."""
    found = Diagnosis()
    try:
        ckpt_dir = resolve_folder(ckpt_dir, "checkpoint")
        processor_dir = None if processor_dir is None else resolve_folder(processor_dir, "processor")
        config = N15Config.from_checkpoint(ckpt_dir, processor_dir)
        layout = read_weight_layout(ckpt_dir)
        check_block_counts(config, layout, ckpt_dir)
    except CheckpointError as err:
        found.problems.append(str(err))
        return found
    sizes = "the processor folder's" if processor_dir else "the published (no --processor given)"
    found.notes.append(f"architecture: config.json with {sizes} vision/language sizes; {config.text.num_layers} "
                       f"LM layers, vocab {config.text.vocab_size}, DiT {config.action_head.dit.num_layers} layers.")
    expected = expected_layout(config)
    report = compare_layout({key: info.shape for key, info in layout.items()}, expected)
    files = sorted({os.path.basename(info.file) for info in layout.values()})
    found.notes.append(f"weights: {len(layout)} tensors in {len(files)} file(s) {files}; the architecture has "
                       f"{len(expected)}.")
    found.problems += [f"missing tensor: {key} {expected[key]}" for key in report.missing]
    found.problems += [f"unexpected tensor: {key} {layout[key].shape}" for key in report.unexpected]
    found.problems += [f"misshapen tensor: {key}: {have} in the weights, {want} in the architecture"
                       for key, have, want in report.misshapen]
    if report.ignored:
        found.notes.append(f"ignored (published, unused): {len(report.ignored)} tensors, e.g. {report.ignored[0]}.")
    _check_metadata(ckpt_dir, found)
    _check_tokenizer(ckpt_dir, processor_dir, found)
    return found


def _check_metadata(ckpt_dir: str, found: Diagnosis) -> None:
    path = os.path.join(ckpt_dir, METADATA_FILE)
    if not os.path.isfile(path):
        found.warnings.append(f"{path} not found: the loader needs it for the state/action statistics.")
        return
    try:
        tags = list(read_metadata(path))
    except CheckpointError as err:
        found.warnings.append(str(err))
        return
    described = ", ".join(f"{tag} (slot {PUBLISHED_SLOTS[tag]})" if tag in PUBLISHED_SLOTS else f"{tag} (not a "
                          "published tag: pass its slot with extra_slots)" for tag in tags)
    found.notes.append(f"metadata: statistics for {described}.")


def _check_tokenizer(ckpt_dir: str, processor_dir: str | None, found: Diagnosis) -> None:
    folder = tokenizer_folder(ckpt_dir, processor_dir)
    if folder is None:
        found.warnings.append("no tokenizer files in the checkpoint or processor folder: the loader needs the Eagle "
                              "2.5 processor folder (--processor).")
    elif not any(os.path.isfile(os.path.join(folder, name)) for name in CHAT_TEMPLATE_FILES):
        found.notes.append(f"tokenizer: {folder} (no {' / '.join(CHAT_TEMPLATE_FILES)}: the tokenizer config must "
                           "hold the chat template).")
    else:
        found.notes.append(f"tokenizer: {folder}.")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m isaaclab_gr00t.gr00t.doctor", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="GR00T N1.5 checkpoint folder.")
    parser.add_argument("--processor", default=None, help="Eagle 2.5 processor folder (sizes and tokenizer).")
    parser.add_argument("--load", action="store_true", help="Also load strictly on the CPU and print peak RSS.")
    parser.add_argument("--embodiment", default="new_embodiment", help="Embodiment tag or slot id for --load.")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    found = diagnose(args.checkpoint, args.processor)
    for note in found.notes:
        print(f"  {note}")
    for warning in found.warnings:
        print(f"WARNING {warning}")
    for problem in found.problems:
        print(f"PROBLEM {problem}")
    verdict = "OK" if found.ok else f"FAILED ({len(found.problems)} problems)"
    print(f"{verdict}: {args.checkpoint} checked in {time.perf_counter() - start:.2f} s.")
    if not found.ok:
        return 1
    if args.load:
        import torch

        from .checkpoint import load_checkpoint

        start = time.perf_counter()
        embodiment = int(args.embodiment) if args.embodiment.isdigit() else args.embodiment
        try:
            loaded = load_checkpoint(args.checkpoint, processor_dir=args.processor, embodiment=embodiment,
                                     device="cpu", dtype=torch.bfloat16)
        except CheckpointError as err:
            print(f"PROBLEM load: {err}")
            return 1
        params = sum(p.numel() for p in loaded.model.parameters())
        peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        weights_gib = params * 2 / 2**30
        print(f"LOADED {params / 1e9:.3f} B parameters (bfloat16 {weights_gib:.2f} GiB) in "
              f"{time.perf_counter() - start:.1f} s; embodiment {loaded.embodiment.name} (slot "
              f"{loaded.embodiment.slot_id}); peak RSS {peak_gib:.2f} GiB ({peak_gib / weights_gib:.2f}x the weights).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
