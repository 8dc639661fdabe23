"""Published and test sizes of the GR00T N1.5 backbone and action head.

``full`` follows GR00T N1.5 (NVIDIA, "GR00T N1: An Open Foundation Model for Generalist Humanoid Robots",
arXiv:2503.14734, and the N1.5 model card): a SigLIP-2 vision tower (1152 wide, 27 layers, patch 14, 224 px,
256 tokens a view), a linear projection 1152 -> 2048 and Qwen3-1.7B cut to its first 12 layers; the flow-matching
DiT action head is 16 layers, 1536 wide, acting on a 16-step chunk of 32 padded action dims.
``tiny`` keeps every structural feature at a few hundred thousand parameters for CPU tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackboneSize:
    """Dimensions of one backbone + action head size."""

    vision_width: int
    vision_layers: int
    vision_heads: int
    vision_mlp: int
    patch_size: int
    image_size: int
    llm_width: int
    llm_layers: int
    llm_heads: int
    llm_kv_heads: int
    llm_head_dim: int
    llm_mlp: int
    vocab_size: int
    head_width: int
    head_layers: int
    head_heads: int


SIZES: dict[str, BackboneSize] = {
    "full": BackboneSize(
        vision_width=1152,
        vision_layers=27,
        vision_heads=16,
        vision_mlp=4304,
        patch_size=14,
        image_size=224,
        # Qwen3-1.7B: 2048 wide, 16 query / 8 key-value heads of 128, MLP 6144, vocabulary 151936 (28 layers, 12 kept)
        llm_width=2048,
        llm_layers=12,
        llm_heads=16,
        llm_kv_heads=8,
        llm_head_dim=128,
        llm_mlp=6144,
        vocab_size=151936,
        head_width=1536,
        head_layers=16,
        head_heads=32,
    ),
    "tiny": BackboneSize(
        vision_width=32,
        vision_layers=2,
        vision_heads=2,
        vision_mlp=64,
        patch_size=8,
        image_size=32,
        llm_width=48,
        llm_layers=2,
        llm_heads=4,
        llm_kv_heads=2,
        llm_head_dim=12,
        llm_mlp=96,
        vocab_size=260,
        head_width=48,
        head_layers=2,
        head_heads=4,
    ),
}


def get_size(name: str) -> BackboneSize:
    """Return the named size or raise a ValueError listing the known ones."""
    if name not in SIZES:
        raise ValueError(f"GR00T cfg field 'size' must be one of {sorted(SIZES)}, got {name!r}.")
    return SIZES[name]
