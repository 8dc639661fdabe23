"""The frozen vision-language backbone of GR00T N1.5, built from ``transformers`` components.

SigLIP vision tower -> linear projection -> the first K decoder layers of a Qwen3 causal language model
(GR00T N1.5 reads the 12th layer of its Eagle-2.5 VLM, whose language model is Qwen3-1.7B). Vision tokens of every
camera frame come first, the instruction tokens after them, so under the causal mask the text attends to the
images. The backbone is frozen (``requires_grad=False``) and stays in eval mode whatever ``train()`` asks; LoRA
adapters (Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR 2022) are its only trainable
weights.
"""

from __future__ import annotations


import torch
import torch.nn as nn
import torch.utils.checkpoint
from transformers import Qwen3Config, Qwen3Model, SiglipVisionConfig, SiglipVisionModel
from transformers.modeling_layers import GradientCheckpointingLayer

from .sizes import BackboneSize


class GR00TBackbone(nn.Module):
    """Vision encoder + projection + truncated causal LM, returning the LM's last hidden states."""

    def __init__(self, size: BackboneSize, llm_layers: int | None = None) -> None:
        """Build the backbone with random weights.

        Args:
            size: Dimensions of the vision tower, projection and language model.
            llm_layers: Number of language-model layers kept; None keeps ``size.llm_layers``.
        """
        super().__init__()
        vision_cfg = SiglipVisionConfig(
            hidden_size=size.vision_width,
            intermediate_size=size.vision_mlp,
            num_hidden_layers=size.vision_layers,
            num_attention_heads=size.vision_heads,
            num_channels=3,
            image_size=size.image_size,
            patch_size=size.patch_size,
            attention_dropout=0.0,
            vision_use_head=False,  # GR00T consumes the patch tokens, not SigLIP's pooled embedding
            attn_implementation="sdpa",
        )
        llm_cfg = Qwen3Config(
            vocab_size=size.vocab_size,
            hidden_size=size.llm_width,
            intermediate_size=size.llm_mlp,
            num_hidden_layers=size.llm_layers if llm_layers is None else llm_layers,
            num_attention_heads=size.llm_heads,
            num_key_value_heads=size.llm_kv_heads,
            head_dim=size.llm_head_dim,
            rope_theta=1_000_000.0,
            max_position_embeddings=40960,
            attention_dropout=0.0,
            use_cache=False,
            attn_implementation="sdpa",
        )
        self.image_size = size.image_size
        self.width = size.llm_width
        self.vision = SiglipVisionModel(vision_cfg)
        self.proj = nn.Linear(size.vision_width, size.llm_width)
        self.llm = Qwen3Model(llm_cfg)
        self.autocast = "float32"
        """Backbone autocast: ``bfloat16``, ``float32`` (off) or ``auto`` (bfloat16 on CUDA or with bfloat16
        weights, else off)."""
        self.gradient_checkpointing = False
        self.vision_trainable = False

    def add_lora(self, rank: int, alpha: float, llm_targets: list[str], vision_targets: list[str]) -> None:
        """Inject LoRA adapters into the named linear layers, then freeze every non-LoRA weight.

        LoRA's B matrices start at zero, so the adapted backbone initially computes exactly the pretrained one.
        Adapter dropout is fixed at 0: PPO's rollout runs in train mode and needs the same forward in the update.

        Raises:
            ValueError: If a target module name matches no layer of its tower.
        """
        from peft import LoraConfig, inject_adapter_in_model

        towers = ((self.llm, llm_targets, "lora_llm_targets"), (self.vision, vision_targets, "lora_vision_targets"))
        for tower, targets, field in towers:
            if not targets:
                continue
            lora_cfg = LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(targets), lora_dropout=0.0, bias="none")
            try:
                inject_adapter_in_model(lora_cfg, tower)
            except ValueError as err:
                raise ValueError(f"GR00T cfg field '{field}'={list(targets)} matches no layer: {err}") from err
        for name, param in self.named_parameters():
            param.requires_grad_("lora_" in name)
        self.vision_trainable = any(p.requires_grad for p in self.vision.parameters())
        self.train(False)

    def set_gradient_checkpointing(self, enabled: bool) -> None:
        """Recompute transformer-layer activations in backward instead of storing them (only when grads are on)."""
        self.gradient_checkpointing = enabled
        for layer in self.modules():
            if isinstance(layer, GradientCheckpointingLayer):
                layer.gradient_checkpointing = enabled
                layer._gradient_checkpointing_func = _checkpoint_when_grad_enabled
        self.train(False)

    def train(self, mode: bool = True) -> GR00TBackbone:
        """Keep the frozen backbone in eval mode (no dropout) whatever ``mode`` is.

        ``transformers`` only checkpoints a layer whose ``training`` flag is set, so with gradient checkpointing
        the decoder/encoder layer objects get that flag while all their submodules (attention, MLP, norms: the
        only places dropout could act) stay in eval mode.
        """
        super().train(False)
        if self.gradient_checkpointing:
            for layer in self.modules():
                if isinstance(layer, GradientCheckpointingLayer):
                    layer.training = True
        return self

    def set_instruction(self, instruction_ids: torch.Tensor) -> None:
        """Cache the ``(1, L)`` instruction token ids (a non-persistent buffer: it moves with ``.to()``)."""
        self.register_buffer("instruction_ids", instruction_ids, persistent=False)

    def forward(self, frames: torch.Tensor | None, batch_size: int) -> torch.Tensor:
        """Encode camera frames and the cached instruction into LM hidden states.

        Args:
            frames: ``(N, V, 3, S, S)`` views in SigLIP's input range ``[-1, 1]`` at ``S = image_size``, or None
                for state-only tasks.
            batch_size: N; without frames the output does not depend on the observation, so it is computed once
                and expanded.

        Returns:
            ``(N, V * P + L, width)`` float32 hidden states of the last kept LM layer.
        """
        instruction_ids = self.instruction_ids
        device_type = instruction_ids.device.type
        bf16_weights = self.proj.weight.dtype == torch.bfloat16
        use_bf16 = self.autocast == "bfloat16" or (self.autocast == "auto" and (device_type == "cuda" or bf16_weights))
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=use_bf16):
            text = self.llm.embed_tokens(instruction_ids)
            if frames is None:
                embeds = text
            else:
                num_envs, num_views = frames.shape[:2]
                with torch.set_grad_enabled(torch.is_grad_enabled() and self.vision_trainable):
                    patches = self.vision(pixel_values=frames.flatten(0, 1)).last_hidden_state
                vision_tokens = self.proj(patches).reshape(num_envs, -1, self.width)
                embeds = torch.cat([vision_tokens, text.expand(num_envs, -1, -1).to(vision_tokens.dtype)], dim=1)
            hidden = self.llm(inputs_embeds=embeds, use_cache=False).last_hidden_state
        return hidden.float().expand(batch_size, -1, -1)


def _checkpoint_when_grad_enabled(function, *args):
    """Activation checkpointing for a layer call; a plain call when no graph is recorded (rollout)."""
    if torch.is_grad_enabled():
        return torch.utils.checkpoint.checkpoint(function, *args, use_reentrant=False)
    return function(*args)
