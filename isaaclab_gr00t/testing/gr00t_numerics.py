"""The optimized GR00T path against the plain one on the same weights: how far apart their numbers are.

*Plain*: float32 weights, no autocast, every forward runs the whole model. *Optimized*: the frozen backbone in
bfloat16 with bfloat16 autocast on CUDA, and the update's forward replaying the backbone features stored by the
rollout instead of running the backbone again. Both share the rest: the actor's encoding handed to the critic and the
context's cross-attention keys/values computed once per observation. The tests (``tests/gr00t`` at tiny size on
the CPU, ``gpu_tests`` at full size on CUDA) bound the differences this module measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tensordict import TensorDict

from isaaclab_gr00t.gr00t import GR00TActor, GR00TCritic

GROUPS = {"actor": ["policy", "state"], "critic": ["critic"]}
"""Observation groups of :func:`camera_batch`'s actor and critic."""


@dataclass
class PathOutputs:
    """What PPO reads from the actor and critic of one path."""

    mean_actions: torch.Tensor
    """Deterministic actions of the rollout forward."""
    values: torch.Tensor
    """Critic values of the rollout forward."""
    update_log_prob: torch.Tensor
    """Log-probabilities of the reference actions, recomputed by the update's forward."""


def camera_batch(
    num_envs: int, image_size: int, state_dim: int, device: str | torch.device, views: int = 1
) -> TensorDict:
    """A camera task's observations (:data:`GROUPS`): ``views`` RGB views stacked on the channels as Isaac Lab's
    camera tasks give them (pixel / 255 - 0.5), a state vector for the actor and one for the critic."""
    generator = torch.Generator().manual_seed(0)
    return TensorDict(
        {
            "policy": torch.rand(num_envs, 3 * views, image_size, image_size, generator=generator) - 0.5,
            "state": torch.randn(num_envs, state_dim, generator=generator),
            "critic": torch.randn(num_envs, state_dim, generator=generator),
        },
        batch_size=[num_envs],
    ).to(device)


def build_pair(obs: TensorDict, action_dim: int, size: str) -> dict[str, tuple[GR00TActor, GR00TCritic]]:
    """``{"plain": ..., "optimized": ...}`` actor/critic pairs on ``obs``'s device with the same weights."""
    pairs = {}
    with obs.device:
        for name, dtype in (("plain", "float32"), ("optimized", "bfloat16")):
            torch.manual_seed(0)
            actor = GR00TActor(obs, GROUPS, "actor", action_dim, size=size, dtype=dtype, pixel_offset=0.5)
            critic = GR00TCritic(obs, GROUPS, "critic", 1, cnns=actor.cnns)
            pairs[name] = (actor, critic)
    plain_actor, plain_critic = pairs["plain"]
    optimized_actor, optimized_critic = pairs["optimized"]
    optimized_actor.load_state_dict(plain_actor.state_dict())  # the frozen weights, rounded to bfloat16
    optimized_critic.load_state_dict(plain_critic.state_dict())
    return pairs


def run_path(
    actor: GR00TActor, critic: GR00TCritic, obs: TensorDict, actions: torch.Tensor, replay: bool
) -> PathOutputs:
    """Rollout forward (mean actions, values, stored extras), then the update's forward on ``actions``; ``replay``
    reuses the stored backbone features (the start noise is replayed either way)."""
    with torch.no_grad():
        torch.manual_seed(1)  # the same start noise on both paths
        mean_actions = actor(obs)
        torch.manual_seed(2)
        actor(obs, stochastic_output=True)
        values = critic(obs)
        extras = actor.rollout_extras
        # the update integrates from the rollout's start noise on both paths; only the optimized one reuses features
        actor.replay(extras if replay else extras.exclude("features"))
        actor(obs, stochastic_output=True)
        update_log_prob = actor.get_output_log_prob(actions)
    return PathOutputs(mean_actions.float(), values.float(), update_log_prob.float())


def compare_paths(obs: TensorDict, action_dim: int, size: str) -> dict[str, float]:
    """How far the optimized path is from the plain one on the plain path's sampled actions.

    Returns:
        ``mean_actions`` and ``values``: the largest absolute difference divided by the plain output's largest
        magnitude; ``log_prob_nats``: the largest absolute difference of the update's log-probabilities, which is
        the log of the error it puts into PPO's probability ratio.
    """
    pairs = build_pair(obs, action_dim, size)
    plain_actor, plain_critic = pairs["plain"]
    with torch.no_grad():
        reference_actions = plain_actor(obs, stochastic_output=True)
    plain = run_path(plain_actor, plain_critic, obs, reference_actions, replay=False)
    optimized = run_path(*pairs["optimized"], obs, reference_actions, replay=True)

    def relative(name: str) -> float:
        reference = getattr(plain, name)
        return float((getattr(optimized, name) - reference).abs().max() / reference.abs().max().clamp_min(1e-6))

    log_prob_nats = float((optimized.update_log_prob - plain.update_log_prob).abs().max())
    return {"mean_actions": relative("mean_actions"), "values": relative("values"), "log_prob_nats": log_prob_nats}
