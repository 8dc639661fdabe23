"""Transformer pieces of the GR00T N1.5 action head: the adaptive-LayerNorm DiT and the self-attention transformer
over the backbone tokens.

Module and parameter names follow the published checkpoint (``transformer_blocks.N.{norm1, attn1.to_q, to_k, to_v,
to_out.0, norm3, ff.net.0.proj, ff.net.2}``, ``timestep_encoder.timestep_embedder.linear_1/2``, ``proj_out_1/2``).
Numerics as in the published model: pre-norm blocks, one attention and one tanh-GELU feed-forward (4x wide) each;
adaptive LayerNorm ``norm(x) * (1 + scale) + shift`` with ``(scale, shift)`` in that order from ``linear(silu(t))``
(Peebles & Xie, "Scalable Diffusion Models with Transformers", ICCV 2023); the output modulation takes
``(shift, scale)`` in that order; the time embedding is a 256-wide sinusoid with cosines first and frequency shift 1
(Ho et al., "Denoising Diffusion Probabilistic Models", NeurIPS 2020), then Linear-SiLU-Linear.

A cross-attention block's keys and values depend only on the context, not on the flow time or the actions, so
:meth:`DiT.context_kv` computes them once and :meth:`DiT.forward` reuses them across Euler steps.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from .config import DiTConfig, VLSelfAttentionConfig

KeyValue = tuple[torch.Tensor, torch.Tensor]
"""Keys and values of one attention, each ``(B, heads, S, head_dim)``."""


def timestep_sinusoid(timesteps: torch.Tensor, dim: int = 256, max_period: float = 10000.0) -> torch.Tensor:
    """``(B,)`` integer time buckets -> ``(B, dim)`` float32 ``[cos, sin]`` embedding, frequencies
    ``max_period ** (-i / (dim / 2 - 1))`` (a frequency shift of 1, as the published DiT)."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / (half - 1)
    angles = timesteps.float()[:, None] * exponent.exp()[None, :]
    return torch.cat([angles.cos(), angles.sin()], dim=-1)


def run_blocks(
    blocks: nn.ModuleList, x: torch.Tensor, recompute: bool, block_args: list[tuple] | None = None
) -> torch.Tensor:
    """Apply ``blocks`` in order: ``x = block(x, *block_args[i])``.

    ``recompute`` (gradient checkpointing, Chen et al., "Training Deep Nets with Sublinear Memory Cost", 2016)
    keeps only each block's input for the backward pass and runs the block again there, so activation memory grows
    with the number of blocks, not with their inner widths. Non-reentrant, so inputs without gradients (the stored
    backbone features) still pass gradients to the weights inside; it applies only while gradients are recorded.
    """
    recompute = recompute and torch.is_grad_enabled()
    for block, args in zip(blocks, block_args or [()] * len(blocks)):
        x = checkpoint(block, x, *args, use_reentrant=False) if recompute else block(x, *args)
    return x


class Attention(nn.Module):
    """Multi-head attention with biased projections; keys/values from the context (cross) or from the input (self).

    Scaled dot-product attention without mask (the published head attends to every backbone token, padding
    included); attention-probability dropout is not used (``to_out.1`` is the output dropout).
    """

    def __init__(self, dim: int, num_heads: int, head_dim: int, dropout: float, context_dim: int | None = None):
        super().__init__()
        inner = num_heads * head_dim
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.to_q = nn.Linear(dim, inner)
        self.to_k = nn.Linear(context_dim or dim, inner)
        self.to_v = nn.Linear(context_dim or dim, inner)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim), nn.Dropout(dropout)])

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)

    def key_value(self, source: torch.Tensor) -> KeyValue:
        """Keys and values of ``source`` ``(B, S, dim)``, split into heads."""
        return self._heads(self.to_k(source)), self._heads(self.to_v(source))

    def forward(self, x: torch.Tensor, kv: KeyValue | None = None) -> torch.Tensor:
        """Attend from ``x`` ``(B, T, dim)`` to ``kv`` (from :meth:`key_value`), or to ``x`` itself when None."""
        k, v = self.key_value(x) if kv is None else kv
        out = F.scaled_dot_product_attention(self._heads(self.to_q(x)), k, v)
        return self.to_out[1](self.to_out[0](out.transpose(1, 2).flatten(2)))


class TanhGELUProjection(nn.Module):
    """Linear then tanh-approximated GELU (Hendrycks & Gimpel, "Gaussian Error Linear Units", 2016)."""

    def __init__(self, dim: int, inner: int):
        super().__init__()
        self.proj = nn.Linear(dim, inner)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.proj(x), approximate="tanh")


class FeedForward(nn.Module):
    """``net``: GELU projection to 4x width, dropout, Linear back, dropout (the published ``final_dropout``)."""

    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(TanhGELUProjection(dim, 4 * dim), nn.Dropout(dropout), nn.Linear(4 * dim, dim),
                                 nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class AdaLayerNorm(nn.Module):
    """LayerNorm without affine, modulated by the time embedding: ``norm(x) * (1 + scale) + shift``."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.linear = nn.Linear(dim, 2 * dim)
        self.norm = nn.LayerNorm(dim, eps=eps, elementwise_affine=False)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.linear(F.silu(temb)).chunk(2, dim=-1)
        return self.norm(x) * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    """Adaptive-LayerNorm attention (cross when ``context_dim`` is set, else self), then LayerNorm + feed-forward."""

    def __init__(self, dim: int, num_heads: int, head_dim: int, dropout: float, context_dim: int | None):
        super().__init__()
        self.cross = context_dim is not None
        self.norm1 = AdaLayerNorm(dim)
        self.attn1 = Attention(dim, num_heads, head_dim, dropout, context_dim)
        self.final_dropout = nn.Dropout(dropout)
        self.norm3 = nn.LayerNorm(dim, eps=1e-5, elementwise_affine=False)
        self.ff = FeedForward(dim, dropout)

    def forward(self, x: torch.Tensor, temb: torch.Tensor, kv: KeyValue | None) -> torch.Tensor:
        """``kv``: the context's keys/values for a cross-attention block, None for a self-attention block."""
        h = self.norm1(x, temb)
        x = x + self.final_dropout(self.attn1(h, kv))
        return x + self.ff(self.norm3(x))


class TimestepEmbedder(nn.Module):
    """``linear_1`` (256 -> width), SiLU, ``linear_2``."""

    def __init__(self, dim: int, freq_dim: int = 256):
        super().__init__()
        self.linear_1 = nn.Linear(freq_dim, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))


class TimestepEncoder(nn.Module):
    """Integer time bucket -> sinusoid -> :class:`TimestepEmbedder` (``timestep_embedder``)."""

    def __init__(self, dim: int):
        super().__init__()
        self.timestep_embedder = TimestepEmbedder(dim)

    def forward(self, timesteps: torch.Tensor) -> torch.Tensor:
        proj = timestep_sinusoid(timesteps, self.timestep_embedder.linear_1.in_features)
        return self.timestep_embedder(proj.to(self.timestep_embedder.linear_1.weight.dtype))


class DiT(nn.Module):
    """Diffusion transformer over [state, future, action] tokens, conditioned on time by adaptive LayerNorm and on
    the vision-language tokens by cross-attention."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        dim = cfg.num_heads * cfg.head_dim
        self.timestep_encoder = TimestepEncoder(dim)
        self.transformer_blocks = nn.ModuleList(
            DiTBlock(dim, cfg.num_heads, cfg.head_dim, cfg.dropout,
                     None if cfg.interleave_self_attention and i % 2 == 1 else cfg.cross_attention_dim)
            for i in range(cfg.num_layers)
        )
        self.norm_out = nn.LayerNorm(dim, eps=1e-6, elementwise_affine=False)
        self.proj_out_1 = nn.Linear(dim, 2 * dim)
        self.proj_out_2 = nn.Linear(dim, cfg.output_dim)
        self.gradient_checkpointing = False
        """Recompute each block's activations in the backward pass (:func:`run_blocks`)."""

    def context_kv(self, context: torch.Tensor) -> list[KeyValue | None]:
        """Per block: the keys/values of ``context`` ``(B, S, cross_attention_dim)`` for a cross-attention block,
        None for a self-attention block. Independent of time and actions: compute once per observation."""
        return [block.attn1.key_value(context) if block.cross else None for block in self.transformer_blocks]

    def forward(self, tokens: torch.Tensor, timesteps: torch.Tensor, context_kv: list[KeyValue | None]) -> torch.Tensor:
        """``tokens`` ``(B, T, width)``, ``timesteps`` ``(B,)`` integer buckets, ``context_kv`` from
        :meth:`context_kv` -> ``(B, T, output_dim)``."""
        temb = self.timestep_encoder(timesteps)
        tokens = run_blocks(self.transformer_blocks, tokens, self.gradient_checkpointing,
                            [(temb, kv) for kv in context_kv])
        shift, scale = self.proj_out_1(F.silu(temb)).chunk(2, dim=-1)
        return self.proj_out_2(self.norm_out(tokens) * (1 + scale[:, None]) + shift[:, None])


class VLSelfAttentionBlock(nn.Module):
    """Pre-norm self-attention block with affine LayerNorms ``norm1``/``norm3`` and a tanh-GELU feed-forward."""

    def __init__(self, dim: int, num_heads: int, head_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn1 = Attention(dim, num_heads, head_dim, dropout)
        self.final_dropout = nn.Dropout(dropout)
        self.norm3 = nn.LayerNorm(dim, eps=1e-5)
        self.ff = FeedForward(dim, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.final_dropout(self.attn1(self.norm1(x)))
        return x + self.ff(self.norm3(x))


class VLSelfAttention(nn.Module):
    """``transformer_blocks``: self-attention over the backbone tokens, no mask."""

    def __init__(self, cfg: VLSelfAttentionConfig):
        super().__init__()
        dim = cfg.num_heads * cfg.head_dim
        self.transformer_blocks = nn.ModuleList(
            VLSelfAttentionBlock(dim, cfg.num_heads, cfg.head_dim, cfg.dropout) for _ in range(cfg.num_layers)
        )
        self.gradient_checkpointing = False
        """Recompute each block's activations in the backward pass (:func:`run_blocks`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_blocks(self.transformer_blocks, x, self.gradient_checkpointing)
