"""Running statistics and the clipped observation normalizer used by PPO37.

Follows the continuous-control details 28-29 of Huang et al. (ICLR 2022 blog track): observations are normalized by
a running mean/variance and clipped to ``[-clip, clip]``. Statistics are merged with the parallel variance formula of
Chan et al. ("Updating formulae and a pairwise algorithm for computing sample variances", 1979), starting from
``count=1e-4, mean=0, var=1`` like Gymnasium's ``RunningMeanStd``, and are averaged over all ranks when
``torch.distributed`` is initialized so every rank normalizes identically.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn as nn


class RunningMeanStd(nn.Module):
    """Running mean and (population) variance over the leading batch dimensions."""

    def __init__(self, shape: int | tuple[int, ...] | list[int] = ()) -> None:
        """Create statistics for samples of the given trailing ``shape``."""
        super().__init__()
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("var", torch.ones(shape))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    @torch.no_grad()
    @torch.jit.unused
    def update(self, x: torch.Tensor) -> None:
        """Merge a batch ``x`` of shape ``[..., *shape]`` into the statistics (in place, no host sync)."""
        x = x.reshape(-1, *self.mean.shape).to(self.mean.dtype)
        if dist.is_available() and dist.is_initialized():
            batch_var, batch_mean, batch_count = self._global_moments(x)
        else:
            batch_var, batch_mean = torch.var_mean(x, dim=0, correction=0)
            batch_count = float(x.shape[0])
        total = self.count + batch_count
        w_new = (batch_count / total).to(x.dtype)
        delta = batch_mean - self.mean
        # Chan et al.: var = (1 - w) var + w batch_var + w (1 - w) delta^2, with w = n_batch / n_total
        self.var.lerp_(batch_var + (1.0 - w_new) * delta.square(), w_new)
        self.mean.lerp_(batch_mean, w_new)
        self.count.copy_(total)

    @staticmethod
    def _global_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Population variance, mean and count of ``x`` over all ranks."""
        # torch.full launches a fill kernel; torch.tensor(value, device=cuda) would copy from pageable host memory,
        # which synchronizes the stream, and this runs once per env step for reward scaling.
        count = torch.full((), float(x.shape[0]), dtype=torch.float64, device=x.device)
        total = x.sum(0)
        dist.all_reduce(count)
        dist.all_reduce(total)
        mean = total / count.to(x.dtype)
        squared_deviation = (x - mean).square().sum(0)
        dist.all_reduce(squared_deviation)
        return squared_deviation / count.to(x.dtype), mean, count


class ClippedObsNormalizer(RunningMeanStd):
    """``clip((x - mean) / sqrt(var + eps), -clip, clip)``; a drop-in for rsl_rl's ``obs_normalizer`` slot.

    It lives inside the actor/critic, so exported policies (JIT/ONNX) and checkpoints carry the statistics.
    """

    def __init__(self, shape: int | tuple[int, ...] | list[int], clip: float | None = 10.0, eps: float = 1e-8) -> None:
        """Create the normalizer; ``clip=None`` normalizes without clipping."""
        super().__init__(shape)
        self.eps = float(eps)
        self.clip = float(clip) if clip is not None else float("inf")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize and clip."""
        normalized = (x - self.mean) / torch.sqrt(self.var + self.eps)
        return normalized.clamp(-self.clip, self.clip)
