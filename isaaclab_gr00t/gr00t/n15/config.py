"""Sizes of GR00T N1.5 (NVIDIA, "GR00T N1: An Open Foundation Model for Generalist Humanoid Robots",
arXiv:2503.14734, and the N1.5 release of Isaac-GR00T), read from a checkpoint folder or taken from a preset.

The published checkpoint's ``config.json`` holds ``backbone_cfg`` (``select_layer``: the language-model layers kept)
and ``action_head_cfg`` (every action-head size); the vision and language widths live in the Eagle 2.5 processor
folder's ``config.json`` (``vision_config``, ``text_config``). :meth:`N15Config.from_checkpoint` reads both and fills
what a file leaves out with the published value; :meth:`N15Config.preset` gives ``full`` (the published sizes) or
``tiny`` (the same structure at a few hundred thousand parameters, for CPU tests).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import transformers

from .errors import CheckpointNotFoundError, ConfigError, read_json_object

EAGLE_SIZES_FIELD = "isaaclab_gr00t_eagle_config"
"""This package's extra field of a checkpoint's ``config.json``: an Eagle ``config.json`` (vision/text sizes) for a
checkpoint whose backbone is not the published one (a fine-tune of a random ``tiny`` model); read when no
processor folder is given. NVIDIA's code ignores it."""

PUBLISHED_IMAGE_TOKEN_ID = 151669
"""Id of ``<IMG_CONTEXT>`` in the Eagle 2.5 tokenizer: one such token stands for each vision token."""


@dataclass
class VisionConfig:
    """SigLIP vision tower (Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV 2023)."""

    hidden_size: int = 1152
    """Token width."""
    num_layers: int = 27
    """Encoder layers."""
    num_heads: int = 16
    """Attention heads."""
    mlp_size: int = 4304
    """Feed-forward width."""
    patch_size: int = 14
    """Side of a square patch in pixels."""
    image_size: int = 224
    """Side of the square input view in pixels."""
    layer_norm_eps: float = 1e-6
    """LayerNorm epsilon."""


@dataclass
class TextConfig:
    """Qwen3 language model (Qwen3-1.7B in N1.5), cut to its first ``num_layers`` decoder layers."""

    hidden_size: int = 2048
    """Token width (the width of the features handed to the action head)."""
    num_layers: int = 12
    """Decoder layers kept: the checkpoint's ``backbone_cfg.select_layer``."""
    num_heads: int = 16
    """Query heads."""
    num_kv_heads: int = 8
    """Key/value heads (grouped-query attention)."""
    head_dim: int = 128
    """Width of one head."""
    mlp_size: int = 6144
    """SwiGLU feed-forward width."""
    vocab_size: int = 151680
    """Rows of the token embedding (Eagle 2.5's Qwen3: 151680, not Qwen3's 151936)."""
    rope_theta: float = 1_000_000.0
    """Rotary embedding base."""
    rms_norm_eps: float = 1e-6
    """RMSNorm epsilon."""
    max_position_embeddings: int = 40960
    """Longest sequence the rotary embedding is set up for."""


@dataclass
class DiTConfig:
    """Diffusion transformer of the action head (Peebles & Xie, "Scalable Diffusion Models with Transformers",
    ICCV 2023): adaptive-LayerNorm blocks whose even blocks cross-attend to the vision-language tokens."""

    num_layers: int = 16
    """Transformer blocks."""
    num_heads: int = 32
    """Attention heads."""
    head_dim: int = 48
    """Width of one head (``num_heads * head_dim`` is the DiT width, the action head's ``input_embedding_dim``)."""
    output_dim: int = 1024
    """Width of the output projection (the action decoder's input, ``action_head.hidden_size``)."""
    cross_attention_dim: int = 2048
    """Width of the vision-language tokens the cross-attention blocks read."""
    interleave_self_attention: bool = True
    """Odd blocks self-attend over the action tokens, even blocks cross-attend; False: every block cross-attends."""
    dropout: float = 0.2
    """Dropout after attention and in the feed-forward (train mode only; PPO runs the head in eval mode)."""


@dataclass
class VLSelfAttentionConfig:
    """Self-attention transformer over the backbone tokens before the DiT reads them."""

    num_layers: int = 4
    """Transformer blocks."""
    num_heads: int = 32
    """Attention heads."""
    head_dim: int = 64
    """Width of one head (``num_heads * head_dim`` must equal ``backbone_embedding_dim``)."""
    dropout: float = 0.2
    """Dropout after attention and in the feed-forward (train mode only)."""


@dataclass
class ActionHeadConfig:
    """Flow-matching action head (Lipman et al., "Flow Matching for Generative Modeling", ICLR 2023)."""

    action_dim: int = 32
    """Padded action width (every embodiment's action is zero-padded to it)."""
    action_horizon: int = 16
    """Actions in one predicted chunk."""
    hidden_size: int = 1024
    """Width of the state encoder's hidden layer and of the action decoder."""
    input_embedding_dim: int = 1536
    """Width of the state, future and action tokens (the DiT width)."""
    backbone_embedding_dim: int = 2048
    """Width of the backbone features the head reads."""
    max_state_dim: int = 64
    """Padded state width."""
    max_num_embodiments: int = 32
    """Slots of the per-embodiment encoders and decoder."""
    num_target_vision_tokens: int = 32
    """Learned ``future_tokens`` between the state token and the action tokens."""
    max_seq_len: int = 1024
    """Rows of the action tokens' position embedding."""
    num_inference_timesteps: int = 4
    """Euler steps of :meth:`FlowMatchingActionHead.sample`."""
    num_timestep_buckets: int = 1000
    """Flow time ``t`` in [0, 1) is discretized as ``int(t * num_timestep_buckets)``."""
    noise_beta_alpha: float = 1.5
    """Training: flow time is drawn through s ~ Beta(noise_beta_alpha, noise_beta_beta) (:mod:`.flow_matching`)."""
    noise_beta_beta: float = 1.0
    """Second shape parameter of that Beta distribution."""
    noise_s: float = 0.999
    """Training: t = (noise_s - s) / noise_s, so t stays below 1."""
    add_pos_embed: bool = True
    """Add the learned position embedding to the action tokens."""
    use_vlln: bool = True
    """LayerNorm + ``vl_self_attention`` on the backbone tokens; False passes them through unchanged."""
    dit: DiTConfig = field(default_factory=DiTConfig)
    """The diffusion transformer."""
    vl_self_attention: VLSelfAttentionConfig = field(default_factory=VLSelfAttentionConfig)
    """The transformer over the backbone tokens."""


@dataclass
class N15Config:
    """Every size of a GR00T N1.5 model, and the ids of its image tokens."""

    vision: VisionConfig = field(default_factory=VisionConfig)
    """SigLIP vision tower."""
    text: TextConfig = field(default_factory=TextConfig)
    """Qwen3 language model, cut."""
    action_head: ActionHeadConfig = field(default_factory=ActionHeadConfig)
    """Flow-matching action head."""
    image_token_id: int = PUBLISHED_IMAGE_TOKEN_ID
    """``<IMG_CONTEXT>``: the backbone writes one vision token at each position holding this id."""
    image_start_id: int = PUBLISHED_IMAGE_TOKEN_ID + 1
    """``<img>``, written before the image-context tokens of a view."""
    image_end_id: int = PUBLISHED_IMAGE_TOKEN_ID + 2
    """``</img>``, written after them."""

    @property
    def tokens_per_view(self) -> int:
        """Vision tokens (and ``<IMG_CONTEXT>`` tokens) of one camera view: ``(image_size / patch_size) ** 2``."""
        return (self.vision.image_size // self.vision.patch_size) ** 2

    def validate(self) -> None:
        """Raise :class:`ConfigError` unless the action head reads the language model's width."""
        head = self.action_head
        if not self.text.hidden_size == head.backbone_embedding_dim == head.dit.cross_attention_dim:
            raise ConfigError(f"GR00T N1.5 config: the language model's width {self.text.hidden_size}, the action "
                              f"head's backbone_embedding_dim {head.backbone_embedding_dim} and the DiT's "
                              f"cross_attention_dim {head.dit.cross_attention_dim} must be equal.")

    @classmethod
    def preset(cls, name: Literal["full", "tiny"]) -> N15Config:
        """The published sizes (``full``) or the tiny test sizes of the same structure (``tiny``).

        Raises:
            ConfigError: For another name.
        """
        if name == "full":
            return cls()
        if name == "tiny":
            return _tiny()
        raise ConfigError(f"Unknown GR00T N1.5 preset '{name}': known presets are 'full' and 'tiny'.")

    @classmethod
    def from_checkpoint(cls, ckpt_dir: str, processor_dir: str | None = None) -> N15Config:
        """Sizes of the model stored in ``ckpt_dir`` (its ``config.json``), with the vision and language sizes
        from ``processor_dir/config.json`` (the Eagle 2.5 folder) when given, else from the checkpoint's
        :data:`EAGLE_SIZES_FIELD` when it has one, else the published ones.

        Fields a file leaves out take the published value.

        Raises:
            CheckpointNotFoundError: If a ``config.json`` is missing.
            ConfigError: If a ``config.json`` is not JSON, or asks for an architecture variant this
                package does not build (e.g. ``project_to_dim``, pixel shuffle, sinusoidal DiT positions), or the
                action head does not read the language model's width.
        """
        path = os.path.join(ckpt_dir, "config.json")
        ckpt = _read_json(path)
        config = cls()
        if processor_dir is not None:
            eagle_path = os.path.join(processor_dir, "config.json")
            config = _with_eagle_sizes(config, _read_json(eagle_path), eagle_path)
        elif isinstance(ckpt.get(EAGLE_SIZES_FIELD), dict):
            config = _with_eagle_sizes(config, ckpt[EAGLE_SIZES_FIELD], f"{path} {EAGLE_SIZES_FIELD}")
        backbone_cfg = ckpt.get("backbone_cfg", {})
        if backbone_cfg.get("project_to_dim") is not None:
            raise ConfigError(f"{path}: backbone_cfg.project_to_dim={backbone_cfg['project_to_dim']} (a projection "
                              "after the language model) is not part of GR00T N1.5 and is not built here.")
        if backbone_cfg.get("reproject_vision"):
            raise ConfigError(f"{path}: backbone_cfg.reproject_vision=true is not built here.")
        if "select_layer" in backbone_cfg:
            config.text.num_layers = int(backbone_cfg["select_layer"])
        config.action_head = _action_head_from(ckpt.get("action_head_cfg", {}), path)
        try:
            config.validate()
        except ConfigError as err:
            sizes = "" if processor_dir else " (no processor folder: the published vision/language sizes are assumed)"
            raise ConfigError(f"{path}: {err}{sizes}") from err
        return config


def _read_json(path: str) -> dict[str, Any]:
    """Parse a JSON file into a dict."""
    if not os.path.isfile(path):
        raise CheckpointNotFoundError(f"{path}: file not found.")
    return read_json_object(path, ConfigError, "a JSON object at the top level")


def _with_eagle_sizes(config: N15Config, eagle: dict[str, Any], path: str) -> N15Config:
    """Vision and language sizes from an Eagle 2.5 ``config.json`` (transformers' SigLIP and Qwen3 field names)."""
    if eagle.get("use_pixel_shuffle", False):
        raise ConfigError(f"{path}: use_pixel_shuffle=true is not part of GR00T N1.5 and is not built here.")
    if eagle.get("mlp_connector_layers", 1) != 1:
        raise ConfigError(f"{path}: mlp_connector_layers={eagle['mlp_connector_layers']}: only the one-Linear "
                          "connector of GR00T N1.5 is built here.")
    if eagle.get("select_layer", -1) != -1:
        raise ConfigError(f"{path}: select_layer={eagle['select_layer']}: only the vision tower's last hidden "
                          "state (select_layer -1, as published) is built here.")
    vision = eagle.get("vision_config", {})
    text = eagle.get("text_config", {})
    if vision.get("model_type", "siglip_vision_model") != "siglip_vision_model":
        raise ConfigError(f"{path}: vision_config.model_type={vision['model_type']!r}: only SigLIP is built here.")
    if text.get("model_type", "qwen3") != "qwen3":
        raise ConfigError(f"{path}: text_config.model_type={text['model_type']!r}: only Qwen3 is built here.")
    v, t = config.vision, config.text
    vision_cfg = replace(
        v,
        hidden_size=vision.get("hidden_size", v.hidden_size),
        num_layers=vision.get("num_hidden_layers", v.num_layers),
        num_heads=vision.get("num_attention_heads", v.num_heads),
        mlp_size=vision.get("intermediate_size", v.mlp_size),
        patch_size=vision.get("patch_size", v.patch_size),
        image_size=eagle.get("force_image_size") or vision.get("image_size", v.image_size),
        layer_norm_eps=vision.get("layer_norm_eps", v.layer_norm_eps),
    )
    text_cfg = replace(
        t,
        hidden_size=text.get("hidden_size", t.hidden_size),
        num_heads=text.get("num_attention_heads", t.num_heads),
        num_kv_heads=text.get("num_key_value_heads", t.num_kv_heads),
        head_dim=text.get("head_dim", t.head_dim),
        mlp_size=text.get("intermediate_size", t.mlp_size),
        vocab_size=text.get("vocab_size", t.vocab_size),
        rope_theta=float(text.get("rope_theta", t.rope_theta)),
        rms_norm_eps=text.get("rms_norm_eps", t.rms_norm_eps),
        max_position_embeddings=text.get("max_position_embeddings", t.max_position_embeddings),
    )
    image_token_id = int(eagle.get("image_token_index", config.image_token_id))
    return replace(config, vision=vision_cfg, text=text_cfg, image_token_id=image_token_id,
                   image_start_id=image_token_id + 1, image_end_id=image_token_id + 2)


_NESTED = ("dit", "vl_self_attention")
"""Fields of :class:`ActionHeadConfig` stored as nested objects in NVIDIA's config."""


def _action_head_from(cfg: dict[str, Any], path: str) -> ActionHeadConfig:
    """The action-head sizes of a checkpoint's ``action_head_cfg`` (NVIDIA's field names)."""
    dit_cfg = cfg.get("diffusion_model_cfg") or {}
    vlsa_cfg = cfg.get("vl_self_attention_cfg") or {}
    for name, sub in (("diffusion_model_cfg", dit_cfg), ("vl_self_attention_cfg", vlsa_cfg)):
        if sub.get("positional_embeddings") is not None:
            raise ConfigError(f"{path}: action_head_cfg.{name}.positional_embeddings="
                              f"{sub['positional_embeddings']!r}: only null (as published) is built here.")
    if dit_cfg.get("norm_type", "ada_norm") != "ada_norm":
        raise ConfigError(f"{path}: action_head_cfg.diffusion_model_cfg.norm_type={dit_cfg['norm_type']!r}: only "
                          "'ada_norm' (as published) is built here.")
    if cfg.get("max_action_dim", cfg.get("action_dim", 32)) != cfg.get("action_dim", 32):
        raise ConfigError(f"{path}: action_head_cfg.max_action_dim={cfg['max_action_dim']} differs from action_dim="
                          f"{cfg.get('action_dim', 32)}; the published head pads actions to action_dim.")
    default_dit, default_vlsa = DiTConfig(), VLSelfAttentionConfig()
    dit = DiTConfig(
        num_layers=dit_cfg.get("num_layers", default_dit.num_layers),
        num_heads=dit_cfg.get("num_attention_heads", default_dit.num_heads),
        head_dim=dit_cfg.get("attention_head_dim", default_dit.head_dim),
        output_dim=dit_cfg.get("output_dim", default_dit.output_dim),
        cross_attention_dim=dit_cfg.get("cross_attention_dim", default_dit.cross_attention_dim),
        interleave_self_attention=dit_cfg.get("interleave_self_attention", default_dit.interleave_self_attention),
        dropout=dit_cfg.get("dropout", default_dit.dropout),
    )
    vlsa = VLSelfAttentionConfig(
        num_layers=vlsa_cfg.get("num_layers", default_vlsa.num_layers),
        num_heads=vlsa_cfg.get("num_attention_heads", default_vlsa.num_heads),
        head_dim=vlsa_cfg.get("attention_head_dim", default_vlsa.head_dim),
        dropout=vlsa_cfg.get("dropout", default_vlsa.dropout),
    )
    scalars = {f.name: cfg[f.name] for f in fields(ActionHeadConfig) if f.name in cfg and f.name not in _NESTED}
    return ActionHeadConfig(**scalars, dit=dit, vl_self_attention=vlsa)


TINY_SPECIAL_TOKENS = {
    "<|endoftext|>": 270,
    "<|im_start|>": 271,
    "<|im_end|>": 272,
    "<IMG_CONTEXT>": 273,
    "<img>": 274,
    "</img>": 275,
}
"""Special tokens of the tiny test tokenizer (``testing.write_tokenizer``) and their ids."""

TINY_VOCAB_SIZE = 288
"""Token-embedding rows of the ``tiny`` preset (the tiny tokenizer's 276 tokens, padded like Eagle's vocabulary)."""


def _tiny() -> N15Config:
    """Same structure as ``full`` at test sizes; the token ids are the tiny test tokenizer's."""
    return N15Config(
        vision=VisionConfig(hidden_size=32, num_layers=2, num_heads=2, mlp_size=64, patch_size=14, image_size=28),
        text=TextConfig(hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2, head_dim=16, mlp_size=128,
                        vocab_size=TINY_VOCAB_SIZE, max_position_embeddings=2048),
        action_head=ActionHeadConfig(
            action_dim=12, action_horizon=4, hidden_size=32, input_embedding_dim=48, backbone_embedding_dim=64,
            max_state_dim=16, max_num_embodiments=32, num_target_vision_tokens=3, max_seq_len=16,
            dit=DiTConfig(num_layers=4, num_heads=4, head_dim=12, output_dim=32, cross_attention_dim=64),
            vl_self_attention=VLSelfAttentionConfig(num_layers=2, num_heads=4, head_dim=16),
        ),
        image_token_id=TINY_SPECIAL_TOKENS["<IMG_CONTEXT>"],
        image_start_id=TINY_SPECIAL_TOKENS["<img>"],
        image_end_id=TINY_SPECIAL_TOKENS["</img>"],
    )


def config_to_checkpoint_json(config: N15Config) -> dict[str, Any]:
    """The checkpoint ``config.json`` of ``config`` (NVIDIA's field names), as :func:`save_checkpoint` writes it."""
    head = config.action_head
    scalars = {f.name: getattr(head, f.name) for f in fields(ActionHeadConfig) if f.name not in _NESTED}
    return {
        "architectures": ["GR00T_N1_5"],
        "model_type": "gr00t_n1_5",
        "backbone_cfg": {"select_layer": config.text.num_layers, "project_to_dim": None, "reproject_vision": False},
        "action_head_cfg": {
            **scalars,
            "max_action_dim": head.action_dim,
            "diffusion_model_cfg": {
                "num_layers": head.dit.num_layers,
                "num_attention_heads": head.dit.num_heads,
                "attention_head_dim": head.dit.head_dim,
                "output_dim": head.dit.output_dim,
                "cross_attention_dim": head.dit.cross_attention_dim,
                "interleave_self_attention": head.dit.interleave_self_attention,
                "dropout": head.dit.dropout,
                "final_dropout": True,
                "norm_type": "ada_norm",
                "positional_embeddings": None,
            },
            "vl_self_attention_cfg": {
                "num_layers": head.vl_self_attention.num_layers,
                "num_attention_heads": head.vl_self_attention.num_heads,
                "attention_head_dim": head.vl_self_attention.head_dim,
                "dropout": head.vl_self_attention.dropout,
                "final_dropout": True,
                "positional_embeddings": None,
            },
        },
        "hidden_size": config.text.hidden_size,
        "transformers_version": transformers.__version__,
    }


def config_to_eagle_json(config: N15Config) -> dict[str, Any]:
    """An Eagle 2.5 processor-folder ``config.json`` holding ``config``'s vision and language sizes."""
    v, t = config.vision, config.text
    return {
        "architectures": ["Eagle2_5_VLForConditionalGeneration"],
        "auto_map": {"AutoConfig": "configuration_eagle2_5_vl.Eagle2_5_VLConfig",
                     "AutoModel": "modeling_eagle2_5_vl.Eagle2_5_VLForConditionalGeneration"},
        "model_type": "eagle_2_5_vl",
        "force_image_size": v.image_size,
        "image_token_index": config.image_token_id,
        "mlp_connector_layers": 1,
        "select_layer": -1,
        "use_pixel_shuffle": False,
        "vision_config": {
            "model_type": "siglip_vision_model",
            "hidden_size": v.hidden_size,
            "num_hidden_layers": v.num_layers,
            "num_attention_heads": v.num_heads,
            "intermediate_size": v.mlp_size,
            "patch_size": v.patch_size,
            "image_size": v.image_size,
            "layer_norm_eps": v.layer_norm_eps,
        },
        "text_config": {
            "model_type": "qwen3",
            "architectures": ["Qwen3ForCausalLM"],
            "hidden_size": t.hidden_size,
            "num_hidden_layers": max(t.num_layers, 1),
            "num_attention_heads": t.num_heads,
            "num_key_value_heads": t.num_kv_heads,
            "head_dim": t.head_dim,
            "intermediate_size": t.mlp_size,
            "vocab_size": t.vocab_size,
            "rope_theta": t.rope_theta,
            "rms_norm_eps": t.rms_norm_eps,
            "max_position_embeddings": t.max_position_embeddings,
            "tie_word_embeddings": True,
        },
    }
