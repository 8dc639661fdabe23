"""One GR00T encoding per observation batch, shared by the actor and the critic.

rsl_rl builds the actor and the critic separately (``cls(obs, obs_groups, "actor"|"critic", ...)``) and PPO calls
them one after the other on the same observation TensorDict: ``actor(obs)`` then ``critic(obs)`` in ``act()``,
``actor(batch.observations)`` then ``critic(batch.observations)`` in ``update()``, and the critic alone in
``compute_returns()``.

The actor owns the model and its :class:`SharedEncoder`, which it offers as ``cnns``: with the algorithm's
``share_cnn_encoders`` on, rsl_rl's and PPO37's ``construct_algorithm`` build the actor first and pass ``actor.cnns``
to the critic's constructor (:class:`~isaaclab_gr00t.ppo.model_hooks.SharesEncoder`). The critic keeps it as a plain
(non-module) attribute: the model's parameters are registered once, in the actor.

Each actor forward stashes its encoding with the observation tensors it came from. The next critic call consumes
the stash (once) if it is given the very same tensor objects, keeping the graph, so the value loss trains the
shared action-head layers as in the published recipe; otherwise (``compute_returns()``) the critic encodes
``obs`` itself without gradients. One-shot consumption keeps this safe when an env refills its observation buffers
in place between steps: a stash never outlives the actor-then-critic pair it was made for.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tensordict import TensorDict

Encoding = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""The action head's context tokens ``(N, T, C)``, the state token ``(N, 1, S)`` and the backbone features."""


class SharedEncoder:
    """The actor's observation encoder with the actor-to-critic stash."""

    def __init__(self, encode: Callable[..., Encoding], groups: list[str], feature_dim: int):
        """Wrap ``encode(obs, features)``, which reads the observation ``groups``; value features are
        ``feature_dim`` wide."""
        self._encode = encode
        self.groups = groups
        self.feature_dim = feature_dim
        self.num_encodings = 0
        """Number of encoder runs so far (counted for tests and benchmarks)."""
        self._stash: tuple[tuple[torch.Tensor, ...], Encoding] | None = None

    def encode(self, obs: TensorDict, features: torch.Tensor | None = None) -> Encoding:
        """Encode ``obs`` (from stored backbone ``features`` when given) and stash it for the next critic call."""
        encoding = self._run(obs, features)
        self._stash = (self._key(obs), encoding)
        return encoding

    def value_features(self, obs: TensorDict) -> torch.Tensor:
        """``(N, feature_dim)``: mean-pooled context tokens and the state token, consuming a matching stash."""
        stash, self._stash = self._stash, None
        key = self._key(obs)
        if stash is not None and len(stash[0]) == len(key) and all(a is b for a, b in zip(stash[0], key)):
            context, state_tokens, _ = stash[1]
        else:
            with torch.no_grad():
                context, state_tokens, _ = self._run(obs)
        return torch.cat([context.mean(dim=1), state_tokens[:, 0]], dim=-1).float()

    def _run(self, obs: TensorDict, features: torch.Tensor | None = None) -> Encoding:
        self.num_encodings += 1
        return self._encode(obs, features)

    def _key(self, obs: TensorDict) -> tuple[torch.Tensor, ...]:
        return tuple(obs[group] for group in self.groups)

