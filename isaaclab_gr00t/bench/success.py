"""Whether an episode succeeded, decided from what the task's env exposes: the one place that defines success.

- Tasks with a reward term that keeps a sticky per-env ``succeeded`` flag (Isaac Lab's lift ``success_reward``,
  so ``GR00T-Franka-Lift`` and ``GR00T-Franka-Lift-Camera``): the episode succeeded if the object reached the
  commanded pose, in contact with the fingers, at any step. The flag is cleared when the env resets, which happens
  inside ``step()`` before the caller sees the episode end, so :class:`StickyTermSuccess` reads it just before.
- Every other task (the cartpoles, ant, humanoid: tasks that end early only on failure): the episode succeeded if
  it ran to its time limit (``extras["time_outs"]``) rather than being terminated.
"""

from __future__ import annotations

import torch


class TimeLimitSuccess:
    """Success = the episode ended by its time limit, not by a termination."""

    description = "ran to its time limit without termination"

    def ended(self, dones: torch.Tensor, extras: dict) -> torch.Tensor:
        """Per env, whether its episode succeeded; meaningful where ``dones`` is set."""
        if "time_outs" not in extras:
            raise KeyError("the env's step() extras have no 'time_outs': success by time limit cannot be told")
        return extras["time_outs"].bool() & dones


class StickyTermSuccess:
    """Success = the reward term's sticky ``succeeded`` flag was set when the episode ended."""

    def __init__(self, name: str, term) -> None:
        """Keep a copy of ``term.succeeded`` taken whenever the env resets the term (wraps ``term.reset``)."""
        self.description = f"reward term '{name}' flagged success during the episode"
        self.term = term
        self.at_reset = torch.zeros_like(term.succeeded)
        reset = term.reset

        def reset_and_keep(env_ids=None):
            index = slice(None) if env_ids is None else env_ids
            self.at_reset[index] = term.succeeded[index]
            reset(env_ids)

        term.reset = reset_and_keep

    def ended(self, dones: torch.Tensor, extras: dict) -> torch.Tensor:
        return self.at_reset & dones


def success_rule(env) -> TimeLimitSuccess | StickyTermSuccess:
    """The success rule of an Isaac Lab env (any wrapper around it); see the module docstring."""
    unwrapped = env.unwrapped
    reward_manager = getattr(unwrapped, "reward_manager", None)
    if reward_manager is not None:
        for name in reward_manager.active_terms:
            term = reward_manager.get_term_cfg(name).func
            if isinstance(getattr(term, "succeeded", None), torch.Tensor):
                return StickyTermSuccess(name, term)
    return TimeLimitSuccess()
