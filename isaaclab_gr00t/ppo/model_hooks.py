"""What a model may offer PPO37 beyond rsl_rl's model interface: every optional hook, in this one file.

Required of every actor and critic is rsl-rl-lib 5.5.1's model interface, as :class:`rsl_rl.models.MLPModel` has it:
the constructor ``cls(obs, obs_groups, obs_set, output_dim, **cfg)``, ``forward(obs, masks, hidden_state,
stochastic_output)``, ``get_output_log_prob``, ``output_entropy``, ``output_std``, ``output_distribution_params``,
``get_kl_divergence``, ``is_recurrent``, ``get_hidden_state``, ``reset``, ``update_normalization`` and
``as_jit``/``as_onnx``. A model that subclasses ``MLPModel`` without building its MLP trunk (no ``mlp`` attribute)
keeps its own initialization (PPO37's orthogonal init skips it).

Each protocol below is one optional hook. PPO37 asks :func:`offers` where the hook matters and uses the plain
rsl_rl behaviour otherwise, so a model implements only what it needs. The GR00T actor and critic
(:mod:`isaaclab_gr00t.gr00t.models`) implement all of them.
"""

from __future__ import annotations

from typing import Any, Protocol

from tensordict import TensorDict


def offers(model: object, hook: type) -> bool:
    """Whether ``model`` has every member that the ``hook`` protocol names.

    Not ``isinstance`` with a runtime-checkable protocol: since Python 3.12 that looks members up statically, which
    misses what an ``nn.Module`` keeps in ``_modules`` (rsl_rl's ``cnns``) and what a ``torch.compile`` wrapper
    forwards to its model.
    """
    members = {name for name in vars(hook) if not name.startswith("_")} | set(vars(hook).get("__annotations__", {}))
    return all(hasattr(model, name) for name in members)


class StoresRolloutExtras(Protocol):
    """A model that keeps per-transition tensors with the rollout and reads them back in the update.

    After each sampling forward of the rollout PPO37 copies :attr:`rollout_extras` into a ``num_steps x num_envs``
    store beside the transition (:mod:`.rollout_extras`); before each update forward it calls :meth:`replay` with
    the rows of that micro-batch, in its order. GR00T keeps its frozen backbone's features this way (the update then
    never runs the backbone) and flow-SDE's denoising chain. Feed-forward models only: PPO37 refuses the hook on a
    recurrent model, whose minibatches are whole trajectories.
    """

    @property
    def rollout_extras(self) -> TensorDict | None:
        """What the last sampling forward needs stored: one row per env, or None when nothing is needed."""

    def replay(self, extras: TensorDict) -> None:
        """Use ``extras`` (stored rows of :attr:`rollout_extras`) in the next forward, which is the update's."""


class GroupsParameters(Protocol):
    """A model whose parameters train in groups of their own learning rates (the learning-rate scales).

    Without the hook all trainable parameters of the model form one group at the algorithm's learning rate.
    """

    def optimizer_param_groups(self, base_lr: float) -> list[dict[str, Any]]:
        """Optimizer parameter groups: ``params`` and ``lr`` (a scale times ``base_lr``), optionally ``name``.

        PPO37 keeps the parameters as listed, dropping only those another group already lists (shared ones). A
        frozen parameter listed here stays in the optimizer, which skips it while it gets no gradient: list frozen
        parameters only where the model unfreezes them later (GR00T's progressive unfreezing), so the optimizer's
        state and checkpoints keep one layout. Each group's schedule scales its own ``lr`` in proportion to the
        algorithm's.
        """


class ChecksGradients(Protocol):
    """A model that can recompute activations in the backward pass (gradient checkpointing) to save memory.

    When an update runs out of GPU memory with :attr:`gradient_checkpointing` off, PPO37's error names
    ``agent.actor.gradient_checkpointing=true`` beside the micro-batch size and the number of envs
    (:mod:`.out_of_memory`).
    """

    gradient_checkpointing: bool
    """Whether the model recomputes activations in the backward pass."""


class SharesEncoder(Protocol):
    """An actor whose observation encoder the critic reuses: rsl_rl's ``share_cnn_encoders``.

    With the algorithm's ``share_cnn_encoders`` on, ``construct_algorithm`` (PPO37's and stock PPO's) builds the
    actor first and passes its :attr:`cnns` to the critic's constructor as ``cnns``; PPO37 checks that the critic
    holds the very same object. rsl_rl's CNN models share their image encoders so; the GR00T critic's value head
    reads the GR00T actor's encoding so.
    """

    cnns: Any
    """The encoder the critic receives (rsl_rl's CNN models: a ``ModuleDict`` of one CNN per image group)."""
