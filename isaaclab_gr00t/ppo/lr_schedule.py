"""PPO37's learning rate: where it lives (host or device) and how the configured schedule moves it.

Every parameter group keeps its own ratio to the base learning rate (its ``"base_lr"`` over the initial one), so a
model's ``optimizer_param_groups`` hook can give, e.g., a backbone a tenth of the head's rate and every schedule keeps
that ratio.

- :class:`HostLearningRate` (eager updates): the rates are Python floats, changed between optimizer steps.
- :class:`DeviceLearningRate` (device and graph updates): the rates are device tensors that fused Adam reads and the
  adaptive rule rewrites in place, so a CUDA graph replays them at fixed addresses and nothing syncs the host.
- :class:`LinearSchedule` anneals to 0 over ``lr_anneal_iterations`` updates (detail 4); :class:`AdaptiveSchedule` is
  rsl_rl's KL-adaptive rule; :class:`FixedSchedule` keeps the rate.
"""

from __future__ import annotations

import torch


class HostLearningRate:
    """The base learning rate and every parameter group's rate as Python floats."""

    def __init__(self, optimizer: torch.optim.Optimizer, initial: float) -> None:
        self.optimizer = optimizer
        self.initial = initial
        """The base rate the groups' ``"base_lr"`` belong to (restored from checkpoints)."""
        self.value = initial

    def set(self, value: float) -> None:
        """Set the base rate; every group follows with its own ratio."""
        self.value = value
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * (value / self.initial)

    def adapt(self, kl: torch.Tensor, finite: torch.Tensor, desired_kl: float, bounds: tuple[float, float]) -> None:
        """rsl_rl's KL-adaptive rule after an optimizer step; the step was taken only if ``finite``."""
        if not bool(finite):
            return
        kl = float(kl)
        low, high = bounds
        if kl > 2.0 * desired_kl:
            self.set(max(low, self.value / 1.5))
        elif 0.0 < kl < 0.5 * desired_kl:
            self.set(min(high, self.value * 1.5))

    def device_metrics(self) -> dict[str, torch.Tensor]:
        """Nothing to read from the device: the rate is on the host."""
        return {}

    def read(self, host_metrics: dict[str, float]) -> None:
        """Nothing to take from the update's metrics."""

    def bind(self) -> None:
        """The optimizer's state was replaced: its groups keep the checkpoint's float rates."""


class DeviceLearningRate:
    """The base learning rate and every parameter group's rate as device tensors, changed in place.

    :attr:`value` is the host copy: the rate set last from the host, or the device value read with the update's
    metrics (the adaptive rule changes it on the device during the update).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, initial: float, device: str) -> None:
        self.optimizer = optimizer
        self.initial = initial
        self.value = initial
        self.tensor = torch.tensor(initial, device=device)
        self.bind()

    def bind(self) -> None:
        """Give every parameter group a device tensor rate (its current value), e.g. after a checkpoint's state."""
        for group in self.optimizer.param_groups:
            group["lr"] = torch.tensor(float(group["lr"]), device=self.tensor.device)
        self.tensor.fill_(self.value)

    def set(self, value: float) -> None:
        """Set the base rate in place (CUDA graphs read it at a fixed address); the groups follow."""
        self.value = value
        self.tensor.fill_(value)
        for group in self.optimizer.param_groups:
            group["lr"].fill_(group["base_lr"] * (value / self.initial))

    def adapt(self, kl: torch.Tensor, finite: torch.Tensor, desired_kl: float, bounds: tuple[float, float]) -> None:
        """:meth:`HostLearningRate.adapt` computed on the device (no host sync); unchanged after a skipped step."""
        low, high = bounds
        lowered = torch.clamp_min(self.tensor / 1.5, low)
        raised = torch.clamp_max(self.tensor * 1.5, high)
        adapted = torch.where(kl > 2.0 * desired_kl, lowered,
                              torch.where((kl > 0.0) & (kl < 0.5 * desired_kl), raised, self.tensor))
        self.tensor.copy_(torch.where(finite, adapted, self.tensor))
        for group in self.optimizer.param_groups:
            group["lr"].copy_(self.tensor * (group["base_lr"] / self.initial))

    def device_metrics(self) -> dict[str, torch.Tensor]:
        """The rate, read with the update's other metrics."""
        return {"learning_rate": self.tensor}

    def read(self, host_metrics: dict[str, float]) -> None:
        """Take the host copy of the rate from the update's metrics."""
        self.value = host_metrics["learning_rate"]


LearningRate = HostLearningRate | DeviceLearningRate


class FixedSchedule:
    """A constant learning rate."""

    needs_kl = False
    """Whether each optimizer step must compute the analytic KL for :meth:`after_step`."""

    def __init__(self, rate: LearningRate, desired_kl: float | None, bounds: tuple[float, float]) -> None:
        self.rate = rate
        self.desired_kl = desired_kl
        self.bounds = bounds

    def start_update(self, update_count: int, horizon: int | None) -> None:
        """Before the ``update_count``-th update (0, 1, ...)."""

    def after_step(self, kl: torch.Tensor | None, finite: torch.Tensor) -> None:
        """After an optimizer step (skipped where not ``finite``)."""


class LinearSchedule(FixedSchedule):
    """[detail 4] linear annealing: the k-th update (k = 0, 1, ...) uses lr_0 * (1 - k / K), K = ``horizon``."""

    def start_update(self, update_count: int, horizon: int | None) -> None:
        self.rate.set(self.rate.initial * max(0.0, 1.0 - update_count / horizon))


class AdaptiveSchedule(FixedSchedule):
    """rsl_rl's KL-adaptive rule: divide by 1.5 above 2 * desired_kl, multiply by 1.5 below desired_kl / 2.

    The KL is the analytic KL(old || new) of the minibatch, all-reduced so every rank takes the same decision.
    """

    needs_kl = True

    def after_step(self, kl: torch.Tensor | None, finite: torch.Tensor) -> None:
        self.rate.adapt(kl, finite, self.desired_kl, self.bounds)


SCHEDULES: dict[str, type[FixedSchedule]] = {
    "fixed": FixedSchedule, "linear": LinearSchedule, "adaptive": AdaptiveSchedule,
}
"""The ``schedule`` config value -> its schedule class."""
