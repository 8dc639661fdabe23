"""What lets PPO37's update run without host syncs, and as a CUDA graph.

- :func:`preinitialize_adam_state` creates Adam's state before the first step, so a CUDA graph captures tensors at
  fixed addresses. A non-finite step is skipped by fused Adam itself: PPO37 hands it a device flag as ``found_inf``
  (the protocol of ``torch.amp.GradScaler``), and weights, moments and step count stay as they were. The eager
  guard instead reads the finite flag on the host before stepping (one sync per optimizer step).
- :class:`CapturedMinibatchStep` records one whole minibatch step (gather, forward, backward, gradient clip,
  guarded Adam step, metric accumulation) in a CUDA graph and replays it with a new minibatch index, so an update
  costs one graph launch per minibatch instead of hundreds of kernel launches.

Both only change *how* the kernels are issued, not what they compute: an update in "device" or "graph" mode gives
the numbers of the "eager" mode (tests/ppo/test_update_modes.py, gpu_tests/test_cuda_graph_update.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def preinitialize_adam_state(optimizer: torch.optim.Optimizer) -> None:
    """Create Adam/AdamW's per-parameter state now (as its first step would) so its tensors have fixed addresses.

    A CUDA graph needs the state to exist before the first step is taken.
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


def match_state_layout_to_params(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-parameter state tensor (Adam's moments) its parameter's memory layout (strides).

    ``load_state_dict`` keeps the layout the checkpoint was written with, e.g. channels-last moments of a CUDA run's
    CNN loaded into a CPU run's plain weights. Fused Adam pairs parameter and moments as flat memory (seen on the
    CPU), so mismatched strides would silently update each weight with another weight's moments.
    """
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                state[key] = torch.empty_like(param).copy_(value)


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
