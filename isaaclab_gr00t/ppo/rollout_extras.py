"""Per-transition tensors a model asks to keep with the rollout, handed back to it minibatch by minibatch.

A model that exposes ``rollout_extras`` (a TensorDict with one row per env, or None) after its sampling forward gets
them stored beside the transition; before each update forward PPO37 calls ``model.replay(rows)`` with the rows of
that minibatch, in the minibatch's order. GR00T's actor keeps its frozen backbone's features this way (the update
then never runs the backbone again) and flow-SDE's denoising chain (docs/gr00t.md). Feed-forward models only:
recurrent minibatches are whole trajectories, which this flat store does not index.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from tensordict import TensorDict


class RolloutExtras:
    """A ``num_steps x num_envs`` store of a model's ``rollout_extras``, allocated at the first transition."""

    def __init__(self, num_steps: int, num_envs: int) -> None:
        self.num_steps = num_steps
        self.num_envs = num_envs
        self.buffer: TensorDict | None = None

    def record(self, step: int, model: nn.Module) -> None:
        """Copy ``model.rollout_extras`` of the transition at ``step`` into the store (nothing when it has none)."""
        extras = getattr(model, "rollout_extras", None)
        if extras is None:
            return
        if self.buffer is None:
            # allocated outside inference mode: the update's autograd graph may read it
            with torch.inference_mode(False):
                self.buffer = extras.expand(self.num_steps, *extras.batch_size).clone()
        self.buffer[step].copy_(extras)

    def replay(self, model: nn.Module, flat_index: torch.Tensor) -> None:
        """Hand the stored rows ``flat_index`` (into the rollout flattened step-major) to ``model.replay``."""
        if self.buffer is not None:
            model.replay(self.buffer.flatten(0, 1)[flat_index])
