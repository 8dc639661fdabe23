"""PPO with the 37 implementation details, as a drop-in rsl-rl-lib 5.5.1 algorithm.

References:
    - Schulman et al., "Proximal Policy Optimization Algorithms", arXiv:1707.06347 (2017).
    - Schulman et al., "High-Dimensional Continuous Control Using Generalized Advantage Estimation", ICLR 2016.
    - Huang et al., "The 37 Implementation Details of Proximal Policy Optimization", ICLR 2022 blog track.

Detail numbering (docs/ppo37.md): 1-13 core, 14-22 Atari, 23-31 continuous, 32-36 LSTM, 37 MultiDiscrete.
Every applicable detail is labelled once, where it happens, as ``# [detail N]``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings

import torch
import torch.distributed as dist
import torch.nn as nn
from rsl_rl.env import VecEnv
from rsl_rl.models import CNNModel, MLPModel, RNNModel
from rsl_rl.modules.distribution import GaussianDistribution
from rsl_rl.storage import RolloutStorage
from rsl_rl.utils import compile_model, reduce_gradients_in_buckets, resolve_class, resolve_obs_groups
from tensordict import TensorDict

from isaaclab_gr00t.models import ClippedObsNormalizer, ScaledImageEncoder, orthogonal_init_, use_channels_last

from .device_update import CapturedMinibatchStep, match_state_layout_to_params, preinitialize_adam_state
from .minibatches import flat_batch, flatten_rollout, shuffled_index_chunks, trajectory_batch
from .reward_scaling import DiscountedReturnScaler

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
_UPDATE_MODES = ("auto", "eager", "device", "graph")
_LOSS_METRICS = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction")
_ADAPTIVE_METRICS = ("analytic_kl",)  # reported (and steering the lr) with schedule="adaptive" only
_COUNTERS = ("optimizer_steps", "nonfinite_skips", "worst_nonfinite_run")


class PPO37:
    """Proximal Policy Optimization with the 37 implementation details, each switchable by config.

    Runner-facing interface identical to :class:`rsl_rl.algorithms.PPO` (``act``, ``process_env_step``,
    ``compute_returns``, ``update``, ``learning_rate``, ``get_policy``, ``train_mode``, ``eval_mode``,
    ``broadcast_parameters``, ``save``, ``load``, ``compile``, ``construct_algorithm``).
    """

    def __init__(
        self,
        actor: nn.Module,
        critic: nn.Module,
        storage: RolloutStorage,
        num_learning_epochs: int = 10,
        num_mini_batches: int = 32,
        clip_param: float = 0.2,
        gamma: float = 0.99,
        lam: float = 0.95,
        value_loss_coef: float = 0.5,
        entropy_coef: float = 0.0,
        learning_rate: float = 3.0e-4,
        max_grad_norm: float = 0.5,
        optimizer: str = "adam",
        use_clipped_value_loss: bool = True,
        schedule: str = "linear",
        desired_kl: float | None = 0.01,
        normalize_advantage_per_mini_batch: bool = True,
        use_mixed_precision: bool = False,
        device: str = "cpu",
        rnd_cfg: dict | None = None,
        symmetry_cfg: dict | None = None,
        multi_gpu_cfg: dict | None = None,
        grad_reduce_bucket_mb: float = 25.0,
        share_cnn_encoders: bool = False,
        value_clip_param: float = 0.2,
        normalize_advantage: bool = True,
        adam_eps: float = 1.0e-5,
        lr_anneal_iterations: int | None = None,
        orthogonal_init: bool = True,
        init_hidden_gain: float = 2.0**0.5,
        init_policy_head_gain: float = 0.01,
        init_value_head_gain: float = 1.0,
        init_rnn_gain: float = 1.0,
        obs_normalization: bool = True,
        obs_clip: float | None = 10.0,
        reward_scaling: bool = True,
        reward_clip: float | None = 10.0,
        image_scaling: str = "uint8",
        channels_last_images: bool = True,
        bootstrap_time_outs: bool = False,
        target_kl: float | None = None,
        adaptive_lr_bounds: tuple[float, float] | list[float] = (1.0e-5, 1.0e-2),
        num_micro_batches: int = 1,
        max_consecutive_nonfinite_updates: int = 3,
        reshuffle_every_epoch: bool = True,
        update_mode: str = "auto",
    ) -> None:
        """Build the algorithm around already constructed models and storage (see :meth:`construct_algorithm`)."""
        # Extensions of stock rsl_rl PPO that PPO37 does not implement: accepted as disabled, refused when enabled.
        for name, value in (("rnd_cfg", rnd_cfg), ("symmetry_cfg", symmetry_cfg)):
            if value:
                raise ValueError(f"PPO37 does not support '{name}'; set it to None or use rsl_rl's PPO.")
        if use_mixed_precision:
            raise ValueError(
                "PPO37 does not support 'use_mixed_precision': autocasting is the model's job (autocast inside the"
                " model's forward); set use_mixed_precision=False."
            )
        self.rnd = None
        self.symmetry = None
        self.device = device
        self.actor = actor.to(device)
        self.critic = critic.to(device)
        self._raw_actor, self._raw_critic = self.actor, self.critic
        self.storage = storage
        self.transition = RolloutStorage.Transition()

        self.num_learning_epochs = num_learning_epochs
        self.num_mini_batches = num_mini_batches
        self.num_micro_batches = num_micro_batches
        self.clip_param = clip_param
        self.value_clip_param = value_clip_param
        self.use_clipped_value_loss = use_clipped_value_loss
        self.gamma = gamma
        self.lam = lam
        self.value_loss_coef = value_loss_coef
        self.entropy_coef = entropy_coef
        self.max_grad_norm = max_grad_norm
        self.schedule = schedule
        self.desired_kl = desired_kl
        self.adaptive_lr_bounds = tuple(adaptive_lr_bounds)
        self.target_kl = target_kl
        self.normalize_advantage = normalize_advantage
        self.normalize_advantage_per_mini_batch = normalize_advantage_per_mini_batch
        self.reward_clip = reward_clip
        self.bootstrap_time_outs = bootstrap_time_outs
        self.max_consecutive_nonfinite_updates = max_consecutive_nonfinite_updates
        self.grad_reduce_bucket_mb = grad_reduce_bucket_mb
        self.reshuffle_every_epoch = reshuffle_every_epoch
        self.is_recurrent = bool(getattr(actor, "is_recurrent", False) or getattr(critic, "is_recurrent", False))
        self.lr_anneal_iterations = lr_anneal_iterations
        self._validate(optimizer=optimizer, learning_rate=learning_rate, adam_eps=adam_eps, obs_clip=obs_clip,
                       image_scaling=image_scaling, update_mode=update_mode)

        self.is_multi_gpu = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        self.gpu_world_size = dist.get_world_size() if self.is_multi_gpu else 1
        self.gpu_global_rank = dist.get_rank() if self.is_multi_gpu else 0
        self.update_mode = self._resolve_update_mode(update_mode, optimizer)

        # [detail 2] orthogonal init: hidden gain sqrt(2), policy head 0.01, value head 1, biases 0
        # [detail 32] LSTM init: weights orthogonal (gain init_rnn_gain), biases 0
        if orthogonal_init:
            for model, head_gain in ((self.actor, init_policy_head_gain), (self.critic, init_value_head_gain)):
                # models built on MLPModel without its MLP trunk (the GR00T policy) initialize themselves
                if isinstance(model, MLPModel) and hasattr(model, "mlp"):
                    orthogonal_init_(model, head_gain, init_hidden_gain, init_rnn_gain)
        if obs_normalization:
            self._install_obs_normalizers(obs_clip)
        # not multi-GPU: rsl_rl's gradient all-reduce flattens each gradient with view(-1), which channels-last refuses
        if channels_last_images and torch.device(self.device).type == "cuda" and not self.is_multi_gpu:
            self._install_channels_last_encoders()
        if image_scaling != "off":
            self._install_image_scaling(image_scaling == "all")

        # [detail 30] reward scaling by the running std of the discounted return
        self.reward_scaler = (
            DiscountedReturnScaler(storage.num_envs, gamma).to(device) if reward_scaling else None
        )

        # [detail 3] Adam epsilon 1e-5
        optimizer_kwargs = {"lr": learning_rate}
        if optimizer in ("adam", "adamw"):
            optimizer_kwargs["eps"] = adam_eps
        on_cuda = torch.device(device).type == "cuda"
        if self.update_mode != "eager":
            # Device-resident updates: fused Adam reads the lr from a device tensor that the device-side schedule
            # rewrites, and skips a non-finite step by itself (GradScaler's found_inf protocol); capturable keeps
            # its step counters on the GPU, as a CUDA graph needs.
            optimizer_kwargs.update(fused=True, capturable=on_cuda)
        elif on_cuda:
            optimizer_kwargs["fused" if optimizer in ("adam", "adamw", "sgd") else "foreach"] = True
        else:
            optimizer_kwargs["foreach"] = True
        self.optimizer = _OPTIMIZERS[optimizer](self._param_groups(learning_rate), **optimizer_kwargs)
        # Exactly the optimized parameters are reduced, clipped and zeroed (shared ones once).
        self._params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self.initial_learning_rate = learning_rate
        self.learning_rate = learning_rate
        self.update_count = 0
        # Device-side bookkeeping of the update (read once per update): metric sums, optimizer steps, skipped steps,
        # and the length of the current run of non-finite steps, which carries over from one update to the next.
        # One buffer, so a minibatch step adds all its metrics with one kernel; _sums names its entries (views).
        sums = torch.zeros(len(self._metric_keys()) + len(_COUNTERS), device=device)
        self._sums = dict(zip(self._metric_keys() + _COUNTERS, sums.unbind()))
        self._sums_buffer = sums
        self._metric_sums = sums[: len(self._metric_keys())]
        self._nonfinite_run = torch.zeros((), device=device)
        self._rollout_adv_stats = torch.zeros(2, device=device)
        # written by every minibatch step: graph replays do not refresh the Python-side distribution object
        self._action_std = torch.ones((), device=device)
        self._lr = torch.tensor(learning_rate, device=device)
        # 1.0 where the current optimizer step must be skipped; fused Adam reads it as `found_inf`
        self._skip_step = torch.zeros((), device=device)
        self._captured_step: CapturedMinibatchStep | None = None
        if self.update_mode != "eager":
            self._use_device_lr()
            preinitialize_adam_state(self.optimizer)
            self.optimizer.found_inf = self._skip_step
        # Shuffles draw from their own generator: the update's forward passes sample actions from the global one,
        # and the minibatch order must not depend on how many such forwards ran (e.g. num_micro_batches).
        self.shuffle_generator = torch.Generator(device=device)
        self.shuffle_generator.manual_seed(int(torch.randint(0, 2**62, (1,))))

    # ------------------------------------------------------------------ construction

    @staticmethod
    def construct_algorithm(obs: TensorDict, env: VecEnv, cfg: dict, device: str) -> PPO37:
        """Build models, storage and algorithm from the runner's config dict (rsl-rl-lib 5.5.1 contract)."""
        alg_class, alg_cfg = resolve_class(cfg["algorithm"])
        actor_class, actor_cfg = resolve_class(cfg["actor"])
        critic_class, critic_cfg = resolve_class(cfg["critic"])
        accepted = set(inspect.signature(alg_class.__init__).parameters) - {"self", "actor", "critic", "storage"}
        unknown = sorted(set(alg_cfg) - accepted)
        if unknown:
            raise ValueError(f"Unknown PPO37 config field(s) {unknown}; accepted fields: {sorted(accepted)}")
        cfg["obs_groups"] = resolve_obs_groups(obs, cfg["obs_groups"], ["actor", "critic"])

        actor = actor_class(obs, cfg["obs_groups"], "actor", env.num_actions, **actor_cfg).to(device)
        # [detail 13] shared vs separate networks: rsl_rl actor and critic are separate models; the only sharing
        # they support is the image encoder:
        # [detail 21] a shared (Nature-)CNN encoder, chosen by share_cnn_encoders
        if alg_cfg.get("share_cnn_encoders"):
            critic_cfg["cnns"] = actor.cnns
        # [detail 26] separate policy and value networks (the default for continuous control)
        critic = critic_class(obs, cfg["obs_groups"], "critic", 1, **critic_cfg).to(device)
        # [detail 1] vectorized architecture: one rollout buffer of num_steps_per_env x num_envs parallel envs
        storage = RolloutStorage("rl", env.num_envs, cfg["num_steps_per_env"], obs, [env.num_actions], device)
        if alg_cfg.get("lr_anneal_iterations") is None:
            alg_cfg["lr_anneal_iterations"] = cfg.get("max_iterations")
        alg_cfg["multi_gpu_cfg"] = cfg.get("multi_gpu")
        alg = alg_class(actor, critic, storage, device=device, **alg_cfg)
        alg.compile(cfg.get("torch_compile_mode"))
        return alg

    def _validate(self, optimizer: str, learning_rate: float, adam_eps: float, obs_clip: float | None,
                  image_scaling: str, update_mode: str) -> None:
        """Refuse inconsistent settings at construction, naming the field."""
        checks = [
            ("num_learning_epochs", self.num_learning_epochs, self.num_learning_epochs >= 1, ">= 1"),
            ("num_mini_batches", self.num_mini_batches, self.num_mini_batches >= 1, ">= 1"),
            ("num_micro_batches", self.num_micro_batches, self.num_micro_batches >= 1, ">= 1"),
            ("learning_rate", learning_rate, learning_rate > 0, "> 0"),
            ("clip_param", self.clip_param, self.clip_param > 0, "> 0"),
            ("value_clip_param", self.value_clip_param, self.value_clip_param > 0, "> 0"),
            ("gamma", self.gamma, 0 <= self.gamma <= 1, "in [0, 1]"),
            ("lam", self.lam, 0 <= self.lam <= 1, "in [0, 1]"),
            ("value_loss_coef", self.value_loss_coef, self.value_loss_coef >= 0, ">= 0"),
            ("entropy_coef", self.entropy_coef, self.entropy_coef >= 0, ">= 0"),
            ("max_grad_norm", self.max_grad_norm, self.max_grad_norm > 0, "> 0"),
            ("adam_eps", adam_eps, adam_eps > 0, "> 0"),
            ("obs_clip", obs_clip, obs_clip is None or obs_clip > 0, "> 0 or None"),
            ("reward_clip", self.reward_clip, self.reward_clip is None or self.reward_clip > 0, "> 0 or None"),
            ("target_kl", self.target_kl, self.target_kl is None or self.target_kl > 0, "> 0 or None"),
            ("max_consecutive_nonfinite_updates", self.max_consecutive_nonfinite_updates,
             self.max_consecutive_nonfinite_updates >= 1, ">= 1"),
            ("optimizer", optimizer, optimizer in _OPTIMIZERS, f"one of {sorted(_OPTIMIZERS)}"),
            ("schedule", self.schedule, self.schedule in ("linear", "adaptive", "fixed"),
             "'linear', 'adaptive' or 'fixed'"),
            ("image_scaling", image_scaling, image_scaling in ("uint8", "all", "off"), "'uint8', 'all' or 'off'"),
            ("update_mode", update_mode, update_mode in _UPDATE_MODES, f"one of {_UPDATE_MODES}"),
            ("adaptive_lr_bounds", self.adaptive_lr_bounds,
             len(self.adaptive_lr_bounds) == 2 and 0 < self.adaptive_lr_bounds[0] <= self.adaptive_lr_bounds[1],
             "(min, max) with 0 < min <= max"),
        ]
        if self.schedule == "adaptive":
            checks.append(("desired_kl", self.desired_kl, self.desired_kl is not None and self.desired_kl > 0,
                           "> 0 for schedule='adaptive'"))
        if self.schedule == "linear":
            checks.append(("lr_anneal_iterations", self.lr_anneal_iterations,
                           self.lr_anneal_iterations is not None and self.lr_anneal_iterations >= 1,
                           ">= 1 for schedule='linear' (defaults to the runner's max_iterations)"))
        for name, value, ok, requirement in checks:
            if not ok:
                raise ValueError(f"PPO37 config field '{name}' = {value!r} is invalid: must be {requirement}.")

        num_envs, num_steps = self.storage.num_envs, self.storage.num_transitions_per_env
        # Recurrent minibatches are whole env trajectories, feed-forward minibatches are samples.
        units, unit_name = (num_envs, "num_envs") if self.is_recurrent else (num_envs * num_steps,
                                                                               "num_envs * num_steps_per_env")
        if units % self.num_mini_batches:
            raise ValueError(
                f"PPO37 config field 'num_mini_batches' = {self.num_mini_batches} must divide {unit_name} = {units}."
            )
        if (units // self.num_mini_batches) % self.num_micro_batches:
            raise ValueError(
                f"PPO37 config field 'num_micro_batches' = {self.num_micro_batches} must divide the minibatch size"
                f" {units // self.num_mini_batches} ({unit_name} / num_mini_batches)."
            )

    def _resolve_update_mode(self, update_mode: str, optimizer: str) -> str:
        """The update mode to run. "auto", for rsl_rl's feed-forward models with Adam in one process: "graph" on CUDA,
        "device" elsewhere (on the CPU its fused Adam step costs fewer ops than the eager one); else "eager"."""
        plain_models = all(type(model).__module__.startswith("rsl_rl.") for model in (self.actor, self.critic))
        on_cuda = torch.device(self.device).type == "cuda"
        capture_blockers = [
            (self.is_recurrent, "recurrent minibatches have data-dependent shapes"),
            (self.is_multi_gpu, "the gradient all-reduce runs outside the graph"),
            (not plain_models, "only rsl_rl's own MLP/CNN models are captured"),
        ]
        device_blockers = [(optimizer not in ("adam", "adamw"), f"optimizer '{optimizer}' is not Adam/AdamW")]
        if update_mode == "auto":
            if any(blocked for blocked, _ in capture_blockers + device_blockers):
                return "eager"
            return "graph" if on_cuda else "device"
        graph_blockers = [(not on_cuda, "the device is not CUDA"), *capture_blockers]
        blockers = device_blockers + (graph_blockers if update_mode == "graph" else [])
        for blocked, reason in blockers:
            if blocked:
                raise ValueError(f"PPO37 config field 'update_mode' = {update_mode!r} is not possible here: {reason}.")
        return update_mode

    def _install_obs_normalizers(self, obs_clip: float | None) -> None:
        """[detail 28] running observation normalization, [detail 29] observation clipping, inside each model."""
        for model in (self.actor, self.critic):
            if isinstance(model, MLPModel) and model.obs_dim == 0:
                continue  # an image-only CNN model has no flat observations to normalize
            if isinstance(model, MLPModel):
                model.obs_normalization = True
                model.obs_normalizer = ClippedObsNormalizer(model.obs_dim, clip=obs_clip).to(self.device)
            else:
                warnings.warn(
                    f"PPO37 obs_normalization: {type(model).__name__} is not an rsl_rl MLPModel; it must normalize"
                    " its own observations."
                )

    def _install_channels_last_encoders(self) -> None:
        """rsl_rl's sequential CNN encoders run in the channels-last memory format (before any image scaling wrapper)."""
        for model in (self.actor, self.critic):
            if isinstance(model, CNNModel):
                for encoder in model.cnns.values():
                    if isinstance(encoder, nn.Sequential):
                        use_channels_last(encoder)

    def _install_image_scaling(self, scale_float_images: bool) -> None:
        """[detail 22] scale images to [0, 1] in front of every CNN encoder (uint8 always, float on request)."""
        obs_dtypes = {key: value.dtype for key, value in self.storage.observations.items()}
        for model in (self.actor, self.critic):
            if not isinstance(model, CNNModel):
                continue
            for group, encoder in model.cnns.items():
                if isinstance(encoder, ScaledImageEncoder):  # already wrapped through a shared encoder
                    continue
                if obs_dtypes[group] == torch.uint8 or scale_float_images:
                    model.cnns[group] = ScaledImageEncoder(encoder)

    def _param_groups(self, base_lr: float) -> list[dict]:
        """Optimizer groups: a model's ``optimizer_param_groups(base_lr)`` hook if defined, else all its parameters.

        Frozen and already-listed (shared) parameters are dropped; each group remembers its own initial lr in
        ``"base_lr"`` so schedules scale all groups proportionally.
        """
        seen: set[int] = set()
        groups = []
        for model in (self.actor, self.critic):
            hook = getattr(model, "optimizer_param_groups", None)
            model_groups = hook(base_lr) if hook is not None else [{"params": list(model.parameters()), "lr": base_lr}]
            for group in model_groups:
                params = [p for p in group["params"] if p.requires_grad and id(p) not in seen]
                seen.update(id(p) for p in params)
                if params:
                    groups.append({**group, "params": params, "base_lr": float(group.get("lr", base_lr))})
        return groups

    # ------------------------------------------------------------------ rollout

    def act(self, obs: TensorDict) -> torch.Tensor:
        """Sample actions for ``obs`` and record the transition (no host sync)."""
        # [detail 33] the first rollout starts from a zero recurrent state (rsl_rl's RNN holds None = zeros)
        self.transition.hidden_states = (self.actor.get_hidden_state(), self.critic.get_hidden_state())
        # [detail 23] Gaussian (or categorical) policy: the model's distribution samples the action
        gaussian = isinstance(getattr(self.actor, "distribution", None), GaussianDistribution)
        with _sampling(self.actor, _gaussian_draw if gaussian else None):
            actions = self.actor(obs, stochastic_output=True).detach()
        # [detail 27] the UNclipped sample is stored and its log-prob used; the env wrapper clips what it applies
        self.transition.actions = actions
        self.transition.values = self.critic(obs).detach()
        # [detail 25] independent action dimensions: the distribution sums per-dimension log-probs
        self.transition.actions_log_prob = self.actor.get_output_log_prob(actions).detach()
        self.transition.distribution_params = tuple(p.detach() for p in self.actor.output_distribution_params)
        self.transition.observations = obs
        return actions

    def process_env_step(self, obs: TensorDict, rewards: torch.Tensor, dones: torch.Tensor, extras: dict) -> None:
        """Scale/clip the reward, bootstrap time-outs, store the transition and reset recurrent state (no sync)."""
        rewards = rewards.to(self.device, torch.float32).view(-1)
        dones = dones.to(self.device).view(-1)
        if self.reward_scaler is not None:
            rewards = self.reward_scaler(rewards, dones)
        # [detail 31] reward clipping
        if self.reward_clip is not None:
            rewards = rewards.clamp(-self.reward_clip, self.reward_clip)
        # Time-out bootstrap (GPU-scale practice): the true final observation is lost to auto-reset, so V(s_t)
        # stands in for V(s_{t+1}) of the truncated step.
        if self.bootstrap_time_outs and "time_outs" in extras:
            time_outs = extras["time_outs"].to(self.device).view(-1).to(rewards.dtype)
            rewards = rewards + self.gamma * self.transition.values.view(-1) * time_outs
        self.transition.rewards = rewards
        self.transition.dones = dones
        self.storage.add_transition(self.transition)
        self.transition.clear()
        # [detail 34] reset the recurrent state of finished episodes
        for model in (self.actor, self.critic):
            _reset_recurrent_state(model, dones)

    def compute_returns(self, obs: TensorDict) -> None:
        """[detail 5] Generalized Advantage Estimation over the stored rollout."""
        st = self.storage
        critic_state = self.critic.get_hidden_state()
        last_values = self.critic(obs).detach()
        # The bootstrap forward must not advance the critic's recurrent state of the next rollout.
        self.critic.reset(hidden_state=critic_state)
        advantage = torch.zeros_like(last_values)
        for step in reversed(range(st.num_transitions_per_env)):
            next_values = last_values if step == st.num_transitions_per_env - 1 else st.values[step + 1]
            not_done = 1.0 - st.dones[step].float()
            delta = st.rewards[step] + not_done * self.gamma * next_values - st.values[step]
            advantage = delta + not_done * self.gamma * self.lam * advantage
            st.advantages[step] = advantage
        st.returns.copy_(st.advantages + st.values)

    # ------------------------------------------------------------------ update

    def update(self) -> dict[str, float]:  # noqa: C901 - one readable top-to-bottom update, as in CleanRL
        """Run the PPO epochs over the stored rollout; return the debug metrics as floats."""
        # [detail 4] linear LR annealing: the k-th update (k = 0, 1, ...) uses lr_0 * (1 - k / K)
        if self.schedule == "linear":
            remaining = max(0.0, 1.0 - self.update_count / self.lr_anneal_iterations)
            self._set_learning_rate(self.initial_learning_rate * remaining)

        st = self.storage
        num_units = st.num_envs if self.is_recurrent else st.num_envs * st.num_transitions_per_env
        self._sums_buffer.zero_()
        if not self.normalize_advantage_per_mini_batch:
            self._rollout_adv_stats.copy_(torch.stack(self._advantage_stats(st.advantages)))
        run_minibatch_step = self._minibatch_step
        if self.update_mode == "graph":
            if self._captured_step is None:
                self._captured_step = CapturedMinibatchStep(self._minibatch_step, num_units // self.num_mini_batches,
                                                            torch.device(self.device))
            run_minibatch_step = self._captured_step

        epochs_done = 0
        minibatches = shuffled_index_chunks(num_units, self.num_mini_batches, self.shuffle_generator)
        for epoch in range(self.num_learning_epochs):
            # [detail 6] a fresh shuffle of the minibatches every epoch (stock rsl_rl shuffles once per update)
            if epoch > 0 and self.reshuffle_every_epoch:
                minibatches = shuffled_index_chunks(num_units, self.num_mini_batches, self.shuffle_generator)
            epoch_kl_before = self._sums["approx_kl"].clone() if self.target_kl is not None else None
            epoch_steps_before = self._sums["optimizer_steps"].clone() if self.target_kl is not None else None
            for minibatch in minibatches:
                run_minibatch_step(minibatch)
            epochs_done += 1
            # Optional early stop of the update once the policy moved too far (target_kl): one sync an epoch
            if self.target_kl is not None:
                epoch_steps = (self._sums["optimizer_steps"] - epoch_steps_before).clamp_min(1.0)
                if float((self._sums["approx_kl"] - epoch_kl_before) / epoch_steps) > self.target_kl:
                    break

        values, returns = st.values.flatten(), st.returns.flatten()
        # NaN when the returns are constant (nothing to explain), as in the reference code
        returns_var = returns.var()
        explained_variance = torch.where(returns_var > 0, 1.0 - (returns - values).var() / returns_var, torch.nan)
        num_steps = self._sums["optimizer_steps"].clamp_min(1.0)
        metrics = {key: self._sums[key] / num_steps for key in self._metric_keys()}
        metrics.update(explained_variance=explained_variance, action_std=self._action_std,
                       learning_rate=self._lr, nonfinite_skips=self._sums["nonfinite_skips"],
                       num_optimizer_steps=self._sums["optimizer_steps"],
                       worst_nonfinite_run=self._sums["worst_nonfinite_run"])
        # the update's one host sync (plus one an epoch with target_kl)
        result = dict(zip(metrics, torch.stack([v.float() for v in metrics.values()]).tolist()))
        worst_run = result.pop("worst_nonfinite_run")
        if worst_run >= self.max_consecutive_nonfinite_updates:
            self._raise_nonfinite(int(worst_run))
        if self.update_mode != "eager":
            self.learning_rate = result["learning_rate"]
        result["learning_rate"] = self.learning_rate
        result["num_epochs"] = float(epochs_done)

        # Observation statistics advance once per rollout, after the update, so the log-probs
        # recomputed during the update used exactly the normalization of the rollout.
        rollout_obs = st.observations.flatten(0, 1)
        self.actor.update_normalization(rollout_obs)
        self.critic.update_normalization(rollout_obs)
        self.update_count += 1
        st.clear()
        return result

    def _metric_keys(self) -> tuple[str, ...]:
        """What each optimizer step reports, in the order of its metric vector."""
        return _LOSS_METRICS + (_ADAPTIVE_METRICS if self.schedule == "adaptive" else ()) + ("grad_norm",)

    def _minibatch_step(self, minibatch: torch.Tensor) -> None:
        """One optimizer step on the samples (or env trajectories) ``minibatch``, with device-side bookkeeping.

        Runs eagerly, or is recorded once into a CUDA graph and replayed (``update_mode="graph"``).
        """
        st = self.storage
        # [detail 7] advantage normalization with minibatch (or rollout) statistics, synced across ranks
        if self.is_recurrent:
            minibatch_advantages = st.advantages[:, minibatch]
        else:
            flat = flatten_rollout(st)
            minibatch_advantages = flat["advantages"][minibatch]
        if self.normalize_advantage_per_mini_batch:
            adv_mean, adv_std = self._advantage_stats(minibatch_advantages)
        else:
            adv_mean, adv_std = self._rollout_adv_stats

        self.optimizer.zero_grad(set_to_none=True)
        micro_metrics = []
        # Gradient accumulation: equal chunks, each loss weighted 1/num_micro_batches, sum = minibatch grad
        for micro in minibatch.chunk(self.num_micro_batches):
            # [detail 35] recurrent minibatches are whole trajectories of a subset of envs
            batch = trajectory_batch(st, micro) if self.is_recurrent else flat_batch(st, flat, micro)
            # [detail 36] recurrent models replay the hidden state stored at each trajectory start
            with _sampling(self.actor, _no_draw):
                self.actor(batch.observations, masks=batch.masks, hidden_state=batch.hidden_states[0],
                           stochastic_output=True)
            new_log_prob = self.actor.get_output_log_prob(batch.actions)
            entropy = self.actor.output_entropy
            new_values = self.critic(batch.observations, masks=batch.masks, hidden_state=batch.hidden_states[1])

            log_ratio = new_log_prob - batch.old_actions_log_prob.squeeze(-1)
            ratio = log_ratio.exp()
            with torch.no_grad():
                # [detail 12] debug variables; approx_kl is the low-variance estimator (r - 1) - log r
                approx_kl = ((ratio - 1.0) - log_ratio).mean()
                clip_fraction = ((ratio - 1.0).abs() > self.clip_param).float().mean()
                analytic_kl = () if self.schedule != "adaptive" else (self.actor.get_kl_divergence(
                    batch.old_distribution_params, self.actor.output_distribution_params
                ).mean(),)

            advantages = batch.advantages.squeeze(-1)
            if self.normalize_advantage:
                advantages = (advantages - adv_mean) / (adv_std + 1e-8)
            # [detail 8] clipped surrogate objective
            policy_loss = _loss_max(
                -advantages * ratio,
                -advantages * ratio.clamp(1.0 - self.clip_param, 1.0 + self.clip_param),
            ).mean()
            # [detail 9] value loss clipped around the rollout value with its own range
            value_error = (new_values - batch.returns).square()
            if self.use_clipped_value_loss:
                clipped_values = batch.values + (new_values - batch.values).clamp(
                    -self.value_clip_param, self.value_clip_param
                )
                value_error = _loss_max(value_error, (clipped_values - batch.returns).square())
            value_loss = 0.5 * value_error.mean()
            # [detail 10] total loss with entropy bonus
            entropy = entropy.mean()
            loss = policy_loss - self.entropy_coef * entropy + self.value_loss_coef * value_loss
            (loss / self.num_micro_batches).backward()
            micro_metrics.append(torch.stack([policy_loss, value_loss, entropy, approx_kl, clip_fraction,
                                              *analytic_kl]).detach())
        self._action_std.copy_(self.actor.output_std.detach().mean())
        # the micro-batches are equal chunks: their mean is the minibatch's value
        loss_metrics = torch.stack(micro_metrics).mean(0)
        step = dict(zip(self._metric_keys(), loss_metrics.unbind()))

        if self.is_multi_gpu:
            reduce_gradients_in_buckets(self._params, self.gpu_world_size, self.grad_reduce_bucket_mb)
            for key in ("approx_kl", "analytic_kl"):
                if key in step:
                    dist.all_reduce(step[key])
                    step[key] /= self.gpu_world_size
        # [detail 11] one global gradient-norm clip over every trained parameter of actor and critic
        grad_norm = nn.utils.clip_grad_norm_(self._params, self.max_grad_norm, foreach=True).detach()
        metrics = torch.cat([loss_metrics, grad_norm.view(1)])

        # Non-finite guard: a non-finite loss or gradient skips the step; weights and Adam's moments stay untouched.
        finite = torch.isfinite(step["policy_loss"] + step["value_loss"] + grad_norm)
        if self.is_multi_gpu:
            finite = finite.float()
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
            finite = finite.bool()
        if self.update_mode == "eager":
            # eager: decide on the host (one sync per optimizer step) and step only when finite
            finite_on_host = bool(finite)
            if finite_on_host:
                self.optimizer.step()
                if self.schedule == "adaptive":
                    self._adapt_learning_rate(float(step["analytic_kl"]))
        else:
            # device/graph: fused Adam leaves weights, moments and step count untouched where the step is not finite
            self._skip_step.copy_(~finite)
            self.optimizer.step()
            if self.schedule == "adaptive":
                self._adapt_learning_rate_on_device(step["analytic_kl"], finite)

        self._metric_sums += torch.where(finite, metrics, 0.0)
        self._sums["optimizer_steps"] += finite
        self._sums["nonfinite_skips"] += ~finite
        self._nonfinite_run.copy_(torch.where(finite, 0.0, self._nonfinite_run + 1.0))
        torch.maximum(self._sums["worst_nonfinite_run"], self._nonfinite_run, out=self._sums["worst_nonfinite_run"])
        if self.update_mode == "eager" and not finite_on_host:
            self.optimizer.zero_grad(set_to_none=True)
            if int(self._nonfinite_run) >= self.max_consecutive_nonfinite_updates:
                self._raise_nonfinite(int(self._nonfinite_run))

    def _raise_nonfinite(self, run: int) -> None:
        raise RuntimeError(
            f"PPO37: {run} consecutive optimizer steps had a non-finite loss or gradient"
            f" (max_consecutive_nonfinite_updates = {self.max_consecutive_nonfinite_updates}); those steps left the"
            " weights unchanged. Check observations/rewards for NaN/inf and the learning rate."
        )

    def _advantage_stats(self, advantages: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and (unbiased) std of ``advantages``, over all ranks when distributed."""
        moments = torch.stack([advantages.sum(), advantages.square().sum(),
                               torch.full((), float(advantages.numel()), device=advantages.device)])
        if self.is_multi_gpu:
            dist.all_reduce(moments)
        total, total_sq, count = moments
        mean = total / count
        var = (total_sq - count * mean.square()) / (count - 1).clamp_min(1.0)
        return mean, var.clamp_min(0.0).sqrt()

    def _set_learning_rate(self, learning_rate: float) -> None:
        """Set the base lr; every parameter group keeps its own ratio to the base (contract 3)."""
        self.learning_rate = learning_rate
        scale = learning_rate / self.initial_learning_rate
        if self.update_mode == "eager":
            for group in self.optimizer.param_groups:
                group["lr"] = group["base_lr"] * scale
            return
        # device-resident lr tensors are written in place: CUDA graphs read them at fixed addresses
        self._lr.fill_(learning_rate)
        for group in self.optimizer.param_groups:
            group["lr"].fill_(group["base_lr"] * scale)

    def _use_device_lr(self) -> None:
        """Give every parameter group a device tensor lr (its current value) for the device-side schedule."""
        for group in self.optimizer.param_groups:
            group["lr"] = torch.tensor(float(group["lr"]), device=self.device)
        self._lr.fill_(self.learning_rate)

    def _adapt_learning_rate(self, kl: float) -> None:
        """rsl_rl's KL-adaptive rule; the KL is all-reduced so every rank takes the same decision."""
        low, high = self.adaptive_lr_bounds
        if kl > 2.0 * self.desired_kl:
            self._set_learning_rate(max(low, self.learning_rate / 1.5))
        elif 0.0 < kl < 0.5 * self.desired_kl:
            self._set_learning_rate(min(high, self.learning_rate * 1.5))

    def _adapt_learning_rate_on_device(self, kl: torch.Tensor, finite: torch.Tensor) -> None:
        """:meth:`_adapt_learning_rate` computed on the device (no host sync); unchanged after a skipped step."""
        low, high = self.adaptive_lr_bounds
        lowered = torch.clamp_min(self._lr / 1.5, low)
        raised = torch.clamp_max(self._lr * 1.5, high)
        adapted = torch.where(kl > 2.0 * self.desired_kl, lowered,
                              torch.where((kl > 0.0) & (kl < 0.5 * self.desired_kl), raised, self._lr))
        self._lr.copy_(torch.where(finite, adapted, self._lr))
        for group in self.optimizer.param_groups:
            group["lr"].copy_(self._lr * (group["base_lr"] / self.initial_learning_rate))

    # ------------------------------------------------------------------ runner plumbing

    def train_mode(self) -> None:
        """Set train mode for the models."""
        self.actor.train()
        self.critic.train()

    def eval_mode(self) -> None:
        """Set eval mode for the models."""
        self.actor.eval()
        self.critic.eval()

    def get_policy(self) -> nn.Module:
        """The (uncompiled) actor."""
        return self._raw_actor

    def compile(self, mode: str | None = None) -> None:
        """Optionally wrap actor and critic with ``torch.compile`` (see :func:`rsl_rl.utils.compile_model`).

        Compiled models are not captured in a CUDA graph: the update then runs in "device" mode (same numbers).
        """
        self.actor = compile_model(self._raw_actor, mode)
        self.critic = compile_model(self._raw_critic, mode)
        if mode is not None and self.update_mode == "graph":
            self.update_mode = "device"

    def broadcast_parameters(self) -> None:
        """Copy rank 0's parameters, buffers (normalizer statistics) and reward statistics to every rank."""
        modules = [self._raw_actor, self._raw_critic]
        if self.reward_scaler is not None:
            modules.append(self.reward_scaler.return_stats)
        for module in modules:
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, src=0)

    def save(self) -> dict:
        """rsl_rl checkpoint layout plus ``ppo37_state``; everything loads with ``torch.load(weights_only=True)``."""
        state = {
            "update_count": self.update_count,
            "lr_anneal_iterations": self.lr_anneal_iterations,
            "learning_rate": self.learning_rate,
            "initial_learning_rate": self.initial_learning_rate,
            "reward_scaler": self.reward_scaler.state_dict() if self.reward_scaler is not None else None,
            "shuffle_generator": self.shuffle_generator.get_state(),
        }
        return {
            "actor_state_dict": self._raw_actor.state_dict(),
            "critic_state_dict": self._raw_critic.state_dict(),
            "optimizer_state_dict": self.optimizer.state_dict(),
            "ppo37_state": state,
        }

    def load(self, loaded_dict: dict, load_cfg: dict | None, strict: bool) -> bool:
        """Restore what ``load_cfg`` selects; the PPO37 training state (LR schedule position, reward statistics)
        follows ``load_cfg["ppo37_state"]``, defaulting to the ``"optimizer"`` choice. Returns whether to resume
        the iteration counter."""
        if load_cfg is None:
            load_cfg = {"actor": True, "critic": True, "optimizer": True, "iteration": True}
        if load_cfg.get("actor"):
            self._raw_actor.load_state_dict(loaded_dict["actor_state_dict"], strict=strict)
        if load_cfg.get("critic"):
            self._raw_critic.load_state_dict(loaded_dict["critic_state_dict"], strict=strict)
        if load_cfg.get("optimizer"):
            self.optimizer.load_state_dict(loaded_dict["optimizer_state_dict"])
            match_state_layout_to_params(self.optimizer)  # the checkpoint's CNN may have had the other memory format
            if self.update_mode != "eager":
                # new state tensors: re-point the device lr and (at the next update) the graph
                self._use_device_lr()
                self._captured_step = None
        state = loaded_dict.get("ppo37_state")
        if load_cfg.get("ppo37_state", load_cfg.get("optimizer")) and state is not None:
            self.update_count = int(state["update_count"])
            self.lr_anneal_iterations = state["lr_anneal_iterations"]
            self.initial_learning_rate = float(state["initial_learning_rate"])
            self._set_learning_rate(float(state["learning_rate"]))
            self.shuffle_generator.set_state(state["shuffle_generator"].cpu())
            if self.reward_scaler is not None and state["reward_scaler"] is not None:
                self.reward_scaler.load_state_dict(state["reward_scaler"])
        return bool(load_cfg.get("iteration", False))


@contextlib.contextmanager
def _sampling(model: nn.Module, draw):
    """Run ``model``'s forward with ``draw(distribution)`` in place of its distribution's ``sample()``.

    The update needs the distribution, not a fresh action (:func:`_no_draw`). The rollout's Gaussian draws use
    :func:`_gaussian_draw`: ``torch.normal`` checks ``std >= 0`` by reading the std back to the host, a sync every
    step that a CUDA graph capture also forbids.
    """
    distribution = getattr(model, "distribution", None)
    if distribution is None or draw is None:
        yield
        return
    distribution.sample = functools.partial(draw, distribution)
    try:
        yield
    finally:
        del distribution.sample


def _loss_max(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise max of two loss terms, as ``torch.max(a, b)`` but with a backward of two kernels instead of ~10.

    ``torch.max`` splits the gradient between ``a`` and ``b`` where they are exactly equal; here it goes to ``a``.
    For the clipped surrogate (detail 8) the two terms can only tie where the ratio is inside the clip range or the
    advantage is 0, and there both carry the same gradient, so the result is the same; the clipped value loss (detail 9)
    differs only at exact float ties of two different errors.
    """
    return torch.where(a >= b, a, b)


def _no_draw(distribution) -> None:
    return None


def _gaussian_draw(distribution: GaussianDistribution) -> torch.Tensor:
    """``torch.normal(mean, std)``'s numbers (a standard normal draw, scaled and shifted) without its host check."""
    return distribution.mean + distribution.std * torch.randn_like(distribution.mean)


def _reset_recurrent_state(model: nn.Module, dones: torch.Tensor) -> None:
    """Zero the recurrent state of done envs in place (rsl_rl's boolean-mask reset would sync the host)."""
    if isinstance(model, RNNModel):
        state = model.get_hidden_state()
        if state is None:
            return
        keep = (1.0 - dones.float()).view(1, -1, 1)
        for tensor in state if isinstance(state, tuple) else (state,):
            tensor.mul_(keep)
    elif getattr(model, "is_recurrent", False):
        model.reset(dones)
