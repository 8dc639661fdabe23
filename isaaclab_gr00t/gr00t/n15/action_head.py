"""The GR00T N1.5 flow-matching action head (Lipman et al., "Flow Matching for Generative Modeling", ICLR 2023).

The backbone tokens pass ``vlln`` (LayerNorm) and ``vl_self_attention`` once per observation
(:meth:`FlowMatchingActionHead.encode_context`). The DiT then reads the token sequence [state token, learned
``future_tokens``, action tokens] (position embedding on the action tokens only), cross-attends to the context and
predicts the velocity of the flow from noise (t = 0) to the action chunk (t = 1). :meth:`~FlowMatchingActionHead.sample`
integrates it with Euler steps at t = k / N, time bucket ``int(t * num_timestep_buckets)``.
Actions come out normalized; the embodiment's statistics un-normalize them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from .config import ActionHeadConfig
from .dit import DiT, KeyValue, VLSelfAttention
from .embodiment_layers import CategorySpecificLinear, CategorySpecificMLP, MultiEmbodimentActionEncoder


def euler_integrate(
    velocity: Callable[[torch.Tensor, int], torch.Tensor], x: torch.Tensor, num_steps: int
) -> torch.Tensor:
    """Integrate ``velocity(x, k)`` from t = 0 to 1 in ``num_steps`` Euler steps, step ``k`` at t = k / num_steps."""
    for step in range(num_steps):
        x = x + velocity(x, step) / num_steps
    return x


class FlowMatchingActionHead(nn.Module):
    """Module names give the published ``action_head.*`` keys (314 tensors at full size)."""

    def __init__(self, cfg: ActionHeadConfig):
        super().__init__()
        self.cfg = cfg
        width = cfg.input_embedding_dim
        if cfg.dit.num_heads * cfg.dit.head_dim != width:
            raise ValueError(f"DiT width {cfg.dit.num_heads} x {cfg.dit.head_dim} differs from input_embedding_dim "
                             f"{width}.")
        self.model = DiT(cfg.dit)
        self.state_encoder = CategorySpecificMLP(cfg.max_num_embodiments, cfg.max_state_dim, cfg.hidden_size, width)
        self.action_encoder = MultiEmbodimentActionEncoder(cfg.max_num_embodiments, cfg.action_dim, width)
        self.action_decoder = CategorySpecificMLP(cfg.max_num_embodiments, cfg.dit.output_dim, cfg.hidden_size,
                                                  cfg.action_dim)
        self.future_tokens = nn.Embedding(cfg.num_target_vision_tokens, width)
        if cfg.use_vlln:
            vlsa = cfg.vl_self_attention
            if vlsa.num_heads * vlsa.head_dim != cfg.backbone_embedding_dim:
                raise ValueError(f"vl_self_attention width {vlsa.num_heads} x {vlsa.head_dim} differs from "
                                 f"backbone_embedding_dim {cfg.backbone_embedding_dim}.")
            self.vlln = nn.LayerNorm(cfg.backbone_embedding_dim)
            self.vl_self_attention = VLSelfAttention(vlsa)
        else:
            self.vlln = nn.Identity()
            self.vl_self_attention = nn.Identity()
        self.position_embedding = nn.Embedding(cfg.max_seq_len, width) if cfg.add_pos_embed else None

    def train_only_slot(self, slot: int) -> None:
        """Freeze every per-embodiment layer's weights but slot ``slot``'s
        (:meth:`CategorySpecificLinear.train_only_slot`)."""
        for module in self.modules():
            if isinstance(module, CategorySpecificLinear):
                module.train_only_slot(slot)

    def enable_gradient_checkpointing(self) -> None:
        """Recompute the DiT's and ``vl_self_attention``'s block activations in the backward pass."""
        self.model.gradient_checkpointing = True
        if isinstance(self.vl_self_attention, VLSelfAttention):
            self.vl_self_attention.gradient_checkpointing = True

    def encode_context(self, features: torch.Tensor) -> torch.Tensor:
        """Backbone features ``(B, T, backbone_embedding_dim)`` -> the context the DiT reads, same shape."""
        return self.vl_self_attention(self.vlln(features))

    def encode_state(self, state: torch.Tensor, embodiment_id: torch.Tensor | int) -> torch.Tensor:
        """Normalized, zero-padded state ``(B, max_state_dim)`` -> state token ``(B, 1, input_embedding_dim)``."""
        return self.state_encoder(state[:, None].to(self.future_tokens.weight.dtype), embodiment_id)

    def context_kv(self, context: torch.Tensor) -> list[KeyValue | None]:
        """The DiT's cross-attention keys/values of ``context``: pass them to :meth:`velocity` to reuse them.

        Under autocast the context is cast once here: left to autocast, each of the blocks' key and value projections
        would cast it again and keep its own copy for the backward pass (16 copies at full size). Same numbers.
        """
        device = context.device.type
        if torch.is_autocast_enabled(device):
            context = context.to(torch.get_autocast_dtype(device))
        return self.model.context_kv(context)

    def velocity(
        self,
        context: torch.Tensor,
        state_tokens: torch.Tensor,
        actions_t: torch.Tensor,
        timestep_bucket: torch.Tensor,
        embodiment_id: torch.Tensor | int,
        context_kv: list[KeyValue | None] | None = None,
    ) -> torch.Tensor:
        """Predicted flow velocity ``(B, horizon, action_dim)`` at the noisy chunk ``actions_t``.

        Args:
            context: Output of :meth:`encode_context`, ``(B, T, backbone_embedding_dim)``.
            state_tokens: Output of :meth:`encode_state`, ``(B, 1, input_embedding_dim)``.
            actions_t: ``(B, horizon, action_dim)`` chunk at flow time t.
            timestep_bucket: ``(B,)`` long, ``int(t * num_timestep_buckets)``.
            embodiment_id: ``(B,)`` long slot ids, or one ``int`` slot for the whole batch (no per-sample weight
                copies).
            context_kv: :meth:`context_kv` of ``context``, computed here when None.
        """
        action_tokens = self.action_encoder(actions_t.to(state_tokens.dtype), timestep_bucket, embodiment_id)
        if self.position_embedding is not None:
            action_tokens = action_tokens + self.position_embedding.weight[: action_tokens.shape[1]]
        future = self.future_tokens.weight.expand(action_tokens.shape[0], -1, -1)
        tokens = torch.cat([state_tokens, future, action_tokens], dim=1)
        kv = self.context_kv(context) if context_kv is None else context_kv
        out = self.action_decoder(self.model(tokens, timestep_bucket, kv), embodiment_id)
        return out[:, -actions_t.shape[1]:]

    def timestep_bucket(self, step: int, batch_size: int, device: torch.device) -> torch.Tensor:
        """``(B,)`` bucket of Euler step ``step`` of :attr:`ActionHeadConfig.num_inference_timesteps`."""
        t = step / self.cfg.num_inference_timesteps
        return torch.full((batch_size,), int(t * self.cfg.num_timestep_buckets), dtype=torch.long, device=device)

    def sample(
        self, context: torch.Tensor, state_tokens: torch.Tensor, embodiment_id: torch.Tensor | int, noise: torch.Tensor
    ) -> torch.Tensor:
        """Deterministic Euler integration of the flow from ``noise`` ``(B, horizon, action_dim)`` at t = 0 to the
        normalized action chunk at t = 1, in ``num_inference_timesteps`` steps; the context's cross-attention
        keys/values are computed once."""
        kv = self.context_kv(context)

        def velocity(actions: torch.Tensor, step: int) -> torch.Tensor:
            bucket = self.timestep_bucket(step, noise.shape[0], noise.device)
            return self.velocity(context, state_tokens, actions, bucket, embodiment_id, context_kv=kv)

        return euler_integrate(velocity, noise, self.cfg.num_inference_timesteps)
