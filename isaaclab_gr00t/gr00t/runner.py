"""The GR00T plug-in's runner: PPO37Runner plus action-chunk execution and progressive unfreezing.

The GR00T actor predicts a chunk of actions and executes its first ``execute_steps`` (RLinf executes 5 of 16) per
decision. This runner is what knows it: it reads ``execute_steps`` from the actor's cfg, trains on the env wrapped in
:class:`~.chunked_env.ChunkedActionEnv` (one PPO step executes the chunk) and plays through
:class:`~.chunked_env.ChunkedInferencePolicy` (one env action a call, as ``isaaclab play`` steps the env). The
actor checks the value against its chunk (:class:`~.action_adapter.ActionAdapter`). Everything else is
:class:`~isaaclab_gr00t.runner.PPO37Runner`'s, so the GR00T agent presets name ``isaaclab_gr00t.gr00t:GR00TRunner``
as their runner ``class_name``.

Before each learning iteration it brings the actor's unfreeze stages that are due into training
(:mod:`~.unfreeze`), from the iteration number, which checkpoints keep: a resumed run continues the schedule.
"""

from __future__ import annotations

import torch.nn as nn
from rsl_rl.env import VecEnv

from ..runner import PPO37Runner
from .chunked_env import ChunkedActionEnv, ChunkedInferencePolicy


class GR00TRunner(PPO37Runner):
    """PPO37Runner that executes ``execute_steps`` actions of the GR00T actor's chunk per decision and follows its
    unfreeze schedule."""

    def __init__(self, env: VecEnv, train_cfg: dict, log_dir: str | None = None, device: str = "cpu") -> None:
        """Build like :class:`PPO37Runner`, on the env chunked by the actor cfg's ``execute_steps``."""
        self.execute_steps = train_cfg["actor"]["execute_steps"]
        if self.execute_steps > 1:
            env = ChunkedActionEnv(env, self.execute_steps)
        super().__init__(env, train_cfg, log_dir, device)

    def start_iteration(self, iteration: int) -> None:
        """Unfreeze the actor's stages due by ``iteration`` (all of them up to it, after a resume)."""
        for name in self.alg.actor.unfreeze_due(iteration):
            print(f"[isaaclab_gr00t] iteration {iteration}: parameter group '{name}' trains from now on")

    def get_inference_policy(self, device: str | None = None) -> nn.Module:
        """The actor's policy; with chunks, one env action a call (``isaaclab play`` steps the env)."""
        policy = super().get_inference_policy(device)
        if self.execute_steps == 1:
            return policy
        return ChunkedInferencePolicy(policy, self.execute_steps)
