"""The GR00T N1.5 vision-language backbone: Eagle 2.5 VL cut after its 12th language-model layer.

SigLIP (Zhai et al., ICCV 2023) encodes each 224 px view into 256 tokens (its last hidden state, after
``post_layernorm``); ``mlp1`` (one Linear) maps them to the language model's width; they replace the token
embeddings at the ``<IMG_CONTEXT>`` positions of the chat-templated prompt; the first ``select_layer`` Qwen3
decoder layers and the final RMSNorm run over the whole sequence. Every output token goes to the action head.

Key layout: the published checkpoint was written with transformers 4.5x, where ``SiglipVisionModel`` held a
``vision_model`` submodule; transformers 5.x dropped that level. :class:`_SiglipTower` puts it back, so the state
dict reads ``eagle_model.vision_model.vision_model.*`` as published with no key renaming. The language model is
``language_model.model`` (a ``Qwen3Model``) without ``lm_head``: the head is unused, and the published weights tie it
to the token embedding.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from transformers import Qwen3Config, Qwen3Model, SiglipVisionConfig, SiglipVisionModel

from .config import N15Config


class _SiglipTower(nn.Module):
    """Holds the SigLIP vision model as ``vision_model`` (the transformers 4.5x key level)."""

    def __init__(self, cfg: SiglipVisionConfig):
        super().__init__()
        self.vision_model = SiglipVisionModel(cfg)


class _Qwen3Trunk(nn.Module):
    """Holds the cut Qwen3 decoder as ``model``, the key level of ``Qwen3ForCausalLM``, without ``lm_head``."""

    def __init__(self, cfg: Qwen3Config):
        super().__init__()
        self.model = Qwen3Model(cfg)


class _EagleModel(nn.Module):
    """``vision_model``, ``mlp1``, ``language_model``: the Eagle 2.5 VL modules GR00T N1.5 keeps."""

    def __init__(self, config: N15Config):
        super().__init__()
        v, t = config.vision, config.text
        vision_cfg = SiglipVisionConfig(
            hidden_size=v.hidden_size,
            intermediate_size=v.mlp_size,
            num_hidden_layers=v.num_layers,
            num_attention_heads=v.num_heads,
            num_channels=3,
            image_size=v.image_size,
            patch_size=v.patch_size,
            layer_norm_eps=v.layer_norm_eps,
            hidden_act="gelu_pytorch_tanh",
            attention_dropout=0.0,
            vision_use_head=False,
            attn_implementation="sdpa",
        )
        text_cfg = Qwen3Config(
            vocab_size=t.vocab_size,
            hidden_size=t.hidden_size,
            intermediate_size=t.mlp_size,
            num_hidden_layers=t.num_layers,
            num_attention_heads=t.num_heads,
            num_key_value_heads=t.num_kv_heads,
            head_dim=t.head_dim,
            rms_norm_eps=t.rms_norm_eps,
            rope_theta=t.rope_theta,
            max_position_embeddings=t.max_position_embeddings,
            attention_dropout=0.0,
            attention_bias=False,
            hidden_act="silu",
            pad_token_id=None,
            tie_word_embeddings=True,
            use_cache=False,
            attn_implementation="sdpa",
        )
        self.vision_model = _SiglipTower(vision_cfg)
        self.mlp1 = nn.Sequential(nn.Linear(v.hidden_size, t.hidden_size))
        self.language_model = _Qwen3Trunk(text_cfg)


class EagleBackbone(nn.Module):
    """``eagle_model`` (published key prefix ``backbone.eagle_model.``) and its forward to LM features."""

    def __init__(self, config: N15Config):
        super().__init__()
        self.image_token_id = config.image_token_id
        self.eagle_model = _EagleModel(config)

    def forward(
        self, pixel_values: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Features of every token after the last kept LM layer and the final RMSNorm.

        Args:
            pixel_values: ``(B, V, 3, H, W)`` views normalized to [-1, 1] (``(x - 0.5) / 0.5``).
            input_ids: ``(B, T)`` chat-templated prompt holding ``V * tokens_per_view`` ``<IMG_CONTEXT>`` ids per
                sample; view ``v``'s tokens fill the ``v``-th run of them.
            attention_mask: ``(B, T)``, 0 at padding; None when no prompt is padded (causal attention only).

        Returns:
            ``(B, T, text_hidden)`` in the weights' dtype.

        Raises:
            ValueError: If a sample's ``<IMG_CONTEXT>`` count differs from its number of vision tokens.
        """
        eagle = self.eagle_model
        lm = eagle.language_model.model
        views = pixel_values.shape[1]
        embeds = lm.embed_tokens(input_ids)
        if views:
            vision = eagle.vision_model.vision_model(pixel_values=pixel_values.flatten(0, 1)).last_hidden_state
            vision = eagle.mlp1(vision.to(eagle.mlp1[0].weight.dtype))  # a trained projector is float32
        else:  # a task without cameras: the prompt alone
            vision = embeds.new_zeros((0, 0, embeds.shape[-1]))
        per_sample = views * vision.shape[1]
        is_image = input_ids == self.image_token_id
        counts = is_image.sum(dim=1)
        if not bool((counts == per_sample).all()):
            raise ValueError(f"GR00T backbone: each sample needs {per_sample} <IMG_CONTEXT> tokens (id "
                             f"{self.image_token_id}) for its {views} views, got {counts.tolist()}.")
        embeds = embeds.masked_scatter(is_image[..., None], vision.to(embeds.dtype).reshape(-1, embeds.shape[-1]))
        return lm(inputs_embeds=embeds, attention_mask=attention_mask, use_cache=False).last_hidden_state
