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
        # torch.full launches a fill kernel; torch.tensor(value, device=cuda) would copy from pageable host memory,
        # which synchronizes the stream, and this runs once per env step for reward scaling.
        batch_count = torch.full((), float(x.shape[0]), dtype=torch.float64, device=x.device)
        batch_sum = x.sum(0)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(batch_count)
            dist.all_reduce(batch_sum)
        batch_mean = batch_sum / batch_count.to(x.dtype)
        batch_sq_dev = (x - batch_mean).square().sum(0)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(batch_sq_dev)
        batch_var = batch_sq_dev / batch_count.to(x.dtype)

        total = self.count + batch_count
        delta = batch_mean - self.mean
        w_old = (self.count / total).to(x.dtype)
        w_new = (batch_count / total).to(x.dtype)
        self.var.copy_(w_old * self.var + w_new * batch_var + delta.square() * w_old * w_new)
        self.mean.add_(delta * w_new)
        self.count.copy_(total)


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
