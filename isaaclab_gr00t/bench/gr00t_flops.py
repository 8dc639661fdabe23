"""Matrix-multiply FLOPs of GR00T N1.5 per sample, counted from its config (2 FLOPs per multiply-add).

Linear layers count ``2 * tokens * in * out``; attention counts ``Q K^T`` and ``P V``, ``4 * queries * keys * width``.
Norms, activations, softmax and elementwise work are left out: on a GPU they are bandwidth, not matrix, work.
"""

from __future__ import annotations

from isaaclab_gr00t.gr00t.n15 import N15Config


def _linear(tokens: int, fan_in: int, fan_out: int) -> float:
    return 2.0 * tokens * fan_in * fan_out


def _attention(queries: int, keys: int, width: int) -> float:
    return 4.0 * queries * keys * width


def vision_flops(config: N15Config) -> float:
    """One camera view through SigLIP and the ``mlp1`` connector."""
    v, t = config.vision, config.text
    tokens = config.tokens_per_view
    d = v.hidden_size
    per_layer = _linear(tokens, d, 4 * d) + _linear(tokens, d, 2 * v.mlp_size) + _attention(tokens, tokens, d)
    patches = _linear(tokens, 3 * v.patch_size**2, d)
    return patches + v.num_layers * per_layer + _linear(tokens, d, t.hidden_size)


def language_flops(config: N15Config, tokens: int) -> float:
    """The kept Qwen3 layers over the prompt of ``tokens`` tokens."""
    t = config.text
    q_width, kv_width = t.num_heads * t.head_dim, t.num_kv_heads * t.head_dim
    projections = _linear(tokens, t.hidden_size, 2 * q_width + 2 * kv_width)
    mlp = _linear(tokens, t.hidden_size, 3 * t.mlp_size)  # gate, up and down projections
    return t.num_layers * (projections + mlp + _attention(tokens, tokens, q_width))


def vl_self_attention_flops(config: N15Config, tokens: int) -> float:
    """``vl_self_attention`` over the backbone tokens."""
    vl = config.action_head.vl_self_attention
    d = vl.num_heads * vl.head_dim
    per_layer = _linear(tokens, d, 4 * d) + _linear(tokens, d, 8 * d) + _attention(tokens, tokens, d)
    return vl.num_layers * per_layer


def context_kv_flops(config: N15Config, tokens: int) -> float:
    """Keys and values of the backbone tokens for every cross-attention block (once per observation)."""
    dit = config.action_head.dit
    d = dit.num_heads * dit.head_dim
    cross_blocks = (dit.num_layers + 1) // 2 if dit.interleave_self_attention else dit.num_layers
    return cross_blocks * _linear(tokens, dit.cross_attention_dim, 2 * d)


def dit_step_flops(config: N15Config, context_tokens: int) -> float:
    """One Euler step: action encoder, the DiT on [state, future, action] tokens, the action decoder."""
    head, dit = config.action_head, config.action_head.dit
    d = dit.num_heads * dit.head_dim
    tokens = 1 + head.num_target_vision_tokens + head.action_horizon
    cross_blocks = (dit.num_layers + 1) // 2 if dit.interleave_self_attention else dit.num_layers
    self_blocks = dit.num_layers - cross_blocks
    common = _linear(tokens, d, 2 * d) + _linear(tokens, d, 8 * d) + _linear(1, d, 2 * d)  # q + out, ff, ada-norm
    blocks = cross_blocks * (common + _attention(tokens, context_tokens, d))
    blocks += self_blocks * (common + _linear(tokens, d, 2 * d) + _attention(tokens, tokens, d))
    h = head.action_horizon
    encoder = _linear(h, head.action_dim, d) + _linear(h, 2 * d, d) + _linear(h, d, d)
    output = _linear(1, d, 2 * d) + _linear(tokens, d, dit.output_dim)
    decoder = _linear(tokens, dit.output_dim, head.hidden_size) + _linear(tokens, head.hidden_size, head.action_dim)
    return blocks + encoder + output + decoder


def policy_flops(config: N15Config, views: int, prompt_tokens: int) -> dict[str, float]:
    """Per-sample FLOPs of one policy forward, by part (``dit_steps`` covers every Euler step)."""
    steps = config.action_head.num_inference_timesteps
    return {
        "vision": views * vision_flops(config),
        "language model": language_flops(config, prompt_tokens),
        "vl_self_attention": vl_self_attention_flops(config, prompt_tokens),
        "context K/V": context_kv_flops(config, prompt_tokens),
        "DiT (all steps)": steps * dit_step_flops(config, prompt_tokens),
    }
