"""Mapping between the model's action chunk and the environment's flat action vector.

The model predicts a chunk of ``horizon`` actions padded to ``padded_dim`` (GR00T: 16 x 32). The environment sees
the first ``execute_steps`` actions of the chunk, each cut to the env's ``action_dim``; with ``execute_steps = k``
the PPO action is those ``k * action_dim`` numbers (executed by :class:`~.chunked_env.ChunkedActionEnv`). Chunk
entries that are never executed have no effect on the environment, so they are not part of the PPO action and
carry no log-probability.
"""

from __future__ import annotations

import torch


class ActionAdapter:
    """Slice a ``(N, horizon, padded_dim)`` chunk to ``(N, execute_steps * action_dim)`` and pad it back."""

    def __init__(self, output_dim: int, horizon: int, padded_dim: int, execute_steps: int) -> None:
        """Check and store the shapes.

        Args:
            output_dim: Size of the PPO action (what rsl_rl passes as the actor's output dimension).
            horizon: Actions per predicted chunk.
            padded_dim: Padded per-step action dimension of the model.
            execute_steps: Chunk actions executed per policy decision.

        Raises:
            ValueError: If the shapes are inconsistent (the cfg field at fault is named).
        """
        if not 1 <= execute_steps <= horizon:
            raise ValueError(
                f"GR00T cfg field 'execute_steps'={execute_steps} must be in [1, the model's action horizon {horizon}]."
            )
        if output_dim % execute_steps:
            raise ValueError(
                f"The actor output dimension {output_dim} is not a multiple of cfg field"
                f" 'execute_steps'={execute_steps}."
            )
        self.action_dim = output_dim // execute_steps
        if self.action_dim > padded_dim:
            raise ValueError(
                f"Env action dimension {self.action_dim} exceeds the model's action dimension {padded_dim}."
            )
        self.horizon = horizon
        self.padded_dim = padded_dim
        self.execute_steps = execute_steps

    def to_env(self, chunk: torch.Tensor) -> torch.Tensor:
        """Return the executed part of ``chunk`` as ``(N, execute_steps * action_dim)``, oldest step first."""
        return chunk[:, : self.execute_steps, : self.action_dim].flatten(1)

    def to_model(self, actions: torch.Tensor) -> torch.Tensor:
        """Place env actions ``(N, execute_steps * action_dim)`` into a zero ``(N, horizon, padded_dim)`` chunk.

        The inverse of :meth:`to_env` on the executed entries, e.g. to build flow-matching targets from env actions.
        """
        chunk = actions.new_zeros(actions.shape[0], self.horizon, self.padded_dim)
        chunk[:, : self.execute_steps, : self.action_dim] = actions.reshape(-1, self.execute_steps, self.action_dim)
        return chunk
