"""What every benchmark command needs: device waits and readings, quiet runs, argument checks."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform

import torch


def synchronize(device: str | torch.device) -> None:
    """Wait for queued device work, so wall-clock timings cover it."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def silenced_stdout():
    """Drop what rsl_rl prints (model summaries, the per-iteration report): the benchmarks print their own table."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


def require_at_least_one(parser: argparse.ArgumentParser, args: argparse.Namespace, names: tuple[str, ...]) -> None:
    """Stop with a usage error naming the first of the ``--names`` options that is below 1."""
    for name in names:
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")


def reset_peak_memory(device: str | torch.device) -> None:
    """Start a new peak-memory reading (CUDA only)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mib(device: str | torch.device) -> float | None:
    """Peak memory allocated through torch (Warp/Newton buffers are not counted); None on CPU."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def device_name(device: str | torch.device) -> str:
    """The GPU's name, or the CPU's with its core count, for a table's header."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
