"""What to change when PPO37 runs out of GPU memory.

PyTorch's ``OutOfMemoryError`` names the allocation that failed, not the setting that made it large. PPO37 re-raises
it (chained, still a ``torch.OutOfMemoryError``) with the batch that did not fit and the settings that shrink it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

import torch
import torch.nn as nn

from .model_hooks import ChecksGradients, offers


@contextmanager
def explain_out_of_memory(stage: str, batch: str, remedies: Sequence[str]) -> Iterator[None]:
    """Re-raise a ``torch.OutOfMemoryError`` of the block naming ``stage``, the ``batch`` and the ``remedies``."""
    try:
        yield
    except torch.OutOfMemoryError as error:
        raise torch.OutOfMemoryError(
            f"PPO37's {stage} ran out of GPU memory at {batch}. To fit, set {', or '.join(remedies)}."
        ) from error


def update_out_of_memory(minibatch: int, per_pass: int, unit: str, actor: nn.Module,
                         num_envs: int) -> AbstractContextManager[None]:
    """:func:`explain_out_of_memory` for the update's backward passes of ``per_pass`` ``unit`` each."""
    smaller = per_pass // 2
    remedies = [f"agent.algorithm.micro_batch_size={smaller}"] if smaller else []
    if offers(actor, ChecksGradients) and not actor.gradient_checkpointing:
        remedies.append("agent.actor.gradient_checkpointing=true")
    remedies.append(f"fewer env.scene.num_envs (now {num_envs})")
    return explain_out_of_memory("update", f"{per_pass} {unit} per backward pass (minibatch {minibatch})", remedies)


def rollout_out_of_memory(num_envs: int) -> AbstractContextManager[None]:
    """:func:`explain_out_of_memory` for the rollout's forward pass over all envs."""
    return explain_out_of_memory("rollout", f"a batch of {num_envs} envs (env.scene.num_envs)",
                                 [f"fewer env.scene.num_envs (now {num_envs})"])
