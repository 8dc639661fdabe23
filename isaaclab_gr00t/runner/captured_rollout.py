"""The learner's share of a rollout step, replayed from CUDA graphs.

Each environment step the learner runs ``act()`` (normalize, two MLPs, sample, log-prob, record the transition)
and ``process_env_step()`` plus the step statistics (reward scaling and clipping, time-out bootstrap, storage
writes, episode sums): a few hundred small kernels whose launch cost, not their arithmetic, sets the pace at
thousands of environments. Here each is recorded once into a CUDA graph and replayed with one launch.

rsl_rl's storage writes at a Python step counter, so there is one graph pair per step index, and one more graph for
the returns (GAE) at the end. The first rollout runs eagerly (it initializes everything a capture must not see for
the first time), the second captures each step's graphs and replays them, later rollouts only copy the
environment's outputs into the graphs' static inputs and replay. Every rollout, the capturing one included,
computes what the eager rollout would.

All graphs share one memory pool: they always replay in the order they were captured, so a graph may reuse the
scratch memory of the graphs before it (with a pool per graph, a camera task's CNN activations would be kept
once per step index).
"""

from __future__ import annotations

import torch
from tensordict import TensorDict

from .rollout import Rollout
from .rollout_statistics import RolloutStatistics

MAX_CAPTURED_STEPS = 128
"""Longer rollouts (e.g. 1 env x 2048 steps) are few-env settings where launches do not dominate: they stay eager."""


class CapturedRollout(Rollout):
    """:class:`Rollout`'s steps; eager in the first rollout, CUDA-graph replays afterwards."""

    def __init__(self, alg, statistics: RolloutStatistics, obs: TensorDict, num_steps: int) -> None:
        """Allocate the graphs' static inputs: the observation, reward, done and time-out buffers.

        Args:
            alg: The algorithm (its ``act``, ``process_env_step`` and ``storage`` are used).
            statistics: The runner's device-side episode statistics.
            obs: An observation from the environment, the template of the static observation buffer.
            num_steps: Steps per rollout; beyond ``MAX_CAPTURED_STEPS`` every rollout runs eagerly.
        """
        super().__init__(alg, statistics)
        self.enabled = num_steps <= MAX_CAPTURED_STEPS
        self.obs = obs.clone()
        self.next_obs = obs.clone()
        num_envs = obs.batch_size[0]
        self.rewards = torch.zeros(num_envs, device=obs.device)
        self.dones = torch.zeros(num_envs, dtype=torch.long, device=obs.device)
        self.time_outs = torch.zeros(num_envs, dtype=torch.bool, device=obs.device)
        self.act_graphs: list[torch.cuda.CUDAGraph | None] = [None] * num_steps
        self.store_graphs: list[torch.cuda.CUDAGraph | None] = [None] * num_steps
        self.returns_graph: torch.cuda.CUDAGraph | None = None
        self.memory_pool = torch.cuda.graph_pool_handle() if self.enabled and torch.cuda.is_available() else None
        self.actions: list[torch.Tensor | None] = [None] * num_steps
        self.rollouts_done = 0

    @property
    def replaying(self) -> bool:
        """Whether this rollout runs from graphs (captured now or before)."""
        return self.enabled and self.rollouts_done > 0

    def start(self, obs: TensorDict) -> TensorDict:
        """Begin a rollout from ``obs``; returns the observation the rollout's first ``act`` reads."""
        self.obs.update_(obs)
        return self.obs

    def act(self, step: int) -> torch.Tensor:
        """Actions for the current observation (and the transition recorded for ``store``)."""
        if not self.replaying:
            return self.alg.act(self.obs)
        if self.act_graphs[step] is None:
            self.act_graphs[step] = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.act_graphs[step], pool=self.memory_pool):
                self.actions[step] = self.alg.act(self.obs)
        self.act_graphs[step].replay()
        return self.actions[step]

    def store(self, step: int, obs: TensorDict, rewards: torch.Tensor, dones: torch.Tensor, extras: dict) -> TensorDict:
        """Record the step's outcome in storage and statistics; returns the observation for the next ``act``.

        The transition stores the observation ``act`` read (still in :attr:`obs`); ``obs`` here is the next one.
        """
        if not self.replaying:
            self.alg.process_env_step(obs, rewards, dones, extras)
            self.statistics.record_step(obs, rewards, dones)
            self.obs.update_(obs)
        else:
            self._replay_store(step, obs, rewards, dones, extras)
        self.statistics.record_extras(extras)
        return self.obs

    def _replay_store(self, step: int, obs: TensorDict, rewards: torch.Tensor, dones: torch.Tensor,
                      extras: dict) -> None:
        """:meth:`store` from step ``step``'s graph (captured at its first call), which also fills :attr:`obs`."""
        # one call copies the step's outputs into the graph's static inputs: a Python copy_ per tensor cost ~20 us of
        # host time each inside the rollout (measured on an H200), more than the graph replay itself
        obs_keys = self.next_obs.keys(include_nested=True, leaves_only=True)
        static_inputs = [*(self.next_obs[key] for key in obs_keys), self.rewards, self.dones]
        step_outputs = [*(obs[key] for key in obs_keys), rewards.view(-1), dones.view(-1)]
        static_extras = {}
        if "time_outs" in extras:
            static_inputs.append(self.time_outs)
            step_outputs.append(extras["time_outs"].view(-1))
            static_extras["time_outs"] = self.time_outs
        torch._foreach_copy_(static_inputs, step_outputs)
        if self.store_graphs[step] is None:
            self.store_graphs[step] = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.store_graphs[step], pool=self.memory_pool):
                self.alg.process_env_step(self.next_obs, self.rewards, self.dones, static_extras)
                self.statistics.record_step(self.next_obs, self.rewards, self.dones)
                self.obs.update_(self.next_obs)  # the next act's input, copied on the device
        self.store_graphs[step].replay()
        self.alg.storage.step = step + 1  # what add_transition would have counted, had its Python run

    def finish(self) -> None:
        """End the rollout: compute the returns and advantages of the stored transitions (the next rollout replays)."""
        if not self.replaying:
            self.alg.compute_returns(self.obs)
        else:
            if self.returns_graph is None:
                self.returns_graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(self.returns_graph, pool=self.memory_pool):
                    self.alg.compute_returns(self.obs)
            self.returns_graph.replay()
        self.rollouts_done += 1
