"""Whether an episode succeeded, decided from what the task's env exposes: the one place that defines success.

- Tasks with a reward term that keeps a sticky per-env ``succeeded`` flag (Isaac Lab's lift ``success_reward``,
  so ``GR00T-Franka-Lift`` and ``GR00T-Franka-Lift-Camera``): the episode succeeded if the object reached the
  commanded pose, in contact with the fingers, at any step. The flag is cleared when the env resets, which happens
  inside ``step()`` before the caller sees the episode end, so :class:`StickyTermSuccess` reads it just before.
- The cartpoles: the episode ran to its time limit with the pole upright (within 12 degrees, gym's CartPole bound) at
  its last step. Isaac Lab 3.0's cartpoles terminate only when the cart leaves its track, so a pole that fell and
  swings below the cart also runs to the time limit, with a negative return: the time limit alone is not success.
- Every other task (ant, humanoid: tasks that end early only on failure): the episode succeeded if it ran to its
  time limit (``extras["time_outs"]``) rather than being terminated.

Each rule is called with :meth:`before_step` before every env step and :meth:`ended` after it.
"""

from __future__ import annotations

import math

import torch

UPRIGHT_ANGLE = 12.0 * math.pi / 180.0
"""Largest pole angle from vertical, in radians, of a balanced cartpole (gym's CartPole termination bound)."""


class TimeLimitSuccess:
    """Success = the episode ended by its time limit, not by a termination."""

    description = "ran to its time limit without termination"

    def before_step(self) -> None:
        """Nothing to observe before a step."""

    def ended(self, dones: torch.Tensor, extras: dict) -> torch.Tensor:
        """Per env, whether its episode succeeded; meaningful where ``dones`` is set."""
        if "time_outs" not in extras:
            raise KeyError("the env's step() extras have no 'time_outs': success by time limit cannot be told")
        return extras["time_outs"].bool() & dones


class UprightAtTimeLimitSuccess(TimeLimitSuccess):
    """Success = the episode ran to its time limit with the pole upright at its last step (Isaac Lab cartpoles)."""

    description = f"ran to its time limit with the pole within {math.degrees(UPRIGHT_ANGLE):.0f} degrees of upright"

    def __init__(self, cartpole_env) -> None:
        """Read the pole angle of ``cartpole_env`` (an unwrapped Isaac Lab cartpole env) before every step."""
        self.env = cartpole_env
        self.upright = torch.zeros(cartpole_env.num_envs, dtype=torch.bool, device=cartpole_env.device)

    def before_step(self) -> None:
        """Whether each pole is upright now: the state of the episode's last step when the step ends it."""
        angle = self.env.cartpole.data.joint_pos.torch[:, self.env._pole_dof_idx[0]]
        wrapped = torch.remainder(angle + math.pi, 2.0 * math.pi) - math.pi
        self.upright.copy_(wrapped.abs() <= UPRIGHT_ANGLE)

    def ended(self, dones: torch.Tensor, extras: dict) -> torch.Tensor:
        return super().ended(dones, extras) & self.upright


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

    def before_step(self) -> None:
        """Nothing to observe before a step: the flag is copied when the env resets the term."""

    def ended(self, dones: torch.Tensor, extras: dict) -> torch.Tensor:
        return self.at_reset & dones


SuccessRule = TimeLimitSuccess | UprightAtTimeLimitSuccess | StickyTermSuccess


def success_rule(env) -> SuccessRule:
    """The success rule of an Isaac Lab env (any wrapper around it); see the module docstring."""
    unwrapped = env.unwrapped
    reward_manager = getattr(unwrapped, "reward_manager", None)
    if reward_manager is not None:
        for name in reward_manager.active_terms:
            term = reward_manager.get_term_cfg(name).func
            if isinstance(getattr(term, "succeeded", None), torch.Tensor):
                return StickyTermSuccess(name, term)
    if hasattr(unwrapped, "cartpole") and hasattr(unwrapped, "_pole_dof_idx"):
        return UprightAtTimeLimitSuccess(unwrapped)
    return TimeLimitSuccess()
