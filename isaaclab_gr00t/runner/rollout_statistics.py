"""Per-iteration rollout statistics kept on the device, read by the host once per iteration.

Stock rsl_rl reads finished episodes back to the host every environment step (``nonzero()`` and
``.cpu()`` in ``Logger.process_env_step``) and checks for NaN with a host-side ``.any()`` every step
(``rsl_rl.utils.check_nan``). Each of those stalls the CPU until the GPU has drained its queue, so the
next step cannot be queued while the current one runs. Here every step only *queues* in-place kernels
into preallocated buffers; :meth:`RolloutStatistics.read` copies one small vector to the host once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tensordict import TensorDict


@dataclass
class IterationSummary:
    """What the host learns about one rollout (summed over ranks when distributed)."""

    episodes: int
    """Number of episodes that finished during the rollout."""

    mean_return: float
    """Mean undiscounted return of those episodes, intrinsic rewards included (NaN if none finished)."""

    mean_intrinsic_return: float
    """Mean sum of the intrinsic (RND) rewards of those episodes; 0 without RND (NaN if none finished)."""

    mean_length: float
    """Mean length in steps of those episodes (NaN if none finished)."""

    nonfinite: dict[str, int]
    """Count of non-finite (NaN or inf) values received from the environment, by signal name."""

    extras: dict[str, float]
    """Mean of each ``extras["log"]`` (or ``extras["episode"]``) entry over the rollout (this rank only)."""


class RolloutStatistics:
    """Episode returns/lengths, non-finite counts and env log extras, accumulated without host syncs.

    Returns and lengths follow stock rsl_rl's definitions: the return is the plain sum of the rewards the
    runner received, the length counts steps, and both restart when ``dones`` is set. Unlike stock rsl_rl,
    which averages the last 100 finished episodes, the means cover exactly the episodes that finished
    during the iteration being logged.
    """

    def __init__(self, num_envs: int, obs: TensorDict, device: str, count_nonfinite: bool = True) -> None:
        """Allocate every buffer once.

        Args:
            num_envs: Number of environments on this rank.
            obs: An observation from the environment, used for the names of its groups.
            device: Device of the rollout tensors.
            count_nonfinite: Whether to count NaN/inf entries of the observations and rewards (the runner's check);
                without, a step costs about half the kernels (the benchmark's return probe).
        """
        self.device = device
        self.count_nonfinite = count_nonfinite
        # rows: constant 1, running return, running length, running intrinsic return; one matrix-vector
        # product with the done mask then sums all four over the episodes that just ended
        self.running = torch.zeros(4, num_envs, device=device)
        self.running[0] = 1.0
        self.done_mask = torch.zeros(num_envs, device=device)
        self.signal_names = [f"observation group '{key}'" for key in obs.keys()] + ["rewards"]
        # [episode count, return sum, length sum, intrinsic return sum, non-finite count per signal]
        self.totals = torch.zeros(4 + len(self.signal_names), device=device)
        self.nonfinite = self.totals[4:]
        # per logged key: the sum of its tensor values on the device; the sum of its plain numbers and the count
        # of all its values on the host (both known there without a kernel)
        self.extras: dict[str, torch.Tensor] = {}
        self.extras_on_host: dict[str, list[float]] = {}

    def record(
        self,
        obs: TensorDict,
        rewards: torch.Tensor,
        dones: torch.Tensor,
        extras: dict,
        intrinsic_rewards: torch.Tensor | None = None,
    ) -> None:
        """Add one environment step; queues device work only."""
        self.record_step(obs, rewards, dones, intrinsic_rewards)
        self.record_extras(extras)

    def record_step(
        self, obs: TensorDict, rewards: torch.Tensor, dones: torch.Tensor, intrinsic_rewards: torch.Tensor | None = None
    ) -> None:
        """The fixed-shape part of :meth:`record` (returns, lengths, non-finite counts): CUDA-graph capturable."""
        if self.count_nonfinite:
            for index, tensor in enumerate(obs.values()):
                self.nonfinite[index] += torch.isfinite(tensor).logical_not_().sum()
            self.nonfinite[-1] += torch.isfinite(rewards).logical_not_().sum()

        self.running[1] += rewards
        self.running[2] += 1.0
        if intrinsic_rewards is not None:
            self.running[3] += intrinsic_rewards
        self.done_mask.copy_(dones)
        self.totals[:4].addmv_(self.running, self.done_mask)
        keep_mask = self.done_mask.neg_().add_(1.0)
        self.running[1:] *= keep_mask

    def record_extras(self, extras: dict) -> None:
        """The environment's ``extras["log"]`` (or ``extras["episode"]``) entries, whose keys vary by step."""
        info = extras.get("episode", extras.get("log"))
        if info:
            self._record_extras(info)

    def _record_extras(self, info: dict) -> None:
        """Sum and count each logged value; stock rsl_rl logs the mean over all values it received.

        A single-number tensor costs one kernel, a larger one two (its sum, then the add), a plain number none.
        """
        for key, value in info.items():
            on_host = self.extras_on_host.get(key)
            if on_host is None:  # first time this key is seen: the only allocation
                on_host = self.extras_on_host[key] = [0.0, 0]
                self.extras[key] = torch.zeros((), device=self.device)
            if isinstance(value, torch.Tensor):
                value = value.to(self.device, dtype=torch.float32)
                self.extras[key] += value if value.dim() == 0 else value.sum()
                on_host[1] += value.numel()
            else:
                on_host[0] += float(value)
                on_host[1] += 1

    def read(self, distributed: bool = False) -> IterationSummary:
        """Copy the totals to the host (the one sync of the rollout) and clear them for the next one.

        Args:
            distributed: Sum episode and non-finite totals over all ranks first, so every rank sees (and
                raises on) the same values; env extras stay per rank, as in stock rsl_rl.
        """
        if distributed:
            torch.distributed.all_reduce(self.totals)
        extra_keys = list(self.extras)
        host = torch.cat([self.totals, *(self.extras[key].view(1) for key in extra_keys)]).tolist()
        self.totals.zero_()
        for accumulator in self.extras.values():
            accumulator.zero_()

        episodes, return_sum, length_sum, intrinsic_sum = host[:4]
        nonfinite_counts = host[4 : 4 + len(self.signal_names)]
        extras = {}
        for key, device_sum in zip(extra_keys, host[4 + len(self.signal_names) :]):
            host_sum, count = self.extras_on_host[key]
            if count > 0:
                extras[key] = (device_sum + host_sum) / count
            self.extras_on_host[key] = [0.0, 0]
        return IterationSummary(
            episodes=round(episodes),
            mean_return=(return_sum + intrinsic_sum) / episodes if episodes > 0 else math.nan,
            mean_intrinsic_return=intrinsic_sum / episodes if episodes > 0 else math.nan,
            mean_length=length_sum / episodes if episodes > 0 else math.nan,
            nonfinite={name: round(n) for name, n in zip(self.signal_names, nonfinite_counts) if n > 0},
            extras=extras,
        )
