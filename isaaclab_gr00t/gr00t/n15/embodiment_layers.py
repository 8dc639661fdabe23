"""Per-embodiment layers of the GR00T N1.5 action head: each embodiment slot has its own weights.

A category-specific linear holds ``W`` ``[slots, in, out]`` and ``b`` ``[slots, out]`` (the published parameter
names) and applies slot ``embodiment_id[i]``'s weights to sample ``i``. An ``int`` ``embodiment_id`` is one slot for
the whole batch (an actor controls one embodiment): the layer is then one matrix product with a view of that slot's
weights, where per-sample ids gather a copy of the weight matrix for every sample (a 3072 x 1536 matrix is 18 MiB in
float32, so a batch of 256 gathers 4.5 GiB in one layer).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def action_time_sinusoid(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """``(B, T)`` integer time buckets -> ``(B, T, dim)`` float32 ``[sin, cos]`` encoding with frequencies
    ``max_period ** (-i / (dim / 2))`` (the action encoder's time encoding: sines first, no frequency shift)."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half
    angles = timesteps.float()[..., None] * exponent.exp()
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class CategorySpecificLinear(nn.Module):
    """``x`` ``(B, T, in)`` -> ``x @ W[slot] + b[slot]`` ``(B, T, out)`` with one weight matrix per slot; the slot is
    ``embodiment_id`` ``(B,)`` per sample, or an ``int`` for every sample."""

    def __init__(self, num_slots: int, in_dim: int, out_dim: int):
        super().__init__()
        self.W = nn.Parameter(0.02 * torch.randn(num_slots, in_dim, out_dim))
        self.b = nn.Parameter(torch.zeros(num_slots, out_dim))
        self.trained_slot: int | None = None
        """The slot whose weights live in ``slot_W``/``slot_b`` (:meth:`train_only_slot`), or None."""

    def train_only_slot(self, slot: int) -> None:
        """Train slot ``slot`` alone: its weights move to the trainable parameters ``slot_W`` and ``slot_b`` and
        ``W``/``b`` freeze. The other slots never receive a gradient, so this changes no update, but the optimizer
        then keeps no gradient and moments for them (31 of the published 32 slots: 3.4 GiB at full size)."""
        self.trained_slot = slot
        self.slot_W = nn.Parameter(self.W.detach()[slot].clone())
        self.slot_b = nn.Parameter(self.b.detach()[slot].clone())
        self.W.requires_grad_(False)
        self.b.requires_grad_(False)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """A state dict written while every slot trained (no ``slot_W``/``slot_b``) gives the trained slot from its
        ``W``/``b``."""
        if self.trained_slot is not None:
            for slot_key, full_key in (("slot_W", "W"), ("slot_b", "b")):
                if prefix + slot_key not in state_dict and prefix + full_key in state_dict:
                    state_dict[prefix + slot_key] = state_dict[prefix + full_key][self.trained_slot]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def published_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``W`` and ``b`` with the trained slot's current weights in place (the published layout); after
        :meth:`train_only_slot`."""
        slot = torch.tensor([self.trained_slot], device=self.W.device)
        return self.W.index_copy(0, slot, self.slot_W[None]), self.b.index_copy(0, slot, self.slot_b[None])

    def forward(self, x: torch.Tensor, embodiment_id: torch.Tensor | int) -> torch.Tensor:
        if isinstance(embodiment_id, int):
            if embodiment_id == self.trained_slot:
                return x @ self.slot_W + self.slot_b
            return x @ self.W[embodiment_id] + self.b[embodiment_id]
        W, b = self.W[embodiment_id], self.b[embodiment_id]
        if self.trained_slot is not None:
            trained = embodiment_id == self.trained_slot
            W = torch.where(trained[:, None, None], self.slot_W, W)
            b = torch.where(trained[:, None], self.slot_b, b)
        return torch.bmm(x, W) + b[:, None]


class CategorySpecificMLP(nn.Module):
    """``layer1``, ReLU, ``layer2``, all per slot."""

    def __init__(self, num_slots: int, in_dim: int, hidden_dim: int, out_dim: int):
        super().__init__()
        self.layer1 = CategorySpecificLinear(num_slots, in_dim, hidden_dim)
        self.layer2 = CategorySpecificLinear(num_slots, hidden_dim, out_dim)

    def forward(self, x: torch.Tensor, embodiment_id: torch.Tensor | int) -> torch.Tensor:
        return self.layer2(F.relu(self.layer1(x, embodiment_id)), embodiment_id)


class MultiEmbodimentActionEncoder(nn.Module):
    """Noisy action chunk + time bucket -> action tokens: ``W3(swish(W2([W1(a), sinusoid(bucket)])))``, per slot."""

    def __init__(self, num_slots: int, action_dim: int, width: int):
        super().__init__()
        self.W1 = CategorySpecificLinear(num_slots, action_dim, width)
        self.W2 = CategorySpecificLinear(num_slots, 2 * width, width)
        self.W3 = CategorySpecificLinear(num_slots, width, width)

    def forward(
        self, actions: torch.Tensor, timesteps: torch.Tensor, embodiment_id: torch.Tensor | int
    ) -> torch.Tensor:
        """``actions`` ``(B, H, action_dim)``, ``timesteps`` ``(B,)`` buckets -> ``(B, H, width)``."""
        embedded = self.W1(actions, embodiment_id)
        time = action_time_sinusoid(timesteps[:, None].expand(-1, actions.shape[1]), embedded.shape[-1])
        x = F.silu(self.W2(torch.cat([embedded, time.to(embedded.dtype)], dim=-1), embodiment_id))
        return self.W3(x, embodiment_id)
