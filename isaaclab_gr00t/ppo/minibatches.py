"""Minibatch views of rsl_rl's preallocated RolloutStorage, reshuffled every epoch (detail 6).

Feed-forward models get flat ``[steps * envs]`` samples gathered with one index op per tensor. Recurrent models get
whole trajectories of a random subset of environments (LSTM detail 35) plus the hidden state stored at each
trajectory start (LSTM detail 36), in rsl_rl's padded ``[time, trajectories]`` layout.
"""

from __future__ import annotations

import torch
from rsl_rl.storage import RolloutStorage
from rsl_rl.utils import split_and_pad_trajectories


def shuffled_index_chunks(num_items: int, num_chunks: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A fresh random permutation of ``range(num_items)`` (on the generator's device) in ``num_chunks`` equal chunks."""
    return list(torch.randperm(num_items, generator=generator, device=generator.device).chunk(num_chunks))


def flat_batch(storage: RolloutStorage, flat: dict, index: torch.Tensor) -> RolloutStorage.Batch:
    """Gather samples ``index`` from the flattened rollout tensors in ``flat`` (see :func:`flatten_rollout`)."""
    return RolloutStorage.Batch(
        observations=flat["observations"][index],
        actions=flat["actions"][index],
        values=flat["values"][index],
        advantages=flat["advantages"][index],
        returns=flat["returns"][index],
        old_actions_log_prob=flat["actions_log_prob"][index],
        old_distribution_params=tuple(p[index] for p in flat["distribution_params"]),
    )


def flatten_rollout(storage: RolloutStorage) -> dict:
    """Views of the rollout with time and env dimensions merged (no copies for contiguous buffers)."""
    return {
        "observations": storage.observations.flatten(0, 1),
        "actions": storage.actions.flatten(0, 1),
        "values": storage.values.flatten(0, 1),
        "advantages": storage.advantages.flatten(0, 1),
        "returns": storage.returns.flatten(0, 1),
        "actions_log_prob": storage.actions_log_prob.flatten(0, 1),
        "distribution_params": tuple(p.flatten(0, 1) for p in storage.distribution_params),
    }


def _initial_states(saved: list[torch.Tensor] | None, env_ids: torch.Tensor, starts: torch.Tensor):
    """Hidden states stored at every trajectory start, as ``[layers, trajectories, hidden]`` (GRU) or a tuple (LSTM).

    ``saved`` tensors are ``[time, layers, envs, hidden]``; trajectories are ordered env-major like
    :func:`rsl_rl.utils.split_and_pad_trajectories`.
    """
    if saved is None:
        return None
    states = [s[:, :, env_ids].permute(2, 0, 1, 3)[starts].transpose(0, 1).contiguous() for s in saved]
    return states[0] if len(states) == 1 else tuple(states)


def trajectory_batch(storage: RolloutStorage, env_ids: torch.Tensor) -> RolloutStorage.Batch:
    """All trajectories of the environments ``env_ids``, padded, with their stored initial hidden states."""
    dones = storage.dones[:, env_ids]
    padded_obs, masks = split_and_pad_trajectories(storage.observations[:, env_ids], dones)
    starts = torch.zeros_like(dones.squeeze(-1), dtype=torch.bool)
    starts[0] = True
    starts[1:] = dones[:-1].squeeze(-1).bool()
    starts = starts.transpose(0, 1)
    return RolloutStorage.Batch(
        observations=padded_obs,
        actions=storage.actions[:, env_ids],
        values=storage.values[:, env_ids],
        advantages=storage.advantages[:, env_ids],
        returns=storage.returns[:, env_ids],
        old_actions_log_prob=storage.actions_log_prob[:, env_ids],
        old_distribution_params=tuple(p[:, env_ids] for p in storage.distribution_params),
        hidden_states=(
            _initial_states(storage.saved_hidden_state_a, env_ids, starts),
            _initial_states(storage.saved_hidden_state_c, env_ids, starts),
        ),
        masks=masks,
    )
