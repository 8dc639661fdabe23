"""Discrete action distributions for rsl_rl models (categorical and multi-discrete).

Plug into any rsl_rl model through ``distribution_cfg``, e.g.
``{"class_name": "isaaclab_gr00t.models:CategoricalDistribution", "num_classes": 2}``.
Actions travel through rsl_rl's float action buffers as class indices stored as floats, one column per head.

MultiDiscrete follows detail 37 of Huang et al., "The 37 Implementation Details of Proximal Policy
Optimization" (ICLR 2022 blog track): one independent categorical head per action dimension, log-probabilities
and entropies summed over heads.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from rsl_rl.modules.distribution import Distribution

_PAD_LOGIT = -1.0e9
"""Logit of the padding classes that make heads of unequal size one rectangular tensor.

Finite (not -inf) so that ``p * log p`` of a padding class is exactly ``0 * finite = 0`` instead of NaN.
"""


# [detail 37] MultiDiscrete action spaces: independent categorical heads, log-probs and entropies summed
class MultiCategoricalDistribution(Distribution):
    """Independent categorical heads, one per action dimension (MultiDiscrete action spaces).

    The MLP outputs ``sum(nvec)`` logits; they are gathered once into a ``[..., heads, max(nvec)]`` tensor padded with
    a large negative logit so every operation is one batched op over all heads.
    """

    def __init__(self, output_dim: int, nvec: list[int] | tuple[int, ...]) -> None:
        """Create the heads.

        Args:
            output_dim: Number of action dimensions (heads); must equal ``len(nvec)``.
            nvec: Number of classes of every head.
        """
        super().__init__(output_dim)
        nvec = [int(n) for n in nvec]
        if len(nvec) != output_dim:
            raise ValueError(f"nvec has {len(nvec)} heads but the action dimension (output_dim) is {output_dim}.")
        if any(n < 1 for n in nvec):
            raise ValueError(f"nvec entries must be >= 1, got {nvec}.")
        self.nvec = nvec
        max_n = max(nvec)
        offsets = torch.tensor([0] + nvec[:-1]).cumsum(0)
        class_ids = torch.arange(max_n)
        valid = class_ids.unsqueeze(0) < torch.tensor(nvec).unsqueeze(1)
        gather_index = torch.where(valid, offsets.unsqueeze(1) + class_ids, torch.zeros_like(class_ids))
        self.register_buffer("_gather_index", gather_index.flatten(), persistent=False)
        self.register_buffer("_valid", valid, persistent=False)
        self._logits: torch.Tensor | None = None
        self._log_probs: torch.Tensor | None = None

    def _pad(self, mlp_output: torch.Tensor) -> torch.Tensor:
        padded = mlp_output.index_select(-1, self._gather_index).unflatten(-1, self._valid.shape)
        return padded.masked_fill(~self._valid, _PAD_LOGIT)

    def update(self, mlp_output: torch.Tensor) -> None:
        """Build the per-head log-probabilities from the MLP logits."""
        self._logits = self._pad(mlp_output)
        self._log_probs = torch.log_softmax(self._logits, dim=-1)

    def sample(self) -> torch.Tensor:
        """Sample one class a head with the Gumbel-max trick (one batched op, no host sync)."""
        uniform = torch.rand_like(self._log_probs).clamp_(1e-20, 1.0)
        return (self._log_probs - torch.log(-torch.log(uniform))).argmax(dim=-1).to(self._log_probs.dtype)

    def deterministic_output(self, mlp_output: torch.Tensor) -> torch.Tensor:
        """Most likely class of every head."""
        return self._pad(mlp_output).argmax(dim=-1).to(mlp_output.dtype)

    def as_deterministic_output_module(self) -> nn.Module:
        """Export module computing the per-head argmax."""
        return _ArgmaxOutput(self._gather_index, self._valid)

    @property
    def input_dim(self) -> int:
        """Number of logits the MLP must output."""
        return sum(self.nvec)

    @property
    def _probs(self) -> torch.Tensor:
        return self._log_probs.exp()

    @property
    def mean(self) -> torch.Tensor:
        """Expected class index of every head."""
        class_ids = torch.arange(self._log_probs.shape[-1], device=self._log_probs.device, dtype=self._probs.dtype)
        return (self._probs * class_ids).sum(-1)

    @property
    def std(self) -> torch.Tensor:
        """Standard deviation of the class index of every head (a spread measure for logging)."""
        class_ids = torch.arange(self._log_probs.shape[-1], device=self._log_probs.device, dtype=self._probs.dtype)
        second_moment = (self._probs * class_ids.square()).sum(-1)
        return (second_moment - self.mean.square()).clamp_min(0.0).sqrt()

    @property
    def entropy(self) -> torch.Tensor:
        """Entropy summed over heads."""
        return -(self._probs * self._log_probs).sum(dim=(-2, -1))

    @property
    def params(self) -> tuple[torch.Tensor, ...]:
        """Padded logits (enough to rebuild the distribution for the KL)."""
        return (self._logits,)

    def log_prob(self, outputs: torch.Tensor) -> torch.Tensor:
        """Log-probability of the class indices ``outputs`` (float, ``[..., heads]``), summed over heads."""
        index = outputs.long().unsqueeze(-1)
        return self._log_probs.gather(-1, index).squeeze(-1).sum(-1)

    def kl_divergence(self, old_params: tuple[torch.Tensor, ...], new_params: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """KL(old || new) summed over heads."""
        old_log_probs = torch.log_softmax(old_params[0], dim=-1)
        new_log_probs = torch.log_softmax(new_params[0], dim=-1)
        return (old_log_probs.exp() * (old_log_probs - new_log_probs)).sum(dim=(-2, -1))


class CategoricalDistribution(MultiCategoricalDistribution):
    """One categorical head (Discrete action spaces): the action is one float column holding the class index."""

    def __init__(self, output_dim: int, num_classes: int) -> None:
        """Create the head.

        Args:
            output_dim: Action dimension; must be 1 (the class index).
            num_classes: Number of discrete actions.
        """
        if output_dim != 1:
            raise ValueError(f"CategoricalDistribution needs a 1-dimensional action (the index), got {output_dim}.")
        super().__init__(output_dim, [num_classes])


class _ArgmaxOutput(nn.Module):
    """Export-friendly per-head argmax over the padded logits."""

    def __init__(self, gather_index: torch.Tensor, valid: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("gather_index", gather_index.clone())
        self.register_buffer("valid", valid.clone())
        self.pad_logit = _PAD_LOGIT

    def forward(self, mlp_output: torch.Tensor) -> torch.Tensor:
        padded = mlp_output.index_select(-1, self.gather_index)
        padded = padded.unflatten(-1, (self.valid.shape[0], self.valid.shape[1]))
        padded = padded.masked_fill(~self.valid, self.pad_logit)
        return padded.argmax(dim=-1).to(mlp_output.dtype)
