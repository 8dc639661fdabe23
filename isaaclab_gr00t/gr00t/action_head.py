"""Trainable flow-matching action head, used as the mean of a Gaussian policy.

GR00T N1.5's action head is a diffusion transformer (Peebles & Xie, "Scalable Diffusion Models with Transformers",
ICCV 2023) trained by flow matching (Lipman et al., "Flow Matching for Generative Modeling", ICLR 2023): tokens of
a noisy action chunk, preceded by a state token, attend to each other and to the backbone's tokens, and the
network predicts the velocity that moves noise towards actions; 4 Euler steps produce a chunk.

Here the Euler integration starts from the noise distribution's mode (zeros) instead of a sample, which makes the
chunk a deterministic, differentiable function of the observation; the policy is a Gaussian around it (see
docs/gr00t.md for why). The blocks use additive timestep conditioning where GR00T's DiT uses adaptive layer norm.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from rsl_rl.modules import MLP


class FlowMatchingActionHead(nn.Module):
    """Transformer velocity field over action-chunk tokens, integrated with Euler steps from zero noise."""

    def __init__(
        self,
        context_width: int,
        state_dim: int,
        horizon: int,
        action_dim: int,
        width: int,
        num_layers: int,
        num_heads: int,
        num_steps: int,
        state_hidden_dims: list[int],
        activation: str,
    ) -> None:
        """Build the head.

        Args:
            context_width: Width of the backbone tokens attended to.
            state_dim: Size of the proprioceptive state vector; 0 for image-only tasks (no state token).
            horizon: Number of actions in a chunk.
            action_dim: Padded action dimension.
            width: Token width of the transformer.
            num_layers: Number of transformer blocks.
            num_heads: Attention heads per block.
            num_steps: Euler integration steps.
            state_hidden_dims: Hidden layers of the state encoder MLP.
            activation: Activation of the state encoder MLP.
        """
        super().__init__()
        if width % num_heads:
            raise ValueError(f"GR00T action head width {width} is not divisible by its {num_heads} heads.")
        self.num_steps = num_steps
        self.horizon = horizon
        self.action_dim = action_dim
        self.context_proj = nn.Linear(context_width, width)
        self.state_encoder = MLP(state_dim, width, state_hidden_dims, activation) if state_dim > 0 else None
        self.action_encoder = nn.Linear(action_dim, width)
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        num_tokens = horizon + (1 if self.state_encoder is not None else 0)
        self.position = nn.Parameter(torch.randn(1, num_tokens, width) * 0.02)
        self.blocks = nn.ModuleList(
            nn.TransformerDecoderLayer(
                width, num_heads, 4 * width, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            )
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(width)
        self.velocity = nn.Linear(width, action_dim)
        # small output layer: the initial policy mean is near zero, so exploration comes from the Gaussian's std
        nn.init.orthogonal_(self.velocity.weight, gain=0.01)
        nn.init.zeros_(self.velocity.bias)

    def forward(self, context: torch.Tensor, state: torch.Tensor | None) -> torch.Tensor:
        """Return the ``(N, horizon, action_dim)`` action chunk for backbone tokens ``context`` and ``state``."""
        context = self.context_proj(context)
        state_token = self.state_encoder(state).unsqueeze(1) if self.state_encoder is not None else None
        chunk = context.new_zeros(context.shape[0], self.horizon, self.action_dim)
        dt = 1.0 / self.num_steps
        for step in range(self.num_steps):
            chunk = chunk + dt * self._velocity(chunk, step * dt, context, state_token)
        return chunk

    def _velocity(
        self, chunk: torch.Tensor, time: float, context: torch.Tensor, state_token: torch.Tensor | None
    ) -> torch.Tensor:
        """Predict the flow velocity of ``chunk`` at flow time ``time`` in [0, 1)."""
        tokens = self.action_encoder(chunk)
        if state_token is not None:
            tokens = torch.cat([state_token, tokens], dim=1)
        tokens = tokens + self.position + self.time_mlp(_sinusoidal(time, tokens.shape[-1], tokens.device))
        for block in self.blocks:
            tokens = block(tokens, context)
        return self.velocity(self.norm(tokens[:, -self.horizon :]))


def _sinusoidal(time: float, width: int, device: torch.device) -> torch.Tensor:
    """Sinusoidal embedding of a flow time, scaled to [0, 1000) like diffusion timesteps."""
    half = width // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=device) / half)
    angles = 1000.0 * time * freqs
    embedding = torch.cat([torch.sin(angles), torch.cos(angles)])
    return nn.functional.pad(embedding, (0, width - 2 * half))
