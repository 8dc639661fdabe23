"""PPO37Runner: rsl_rl's on-policy runner without per-step host syncs, with crash-safe checkpoints.

Drop-in for :class:`rsl_rl.runners.OnPolicyRunner` (same constructor, ``learn``, ``save``, ``load``,
export and logging API, same log folder layout). ``learn`` runs each rollout through a rollout object
(:mod:`~.rollout`). Differences, and why:

- With PPO37 updating from CUDA graphs (``update_mode`` "auto"/"graph" on CUDA), the learner's share of each
  rollout step is replayed from CUDA graphs too (:mod:`~.captured_rollout`).
- The rollout never waits for the device: episode statistics and the NaN check live in
  :class:`~.rollout_statistics.RolloutStatistics` and reach the host once per
  iteration (see that module). The check runs before the update, so non-finite environment data never
  reaches the weights, and it also catches inf (stock only checks NaN).
- On CUDA, the peak GPU memory of each iteration's rollout and update is logged as
  ``Perf/peak_memory_rollout_gib`` and ``Perf/peak_memory_update_gib`` (console and TensorBoard).
- Metrics the algorithm names in its ``metric_tags`` (PPO37's ``Policy/approx_kl``, ``Loss/value``, ...) are
  logged under those tags instead of rsl_rl's ``Loss/<key>``.
- Checkpoints are written atomically and validated before anything is loaded (see
  :mod:`~.checkpoint`).
- ``model_<N>.pt`` holds the state after ``N`` completed iterations and ``iter = N``, so a resumed run
  continues at iteration ``N`` without repeating one (stock saves ``model_<i>.pt`` after iteration ``i``
  with ``iter = i`` and repeats iteration ``i`` on resume).
- Multi-GPU runs (torchrun / ``isaaclab train_multigpu``) also work on CPU processes with gloo, episode
  statistics are summed over ranks, and only rank 0 writes logs and checkpoints.
"""

from __future__ import annotations

import math
import os
import time

import torch
from rsl_rl.env import VecEnv
from rsl_rl.runners import OnPolicyRunner
from rsl_rl.utils import resolve_callable
from rsl_rl.utils.logger import Logger

from .captured_rollout import CapturedRollout
from .checkpoint import CHECKPOINT_NAME, read_checkpoint, save_atomically, validate_checkpoint
from .rollout import Rollout
from .rollout_statistics import IterationSummary, RolloutStatistics


def peak_memory(device: str, phase: str) -> dict[str, float]:
    """``Perf/peak_memory_<phase>_gib``: the most GPU memory PyTorch held since the last peak reset, which it then
    resets for the next phase; nothing on the CPU."""
    if torch.device(device).type != "cuda":
        return {}
    peak = torch.cuda.max_memory_allocated(device) / 2**30
    torch.cuda.reset_peak_memory_stats(device)
    return {f"Perf/peak_memory_{phase}_gib": peak}


class IterationLogger(Logger):
    """rsl_rl's logger fed once per iteration with device-aggregated statistics, filing the metrics by name.

    Console summary, TensorBoard/W&B/Neptune scalars, code-state upload and rank handling are rsl_rl's;
    only the per-step bookkeeping (which syncs the host) is replaced by :meth:`record_iteration`. Metrics the
    algorithm names in ``metric_tags`` (PPO37's ``Policy/approx_kl``, ``Loss/value``, ...) are written under
    those tags, and printed so, instead of rsl_rl's ``Loss/<key>`` and "Mean <key> loss".
    """

    def __init__(self, *args, metric_tags: dict[str, str | None] | None = None, **kwargs) -> None:
        """rsl_rl's logger; ``metric_tags`` maps an ``update()`` key to its tag (None: rsl_rl logs it already)."""
        super().__init__(*args, **kwargs)
        self.metric_tags = metric_tags or {}

    def record_iteration(self, summary: IterationSummary, scalars: dict[str, float] | None = None) -> None:
        """Make ``log()`` report this iteration's finished episodes and env extras, and ``scalars`` under their tags."""
        uses_rnd = bool(self.cfg["algorithm"].get("rnd_cfg"))
        buffers = [self.rewbuffer, self.lenbuffer] + ([self.erewbuffer, self.irewbuffer] if uses_rnd else [])
        for buffer in buffers:
            buffer.clear()
        self.ep_extras.clear()
        if summary.episodes > 0:
            self.rewbuffer.append(summary.mean_return)
            self.lenbuffer.append(summary.mean_length)
            if uses_rnd:
                self.erewbuffer.append(summary.mean_return - summary.mean_intrinsic_return)
                self.irewbuffer.append(summary.mean_intrinsic_return)
        if summary.extras:
            self.ep_extras.append(dict(summary.extras))
        if scalars:
            self.ep_extras.append(dict(scalars))

    def log(self, *args, loss_dict: dict, **kwargs) -> None:
        """rsl_rl's ``log``; tagged metrics go with the extras, which rsl_rl writes and prints under their own key."""
        tagged = {self.metric_tags[key]: value for key, value in loss_dict.items() if self.metric_tags.get(key)}
        if tagged:
            self.ep_extras.append(tagged)
        untagged = {key: value for key, value in loss_dict.items() if key not in self.metric_tags}
        super().log(*args, loss_dict=untagged, **kwargs)


class PPO37Runner(OnPolicyRunner):
    """On-policy runner with one host sync per rollout, atomic checkpoints and CPU-capable multi-process runs."""

    def __init__(self, env: VecEnv, train_cfg: dict, log_dir: str | None = None, device: str = "cpu") -> None:
        """Construct the algorithm, logger and device-side statistics, like ``OnPolicyRunner``."""
        self.env = env
        self.cfg = train_cfg
        self.device = device
        self._configure_multi_gpu()

        obs = self.env.get_observations()
        alg_class = resolve_callable(self.cfg["algorithm"]["class_name"])
        self.alg = alg_class.construct_algorithm(obs, self.env, self.cfg, self.device)
        self.logger = IterationLogger(
            log_dir=log_dir,
            cfg=self.cfg,
            env_cfg=self.env.cfg,
            num_envs=self.env.num_envs,
            is_distributed=self.is_distributed,
            gpu_world_size=self.gpu_world_size,
            gpu_global_rank=self.gpu_global_rank,
            device=self.device,
            metric_tags=getattr(self.alg, "metric_tags", None),
        )
        self.statistics = RolloutStatistics(self.env.num_envs, obs, self.device)
        # PPO37 running its update as a CUDA graph (CUDA, feed-forward, one process) gets a captured rollout too
        captured = getattr(getattr(self.alg, "mode", None), "replays_graphs", False)
        self.rollout = (
            CapturedRollout(self.alg, self.statistics, obs.to(self.device), self.cfg["num_steps_per_env"])
            if captured else None
        )
        self.current_learning_iteration = 0

    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False) -> None:
        """Run ``num_learning_iterations`` rollout + update iterations, continuing the iteration count."""
        if init_at_random_ep_len:
            self.env.episode_length_buf = torch.randint_like(
                self.env.episode_length_buf, high=int(self.env.max_episode_length)
            )
        obs = self.env.get_observations().to(self.device)
        self.alg.train_mode()
        if self.is_distributed:
            self.alg.broadcast_parameters()
        self.logger.init_logging_writer()
        check_env = self.cfg.get("check_for_nan", True)
        check_loss = self.cfg.get("check_loss_finite", True)
        uses_rnd = bool(self.cfg["algorithm"].get("rnd_cfg"))
        rollout = self.rollout if self.rollout is not None else Rollout(self.alg, self.statistics, uses_rnd)

        if torch.device(self.device).type == "cuda":  # each phase reports its own peak from here on
            torch.cuda.reset_peak_memory_stats(self.device)
        start_it = self.current_learning_iteration
        total_it = start_it + num_learning_iterations
        for it in range(start_it, total_it):
            self.start_iteration(it)
            start = time.time()
            with torch.inference_mode():
                obs = rollout.start(obs)
                for step in range(self.cfg["num_steps_per_env"]):
                    obs, rewards, dones, extras = self.env.step(rollout.act(step).to(self.env.device))
                    obs, rewards, dones = obs.to(self.device), rewards.to(self.device), dones.to(self.device)
                    obs = rollout.store(step, obs, rewards, dones, extras)
                rollout.finish()
                # the rollout's only host sync; every rank gets the same totals, so all raise together
                summary = self.statistics.read(distributed=self.is_distributed)
            if check_env and summary.nonfinite:
                raise FloatingPointError(
                    f"Iteration {it}: the environment returned non-finite values ({summary.nonfinite} NaN/inf"
                    " entries); the update was skipped and nothing was saved. This usually indicates a bug in the"
                    " environment's step(), reset() or reward computation."
                )
            collect_time = time.time() - start
            memory = peak_memory(self.device, "rollout")

            start = time.time()
            loss_dict = {key: float(value) for key, value in self.alg.update().items()}
            learn_time = time.time() - start
            memory |= peak_memory(self.device, "update")
            if check_loss and not all(math.isfinite(value) for value in loss_dict.values()):
                raise FloatingPointError(
                    f"Iteration {it}: non-finite losses {loss_dict}; stopped before saving, the last checkpoint"
                    " holds the last finite weights."
                )
            self.current_learning_iteration = it + 1

            self.logger.record_iteration(summary, memory)
            self.logger.log(
                it=it,
                start_it=start_it,
                total_it=total_it,
                collect_time=collect_time,
                learn_time=learn_time,
                loss_dict=loss_dict,
                learning_rate=self.alg.learning_rate,
                action_std=self.alg.get_policy().output_std,
                rnd_weight=self.alg.rnd.weight if uses_rnd else None,
            )
            if self.logger.writer is not None:
                self.logger.writer.add_scalar("Train/finished_episodes", summary.episodes, it)
                if (it + 1) % self.cfg["save_interval"] == 0 or it + 1 == total_it:
                    self.save(os.path.join(self.logger.log_dir, f"model_{it + 1}.pt"))

        if self.logger.writer is not None:
            self.logger.stop_logging_writer()

    def start_iteration(self, iteration: int) -> None:
        """Called by :meth:`learn` before learning iteration ``iteration`` (the count of completed iterations,
        resumed from checkpoints): nothing here, a subclass's hook (``GR00TRunner`` unfreezes its schedule)."""

    def save(self, path: str, infos: dict | None = None) -> None:
        """Atomically write the training state; drop old checkpoints beyond ``keep_last_checkpoints``."""
        checkpoint = self.alg.save()
        checkpoint["iter"] = self.current_learning_iteration
        checkpoint["infos"] = infos
        save_atomically(checkpoint, path)
        self.logger.save_model(path, self.current_learning_iteration)
        self._delete_old_checkpoints(os.path.dirname(os.path.abspath(path)), keep=path)

    def _delete_old_checkpoints(self, directory: str, keep: str) -> None:
        """Keep the newest ``keep_last_checkpoints`` numbered checkpoints of *directory* (0 keeps all)."""
        keep_last = self.cfg.get("keep_last_checkpoints", 0)
        if keep_last <= 0:
            return
        numbered = sorted(
            (int(match.group(1)), name)
            for name in os.listdir(directory)
            if (match := CHECKPOINT_NAME.fullmatch(name))
        )
        for _, name in numbered[:-keep_last]:
            if os.path.join(directory, name) != os.path.abspath(keep):
                os.remove(os.path.join(directory, name))

    def load(
        self, path: str, load_cfg: dict | None = None, strict: bool = True, map_location: str | None = None
    ) -> dict:
        """Load a checkpoint after checking all of it; a bad file raises ``CheckpointError`` and changes nothing.

        Args:
            path: Checkpoint file.
            load_cfg: What to load (rsl_rl keys ``actor``, ``critic``, ``optimizer``, ``iteration``, ``rnd``);
                None loads everything.
            strict: Whether model state dicts must match the models' keys exactly.
            map_location: Device for the loaded tensors.

        Returns:
            The checkpoint's ``infos`` entry.
        """
        if load_cfg is None:
            load_cfg = {"actor": True, "critic": True, "optimizer": True, "iteration": True, "rnd": True}
        checkpoint = read_checkpoint(path, map_location)
        validate_checkpoint(path, checkpoint, self.alg.save(), load_cfg, strict)
        if self.alg.load(checkpoint, load_cfg, strict):
            self.current_learning_iteration = checkpoint["iter"]
        return checkpoint.get("infos")

    def export_policy_to_jit(self, path: str, filename: str = "policy.pt") -> None:
        """Export like rsl_rl; a policy that cannot be traced (a transformers backbone) is reported and skipped.

        Isaac Lab's play command exports unconditionally before it runs the policy, so a refusal here must not
        end the command: play then goes on with the policy in eager mode.
        """
        try:
            super().export_policy_to_jit(path, filename)
        except NotImplementedError as exc:
            print(f"[isaaclab_gr00t] TorchScript export skipped: {exc}")

    def export_policy_to_onnx(self, path: str, filename: str = "policy.onnx", verbose: bool = False) -> None:
        """Export like rsl_rl; a policy that cannot be exported to ONNX is reported and skipped (see above)."""
        try:
            super().export_policy_to_onnx(path, filename, verbose)
        except NotImplementedError as exc:
            print(f"[isaaclab_gr00t] ONNX export skipped: {exc}")

    def _configure_multi_gpu(self) -> None:
        """Join the torchrun process group: NCCL on ``cuda:<LOCAL_RANK>``, gloo on CPU.

        Stock rsl_rl only accepts CUDA; gloo lets the multi-process code run (and be tested) on CPU.
        A process group that already exists (e.g. created by a test harness) is reused.
        """
        self.gpu_world_size = int(os.getenv("WORLD_SIZE", "1"))
        self.is_distributed = self.gpu_world_size > 1
        if not self.is_distributed:
            self.gpu_local_rank = 0
            self.gpu_global_rank = 0
            self.cfg["multi_gpu"] = None
            return

        self.gpu_local_rank = int(os.getenv("LOCAL_RANK", "0"))
        self.gpu_global_rank = int(os.getenv("RANK", "0"))
        for name, rank in (("LOCAL_RANK", self.gpu_local_rank), ("RANK", self.gpu_global_rank)):
            if not 0 <= rank < self.gpu_world_size:
                raise ValueError(f"{name}={rank} is outside [0, WORLD_SIZE={self.gpu_world_size}).")
        self.cfg["multi_gpu"] = {
            "global_rank": self.gpu_global_rank,
            "local_rank": self.gpu_local_rank,
            "world_size": self.gpu_world_size,
        }

        on_cuda = torch.device(self.device).type == "cuda"
        if on_cuda and self.device != f"cuda:{self.gpu_local_rank}":
            raise ValueError(
                f"Runner device '{self.device}' does not match LOCAL_RANK={self.gpu_local_rank}: each rank must use"
                f" 'cuda:{self.gpu_local_rank}'."
            )
        if on_cuda:
            torch.cuda.set_device(self.gpu_local_rank)
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group(
                backend="nccl" if on_cuda else "gloo", rank=self.gpu_global_rank, world_size=self.gpu_world_size
            )
