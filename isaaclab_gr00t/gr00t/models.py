"""GR00T N1.5 actor and critic with rsl-rl-lib 5.x's model interface, for PPO fine-tuning.

rsl_rl builds them as ``cls(obs, obs_groups, "actor"|"critic", output_dim, **cfg)`` and PPO calls ``forward``,
``get_output_log_prob``, ``output_*``, ``get_kl_divergence``, ``reset``, ``get_hidden_state``,
``update_normalization``, ``as_jit``/``as_onnx``. Both subclass rsl_rl's ``MLPModel`` for its distribution accessors
and non-recurrent no-ops; the actor replaces the MLP with the N1.5 model (its ``__init__`` does not call
``MLPModel.__init__``, which would build an unused MLP). Beyond that interface they offer PPO37's optional hooks
(:mod:`isaaclab_gr00t.ppo.model_hooks`): stored rollout extras, parameter groups, gradient checkpointing, and the
actor's encoding shared with the critic. See docs/gr00t.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn
from isaaclab.utils import to_dict
from rsl_rl.models import MLPModel
from rsl_rl.modules import EmpiricalNormalization, HiddenState
from rsl_rl.utils import unpad_trajectories
from tensordict import TensorDict

from .build import GR00TBuild, build_gr00t
from .config import GR00TActorCfg, GR00TCriticCfg
from .flow_policy import Denoiser, FlowSDE, GaussianAroundFlow
from .images import camera_views, count_views
from .normalization import pad_to
from .prompt import prompt_tokens
from .sharing import SharedEncoder


class GR00TExportError(NotImplementedError):
    """Raised by ``as_jit``/``as_onnx``: the transformers backbone cannot be exported to TorchScript or ONNX."""


class GR00TActor(MLPModel):
    """GR00T N1.5 as a PPO actor: camera views + chat-templated instruction + normalized state -> action chunk.

    The frozen Eagle backbone (optionally with LoRA) gives token features; the flow-matching action head turns
    them, the state token and the embodiment's slot into a 16-step chunk, whose executed part is the action. The
    stochastic policy around it is a mode object (:mod:`.flow_policy`): a Gaussian around the deterministic flow
    output, or RLinf's flow-SDE. ``state_dict()`` holds the trainable weights and statistics; the frozen backbone
    is saved only when it does not come from a checkpoint folder (which rebuilds it).
    """

    def __init__(self, obs: TensorDict, obs_groups: dict[str, list[str]], obs_set: str, output_dim: int,
                 **cfg: Any) -> None:
        """Build the actor; ``cfg`` holds fields of :class:`GR00TActorCfg` (rsl_rl passes its ``to_dict``), the
        others keep their defaults.

        Raises:
            ValueError: Naming the cfg field that is unknown or does not fit the observations or the model.
        """
        nn.Module.__init__(self)
        cfg = as_model_cfg(GR00TActorCfg, cfg, "GR00T actor")
        if list(cfg.hidden_dims) or cfg.activation != "none":
            raise ValueError(
                "GR00T actor cfg fields 'hidden_dims' and 'activation' must stay [] and 'none': the N1.5 architecture"
                " has no configurable MLP (the value head's sizes are on the critic cfg)."
            )
        self.image_groups, self.obs_groups, self.obs_dim = split_obs_groups(obs, obs_groups[obs_set])
        if not self.image_groups and not self.obs_groups:
            raise ValueError(
                f"GR00T actor observation set '{obs_set}' has no image or state group: {obs_groups[obs_set]}."
            )
        self.obs_normalization = cfg.obs_normalization and self.obs_dim > 0
        self.obs_normalizer = EmpiricalNormalization(self.obs_dim) if self.obs_normalization else nn.Identity()

        built: GR00TBuild = build_gr00t(cfg, self.obs_dim, output_dim)
        self.gr00t = built.model
        self.adapter = built.adapter
        self.state_map, self.action_map = built.state_map, built.action_map
        self.embodiment_id = built.embodiment.slot_id
        """The action head's slot for every sample (an ``int``: each per-embodiment layer is one matrix product)."""
        config = self.gr00t.config
        views = count_views([obs[group] for group in self.image_groups], cfg.channels_per_frame)
        # one prompt for every env, so never padded: the LM runs without a mask, on the causal flash kernel
        input_ids, _ = prompt_tokens(built.tokenizer, [cfg.instruction], views, config.tokens_per_view)
        self.register_buffer("input_ids", input_ids, persistent=False)
        self.image_input = dict(
            pixel_scale=cfg.pixel_scale, pixel_offset=cfg.pixel_offset, channels_per_frame=cfg.channels_per_frame
        )
        self.lr_scales = {"action_head": cfg.action_head_lr_scale, "lora": cfg.lora_lr_scale, "std": cfg.std_lr_scale}
        self.unfreeze_schedule = built.schedule
        # the checkpoint folder rebuilds the frozen weights, so PPO checkpoints leave them out (not those of stages)
        scheduled = {id(p) for p in self.unfreeze_schedule.parameters()}
        trainable = {f"gr00t.{name}" for name, p in self.gr00t.named_parameters()
                     if p.requires_grad or id(p) in scheduled}
        frozen = {f"gr00t.{key}" for key in self.gr00t.state_dict()} - trainable
        self._frozen_keys = frozen if cfg.checkpoint is not None else set()
        self.register_state_dict_post_hook(_drop_frozen_keys)
        self.register_load_state_dict_post_hook(_ignore_missing_frozen_keys)

        if cfg.policy == "gaussian":
            self.policy = GaussianAroundFlow(output_dim, _as_dict(cfg.distribution_cfg))
        elif cfg.policy == "flow_sde":
            self.policy = FlowSDE(output_dim, cfg.noise_level)
        else:
            raise ValueError(f"GR00T actor cfg field 'policy' must be 'gaussian' or 'flow_sde', got {cfg.policy!r}.")

        self.backbone_trains = (any(p.requires_grad for p in self.gr00t.backbone.parameters())
                                or self.unfreeze_schedule.touches_backbone)
        """Whether the backbone trains now or from a stage of the unfreeze schedule; decided once, so a schedule
        that will train it never stores its features (they would go stale once it trains)."""
        self.gradient_checkpointing = cfg.gradient_checkpointing
        self.autocast = cfg.dtype == "bfloat16"
        self._replay: TensorDict | None = None
        self._rollout_extras: TensorDict | None = None
        head = config.action_head
        feature_dim = head.backbone_embedding_dim + head.input_embedding_dim
        self.shared = SharedEncoder(self._encode, self.image_groups + self.obs_groups, feature_dim)

    # ------------------------------------------------------------------ rsl_rl model interface

    @property
    def distribution(self):
        """The policy mode's distribution (rsl_rl's ``output_*`` accessors read it)."""
        return self.policy.distribution

    @property
    def cnns(self) -> SharedEncoder:
        """What ``share_cnn_encoders`` hands the critic (:class:`~isaaclab_gr00t.ppo.model_hooks.SharesEncoder`):
        the actor's encoding, which the value head reads."""
        return self.shared

    @property
    def rollout_extras(self) -> TensorDict | None:
        """What the last sampling forward needs stored with the transition, or None when nothing is needed.

        ``features``: the frozen backbone's output (camera tasks), so the update never runs the vision tower or the
        language model again; ``noise``: the Gaussian mode's start noise x_0; ``chain`` and ``step``: flow-SDE's
        denoising chain.
        """
        return self._rollout_extras

    def replay(self, extras: TensorDict) -> None:
        """Hand a minibatch's stored :attr:`rollout_extras` to the next forward (the update)."""
        self._replay = extras

    def forward(
        self,
        obs: TensorDict,
        masks: torch.Tensor | None = None,
        hidden_state: HiddenState = None,
        stochastic_output: bool = False,
    ) -> torch.Tensor:
        """Return sampled actions (``stochastic_output``) or the policy mean, ``(N, execute_steps * action_dim)``."""
        obs = unpad_trajectories(obs, masks) if masks is not None else obs
        replay, self._replay = self._replay, None
        if replay is not None:
            self.policy.replay(replay)
        with torch.autocast("cuda", torch.bfloat16, enabled=self.autocast and obs.device.type == "cuda"):
            stored_features = None if replay is None else replay.get("features")
            context, state_tokens, features = self.shared.encode(obs, stored_features)
            actions = self.policy.act(self._denoiser(context, state_tokens), stochastic_output)
        sampled = stochastic_output and replay is None
        self._rollout_extras = self._collect_extras(features, obs.batch_size[0]) if sampled else None
        return actions

    def train(self, mode: bool = True) -> GR00TActor:
        """Train mode for the distribution and normalizers; the N1.5 model always runs with dropout off (RLinf's
        recipe). A trained backbone, which has no dropout, follows ``mode`` with gradient checkpointing, which
        transformers applies in train mode only."""
        super().train(mode)
        self.gr00t.eval()
        if mode and self.gradient_checkpointing and self.backbone_trains:
            self.gr00t.backbone.train()
        return self

    def update_normalization(self, obs: TensorDict) -> None:
        """Update the running state statistics (``obs_normalization``)."""
        if self.obs_normalization:
            self.obs_normalizer.update(self._state(obs))

    def optimizer_param_groups(self, base_lr: float) -> list[dict]:
        """Parameter groups for PPO37: action head, LoRA and std, each at its own learning rate, then one group per
        unfreeze stage (frozen until its iteration, listed from the start so the optimizer's layout is fixed)."""
        scheduled = {id(p) for p in self.unfreeze_schedule.parameters()}
        groups = {
            "action_head": list(self.gr00t.action_head.parameters()),
            "lora": [p for n, p in self.gr00t.backbone.named_parameters() if "lora_" in n],
            "std": list(self.distribution.parameters()),
        }
        trained = {name: [p for p in params if p.requires_grad and id(p) not in scheduled]
                   for name, params in groups.items()}
        return [
            {"name": name, "params": params, "lr": base_lr * self.lr_scales[name]}
            for name, params in trained.items() if params
        ] + self.unfreeze_schedule.param_groups(base_lr)

    def unfreeze_due(self, iteration: int) -> list[str]:
        """Bring the unfreeze stages due by learning iteration ``iteration`` into training (``GR00TRunner`` calls
        it before each iteration); the names of the groups it started."""
        return [stage.name for stage in self.unfreeze_schedule.apply(iteration)]

    def as_jit(self) -> nn.Module:
        """Not supported: raise :class:`GR00TExportError`."""
        raise GR00TExportError("GR00TActor cannot be exported to TorchScript; use the checkpoint instead.")

    def as_onnx(self, verbose: bool = False) -> nn.Module:
        """Not supported: raise :class:`GR00TExportError`."""
        raise GR00TExportError("GR00TActor cannot be exported to ONNX; use the checkpoint instead.")

    # ------------------------------------------------------------------ N1.5 inputs

    def _encode(self, obs: TensorDict, features: torch.Tensor | None = None):
        """Context (``vlln`` + ``vl_self_attention``), state token and the backbone features of ``obs``.

        ``features`` replays stored backbone features instead of running the backbone.
        """
        batch = obs.batch_size[0]
        model = self.gr00t
        if features is None:
            features = self._backbone_features(obs)
        head_dtype = model.action_head.future_tokens.weight.dtype
        context = model.action_head.encode_context(features.to(head_dtype)).expand(batch, -1, -1)
        state = self.state_map.normalize(self.obs_normalizer(self._state(obs)))
        state = pad_to(state, model.config.action_head.max_state_dim, "state")
        state_tokens = model.action_head.encode_state(state, self.embodiment_id)
        return context, state_tokens, features

    def _backbone_features(self, obs: TensorDict) -> torch.Tensor:
        """``(N, T, 2048)`` backbone features (``(1, T, 2048)`` without cameras: every sample sees the same prompt)."""
        model = self.gr00t
        images = [obs[group] for group in self.image_groups]
        size = model.config.vision.image_size
        if images:
            pixels = camera_views(images, size, **self.image_input)
        else:
            pixels = self.input_ids.new_zeros((1, 0, 3, size, size), dtype=torch.float32)
        tower = model.backbone.eagle_model.vision_model.vision_model
        pixels = pixels.to(tower.embeddings.patch_embedding.weight.dtype)
        ids = self.input_ids.expand(pixels.shape[0], -1)
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.backbone_trains):
            return model.backbone(pixels, ids)

    def _collect_extras(self, features: torch.Tensor, batch: int) -> TensorDict | None:
        """Stored features (frozen backbone, camera tasks) and the policy mode's chain, as one TensorDict."""
        parts = {}
        if not self.backbone_trains and self.image_groups:
            parts["features"] = features
        policy_extras = getattr(self.policy, "rollout_extras", None)
        if policy_extras is not None:
            parts.update(policy_extras.items())
        return TensorDict(parts, batch_size=[batch]) if parts else None  # features are (1, ...) without cameras

    def _state(self, obs: TensorDict) -> torch.Tensor:
        """The actor's 1-D groups, concatenated (``(N, 0)`` without any)."""
        batch = obs.batch_size[0]
        if not self.obs_groups:
            return self.input_ids.new_zeros((batch, 0), dtype=torch.float32)
        return torch.cat([obs[group].float() for group in self.obs_groups], dim=-1)

    def _denoiser(self, context: torch.Tensor, state_tokens: torch.Tensor) -> Denoiser:
        """The flow of this batch: velocity with the context's cross-attention K/V computed once."""
        head = self.gr00t.action_head
        cfg = self.gr00t.config.action_head
        context_kv = head.context_kv(context)

        def velocity(x: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
            bucket = step * cfg.num_timestep_buckets // cfg.num_inference_timesteps
            return head.velocity(context, state_tokens, x, bucket, self.embodiment_id, context_kv=context_kv).float()

        chunk_like = context.new_empty((context.shape[0], cfg.action_horizon, cfg.action_dim), dtype=torch.float32)
        return Denoiser(velocity, cfg.num_inference_timesteps, chunk_like, self.adapter.to_env, self._unnormalize)

    def _unnormalize(self, executed: torch.Tensor) -> torch.Tensor:
        """Executed entries ``(N, k * A)`` in [-1, 1] -> env actions with the embodiment's action statistics."""
        steps = executed.unflatten(-1, (self.adapter.execute_steps, -1))
        return self.action_map.unnormalize(steps).flatten(-2)


class GR00TCritic(MLPModel):
    """Value function: the published value head on the actor's features, or an MLP on privileged state.

    ``value_input="features"``: an MLP (RLinf: 1024, 512, 256, ReLU) on the mean-pooled context tokens after
    ``vl_self_attention`` concatenated with the state token, shared with the actor's forward (so the value loss
    also trains the action head's ``vl_self_attention`` and state encoder, as published); the algorithm passes the
    actor's encoding with ``share_cnn_encoders``. ``value_input="state"``:
    rsl_rl's MLP on the critic's 1-D groups.
    """

    def __init__(self, obs: TensorDict, obs_groups: dict[str, list[str]], obs_set: str, output_dim: int,
                 cnns: SharedEncoder | None = None, **cfg: Any) -> None:
        """Build the critic; ``cfg`` holds fields of :class:`GR00TCriticCfg`, the others keep their defaults.

        Args:
            cnns: The GR00T actor's encoding (its ``cnns``), which the algorithm passes with ``share_cnn_encoders``;
                required by ``value_input="features"``, refused by ``value_input="state"``.

        Raises:
            ValueError: If ``value_input`` is unknown or does not match ``cnns`` (the setting to change is named).
        """
        cfg = as_model_cfg(GR00TCriticCfg, cfg, "GR00T critic")
        if cfg.value_input not in ("features", "state"):
            raise ValueError(
                f"GR00T critic cfg field 'value_input' must be 'features' or 'state', got {cfg.value_input!r}."
            )
        if (cfg.value_input == "features") != (cnns is not None):
            raise ValueError(
                f"GR00T critic with value_input={cfg.value_input!r} "
                + ("reads the GR00T actor's encoding: set the algorithm's share_cnn_encoders=true, so that it hands"
                   " the actor's encoding to the critic, or use value_input='state'."
                   if cnns is None else
                   "reads no actor encoding: set the algorithm's share_cnn_encoders=false, or use"
                   " value_input='features'.")
            )
        self.cnns = cnns  # a plain attribute: the actor's parameters are not registered in the critic
        self.lr_scale = cfg.lr_scale
        super().__init__(obs, obs_groups, obs_set, output_dim, cfg.hidden_dims, cfg.activation, cfg.obs_normalization,
                         _as_dict(cfg.distribution_cfg))

    def get_latent(
        self, obs: TensorDict, masks: torch.Tensor | None = None, hidden_state: HiddenState = None
    ) -> torch.Tensor:
        """The actor's value features, or the normalized 1-D groups."""
        if self.cnns is not None:
            return self.cnns.value_features(obs)
        return super().get_latent(obs)

    def optimizer_param_groups(self, base_lr: float) -> list[dict]:
        """One parameter group for PPO37 at ``lr_scale`` times the algorithm's learning rate."""
        params = [p for p in self.parameters() if p.requires_grad]
        return [{"name": "value", "params": params, "lr": base_lr * self.lr_scale}]

    def as_jit(self) -> nn.Module:
        """rsl_rl's MLP export for ``value_input="state"``; :class:`GR00TExportError` with actor features."""
        if self.cnns is not None:
            raise GR00TExportError("GR00TCritic with value_input='features' cannot be exported.")
        return super().as_jit()

    def as_onnx(self, verbose: bool = False) -> nn.Module:
        """rsl_rl's MLP export for ``value_input="state"``; :class:`GR00TExportError` with actor features."""
        if self.cnns is not None:
            raise GR00TExportError("GR00TCritic with value_input='features' cannot be exported.")
        return super().as_onnx(verbose)

    def _get_obs_dim(self, obs: TensorDict, obs_groups: dict[str, list[str]], obs_set: str) -> tuple[list[str], int]:
        """Features mode reads no group itself; state mode reads the 1-D groups."""
        if self.cnns is not None:
            return [], 0
        image_groups, groups_1d, dim_1d = split_obs_groups(obs, obs_groups[obs_set])
        if image_groups or not groups_1d:
            raise ValueError(
                f"GR00T critic with value_input='state' needs 1-D groups only, set '{obs_set}' has images"
                f" {image_groups} and 1-D groups {groups_1d}: use value_input='features' or a state group."
            )
        return groups_1d, dim_1d

    def _get_latent_dim(self) -> int:
        """Value-feature width, or the 1-D observation size."""
        return self.cnns.feature_dim if self.cnns is not None else self.obs_dim


def as_model_cfg(cfg_class: type, fields: Mapping[str, Any], model: str) -> Any:
    """A ``cfg_class`` with ``fields`` set (the ``to_dict`` rsl_rl passes, or some fields); unknown keys are refused
    with the accepted ones."""
    accepted = {field.name for field in dataclasses.fields(cfg_class)}
    unknown = sorted(set(fields) - accepted)
    if unknown:
        raise ValueError(f"Unknown {model} cfg field(s) {unknown}; accepted fields: {sorted(accepted)}")
    return cfg_class(**fields)


def _as_dict(cfg: Any) -> dict | None:
    """A distribution cfg as rsl_rl resolves it: a dict with ``class_name`` (a configclass is converted)."""
    return cfg if cfg is None or isinstance(cfg, Mapping) else to_dict(cfg)


def split_obs_groups(obs: TensorDict, groups: list[str]) -> tuple[list[str], list[str], int]:
    """Split groups into images (rank 4) and 1-D vectors (rank 2); return both and the 1-D size."""
    image_groups, groups_1d, dim_1d = [], [], 0
    for group in groups:
        if obs[group].dim() == 4:
            image_groups.append(group)
        elif obs[group].dim() == 2:
            groups_1d.append(group)
            dim_1d += obs[group].shape[-1]
        else:
            raise ValueError(
                f"GR00T models take rank-2 or rank-4 observations, group '{group}' has shape"
                f" {tuple(obs[group].shape)}."
            )
    return image_groups, groups_1d, dim_1d


def _drop_frozen_keys(module: GR00TActor, state_dict: dict, prefix: str, local_metadata: dict) -> None:
    """State-dict post hook: remove the frozen weights that the checkpoint folder provides."""
    for key in module._frozen_keys:
        state_dict.pop(prefix + key, None)


def _ignore_missing_frozen_keys(module: GR00TActor, incompatible_keys) -> None:
    """Load post hook: frozen weights from the checkpoint folder are never in a PPO checkpoint."""
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if not any(k.endswith(frozen) for frozen in module._frozen_keys)]
