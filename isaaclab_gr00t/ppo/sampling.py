"""The rollout's action draw and recurrent-state reset without host syncs, and the update's forward without a draw.

``act()`` and ``process_env_step()`` never read the device (tests/ppo/test_no_host_sync.py): on a GPU each such read
would stall the host once per environment step, and a CUDA graph capture forbids it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import torch
import torch.nn as nn
from rsl_rl.models import RNNModel
from rsl_rl.modules.distribution import GaussianDistribution


@contextlib.contextmanager
def sampling(model: nn.Module, draw: Callable | None):
    """Run ``model``'s forward with ``draw(distribution)`` in place of its distribution's ``sample()``.

    The update needs the distribution, not a fresh action (:func:`no_draw`). The rollout's Gaussian draws use
    :func:`gaussian_draw`: ``torch.normal`` checks ``std >= 0`` by reading the std back to the host, a sync every
    step that a CUDA graph capture also forbids.
    """
    distribution = getattr(model, "distribution", None)
    if distribution is None or draw is None:
        yield
        return
    distribution.sample = functools.partial(draw, distribution)
    try:
        yield
    finally:
        del distribution.sample


def no_draw(distribution) -> None:
    """Draw nothing (the update only needs the distribution's parameters)."""
    return None


def gaussian_draw(distribution: GaussianDistribution) -> torch.Tensor:
    """``torch.normal(mean, std)``'s numbers (a standard normal draw, scaled and shifted) without its host check."""
    return distribution.mean + distribution.std * torch.randn_like(distribution.mean)


def reset_recurrent_state(model: nn.Module, dones: torch.Tensor) -> None:
    """Zero the recurrent state of done envs in place (rsl_rl's boolean-mask reset would sync the host)."""
    if isinstance(model, RNNModel):
        state = model.get_hidden_state()
        if state is None:
            return
        keep = (1.0 - dones.float()).view(1, -1, 1)
        for tensor in state if isinstance(state, tuple) else (state,):
            tensor.mul_(keep)
    elif getattr(model, "is_recurrent", False):
        model.reset(dones)
