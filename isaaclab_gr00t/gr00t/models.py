"""GR00T-class actor and critic models with rsl-rl-lib 5.x's model interface.

rsl_rl builds them as ``cls(obs, obs_groups, "actor"|"critic", output_dim, **cfg)`` and PPO calls ``forward``,
``get_output_log_prob``, ``output_*``, ``get_kl_divergence``, ``reset``, ``get_hidden_state``,
``update_normalization``, ``as_jit``/``as_onnx``. Both subclass rsl_rl's ``MLPModel`` to inherit its distribution
accessors and non-recurrent no-ops; the actor replaces the MLP with backbone + flow-matching head (its ``__init__``
does not call ``MLPModel.__init__``, which would build an unused MLP).
"""

from __future__ import annotations

import inspect

import torch
import torch.nn as nn
from rsl_rl.models import MLPModel
from rsl_rl.modules import EmpiricalNormalization, HiddenState
from rsl_rl.utils import resolve_class, unpad_trajectories
from tensordict import TensorDict

from . import sharing
from .action_adapter import ActionAdapter
from .action_head import FlowMatchingActionHead
from .fallback import build_fallback_policy, missing_backbone_error
from .loading import load_backbone_weights, resolve_pretrained_dir
from .sizes import get_size
from .tokenizer import tokenize_instruction

_DEFAULT_FALLBACK_CNN = {"output_channels": [8, 16, 16], "kernel_size": [5, 3, 3], "stride": [2, 2, 2], "activation": "relu"}


class GR00TExportError(NotImplementedError):
    """Raised by ``as_jit``/``as_onnx``: the transformers/peft backbone cannot be exported to TorchScript or ONNX."""


class GR00TActor(MLPModel):
    """Frozen SigLIP + Qwen3 backbone with LoRA, a flow-matching action head and a state-independent Gaussian.

    The policy mean is the executed part of the head's deterministic action chunk; actions are sampled from
    rsl_rl's ``GaussianDistribution`` around it, so log-probabilities, entropy and KL are exact (docs/gr00t.md).
    ``state_dict()`` holds the LoRA weights, the head, the std and normalizer statistics only; the frozen backbone
    is rebuilt from the cfg (``size``, ``pretrained_path``) and never saved.
    """

    def __new__(cls, obs: TensorDict, obs_groups: dict[str, list[str]], obs_set: str, output_dim: int, **cfg):
        """Build the GR00T actor, or rsl_rl's MLP/CNN policy when the backbone's code or weights are missing."""
        args = inspect.signature(cls.__init__).bind(None, obs, obs_groups, obs_set, output_dim, **cfg)
        args.apply_defaults()
        kwargs = args.arguments
        if kwargs["on_missing"] not in ("error", "fallback_mlp"):
            raise ValueError(f"GR00T cfg field 'on_missing' must be 'error' or 'fallback_mlp', got {kwargs['on_missing']!r}.")
        error = missing_backbone_error(kwargs["pretrained_path"])
        if error is None:
            return super().__new__(cls)
        if kwargs["on_missing"] == "error":
            raise type(error)(f"{error} (cfg field on_missing='error').")
        sharing.withdraw(kwargs["share_key"])
        return build_fallback_policy(obs, obs_groups, obs_set, output_dim, kwargs, str(error))

    def __init__(
        self,
        obs: TensorDict,
        obs_groups: dict[str, list[str]],
        obs_set: str,
        output_dim: int,
        hidden_dims: list[int] = (256, 256),
        activation: str = "elu",
        obs_normalization: bool = False,
        distribution_cfg: dict | None = None,
        size: str = "tiny",
        instruction: str = "perform the task",
        pretrained_path: str | None = None,
        on_missing: str = "error",
        checkpoint_key_map: dict[str, str] | None = None,
        llm_layers: int | None = None,
        lora_rank: int = 16,
        lora_alpha: float = 32.0,
        lora_llm_targets: list[str] = ("q_proj", "v_proj"),
        lora_vision_targets: list[str] = (),
        autocast_dtype: str = "auto",
        frozen_dtype: str = "float32",
        gradient_checkpointing: bool = False,
        channels_per_frame: int = 3,
        image_scale: float = 2.0,
        action_horizon: int = 16,
        max_action_dim: int = 32,
        execute_steps: int = 1,
        num_denoising_steps: int = 4,
        head_width: int | None = None,
        head_layers: int | None = None,
        head_heads: int | None = None,
        lora_lr_scale: float = 1.0,
        head_lr_scale: float = 1.0,
        std_lr_scale: float = 1.0,
        share_key: str = "default",
        fallback_cnn_cfg: dict = _DEFAULT_FALLBACK_CNN,
    ) -> None:
        """Build the actor; every argument after ``output_dim`` is a field of :class:`GR00TActorCfg`."""
        nn.Module.__init__(self)
        if channels_per_frame not in (1, 3):
            raise ValueError(f"GR00T cfg field 'channels_per_frame' must be 1 or 3, got {channels_per_frame}.")
        image_groups, self.obs_groups, self.obs_dim = _split_obs_groups(obs, obs_groups[obs_set])
        if not image_groups and not self.obs_groups:
            raise ValueError(f"GR00T actor observation set '{obs_set}' has no image or state group: {obs_groups[obs_set]}.")
        self.obs_normalization = obs_normalization and self.obs_dim > 0
        self.obs_normalizer = EmpiricalNormalization(self.obs_dim) if self.obs_normalization else nn.Identity()
        self.lr_scales = {"lora": lora_lr_scale, "head": head_lr_scale, "std": std_lr_scale}

        # frozen backbone with LoRA, published for the critic
        dims = get_size(size)
        self.backbone = _build_backbone(
            dims, llm_layers, pretrained_path, checkpoint_key_map, instruction, lora_rank, lora_alpha,
            lora_llm_targets, lora_vision_targets, autocast_dtype, frozen_dtype, gradient_checkpointing,
        )  # fmt: skip
        self.shared = sharing.SharedBackbone(self.backbone, image_groups, channels_per_frame, image_scale)
        sharing.publish(share_key, self.shared)

        # trainable action head and distribution
        self.adapter = ActionAdapter(output_dim, action_horizon, max_action_dim, execute_steps)
        self.action_head = FlowMatchingActionHead(
            context_width=self.backbone.width,
            state_dim=self.obs_dim,
            horizon=action_horizon,
            action_dim=max_action_dim,
            width=head_width or dims.head_width,
            num_layers=head_layers or dims.head_layers,
            num_heads=head_heads or dims.head_heads,
            num_steps=num_denoising_steps,
            state_hidden_dims=list(hidden_dims),
            activation=activation,
        )
        self.distribution = None
        if distribution_cfg is not None:
            dist_class, dist_cfg = resolve_class(distribution_cfg)
            self.distribution = dist_class(output_dim, **dist_cfg)
            if self.distribution.input_dim != output_dim:
                raise ValueError(
                    f"GR00T actor needs a distribution parameterized by its mean only (e.g. GaussianDistribution),"
                    f" got cfg field distribution_cfg.class_name={distribution_cfg['class_name']!r}."
                )

        # checkpoints hold trainable weights and statistics only; the frozen backbone is rebuilt from the cfg
        trainable = {name for name, p in self.backbone.named_parameters() if p.requires_grad}
        self._frozen_keys = {f"backbone.{k}" for k in self.backbone.state_dict() if k not in trainable}
        self.register_state_dict_post_hook(_drop_frozen_keys)
        self.register_load_state_dict_post_hook(_ignore_missing_frozen_keys)

    def forward(
        self,
        obs: TensorDict,
        masks: torch.Tensor | None = None,
        hidden_state: HiddenState = None,
        stochastic_output: bool = False,
    ) -> torch.Tensor:
        """Return sampled actions (``stochastic_output``) or the policy mean, ``(N, execute_steps * action_dim)``."""
        obs = unpad_trajectories(obs, masks) if masks is not None else obs
        tokens = self.shared.encode(obs)
        state = self.get_latent(obs) if self.obs_groups else None
        mean = self.adapter.to_env(self.action_head(tokens, state))
        if self.distribution is None:
            return mean
        if stochastic_output:
            self.distribution.update(mean)
            return self.distribution.sample()
        return self.distribution.deterministic_output(mean)

    def optimizer_param_groups(self, base_lr: float) -> list[dict]:
        """Parameter groups for PPO37 (contract 3): LoRA, action head and std, each at its own learning rate."""
        groups = {
            "lora": [p for p in self.backbone.parameters() if p.requires_grad],
            "head": list(self.action_head.parameters()),
            "std": list(self.distribution.parameters()) if self.distribution is not None else [],
        }
        return [
            {"name": name, "params": [p for p in params if p.requires_grad], "lr": base_lr * self.lr_scales[name]}
            for name, params in groups.items()
            if any(p.requires_grad for p in params)
        ]

    def as_jit(self) -> nn.Module:
        """Not supported: raise :class:`GR00TExportError`."""
        raise GR00TExportError(
            "GR00TActor cannot be exported to TorchScript (transformers/peft backbone); use the checkpoint instead."
        )

    def as_onnx(self, verbose: bool = False) -> nn.Module:
        """Not supported: raise :class:`GR00TExportError`."""
        raise GR00TExportError(
            "GR00TActor cannot be exported to ONNX (transformers/peft backbone); use the checkpoint instead."
        )


class GR00TCritic(MLPModel):
    """Value MLP on the actor's pooled, detached backbone features and/or the critic's 1-D observation groups."""

    def __init__(
        self,
        obs: TensorDict,
        obs_groups: dict[str, list[str]],
        obs_set: str,
        output_dim: int,
        hidden_dims: list[int] = (256, 256),
        activation: str = "elu",
        obs_normalization: bool = False,
        distribution_cfg: dict | None = None,
        value_input: str = "features",
        share_key: str = "default",
        lr_scale: float = 1.0,
    ) -> None:
        """Build the critic; the arguments after ``output_dim`` are fields of :class:`GR00TCriticCfg`.

        Raises:
            ValueError: If ``value_input`` is unknown, or ``features`` finds no GR00T actor under ``share_key``,
                or the critic ends up with no input.
        """
        if value_input not in ("features", "state"):
            raise ValueError(f"GR00T critic cfg field 'value_input' must be 'features' or 'state', got {value_input!r}.")
        shared = sharing.lookup(share_key) if value_input == "features" else None
        if value_input == "features" and shared is None:
            raise ValueError(
                f"GR00T critic with value_input='features' found no GR00T actor published under share_key"
                f" {share_key!r}: build the actor first (rsl_rl does) with the same share_key, or use"
                " value_input='state' (needed when the actor fell back to an MLP policy)."
            )
        # set before MLPModel.__init__, which asks _get_latent_dim() for the feature width; a plain attribute, so
        # the backbone's parameters are not registered in the critic
        self._shared = shared
        self.lr_scale = lr_scale
        super().__init__(obs, obs_groups, obs_set, output_dim, hidden_dims, activation, obs_normalization, distribution_cfg)

    def get_latent(
        self, obs: TensorDict, masks: torch.Tensor | None = None, hidden_state: HiddenState = None
    ) -> torch.Tensor:
        """Concatenate the normalized 1-D groups and the pooled backbone features."""
        parts = [super().get_latent(obs)] if self.obs_groups else []
        if self._shared is not None:
            parts.append(self._shared.pooled_features(obs))
        return torch.cat(parts, dim=-1)

    def optimizer_param_groups(self, base_lr: float) -> list[dict]:
        """One parameter group for PPO37 (contract 3) at ``lr_scale`` times the algorithm's learning rate."""
        return [{"name": "value", "params": [p for p in self.parameters() if p.requires_grad], "lr": base_lr * self.lr_scale}]

    def as_jit(self) -> nn.Module:
        """rsl_rl's MLP export for ``value_input="state"``; :class:`GR00TExportError` with backbone features."""
        if self._shared is not None:
            raise GR00TExportError("GR00TCritic with value_input='features' cannot be exported (backbone features).")
        return super().as_jit()

    def as_onnx(self, verbose: bool = False) -> nn.Module:
        """rsl_rl's MLP export for ``value_input="state"``; :class:`GR00TExportError` with backbone features."""
        if self._shared is not None:
            raise GR00TExportError("GR00TCritic with value_input='features' cannot be exported (backbone features).")
        return super().as_onnx(verbose)

    def _get_obs_dim(self, obs: TensorDict, obs_groups: dict[str, list[str]], obs_set: str) -> tuple[list[str], int]:
        """Select the 1-D groups; images reach the critic only through the actor's backbone features."""
        image_groups, groups_1d, dim_1d = _split_obs_groups(obs, obs_groups[obs_set])
        if image_groups and self._shared is None:
            raise ValueError(
                f"GR00T critic with value_input='state' cannot read image groups {image_groups}: use"
                " value_input='features' or give the critic 1-D groups only."
            )
        if not groups_1d and self._shared is None:
            raise ValueError(f"GR00T critic with value_input='state' has no 1-D observation group in set '{obs_set}'.")
        return groups_1d, dim_1d

    def _get_latent_dim(self) -> int:
        """1-D observation size plus the backbone width when features are used."""
        return self.obs_dim + (self._shared.backbone.width if self._shared is not None else 0)


def _split_obs_groups(obs: TensorDict, groups: list[str]) -> tuple[list[str], list[str], int]:
    """Split groups into images (rank 4: N, C, H, W) and 1-D vectors (rank 2); return both and the 1-D size."""
    image_groups, groups_1d, dim_1d = [], [], 0
    for group in groups:
        if obs[group].dim() == 4:
            image_groups.append(group)
        elif obs[group].dim() == 2:
            groups_1d.append(group)
            dim_1d += obs[group].shape[-1]
        else:
            raise ValueError(f"GR00T models take rank-2 or rank-4 observations, group '{group}' has shape {tuple(obs[group].shape)}.")
    return image_groups, groups_1d, dim_1d


def _build_backbone(
    dims, llm_layers, pretrained_path, key_map, instruction, lora_rank, lora_alpha, lora_llm_targets,
    lora_vision_targets, autocast_dtype, frozen_dtype, gradient_checkpointing,
):  # fmt: skip
    """Build the backbone, load pretrained weights, add LoRA, freeze, and cache the instruction tokens."""
    from .backbone import GR00TBackbone  # transformers is imported only once the backbone is known to be buildable

    if autocast_dtype not in ("auto", "bfloat16", "float32"):
        raise ValueError(f"GR00T cfg field 'autocast_dtype' must be auto, bfloat16 or float32, got {autocast_dtype!r}.")
    if frozen_dtype not in ("float32", "bfloat16"):
        raise ValueError(f"GR00T cfg field 'frozen_dtype' must be float32 or bfloat16, got {frozen_dtype!r}.")
    if frozen_dtype == "bfloat16" and autocast_dtype == "float32":
        raise ValueError("GR00T cfg field frozen_dtype='bfloat16' needs autocast_dtype 'auto' or 'bfloat16'.")
    backbone = GR00TBackbone(dims, llm_layers)
    pretrained_dir = resolve_pretrained_dir(pretrained_path) if pretrained_path is not None else None
    if pretrained_dir is not None:
        load_backbone_weights(backbone, pretrained_dir, key_map)
    if frozen_dtype == "bfloat16":
        backbone.to(torch.bfloat16)
    backbone.add_lora(lora_rank, lora_alpha, list(lora_llm_targets), list(lora_vision_targets))
    backbone.set_gradient_checkpointing(gradient_checkpointing)
    backbone.set_instruction(tokenize_instruction(instruction, backbone.llm.config.vocab_size, pretrained_dir))
    backbone.autocast = autocast_dtype
    return backbone


def _drop_frozen_keys(module: GR00TActor, state_dict: dict, prefix: str, local_metadata: dict) -> None:
    """State-dict post hook: remove the frozen backbone weights."""
    for key in module._frozen_keys:
        state_dict.pop(prefix + key, None)


def _ignore_missing_frozen_keys(module: GR00TActor, incompatible_keys) -> None:
    """Load post hook: frozen backbone weights are never in a checkpoint, so they are not missing."""
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if not _has_suffix_in(k, module._frozen_keys)]


def _has_suffix_in(key: str, suffixes: set[str]) -> bool:
    """Whether a dotted suffix of ``key`` (the key without a parent module's prefix) is in ``suffixes``."""
    parts = key.split(".")
    return any(".".join(parts[i:]) in suffixes for i in range(len(parts)))
