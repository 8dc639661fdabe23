"""How PPO37's update issues its kernels: eagerly with host-checked steps, on the device, or from a CUDA graph.

All modes compute the same numbers (tests/ppo/test_update_modes.py, gpu_tests/test_cuda_graph_update.py); they differ
in how the optimizer is built, where the learning rate lives and how a non-finite step is skipped:

- :class:`EagerUpdate`: the host reads whether each step is finite before stepping (one sync per optimizer step),
  and raises at the step that completes ``max_consecutive_nonfinite_updates`` skipped steps.
- :class:`DeviceUpdate`: no host sync inside the update. Fused Adam reads its learning rate from a device tensor and
  skips a non-finite step by itself (it is handed the skip flag as ``found_inf``, the protocol of
  ``torch.amp.GradScaler``); too many skipped steps in a row raise at the end of the update.
- :class:`GraphUpdate`: :class:`DeviceUpdate` with each minibatch step replayed from a CUDA graph
  (:class:`~isaaclab_gr00t.ppo.device_update.CapturedMinibatchStep`).

:func:`resolve_update_mode` turns the ``update_mode`` setting ("auto" included) into one of them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from .device_update import CapturedMinibatchStep, preinitialize_adam_state
from .lr_schedule import DeviceLearningRate, FixedSchedule, HostLearningRate

UPDATE_MODES = ("auto", "eager", "device", "graph")
"""Accepted values of the ``update_mode`` setting."""


def nonfinite_error(run: int, limit: int) -> RuntimeError:
    """The error for ``run`` consecutive non-finite optimizer steps."""
    return RuntimeError(
        f"PPO37: {run} consecutive optimizer steps had a non-finite loss or gradient"
        f" (max_consecutive_nonfinite_updates = {limit}); those steps left the weights unchanged. Check"
        " observations/rewards for NaN/inf and the learning rate."
    )


class EagerUpdate:
    """Each optimizer step is checked on the host and taken only when its loss and gradient are finite."""

    name = "eager"
    replays_graphs = False
    """Whether the update runs from CUDA graphs (the runner then replays the rollout from graphs too)."""

    def optimizer_kwargs(self, optimizer: str, device: str) -> dict:
        """Implementation flags of the optimizer: fused kernels on CUDA where PyTorch has them, else foreach."""
        if torch.device(device).type != "cuda":
            return {"foreach": True}
        return {"fused" if optimizer in ("adam", "adamw", "sgd") else "foreach": True}

    def learning_rate(self, optimizer: torch.optim.Optimizer, initial: float, device: str) -> HostLearningRate:
        """Where the learning rate lives in this mode."""
        return HostLearningRate(optimizer, initial)

    def prepare_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Nothing to prepare: the eager step needs no state in advance."""

    def minibatch_runner(self, step: Callable[[torch.Tensor], None], minibatch_size: int,
                         device: str) -> Callable[[torch.Tensor], None]:
        """What the update calls with each minibatch's indices: here the step itself."""
        return step

    def optimizer_step(self, optimizer: torch.optim.Optimizer, finite: torch.Tensor, schedule: FixedSchedule,
                       kl: torch.Tensor | None, nonfinite_run: torch.Tensor, limit: int) -> None:
        """Step when ``finite`` (one host read); else drop the gradient, raising at the ``limit``-th skip in a row."""
        if bool(finite):
            optimizer.step()
            schedule.after_step(kl, finite)
            return
        optimizer.zero_grad(set_to_none=True)
        if int(nonfinite_run) >= limit:
            raise nonfinite_error(int(nonfinite_run), limit)

    def release_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        """After the update: free the gradients, so the rollout does not hold a float32 copy of every trained
        weight (2.8 GiB for the trained part of GR00T N1.5's action head)."""
        optimizer.zero_grad(set_to_none=True)

    def for_compiled_models(self) -> EagerUpdate:
        """The mode to use once the models are wrapped by ``torch.compile``."""
        return self

    def forget_captures(self) -> None:
        """The optimizer's state tensors were replaced (a checkpoint was loaded): nothing was captured."""


class DeviceUpdate(EagerUpdate):
    """Every optimizer step is taken by fused Adam, which leaves weights, moments and step count untouched where
    the skip flag is set; nothing in the update reads the device."""

    name = "device"

    def __init__(self, device: str, skip: torch.Tensor | None = None) -> None:
        self.skip = torch.zeros((), device=device) if skip is None else skip
        """1.0 where the current optimizer step must be skipped; fused Adam reads it as ``found_inf``."""

    def optimizer_kwargs(self, optimizer: str, device: str) -> dict:
        """Fused Adam; capturable keeps its step counters on the GPU, as a CUDA graph needs."""
        return {"fused": True, "capturable": torch.device(device).type == "cuda"}

    def learning_rate(self, optimizer: torch.optim.Optimizer, initial: float, device: str) -> DeviceLearningRate:
        return DeviceLearningRate(optimizer, initial, device)

    def prepare_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Create Adam's state now (fixed addresses) and hand it the skip flag."""
        preinitialize_adam_state(optimizer)
        optimizer.found_inf = self.skip

    def optimizer_step(self, optimizer: torch.optim.Optimizer, finite: torch.Tensor, schedule: FixedSchedule,
                       kl: torch.Tensor | None, nonfinite_run: torch.Tensor, limit: int) -> None:
        """Step with the skip flag set where not ``finite``; the run of skipped steps is checked after the update."""
        self.skip.copy_(~finite)
        optimizer.step()
        schedule.after_step(kl, finite)


class GraphUpdate(DeviceUpdate):
    """:class:`DeviceUpdate` with the whole minibatch step recorded once into a CUDA graph and replayed."""

    name = "graph"
    replays_graphs = True

    def __init__(self, device: str) -> None:
        super().__init__(device)
        self.captured_step: CapturedMinibatchStep | None = None
        """The minibatch step's graph, made at the first update (warm-up steps, then capture)."""

    def minibatch_runner(self, step: Callable[[torch.Tensor], None], minibatch_size: int,
                         device: str) -> CapturedMinibatchStep:
        if self.captured_step is None:
            self.captured_step = CapturedMinibatchStep(step, minibatch_size, torch.device(device))
        return self.captured_step

    def release_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        """Keep them: the captured step reads and writes the gradients at the addresses it was recorded with."""

    def for_compiled_models(self) -> DeviceUpdate:
        """Compiled models are not captured: the same device-resident update, without the graph."""
        return DeviceUpdate(str(self.skip.device), skip=self.skip)

    def forget_captures(self) -> None:
        """The optimizer's state tensors were replaced: capture again at the next update."""
        self.captured_step = None


def resolve_update_mode(update_mode: str, optimizer: str, actor: nn.Module, critic: nn.Module, device: str,
                        is_recurrent: bool, is_multi_gpu: bool) -> EagerUpdate:
    """The mode object for ``update_mode``; refuses a mode that cannot run here, naming why.

    "auto", for rsl_rl's feed-forward models with Adam in one process: "graph" on CUDA, "device" elsewhere (on the
    CPU its fused Adam step costs fewer ops than the eager one); else "eager".
    """
    plain_models = all(type(model).__module__.startswith("rsl_rl.") for model in (actor, critic))
    on_cuda = torch.device(device).type == "cuda"
    capture_blockers = [
        (is_recurrent, "recurrent minibatches have data-dependent shapes"),
        (is_multi_gpu, "the gradient all-reduce runs outside the graph"),
        (not plain_models, "only rsl_rl's own MLP/CNN models are captured"),
    ]
    device_blockers = [(optimizer not in ("adam", "adamw"), f"optimizer '{optimizer}' is not Adam/AdamW")]
    if update_mode == "auto":
        if any(blocked for blocked, _ in capture_blockers + device_blockers):
            return EagerUpdate()
        return GraphUpdate(device) if on_cuda else DeviceUpdate(device)
    if update_mode == "eager":
        return EagerUpdate()
    graph_blockers = [(not on_cuda, "the device is not CUDA"), *capture_blockers]
    for blocked, reason in device_blockers + (graph_blockers if update_mode == "graph" else []):
        if blocked:
            raise ValueError(f"PPO37 config field 'update_mode' = {update_mode!r} is not possible here: {reason}.")
    return GraphUpdate(device) if update_mode == "graph" else DeviceUpdate(device)
