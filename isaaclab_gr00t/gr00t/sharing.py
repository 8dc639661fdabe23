"""One backbone run per observation batch, shared by the actor and the critic.

rsl_rl builds the actor and the critic separately (``cls(obs, obs_groups, "actor"|"critic", ...)``) and PPO calls
them one after the other on the same observation TensorDict: ``actor(obs)`` then ``critic(obs)`` in ``act()``,
``actor(batch.observations)`` then ``critic(batch.observations)`` in ``update()``, and the critic alone in
``compute_returns()``.

The actor owns the backbone (a registered submodule, so ``.to()`` and its LoRA parameters follow the actor) and
publishes a :class:`SharedBackbone` under its cfg's ``share_key`` in a process-wide registry of weak references.
The critic, built right after, looks the key up and keeps a plain (non-module) reference: the backbone's
parameters are registered once, in the actor, and never appear in the critic's ``parameters()`` or
``state_dict()``.

Each actor forward stashes its backbone output together with the image tensors it was computed from. The next
critic call consumes the stash (once) if it is given the very same image tensor objects, and pools it detached
(the value loss must not train the actor's LoRA). Otherwise, e.g. in ``compute_returns()``, the critic runs the
backbone itself without gradients. One-shot consumption keeps this safe even if an environment refills its
observation buffers in place between steps: a stash never outlives the actor-then-critic pair it was made for.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import torch
from tensordict import TensorDict

from .images import camera_frames

if TYPE_CHECKING:
    from .backbone import GR00TBackbone

_REGISTRY: dict[str, weakref.ref[SharedBackbone]] = {}


class SharedBackbone:
    """A backbone with its image preprocessing and the actor-to-critic feature stash."""

    def __init__(self, backbone: GR00TBackbone, image_groups: list[str], channels_per_frame: int, image_scale: float):
        """Wrap ``backbone`` that reads the observation groups ``image_groups``."""
        self.backbone = backbone
        self.image_groups = image_groups
        self.channels_per_frame = channels_per_frame
        self.image_scale = image_scale
        self.num_backbone_runs = 0
        """Number of backbone forward passes so far (counted for tests and benchmarks)."""
        self._stash: tuple[tuple[torch.Tensor, ...], int, torch.Tensor] | None = None

    def encode(self, obs: TensorDict) -> torch.Tensor:
        """Run the backbone on ``obs`` and stash the ``(N, T, D)`` tokens for the next critic call."""
        images = tuple(obs[group] for group in self.image_groups)
        tokens = self._run(images, obs.batch_size[0])
        self._stash = (images, obs.batch_size[0], tokens)
        return tokens

    def pooled_features(self, obs: TensorDict) -> torch.Tensor:
        """Return ``(N, D)`` mean-pooled backbone tokens for ``obs``, detached, consuming a matching stash."""
        images = tuple(obs[group] for group in self.image_groups)
        stash, self._stash = self._stash, None
        if stash is not None and stash[1] == obs.batch_size[0] and all(a is b for a, b in zip(stash[0], images)):
            tokens = stash[2]
        else:
            with torch.no_grad():
                tokens = self._run(images, obs.batch_size[0])
        return tokens.detach().mean(dim=1)

    def _run(self, images: tuple[torch.Tensor, ...], batch_size: int) -> torch.Tensor:
        """One backbone forward pass."""
        self.num_backbone_runs += 1
        frames = None
        if images:
            frames = camera_frames(list(images), self.channels_per_frame, self.backbone.image_size, self.image_scale)
        return self.backbone(frames, batch_size)


def publish(share_key: str, shared: SharedBackbone) -> None:
    """Make ``shared`` the backbone that critics built with ``share_key`` use (the latest actor wins)."""
    _REGISTRY[share_key] = weakref.ref(shared)


def withdraw(share_key: str) -> None:
    """Forget the backbone published under ``share_key`` (its actor fell back to a policy without one)."""
    _REGISTRY.pop(share_key, None)


def lookup(share_key: str) -> SharedBackbone | None:
    """Return the live backbone published under ``share_key``, or None."""
    ref = _REGISTRY.get(share_key)
    return ref() if ref is not None else None
