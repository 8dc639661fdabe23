"""Per-transition tensors a model asks to keep with the rollout, handed back to it minibatch by minibatch.

The hook is :class:`~.model_hooks.StoresRolloutExtras`: after its sampling forward the model's ``rollout_extras``
(a TensorDict with one row per env, or None) is stored beside the transition; before each update forward PPO37 calls
``model.replay(rows)`` with the rows of that micro-batch, in its order. GR00T's actor keeps its frozen backbone's
features this way (the update then never runs the backbone again) and flow-SDE's denoising chain (docs/gr00t.md).
Feed-forward models only: recurrent minibatches are whole trajectories, which this flat store does not index.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from tensordict import TensorDict

from .model_hooks import StoresRolloutExtras, offers


class RolloutExtras:
    """A ``num_steps x num_envs`` store of a model's ``rollout_extras``, allocated at the first transition."""

    def __init__(self, model: StoresRolloutExtras, num_steps: int, num_envs: int) -> None:
        self.model = model
        self.num_steps = num_steps
        self.num_envs = num_envs
        self.buffer: TensorDict | None = None

    def record(self, step: int) -> None:
        """Copy the model's ``rollout_extras`` of the transition at ``step`` into the store (nothing when None)."""
        extras = self.model.rollout_extras
        if extras is None:
            return
        if self.buffer is None:
            # allocated outside inference mode: the update's autograd graph may read it
            with torch.inference_mode(False):
                self.buffer = extras.expand(self.num_steps, *extras.batch_size).clone()
        self.buffer[step].copy_(extras)

    def replay(self, flat_index: torch.Tensor) -> None:
        """Hand the stored rows ``flat_index`` (into the rollout flattened step-major) to the model's ``replay``."""
        if self.buffer is not None:
            self.model.replay(self.buffer.flatten(0, 1)[flat_index])


class NoRolloutExtras:
    """The store of a model without the hook: nothing is recorded or replayed."""

    buffer = None

    def record(self, step: int) -> None:
        """Nothing to record."""

    def replay(self, flat_index: torch.Tensor) -> None:
        """Nothing to replay."""


def rollout_extras_store(model: nn.Module, num_steps: int, num_envs: int) -> RolloutExtras | NoRolloutExtras:
    """The store for ``model``: :class:`RolloutExtras` if it offers the hook, else :class:`NoRolloutExtras`."""
    if offers(model, StoresRolloutExtras):
        return RolloutExtras(model, num_steps, num_envs)
    return NoRolloutExtras()
