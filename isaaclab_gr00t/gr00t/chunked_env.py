"""Execute several actions of a chunk per policy decision (RLinf executes 5 of GR00T's 16).

With ``execute_steps = k`` the PPO action is ``k`` env actions, concatenated (see :class:`ActionAdapter`); one PPO
transition then spans ``k`` env steps, its reward is their sum, and its log-probability is that of the whole
executed chunk. Rewards after an episode ends inside the chunk are dropped. The environment resets itself, so the
chunk's remaining actions already act in the next episode; the observation returned is the one after all ``k``
steps. Use ``gamma ** k`` per PPO step to keep the same horizon. :class:`~.runner.GR00TRunner` wraps the env and the
inference policy; the actor's :class:`~.action_adapter.ActionAdapter` checks ``k`` against its chunk.
"""

from __future__ import annotations

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from ..envs import VecEnvWrapper


class ChunkedActionEnv(VecEnvWrapper):
    """rsl_rl VecEnv wrapper whose action is ``execute_steps`` consecutive actions of the wrapped env."""

    def __init__(self, env: VecEnv, execute_steps: int) -> None:
        """Wrap ``env`` so that one step executes ``execute_steps`` (>= 1) of its actions."""
        super().__init__(env)
        self.execute_steps = execute_steps
        self.num_actions = env.num_actions * execute_steps

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        """Run the ``execute_steps`` actions in order; sum rewards until the episode ends."""
        total_reward = torch.zeros(self.num_envs, device=actions.device)
        ended = torch.zeros(self.num_envs, dtype=torch.bool, device=actions.device)
        timed_out = torch.zeros_like(ended)
        for action in actions.unflatten(1, (self.execute_steps, -1)).unbind(1):
            obs, rewards, dones, extras = self.env.step(action)
            total_reward += rewards * (~ended)
            if "time_outs" in extras:
                timed_out |= extras["time_outs"].bool() & ~ended
            ended |= dones.bool()
        if "time_outs" in extras:
            extras = {**extras, "time_outs": timed_out}
        return obs, total_reward, ended.long(), extras


class ChunkedInferencePolicy(torch.nn.Module):
    """Play a chunked policy in an env that takes one action a step (``isaaclab play``'s loop).

    Every ``execute_steps`` calls it asks ``policy`` for a chunk of ``execute_steps`` actions and then returns them
    one by one, as :class:`ChunkedActionEnv` executed them during training (an env that resets inside a chunk
    receives the rest of it, as in training).
    """

    def __init__(self, policy, execute_steps: int) -> None:
        """Wrap ``policy`` (obs -> ``(N, execute_steps * A)``)."""
        super().__init__()
        self.policy = policy
        self.execute_steps = execute_steps
        self._chunk: torch.Tensor | None = None
        self._index = 0

    def forward(self, obs: TensorDict) -> torch.Tensor:
        """The next action of the current chunk, ``(N, A)``; a new chunk every ``execute_steps`` calls."""
        if self._index == 0:
            self._chunk = self.policy(obs).unflatten(1, (self.execute_steps, -1))
        action = self._chunk[:, self._index]
        self._index = (self._index + 1) % self.execute_steps
        return action

    def reset(self, dones: torch.Tensor | None = None) -> None:
        """Forward to the wrapped policy (the chunk schedule is shared by all envs and keeps running)."""
        reset = getattr(self.policy, "reset", None)
        if reset is not None:
            reset(dones)
