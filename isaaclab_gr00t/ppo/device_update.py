"""What lets PPO37's update run without host syncs, and as a CUDA graph.

- :class:`NonfiniteRollback` undoes a non-finite optimizer step on the device: a snapshot of the parameters and the
  optimizer's state is taken before the step and written back where the step was not finite. The eager guard
  instead reads the finite flag on the host before stepping (one sync per optimizer step).
- :class:`CapturedMinibatchStep` records one whole minibatch step (gather, forward, backward, gradient clip,
  guarded Adam step, metric accumulation) in a CUDA graph and replays it with a new minibatch index, so an update
  costs one graph launch per minibatch instead of hundreds of kernel launches.

Both only change *how* the kernels are issued, not what they compute: an update in "device" or "graph" mode gives
the numbers of the "eager" mode (tests/ppo/test_update_modes.py, tests/gpu/test_cuda_graph_update.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def preinitialize_adam_state(optimizer: torch.optim.Optimizer) -> None:
    """Create Adam/AdamW's per-parameter state now (as its first step would) so its tensors have fixed addresses.

    A rollback snapshot and a CUDA graph both need the state to exist before the first step is taken.
    """
    for group in optimizer.param_groups:
        device_step = group.get("capturable") or group.get("fused")
        for param in group["params"]:
            if optimizer.state[param]:
                continue
            step_device = param.device if device_step else "cpu"
            optimizer.state[param] = {
                "step": torch.zeros((), dtype=torch.float32, device=step_device),
                "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
                "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format),
            }
            if group.get("amsgrad"):
                optimizer.state[param]["max_exp_avg_sq"] = torch.zeros_like(param)


class NonfiniteRollback:
    """Parameters and optimizer state restored, on the device, after a step whose loss or gradient was not finite."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        """Snapshot buffers for every trained parameter and every tensor of its optimizer state."""
        self.tensors = []
        for group in optimizer.param_groups:
            for param in group["params"]:
                self.tensors.append(param)
                self.tensors.extend(v for v in optimizer.state[param].values() if isinstance(v, torch.Tensor))
        self.snapshot = [tensor.detach().clone() for tensor in self.tensors]

    @torch.no_grad()
    def save(self) -> None:
        """Copy the current values into the snapshot."""
        torch._foreach_copy_(self.snapshot, [tensor.detach() for tensor in self.tensors])

    @torch.no_grad()
    def restore_unless(self, finite: torch.Tensor) -> None:
        """Write the snapshot back where ``finite`` (a 0-dim bool tensor) is False; no host sync."""
        for tensor, saved in zip(self.tensors, self.snapshot):
            tensor.detach().copy_(torch.where(finite.to(tensor.device), tensor.detach(), saved))


class CapturedMinibatchStep:
    """A minibatch step ``step_fn(index)`` replayed from a CUDA graph.

    The first ``warmup_steps`` calls run eagerly on a side stream (as CUDA graph capture requires: lazy
    initializations and autograd's stream bookkeeping happen there), the next call captures the step and replays it,
    later calls only copy the new index into the graph's static index buffer and replay. Every call is a real
    training step; capture itself computes nothing.
    """

    def __init__(self, step_fn: Callable[[torch.Tensor], None], index_size: int, device: torch.device,
                 warmup_steps: int = 3) -> None:
        """Prepare the static index buffer; nothing is captured until the warm-up calls are done."""
        self.step_fn = step_fn
        self.index = torch.zeros(index_size, dtype=torch.long, device=device)
        self.warmup_steps = warmup_steps
        self.calls = 0
        self.side_stream = torch.cuda.Stream(device=device)
        self.graph: torch.cuda.CUDAGraph | None = None

    def __call__(self, index: torch.Tensor) -> None:
        """Run one minibatch step on the samples ``index``."""
        self.index.copy_(index)
        if self.graph is not None:
            self.graph.replay()
        elif self.calls < self.warmup_steps:
            main_stream = torch.cuda.current_stream(self.index.device)
            self.side_stream.wait_stream(main_stream)
            with torch.cuda.stream(self.side_stream):
                self.step_fn(self.index)
            main_stream.wait_stream(self.side_stream)
        else:
            graph = torch.cuda.CUDAGraph()
            # the warm-up's stream: autograd's gradient accumulators remember the stream they were created on
            with torch.cuda.graph(graph, stream=self.side_stream):
                self.step_fn(self.index)
            self.graph = graph
            graph.replay()
        self.calls += 1
