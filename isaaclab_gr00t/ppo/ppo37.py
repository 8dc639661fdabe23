"""PPO with the 37 implementation details, as a drop-in rsl-rl-lib 5.5.1 algorithm.

References:
    - Schulman et al., "Proximal Policy Optimization Algorithms", arXiv:1707.06347 (2017).
    - Schulman et al., "High-Dimensional Continuous Control Using Generalized Advantage Estimation", ICLR 2016.
    - Huang et al., "The 37 Implementation Details of Proximal Policy Optimization", ICLR 2022 blog track.

Detail numbering (docs/ppo37.md): 1-13 core, 14-22 Atari, 23-31 continuous, 32-36 LSTM, 37 MultiDiscrete.
Every applicable detail is labelled once, where it happens, as ``# [detail N]``. The update reads top to bottom;
what it delegates lives beside it: model preparation (:mod:`.model_preparation`), the learning rate and its schedule
(:mod:`.lr_schedule`), how kernels are issued (:mod:`.update_modes`), minibatch gathering (:mod:`.minibatches`) and
the configuration checks (:mod:`.validation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
import torch.nn as nn
from rsl_rl.env import VecEnv
from rsl_rl.models import MLPModel
from rsl_rl.modules.distribution import GaussianDistribution
from rsl_rl.storage import RolloutStorage
from rsl_rl.utils import compile_model, reduce_gradients_in_buckets, resolve_class, resolve_obs_groups
from tensordict import TensorDict

from .device_update import match_state_layout_to_params
from .lr_schedule import SCHEDULES
from .metric_tags import METRIC_TAGS
from .minibatches import flat_batch, flatten_rollout, shuffled_index_chunks, trajectory_batch
from .model_preparation import optimizer_param_groups, prepare_models
from .out_of_memory import rollout_out_of_memory, update_out_of_memory
from .reward_scaling import DiscountedReturnScaler
from .rollout_extras import rollout_extras_store
from .sampling import gaussian_draw, no_draw, reset_recurrent_state, sampling
from .update_modes import nonfinite_error, resolve_update_mode
from .validation import micro_batch_count, validate_cfg

if TYPE_CHECKING:
    from .ppo37_cfg import PPO37AlgorithmCfg

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
_LOSS_METRICS = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction")
_COUNTERS = ("optimizer_steps", "nonfinite_skips", "worst_nonfinite_run")


class PPO37:
    """Proximal Policy Optimization with the 37 implementation details, each switchable by config.

    Runner-facing interface identical to :class:`rsl_rl.algorithms.PPO` (``act``, ``process_env_step``,
    ``compute_returns``, ``update``, ``learning_rate``, ``get_policy``, ``train_mode``, ``eval_mode``,
    ``broadcast_parameters``, ``save``, ``load``, ``compile``, ``construct_algorithm``).
    """

    rnd = None
    """rsl_rl's RND extension, which PPO37 does not implement (the runner's logger asks)."""
    symmetry = None
    """rsl_rl's symmetry extension, which PPO37 does not implement."""
    metric_tags = METRIC_TAGS
    """Where PPO37Runner's logger files each metric of :meth:`update`."""

    def __init__(self, actor: nn.Module, critic: nn.Module, storage: RolloutStorage,
                 cfg: PPO37AlgorithmCfg | Mapping[str, Any] | None = None, device: str = "cpu") -> None:
        """Build the algorithm around already constructed models and storage (see :meth:`construct_algorithm`).

        Args:
            actor: The policy model (rsl_rl model interface).
            critic: The value model.
            storage: rsl_rl's rollout storage of ``num_envs x num_steps_per_env`` transitions.
            cfg: A :class:`~isaaclab_gr00t.ppo.PPO37AlgorithmCfg` or a dict of some of its fields (the others keep
                their defaults); None: every default.
            device: Torch device of the models and of every buffer.
        """
        from .ppo37_cfg import as_ppo37_cfg  # Isaac Lab's config classes are slow to import: only when built

        self.cfg = cfg = as_ppo37_cfg(cfg or {})
        self.device = device
        self.actor = actor.to(device)
        self.critic = critic.to(device)
        self._raw_actor, self._raw_critic = self.actor, self.critic
        self.storage = storage
        self.transition = RolloutStorage.Transition()
        self.is_recurrent = bool(getattr(actor, "is_recurrent", False) or getattr(critic, "is_recurrent", False))
        # what the actor asks to keep per transition (e.g. a flow policy's denoising chain), replayed in the update
        self.rollout_extras = rollout_extras_store(actor, storage.num_transitions_per_env, storage.num_envs)
        validate_cfg(cfg, storage, self.is_recurrent, actor, critic)
        self.num_micro_batches = micro_batch_count(cfg, storage, self.is_recurrent)
        """Backward passes per minibatch (gradient accumulation): from micro_batch_size or num_micro_batches."""

        self.is_multi_gpu = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        self.gpu_world_size = dist.get_world_size() if self.is_multi_gpu else 1
        self.gpu_global_rank = dist.get_rank() if self.is_multi_gpu else 0
        self.mode = resolve_update_mode(cfg.update_mode, cfg.optimizer, actor, critic, device, self.is_recurrent,
                                        self.is_multi_gpu)
        prepare_models(self.actor, self.critic, cfg, storage, device, self.is_multi_gpu)
        # [detail 30] reward scaling by the running std of the discounted return
        self.reward_scaler = (
            DiscountedReturnScaler(storage.num_envs, cfg.gamma).to(device) if cfg.reward_scaling else None
        )

        # [detail 3] Adam epsilon 1e-5
        optimizer_kwargs = {"lr": cfg.learning_rate, **self.mode.optimizer_kwargs(cfg.optimizer, device)}
        if cfg.optimizer in ("adam", "adamw"):
            optimizer_kwargs["eps"] = cfg.adam_eps
        self.optimizer = _OPTIMIZERS[cfg.optimizer](optimizer_param_groups(self.actor, self.critic, cfg.learning_rate),
                                                    **optimizer_kwargs)
        # Exactly the optimized parameters are reduced, clipped and zeroed (shared ones once).
        self._params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self.lr = self.mode.learning_rate(self.optimizer, cfg.learning_rate, device)
        self.schedule = SCHEDULES[cfg.schedule](self.lr, cfg.desired_kl, tuple(cfg.adaptive_lr_bounds))
        self.mode.prepare_optimizer(self.optimizer)
        self.update_count = 0

        # Device-side bookkeeping of the update (read once per update): metric sums, optimizer steps, skipped steps,
        # and the length of the current run of non-finite steps, which carries over from one update to the next.
        # One buffer, so a minibatch step adds all its metrics with one kernel; _sums names its entries (views).
        self._metric_keys = (*_LOSS_METRICS, *(("analytic_kl",) if self.schedule.needs_kl else ()), "grad_norm")
        sums = torch.zeros(len(self._metric_keys) + len(_COUNTERS), device=device)
        self._sums = dict(zip(self._metric_keys + _COUNTERS, sums.unbind()))
        self._sums_buffer = sums
        self._metric_sums = sums[: len(self._metric_keys)]
        self._nonfinite_run = torch.zeros((), device=device)
        self._rollout_adv_stats = torch.zeros(2, device=device)
        # written by every minibatch step: graph replays do not refresh the Python-side distribution object
        self._action_std = torch.ones((), device=device)
        # Shuffles draw from their own generator: the update's forward passes sample actions from the global one,
        # and the minibatch order must not depend on how many such forwards ran (e.g. num_micro_batches).
        self.shuffle_generator = torch.Generator(device=device)
        self.shuffle_generator.manual_seed(int(torch.randint(0, 2**62, (1,))))

    @property
    def update_mode(self) -> str:
        """The update mode in use: "eager", "device" or "graph" (see :mod:`.update_modes`)."""
        return self.mode.name

    @property
    def learning_rate(self) -> float:
        """The base learning rate of the last update (rsl_rl's runner logs it)."""
        return self.lr.value

    @property
    def _captured_step(self):
        """The CUDA graph of the minibatch step in "graph" mode (None before the first update or in other modes)."""
        return getattr(self.mode, "captured_step", None)

    # ------------------------------------------------------------------ construction

    @staticmethod
    def construct_algorithm(obs: TensorDict, env: VecEnv, cfg: dict, device: str) -> PPO37:
        """Build models, storage and algorithm from the runner's config dict (rsl-rl-lib 5.5.1 contract).

        The construction-only entries are consumed here: ``share_cnn_encoders`` (the critic is built on the
        actor's encoders) and the runner's ``max_iterations`` (the default horizon of the linear schedule).
        """
        alg_class, alg_cfg = resolve_class(cfg["algorithm"])
        actor_class, actor_cfg = resolve_class(cfg["actor"])
        critic_class, critic_cfg = resolve_class(cfg["critic"])
        cfg["obs_groups"] = resolve_obs_groups(obs, cfg["obs_groups"], ["actor", "critic"])

        actor: MLPModel = actor_class(obs, cfg["obs_groups"], "actor", env.num_actions, **actor_cfg).to(device)
        # [detail 13] shared vs separate networks: rsl_rl actor and critic are separate models; the only sharing
        # they support is the image encoder:
        # [detail 21] a shared (Nature-)CNN encoder, chosen by share_cnn_encoders
        if alg_cfg.get("share_cnn_encoders"):
            critic_cfg["cnns"] = actor.cnns
        # [detail 26] separate policy and value networks (the default for continuous control)
        critic: MLPModel = critic_class(obs, cfg["obs_groups"], "critic", 1, **critic_cfg).to(device)
        # [detail 1] vectorized architecture: one rollout buffer of num_steps_per_env x num_envs parallel envs
        storage = RolloutStorage("rl", env.num_envs, cfg["num_steps_per_env"], obs, [env.num_actions], device)
        if alg_cfg.get("lr_anneal_iterations") is None:
            alg_cfg["lr_anneal_iterations"] = cfg.get("max_iterations")
        alg = alg_class(actor, critic, storage, alg_cfg, device=device)
        alg.compile(cfg.get("torch_compile_mode"))
        return alg

    # ------------------------------------------------------------------ rollout

    def act(self, obs: TensorDict) -> torch.Tensor:
        """Sample actions for ``obs`` and record the transition (no host sync)."""
        # [detail 33] the first rollout starts from a zero recurrent state (rsl_rl's RNN holds None = zeros)
        self.transition.hidden_states = (self.actor.get_hidden_state(), self.critic.get_hidden_state())
        # [detail 23] Gaussian (or categorical) policy: the model's distribution samples the action
        gaussian = isinstance(getattr(self.actor, "distribution", None), GaussianDistribution)
        with rollout_out_of_memory(self.storage.num_envs):
            with sampling(self.actor, gaussian_draw if gaussian else None):
                actions = self.actor(obs, stochastic_output=True).detach()
            values = self.critic(obs).detach()
        # [detail 27] the UNclipped sample is stored and its log-prob used; the env wrapper clips what it applies
        self.transition.actions = actions
        self.transition.values = values
        # [detail 25] independent action dimensions: the distribution sums per-dimension log-probs
        self.transition.actions_log_prob = self.actor.get_output_log_prob(actions).detach()
        self.transition.distribution_params = tuple(p.detach() for p in self.actor.output_distribution_params)
        self.transition.observations = obs
        self.rollout_extras.record(self.storage.step)
        return actions

    def process_env_step(self, obs: TensorDict, rewards: torch.Tensor, dones: torch.Tensor, extras: dict) -> None:
        """Scale/clip the reward, bootstrap time-outs, store the transition and reset recurrent state (no sync)."""
        cfg = self.cfg
        rewards = rewards.to(self.device, torch.float32).view(-1)
        dones = dones.to(self.device).view(-1)
        if self.reward_scaler is not None:
            rewards = self.reward_scaler(rewards, dones)
        # [detail 31] reward clipping
        if cfg.reward_clip is not None:
            rewards = rewards.clamp(-cfg.reward_clip, cfg.reward_clip)
        # Time-out bootstrap (GPU-scale practice): the true final observation is lost to auto-reset, so V(s_t)
        # stands in for V(s_{t+1}) of the truncated step.
        if cfg.bootstrap_time_outs and "time_outs" in extras:
            time_outs = extras["time_outs"].to(self.device).view(-1).to(rewards.dtype)
            rewards = rewards + cfg.gamma * self.transition.values.view(-1) * time_outs
        self.transition.rewards = rewards
        self.transition.dones = dones
        self.storage.add_transition(self.transition)
        self.transition.clear()
        # [detail 34] reset the recurrent state of finished episodes
        for model in (self.actor, self.critic):
            reset_recurrent_state(model, dones)

    def compute_returns(self, obs: TensorDict) -> None:
        """[detail 5] Generalized Advantage Estimation over the stored rollout."""
        st, gamma, lam = self.storage, self.cfg.gamma, self.cfg.lam
        critic_state = self.critic.get_hidden_state()
        last_values = self.critic(obs).detach()
        # The bootstrap forward must not advance the critic's recurrent state of the next rollout.
        self.critic.reset(hidden_state=critic_state)
        advantage = torch.zeros_like(last_values)
        for step in reversed(range(st.num_transitions_per_env)):
            next_values = last_values if step == st.num_transitions_per_env - 1 else st.values[step + 1]
            not_done = 1.0 - st.dones[step].float()
            delta = st.rewards[step] + not_done * gamma * next_values - st.values[step]
            advantage = delta + not_done * gamma * lam * advantage
            st.advantages[step] = advantage
        st.returns.copy_(st.advantages + st.values)

    # ------------------------------------------------------------------ update

    def update(self) -> dict[str, float]:
        """Run the PPO epochs over the stored rollout; return the debug metrics as floats."""
        cfg, st = self.cfg, self.storage
        self.schedule.start_update(self.update_count, cfg.lr_anneal_iterations)
        num_units = st.num_envs if self.is_recurrent else st.num_envs * st.num_transitions_per_env
        self._sums_buffer.zero_()
        if not cfg.normalize_advantage_per_mini_batch:
            self._rollout_adv_stats.copy_(torch.stack(self._advantage_stats(st.advantages)))
        minibatch_size = num_units // cfg.num_mini_batches
        minibatch_step = self.mode.minibatch_runner(self._minibatch_step, minibatch_size, self.device)
        per_pass = minibatch_size // self.num_micro_batches
        unit = "env trajectories" if self.is_recurrent else "samples"

        epochs_done = 0
        minibatches = shuffled_index_chunks(num_units, cfg.num_mini_batches, self.shuffle_generator)
        with update_out_of_memory(minibatch_size, per_pass, unit, self._raw_actor, st.num_envs):
            for epoch in range(cfg.num_learning_epochs):
                # [detail 6] a fresh shuffle of the minibatches every epoch (stock rsl_rl shuffles once per update)
                if epoch > 0 and cfg.reshuffle_every_epoch:
                    minibatches = shuffled_index_chunks(num_units, cfg.num_mini_batches, self.shuffle_generator)
                epoch_start = (self._sums["approx_kl"].clone(), self._sums["optimizer_steps"].clone())
                for minibatch in minibatches:
                    minibatch_step(minibatch)
                epochs_done += 1
                # Optional early stop of the update once the policy moved too far (target_kl): one sync an epoch
                if cfg.target_kl is not None:
                    epoch_steps = (self._sums["optimizer_steps"] - epoch_start[1]).clamp_min(1.0)
                    if float((self._sums["approx_kl"] - epoch_start[0]) / epoch_steps) > cfg.target_kl:
                        break
        self.mode.release_gradients(self.optimizer)

        values, returns = st.values.flatten(), st.returns.flatten()
        # NaN when the returns are constant (nothing to explain), as in the reference code
        returns_var = returns.var()
        explained_variance = torch.where(returns_var > 0, 1.0 - (returns - values).var() / returns_var, torch.nan)
        num_steps = self._sums["optimizer_steps"].clamp_min(1.0)
        metrics = {key: self._sums[key] / num_steps for key in self._metric_keys}
        metrics.update(explained_variance=explained_variance, action_std=self._action_std,
                       nonfinite_skips=self._sums["nonfinite_skips"], num_optimizer_steps=self._sums["optimizer_steps"],
                       worst_nonfinite_run=self._sums["worst_nonfinite_run"], **self.lr.device_metrics())
        # the update's one host sync (plus one an epoch with target_kl)
        result = dict(zip(metrics, torch.stack([v.float() for v in metrics.values()]).tolist()))
        worst_run = result.pop("worst_nonfinite_run")
        if worst_run >= cfg.max_consecutive_nonfinite_updates:
            raise nonfinite_error(int(worst_run), cfg.max_consecutive_nonfinite_updates)
        self.lr.read(result)
        result["learning_rate"] = self.lr.value
        result["num_epochs"] = float(epochs_done)

        # Observation statistics advance once per rollout, after the update, so the log-probs
        # recomputed during the update used exactly the normalization of the rollout.
        rollout_obs = st.observations.flatten(0, 1)
        self.actor.update_normalization(rollout_obs)
        self.critic.update_normalization(rollout_obs)
        self.update_count += 1
        st.clear()
        return result

    def _minibatch_step(self, minibatch: torch.Tensor) -> None:
        """One optimizer step on the samples (or env trajectories) ``minibatch``, with device-side bookkeeping.

        The update mode calls it eagerly, or records it once into a CUDA graph and replays it.
        """
        cfg, st = self.cfg, self.storage
        # [detail 7] advantage normalization with minibatch (or rollout) statistics, synced across ranks
        if self.is_recurrent:
            minibatch_advantages = st.advantages[:, minibatch]
        else:
            flat = flatten_rollout(st)
            minibatch_advantages = flat["advantages"][minibatch]
        if cfg.normalize_advantage_per_mini_batch:
            adv_mean, adv_std = self._advantage_stats(minibatch_advantages)
        else:
            adv_mean, adv_std = self._rollout_adv_stats

        self.optimizer.zero_grad(set_to_none=True)
        micro_metrics = []
        # Gradient accumulation: equal chunks, each loss weighted 1/num_micro_batches, sum = minibatch grad
        for micro in minibatch.chunk(self.num_micro_batches):
            # [detail 35] recurrent minibatches are whole trajectories of a subset of envs
            batch = trajectory_batch(st, micro) if self.is_recurrent else flat_batch(st, flat, micro)
            self.rollout_extras.replay(micro)
            # [detail 36] recurrent models replay the hidden state stored at each trajectory start
            with sampling(self.actor, no_draw):
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
                clip_fraction = ((ratio - 1.0).abs() > cfg.clip_param).float().mean()
                analytic_kl = (self.actor.get_kl_divergence(
                    batch.old_distribution_params, self.actor.output_distribution_params
                ).mean(),) if self.schedule.needs_kl else ()

            advantages = batch.advantages.squeeze(-1)
            if cfg.normalize_advantage:
                advantages = (advantages - adv_mean) / (adv_std + 1e-8)
            # [detail 8] clipped surrogate objective
            policy_loss = _loss_max(
                -advantages * ratio,
                -advantages * ratio.clamp(1.0 - cfg.clip_param, 1.0 + cfg.clip_param),
            ).mean()
            # [detail 9] value loss clipped around the rollout value with its own range
            value_error = (new_values - batch.returns).square()
            if cfg.use_clipped_value_loss:
                clipped_values = batch.values + (new_values - batch.values).clamp(
                    -cfg.value_clip_param, cfg.value_clip_param
                )
                value_error = _loss_max(value_error, (clipped_values - batch.returns).square())
            value_loss = 0.5 * value_error.mean()
            # [detail 10] total loss with entropy bonus
            entropy = entropy.mean()
            loss = policy_loss - cfg.entropy_coef * entropy + cfg.value_loss_coef * value_loss
            (loss / self.num_micro_batches).backward()
            micro_metrics.append(torch.stack([policy_loss, value_loss, entropy, approx_kl, clip_fraction,
                                              *analytic_kl]).detach())
        self._action_std.copy_(self.actor.output_std.detach().mean())
        # the micro-batches are equal chunks: their mean is the minibatch's value
        loss_metrics = torch.stack(micro_metrics).mean(0)
        step = dict(zip(self._metric_keys, loss_metrics.unbind()))

        if self.is_multi_gpu:
            reduce_gradients_in_buckets(self._params, self.gpu_world_size, cfg.grad_reduce_bucket_mb)
            for key in ("approx_kl", "analytic_kl"):
                if key in step:
                    dist.all_reduce(step[key])
                    step[key] /= self.gpu_world_size
        # [detail 11] one global gradient-norm clip over every trained parameter of actor and critic
        grad_norm = nn.utils.clip_grad_norm_(self._params, cfg.max_grad_norm, foreach=True).detach()
        metrics = torch.cat([loss_metrics, grad_norm.view(1)])

        # Non-finite guard: a non-finite loss or gradient skips the step; weights and Adam's moments stay untouched.
        finite = torch.isfinite(step["policy_loss"] + step["value_loss"] + grad_norm)
        if self.is_multi_gpu:
            finite = finite.float()
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
            finite = finite.bool()
        self._metric_sums += torch.where(finite, metrics, 0.0)
        self._sums["optimizer_steps"] += finite
        self._sums["nonfinite_skips"] += ~finite
        self._nonfinite_run.copy_(torch.where(finite, 0.0, self._nonfinite_run + 1.0))
        torch.maximum(self._sums["worst_nonfinite_run"], self._nonfinite_run, out=self._sums["worst_nonfinite_run"])
        self.mode.optimizer_step(self.optimizer, finite, self.schedule, step.get("analytic_kl"), self._nonfinite_run,
                                 cfg.max_consecutive_nonfinite_updates)

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

        Compiled models are not captured in a CUDA graph: a "graph" update then runs as "device" (same numbers).
        """
        self.actor = compile_model(self._raw_actor, mode)
        self.critic = compile_model(self._raw_critic, mode)
        if mode is not None:
            self.mode = self.mode.for_compiled_models()

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
            "lr_anneal_iterations": self.cfg.lr_anneal_iterations,
            "learning_rate": self.lr.value,
            "initial_learning_rate": self.lr.initial,
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
            # new state tensors: re-point the learning rate and (at the next update) the graph
            self.lr.bind()
            self.mode.forget_captures()
        state = loaded_dict.get("ppo37_state")
        if load_cfg.get("ppo37_state", load_cfg.get("optimizer")) and state is not None:
            self.update_count = int(state["update_count"])
            self.cfg.lr_anneal_iterations = state["lr_anneal_iterations"]
            self.lr.initial = float(state["initial_learning_rate"])
            self.lr.set(float(state["learning_rate"]))
            self.shuffle_generator.set_state(state["shuffle_generator"].cpu())
            if self.reward_scaler is not None and state["reward_scaler"] is not None:
                self.reward_scaler.load_state_dict(state["reward_scaler"])
        return bool(load_cfg.get("iteration", False))


def _loss_max(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise max of two loss terms, as ``torch.max(a, b)`` but with a backward of two kernels instead of ~10.

    ``torch.max`` splits the gradient between ``a`` and ``b`` where they are exactly equal; here it goes to ``a``.
    For the clipped surrogate (detail 8) the two terms can only tie where the ratio is inside the clip range or the
    advantage is 0, and there both carry the same gradient, so the result is the same; the clipped value loss (detail 9)
    differs only at exact float ties of two different errors.
    """
    return torch.where(a >= b, a, b)
