"""Post-train (SFT) GR00T N1.5 on demonstration datasets and write a published-layout checkpoint folder.

    python -m isaaclab_gr00t.gr00t.finetune --dataset DIR [--dataset DIR ...]
        (--base CHECKPOINT_DIR [--processor DIR] | --size tiny|full) --embodiment TAG_OR_SLOT --out DIR --steps N
        [--batch-size 32] [--lr 1e-4] [--grad-accum 1] [--device cuda] [--resume] [--lora-rank 0] [--seed 0]
        [--normalization KEY=MODE ...] [--gradient-checkpointing] [--save-every N]

The datasets (LeRobot v2 + ``meta/modality.json``, every one with the same keys) are validated before any work.
The output holds ``config.json``, sharded safetensors, ``experiment_cfg/metadata.json`` with this embodiment's
statistics (published form, plus the normalization modes trained with), the tokenizer files, TensorBoard scalars
under ``runs/`` and ``trainer_state.pt`` for ``--resume``. Load it with the GR00T actor's ``checkpoint=OUT`` or check
it with ``python -m isaaclab_gr00t.gr00t.doctor OUT --load``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

import torch

from .dataset.layout import DatasetError
from .dataset.reader import GR00TDataset
from .n15.embodiments import METADATA_FILE, EmbodimentStatistics, read_metadata
from .n15.errors import CheckpointError
from .sft.export import embodiment_metadata, write_checkpoint
from .sft.samples import SampleSource, check_same_keys, merged_statistics
from .sft.trainer import (
    TrainSetup,
    build_model,
    fixed_batch_loss,
    flow_loss,
    load_trainer_state,
    make_optimizer,
    resolve_slot,
    save_trainer_state,
)


@dataclass
class FinetuneResult:
    """What a run did."""

    first_step: int
    last_step: int
    fixed_batch_losses: list[float] = field(default_factory=list)
    """The loss on the first batch of frames with fixed noise, before training and after each logged step."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m isaaclab_gr00t.gr00t.finetune",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", required=True, help="Dataset folder (repeatable).")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", help="GR00T N1.5 checkpoint folder to start from.")
    source.add_argument("--size", choices=("tiny", "full"), help="Start from a random model of this preset.")
    parser.add_argument("--processor", help="Eagle 2.5 processor folder of --base (sizes and tokenizer).")
    parser.add_argument("--embodiment", required=True, help="Published tag, slot id, or a new tag (free slot).")
    parser.add_argument("--out", required=True, help="Output checkpoint folder.")
    parser.add_argument("--steps", type=int, required=True, help="Optimizer steps in all (with --resume: the total).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--grad-accum", type=int, default=1, help="Micro-batches per optimizer step.")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--resume", action="store_true", help="Continue from --out's trainer_state.pt.")
    parser.add_argument("--lora-rank", type=int, default=0, help="LoRA rank on the language model (0: none).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--normalization", action="append", default=[], metavar="KEY=MODE",
                        help="Mode of a key, e.g. action.gripper=binary (default min_max).")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--save-every", type=int, default=0, help="Also save every N steps (0: at the end only).")
    parser.add_argument("--log-every", type=int, default=10, help="Scalars and the fixed-batch loss every N steps.")
    args = parser.parse_args(argv)
    if args.processor and not args.base:
        parser.error("--processor goes with --base.")
    for name in ("steps", "batch_size", "grad_accum"):
        if getattr(args, name) < (0 if name == "steps" else 1):
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}.")
    return args


def parse_modes(entries: list[str]) -> dict[str, str]:
    modes = {}
    for entry in entries:
        key, sep, mode = entry.partition("=")
        if not sep or not key.startswith(("state.", "action.")):
            raise ValueError(f"--normalization {entry!r}: expected state.<key>=MODE or action.<key>=MODE.")
        modes[key] = mode
    return modes


def run(args: argparse.Namespace) -> FinetuneResult:
    """The command's work; raises :class:`DatasetError`, :class:`CheckpointError` or ``ValueError`` on bad input."""
    datasets = [GR00TDataset.open(path) for path in args.dataset]
    check_same_keys(datasets)
    modes = parse_modes(args.normalization)
    device = torch.device(args.device)
    base_metadata = read_metadata(os.path.join(args.base, METADATA_FILE)) if args.base else {}
    tag, slot = resolve_slot(str(args.embodiment), base_metadata)
    setup = TrainSetup(base=args.base, processor=args.processor, size=args.size or "", embodiment=tag, slot=slot,
                       lora_rank=args.lora_rank, lr=args.lr, steps=args.steps,
                       gradient_checkpointing=args.gradient_checkpointing)
    model, tokenizer = build_model(setup, device)
    statistics = merged_statistics(datasets)
    embodiment_stats = EmbodimentStatistics(state=statistics["state"], action=statistics["action"], modalities={})
    samples = SampleSource(datasets, model.config, tokenizer, embodiment_stats, modes)
    trained_modes = {**samples.state_map.modes("state"), **samples.action_map.modes("action")}

    optimizer, scheduler = make_optimizer(model, setup)
    os.makedirs(args.out, exist_ok=True)
    step = load_trainer_state(args.out, model, optimizer, scheduler, setup) if args.resume else 0
    if not args.resume:
        torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed + step)
    fixed = samples.batch(list(range(min(args.batch_size, len(samples)))), device)
    result = FinetuneResult(first_step=step, last_step=step, fixed_batch_losses=[fixed_batch_loss(model, fixed, slot)])

    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    writer = SummaryWriter(os.path.join(args.out, "runs"))
    autocast = device.type == "cuda"
    metadata = {**base_metadata, tag: embodiment_metadata(
        tag, slot, statistics, trained_modes,
        {key: samples.episodes[0].images[key].shape[1:3] for key in samples.video_keys}, datasets[0].fps)}

    def save(at_step: int) -> None:
        write_checkpoint(args.out, model, tokenizer, metadata)
        save_trainer_state(args.out, at_step, model, optimizer, scheduler, setup)

    with tqdm(total=args.steps, initial=step, desc="fine-tune", disable=None) as progress:
        while step < args.steps:
            optimizer.zero_grad(set_to_none=True)
            total = 0.0
            for _ in range(args.grad_accum):
                indices = torch.randint(len(samples), (args.batch_size,), generator=generator).tolist()
                with torch.autocast("cuda", torch.bfloat16, enabled=autocast):
                    loss = flow_loss(model, samples.batch(indices, device), slot) / args.grad_accum
                loss.backward()
                total += float(loss.detach())
            grad_norm = torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            progress.update(1)
            progress.set_postfix(loss=f"{total:.4f}")
            writer.add_scalar("train/loss", total, step)
            writer.add_scalar("train/grad_norm", float(grad_norm), step)
            writer.add_scalar("train/lr", scheduler.get_last_lr()[0], step)
            if step % args.log_every == 0 or step == args.steps:
                result.fixed_batch_losses.append(fixed_batch_loss(model, fixed, slot))
                writer.add_scalar("train/fixed_batch_loss", result.fixed_batch_losses[-1], step)
            if args.save_every and step % args.save_every == 0 and step < args.steps:
                save(step)
    writer.close()
    save(step)
    result.last_step = step
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry; returns the exit status (2 for a bad dataset, checkpoint or argument)."""
    args = parse_args(argv)
    try:
        result = run(args)
    except (DatasetError, CheckpointError, ValueError) as err:
        print(f"ERROR {err}", file=sys.stderr)
        return 2
    losses = result.fixed_batch_losses
    print(f"DONE steps {result.first_step} -> {result.last_step}; fixed-batch loss {losses[0]:.4f} -> "
          f"{losses[-1]:.4f}; checkpoint {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
