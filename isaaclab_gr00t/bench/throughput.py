"""Throughput of env-only stepping, stock rsl_rl training and PPO37Runner training, in one run on one machine.

For each task the same environment instance (built kit-less, the way ``isaaclab train`` builds it) is
measured four ways:

1. env-only: random actions in ``[-1, 1]``, no learner: the ceiling any learner can reach;
2. ``OnPolicyRunner`` + ``PPO``: stock rsl_rl as users run it on the task, with the task's stock agent config
   (``--agent rsl_rl_stock_cfg_entry_point``), or the task's own config switched to stock ``PPO`` if it has none;
3. ``PPO37Runner`` + ``PPO``: the same config under this project's runner (the runner's own effect);
4. ``PPO37Runner`` + the task's algorithm, when the task does not already use stock ``PPO``.

Every learner starts from the same seed and a reset environment. Mean episode return is measured for all of
them by the same device-side probe around the environment (read once per iteration), so reward-vs-wall-time
curves and the time to ``--reward_threshold`` compare like with like.

Usage::

    python -m isaaclab_gr00t.bench.throughput --task GR00T-Cartpole-Direct --num_envs 4096 --iterations 100 \\
        --device cuda:0 --reward_threshold 4.5 --out docs/results/throughput_h100

writes ``<out>.md`` (the markdown table, also printed) and ``<out>.png`` (steps/s bars, return vs wall time).
``--task PointMass-Synthetic`` uses a torch-only environment instead of Isaac Lab, which isolates the learner.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import importlib.metadata
import inspect
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field

import torch
from rsl_rl.algorithms import PPO
from rsl_rl.env import VecEnv
from rsl_rl.runners import OnPolicyRunner

from isaaclab_gr00t.bench.common import (
    device_name,
    peak_memory_mib,
    require_at_least_one,
    reset_peak_memory,
    silenced_stdout,
    synchronize,
)
from isaaclab_gr00t.envs import VecEnvWrapper
from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.runner.rollout_statistics import RolloutStatistics
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv, point_mass_train_cfg

SYNTHETIC_TASK = "PointMass-Synthetic"
TRAIN_BACKEND_FLAGS = {
    "cuda_matmul_allow_tf32": True, "cudnn_allow_tf32": True, "cudnn_deterministic": False, "cudnn_benchmark": True
}
"""What isaaclab_rl's ``train_rsl_rl.run`` sets around training (Isaac Lab 3.0.0)."""
STOCK_AGENT_ENTRY_POINT = "rsl_rl_stock_cfg_entry_point"
"""A task's stock rsl_rl agent (what ``isaaclab train --agent rsl_rl_stock_cfg_entry_point`` runs), when it has one."""


@dataclass
class LearnerResult:
    """One learner's measurements on one task."""

    name: str
    steps_per_second: float
    collect_seconds: float
    learn_seconds: float
    peak_memory_mib: float | None
    curve: list[tuple[float, float]] = field(default_factory=list)
    """(wall seconds since learn() started, mean episode return of the iteration)."""
    steps_per_second_range: tuple[float, float] | None = None
    """(slowest, fastest) steps/s over the repeated runs this median run stands for; None for a single run."""
    episodes: int = 0
    """Episodes that ended during the timed iterations: each one an environment reset, so a learner whose policy
    fails more often also makes the environment do more work."""
    iteration_seconds: list[float] = field(default_factory=list)
    """Collect + learn seconds of each iteration, as the runner logged them (one-off costs such as torch.compile
    show in the first ones)."""
    env_step_seconds: float = 0.0
    """Mean host seconds per iteration inside the environment's ``step()``: the part of the collect time that is the
    environment's (with any wait for device work queued before it, when the environment syncs)."""

    def time_to(self, threshold: float | None) -> float | None:
        """Wall seconds until the mean episode return first reached ``threshold``."""
        if threshold is None:
            return None
        return next((seconds for seconds, value in self.curve if value >= threshold), None)


def median_run(runs: list[LearnerResult]) -> LearnerResult:
    """The run with the median steps/s (the slower middle one of an even count), with the range of all runs.

    A whole run, not per-column medians, so its collect/learn times and return curve belong together.
    """
    if len(runs) == 1:
        return runs[0]
    ordered = sorted(runs, key=lambda run: run.steps_per_second)
    speeds = (ordered[0].steps_per_second, ordered[-1].steps_per_second)
    return dataclasses.replace(ordered[(len(ordered) - 1) // 2], steps_per_second_range=speeds)


class EpisodeReturnProbe(VecEnvWrapper):
    """Forwards a VecEnv and accumulates episode returns on the device, so every learner is measured alike."""

    def __init__(self, env: VecEnv) -> None:
        super().__init__(env)
        # returns only: the probe's kernels run for every learner but are not the learner's work
        self.statistics = RolloutStatistics(env.num_envs, env.get_observations(), str(env.device),
                                            count_nonfinite=False)
        self.env_step_seconds = 0.0
        """Host seconds spent in the wrapped env's ``step()`` so far (no sync added: the timing must not change the
        loop it measures)."""

    def step(self, actions: torch.Tensor):
        start = time.perf_counter()
        obs, rewards, dones, extras = self.env.step(actions)
        self.env_step_seconds += time.perf_counter() - start
        with torch.inference_mode():
            self.statistics.record(obs, rewards, dones, {})
        return obs, rewards, dones, extras







def measure_env_only(env: VecEnv, steps: int, device: str) -> LearnerResult:
    """Steps/s with uniformly random actions and no learner."""
    reset_peak_memory(device)
    # no_grad, not inference_mode: envs that keep the actions they are given (the locomotion tasks) would
    # otherwise hold inference tensors that the learners' resets, outside inference mode, cannot write.
    with torch.no_grad():
        for _ in range(max(steps // 10, 1)):  # warm-up: kernel compilation, allocator growth
            env.step(torch.rand(env.num_envs, env.num_actions, device=env.device) * 2.0 - 1.0)
        synchronize(device)
        start = time.perf_counter()
        for _ in range(steps):
            env.step(torch.rand(env.num_envs, env.num_actions, device=env.device) * 2.0 - 1.0)
        synchronize(device)
    elapsed = time.perf_counter() - start
    return LearnerResult("env only (random actions)", steps * env.num_envs / elapsed, 0.0, 0.0, peak_memory_mib(device))


def measure_learner(
    name: str, runner_class: type, env: VecEnv, cfg: dict, iterations: int, seed: int, device: str,
    profile_path: str | None = None,
) -> LearnerResult:
    """Train ``iterations`` iterations; steps/s over the whole ``learn()`` call (logging and saving included).

    With ``profile_path``, two more iterations then run under ``torch.profiler`` and its op tables (host time,
    and device time on CUDA) are written there.
    """
    # same start for every learner: Isaac Lab's env.seed() seeds torch, numpy and Warp, then reset all envs
    if hasattr(env, "seed") and hasattr(env, "reset"):
        env.seed(seed)
        # the previous learner stepped the env inside inference mode (as rsl_rl's rollout does), so the env's
        # buffers are inference tensors that only an inference-mode reset may write
        with torch.inference_mode():
            env.reset()
    torch.manual_seed(seed)
    probe = EpisodeReturnProbe(env)
    reset_peak_memory(device)
    curve, collect, learn, episodes = [], [], [], []
    with tempfile.TemporaryDirectory() as log_dir:
        runner = runner_class(probe, cfg, log_dir=log_dir, device=device)
        stock_log = runner.logger.log

        def log_and_probe(**kwargs) -> None:
            stock_log(**kwargs)
            collect.append(kwargs["collect_time"])
            learn.append(kwargs["learn_time"])
            summary = probe.statistics.read()
            episodes.append(summary.episodes)
            if summary.episodes > 0:
                curve.append((time.perf_counter() - start, summary.mean_return))

        runner.logger.log = log_and_probe
        synchronize(device)
        probe.env_step_seconds = 0.0
        start = time.perf_counter()
        with silenced_stdout():
            runner.learn(iterations, init_at_random_ep_len=cfg.get("init_at_random_ep_len", True))
        synchronize(device)
        elapsed = time.perf_counter() - start
        env_step_seconds = probe.env_step_seconds
        if profile_path:
            with silenced_stdout():
                write_profile(lambda: runner.learn(2), device, profile_path,
                              f"{name}: 2 iterations after the timed run")
        # stock rsl_rl leaves its TensorBoard writer open; its thread would still write into the folder being removed
        writer = getattr(runner.logger, "writer", None)
        if writer is not None:
            writer.close()
    steps = iterations * cfg["num_steps_per_env"] * env.num_envs
    return LearnerResult(
        name, steps / elapsed, sum(collect) / len(collect), sum(learn) / len(learn), peak_memory_mib(device), curve,
        episodes=sum(episodes), iteration_seconds=[c + u for c, u in zip(collect, learn)],
        env_step_seconds=env_step_seconds / iterations,
    )


def write_profile(work, device: str, path: str, title: str) -> None:
    """Run ``work()`` under ``torch.profiler``; write the ops by host (and device) time to ``path``."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    on_cuda = torch.device(device).type == "cuda"
    if on_cuda:
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as profiler:
        work()
        synchronize(device)
    averages = profiler.key_averages()
    sections = [f"# {title}", "## by host time (self)", averages.table(sort_by="self_cpu_time_total", row_limit=30)]
    if on_cuda:
        sections += ["## by device time (self)", averages.table(sort_by="self_device_time_total", row_limit=30)]
    with open(path, "w", encoding="utf-8") as file:
        file.write("\n\n".join(sections) + "\n")


def stock_algorithm(algorithm: dict) -> dict:
    """The algorithm section as stock rsl_rl ``PPO`` accepts it (fields PPO lacks are dropped)."""
    accepted = set(inspect.signature(PPO.__init__).parameters) | {"share_cnn_encoders"}
    return {"class_name": "PPO"} | {k: v for k, v in algorithm.items() if k in accepted and k != "class_name"}


def apply_agent_overrides(cfg: dict, overrides: list[str]) -> dict:
    """A copy of the agent config dict with ``KEY=VALUE`` overrides applied (dotted keys, YAML values), read and set
    as task specs set theirs (:mod:`isaaclab_gr00t.registration.overrides`).

    Only keys the config already has may be set, so a misspelt key fails instead of being ignored.
    """
    # importing the registration package registers the tasks: only when there are overrides
    from isaaclab_gr00t.registration.overrides import parse_key_value, set_in_dict

    cfg = copy.deepcopy(cfg)
    for override in overrides:
        source = f"--agent_override {override!r}"
        set_in_dict(cfg, *parse_key_value(override, source), source)
    return cfg




def learner_configs(
    task_cfg: dict, overrides: list[str] = (), stock_cfg: dict | None = None
) -> list[tuple[str, type, dict]]:
    """Stock runner + PPO, PPO37Runner + PPO and, if different, PPO37Runner + the task's own algorithm.

    Args:
        task_cfg: The task's own agent config (dict form).
        overrides: ``KEY=VALUE`` changes to the last learner only, the one that runs the task's own agent config:
            stock rsl_rl stays as users run it.
        stock_cfg: The task's stock rsl_rl agent config, for both ``PPO`` learners; without one, they run the task's
            own config switched to stock ``PPO`` (fields ``PPO`` does not take are dropped).
    """
    if stock_cfg is None:
        stock_cfg = copy.deepcopy(task_cfg)
        stock_cfg["algorithm"] = stock_algorithm(task_cfg["algorithm"])
    stock = copy.deepcopy(stock_cfg) | {"class_name": "OnPolicyRunner"}
    learners = [
        ("rsl_rl OnPolicyRunner + PPO", OnPolicyRunner, stock),
        ("PPO37Runner + PPO", PPO37Runner, copy.deepcopy(stock) | {"class_name": "isaaclab_gr00t.runner:PPO37Runner"}),
    ]
    algorithm_name = str(task_cfg["algorithm"]["class_name"])
    if algorithm_name != "PPO":
        own = copy.deepcopy(task_cfg) | {"class_name": "isaaclab_gr00t.runner:PPO37Runner"}
        learners.append((f"PPO37Runner + {algorithm_name.rsplit(':', 1)[-1]}", PPO37Runner, own))
    name, runner_class, own = learners[-1]
    learners[-1] = (name, runner_class, apply_agent_overrides(own, overrides))
    return learners


@contextlib.contextmanager
def open_task(
    task: str, num_envs: int, device: str, seed: int, frontend: str = "torch",
    agent: str = "rsl_rl_cfg_entry_point", agent_task: str | None = None,
):
    """Yield ``(env, agent_cfg, stock_agent_cfg)`` for a task, built kit-less like ``isaaclab train --frontend <f>``.

    The configs are dicts; ``agent_cfg`` is the ``agent`` entry point of ``agent_task`` (default: ``task``; another
    task runs a policy trained there, e.g. a state task's expert in its camera twin) and sets the env's action
    clipping; ``stock_agent_cfg`` is the task's :data:`STOCK_AGENT_ENTRY_POINT` config, or None.
    """
    if task == SYNTHETIC_TASK:
        torch.manual_seed(seed)
        yield PointMassVecEnv(num_envs, seed=seed, device=device), point_mass_train_cfg() | {"device": device}, None
        return

    import gymnasium as gym

    from isaaclab.app import add_launcher_args, launch_simulation
    from isaaclab.cli import load_external_tasks
    from isaaclab.utils import to_dict
    from isaaclab_rl.entrypoints.common import create_isaaclab_env
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper, handle_deprecated_rsl_rl_cfg
    from isaaclab_tasks.utils import resolve_task_config

    load_external_tasks()  # the `isaaclab.tasks` entry points, as the CLI imports them (this project's tasks)
    launcher_parser = argparse.ArgumentParser()
    add_launcher_args(launcher_parser)
    launcher_args = launcher_parser.parse_args(["--device", device])
    # explicit empty overrides: resolve_task_config would otherwise parse this script's sys.argv as Hydra args
    env_cfg, agent_cfg = resolve_task_config(task, agent if agent_task is None else None, overrides=[])
    if agent_task is not None:
        agent_cfg = resolve_task_config(agent_task, agent, overrides=[])[1]
    env_cfg.scene.num_envs = num_envs
    env_cfg.sim.device = device
    env_cfg.seed = seed

    def for_this_run(cfg):
        """An agent config as ``isaaclab train`` prepares it: deprecated fields handled, this run's device and seed."""
        cfg = handle_deprecated_rsl_rl_cfg(cfg, importlib.metadata.version("rsl-rl-lib"))
        cfg.device = device
        cfg.seed = seed
        return cfg

    agent_cfg = for_this_run(agent_cfg)
    stock_agent_cfg = None
    if STOCK_AGENT_ENTRY_POINT in gym.spec(task).kwargs:
        stock_agent_cfg = to_dict(for_this_run(resolve_task_config(task, STOCK_AGENT_ENTRY_POINT, overrides=[])[1]))
    # Newton (and any Kit-based physics) must be started by launch_simulation around env creation and use
    with launch_simulation(env_cfg, launcher_args):
        cli_args = argparse.Namespace(frontend=frontend)
        env = create_isaaclab_env(task, env_cfg, cli_args, convert_marl_to_single_agent=False)
        env = RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions)
        try:
            yield env, to_dict(agent_cfg), stock_agent_cfg
        finally:
            env.close()


def benchmark_task(args: argparse.Namespace, task: str) -> list[LearnerResult]:
    """All measurements of one task: env-only first, then each learner.

    Runs under the torch backend flags ``isaaclab train --rl_library rsl_rl`` sets (TF32 matmuls and convolutions,
    cuDNN autotuning), so every learner is measured as the stock workflow runs it.
    """
    from isaaclab_rl.entrypoints.common import scoped_torch_backend_flags

    task_env = open_task(task, args.num_envs, args.device, args.seed, args.frontend)
    with scoped_torch_backend_flags(**TRAIN_BACKEND_FLAGS), task_env as (env, task_cfg, stock_cfg):
        learners = learner_configs(task_cfg, args.agent_override, stock_cfg)
        source = STOCK_AGENT_ENTRY_POINT if stock_cfg is not None else "the task's own, switched to stock PPO"
        print(f"[{task}] stock rsl_rl agent config: {source}", flush=True)
        # one untimed iteration of every learner first, so the process's one-off costs (lazy init, kernel caches,
        # cuDNN's autotuning of each learner's layer shapes and memory formats) fall on none of the timed runs
        for name, runner_class, cfg in learners:
            measure_learner(f"warm-up: {name}", runner_class, env, cfg, 1, args.seed, args.device)
        # repeats go round all measurements in turn, so a drift of the machine's speed falls on each alike
        rounds = []
        for repeat in range(args.repeats):
            results = [measure_env_only(env, args.env_steps, args.device)]
            for index, (name, runner_class, cfg) in enumerate(learners):
                profile_path = None
                if args.profile and args.out and repeat == args.repeats - 1:
                    profile_path = f"{args.out.removesuffix('.md')}_profile_{index}.txt"
                results.append(
                    measure_learner(name, runner_class, env, cfg, args.iterations, args.seed, args.device, profile_path)
                )
                seconds = " ".join(f"{t:.3f}" for t in results[-1].iteration_seconds)
                print(f"[{task}] run {repeat + 1}: {name}: {results[-1].steps_per_second:,.0f} steps/s; "
                      f"seconds per iteration: {seconds}", flush=True)
            rounds.append(results)
        return [median_run(list(runs)) for runs in zip(*rounds)]



def markdown_table(args: argparse.Namespace, results: dict[str, list[LearnerResult]]) -> str:
    """Table of every measurement, with the command line and the machine."""
    threshold = args.reward_threshold
    runs = ""
    if args.repeats > 1:
        runs = f"; the median of {args.repeats} runs each, (slowest-fastest) steps/s in brackets"
    if args.agent_override:
        runs += f"; the last learner with {', '.join(args.agent_override)}"
    lines = [
        f"Command: `python -m isaaclab_gr00t.bench.throughput {' '.join(sys.argv[1:])}`",
        "",
        f"Device: {device_name(args.device)}; torch {torch.__version__}; rsl-rl-lib "
        f"{importlib.metadata.version('rsl-rl-lib')}; {args.frontend} frontend; {args.num_envs} envs; "
        f"{args.iterations} iterations per learner{runs}.",
        "",
        "| task | learner | steps/s | of env-only | collect s/it | in env.step s/it | learn s/it | peak torch MiB | "
        f"s to return >= {threshold} | last mean return | episodes ended |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for task, task_results in results.items():
        env_only = task_results[0].steps_per_second
        for result in task_results:
            is_learner = bool(result.collect_seconds or result.learn_seconds)
            reached = result.time_to(threshold)
            time_to_threshold = "not reached" if reached is None else f"{reached:.1f}"
            cells = [
                task,
                result.name,
                f"{result.steps_per_second:,.0f}" + (
                    " ({:,.0f}-{:,.0f})".format(*result.steps_per_second_range) if result.steps_per_second_range else ""
                ),
                f"{result.steps_per_second / env_only:.0%}",
                f"{result.collect_seconds:.3f}" if is_learner else "",
                f"{result.env_step_seconds:.3f}" if is_learner else "",
                f"{result.learn_seconds:.3f}" if is_learner else "",
                f"{result.peak_memory_mib:,.0f}" if result.peak_memory_mib is not None else "n/a",
                time_to_threshold if is_learner and threshold is not None else "",
                f"{result.curve[-1][1]:.2f}" if result.curve else "",
                f"{result.episodes:,}" if is_learner else "",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "steps/s of a learner = iterations x num_steps_per_env x envs / wall time of `learn()` (logging and",
        "checkpoints included). Mean return = mean undiscounted return of the episodes that ended in an",
        "iteration, measured identically for every learner by a device-side probe around the environment, which",
        "also counts the episodes that ended (each an environment reset) during the timed iterations.",
        "\"in env.step\" = host seconds per iteration inside the environment's step() (part of collect; it includes",
        "waits for device work queued before it when the environment syncs), the rest of collect is the learner's.",
    ]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, list[LearnerResult]], path: str) -> None:
    """Steps/s bars per task and mean return vs wall time per learner."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(results), 2, figsize=(13, 4.2 * len(results)), squeeze=False)
    for row, (task, task_results) in enumerate(results.items()):
        bars, curves = axes[row]
        bars.barh([r.name for r in task_results], [r.steps_per_second for r in task_results], color="tab:blue")
        bars.invert_yaxis()
        bars.set_xlabel("env steps per second")
        bars.set_title(f"{task}: throughput")
        for result in task_results[1:]:
            if result.curve:
                seconds, returns = zip(*result.curve)
                curves.plot(seconds, returns, marker=".", label=result.name)
        curves.set_xlabel("wall time of learn() [s]")
        curves.set_ylabel("mean episode return")
        curves.set_title(f"{task}: return vs wall time")
        curves.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", nargs="+", required=True, help=f"Task IDs (or {SYNTHETIC_TASK}).")
    parser.add_argument("--num_envs", type=int, required=True, help="Parallel environments.")
    parser.add_argument("--iterations", type=int, required=True, help="Learning iterations per learner.")
    parser.add_argument("--device", default="cuda:0", help="Device of the simulation and the learners.")
    parser.add_argument("--frontend", choices=("torch", "warp"), default="torch",
                        help="Isaac Lab's env runtime, as in `isaaclab train --frontend`; warp: the task's Warp twin.")
    parser.add_argument("--env_steps", type=int, default=100, help="Timed steps of the env-only measurement.")
    parser.add_argument("--reward_threshold", type=float, default=None, help="Report wall time to this mean return.")
    parser.add_argument("--seed", type=int, default=42, help="Seed of the environment and every learner.")
    parser.add_argument("--repeats", type=int, default=1,
                        help="Runs of every measurement, taken in turns; the table shows each one's median run.")
    parser.add_argument("--agent_override", nargs="+", default=[], metavar="KEY=VALUE",
                        help="Change the last learner's agent config, the task's own (dotted keys, YAML values), "
                             "e.g. torch_compile_mode=default algorithm.update_mode=graph; stock rsl_rl is left as is.")
    parser.add_argument("--out", default=None, help="Write <out>.md and <out>.png (e.g. docs/results/throughput).")
    parser.add_argument("--profile", action="store_true",
                        help="Also write <out>_profile_<i>.txt: torch.profiler op tables of learner i (needs --out).")
    args = parser.parse_args(argv)
    require_at_least_one(parser, args, ("num_envs", "iterations", "env_steps", "repeats"))
    if args.agent_override:
        from isaaclab_gr00t.registration.overrides import parse_key_value  # registers the tasks: only when needed

        for override in args.agent_override:
            try:
                parse_key_value(override, f"--agent_override {override!r}")
            except ValueError as error:
                parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> dict[str, list[LearnerResult]]:
    args = parse_args(argv)
    if args.out:  # --profile writes its tables there before the summary
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results = {}
    for task in args.task:
        results[task] = benchmark_task(args, task)
    table = markdown_table(args, results)
    print(table)
    if args.out:
        out = args.out.removesuffix(".md")
        with open(out + ".md", "w", encoding="utf-8") as file:
            file.write(table)
        plot(results, out + ".png")
        print(f"Wrote {out}.md and {out}.png")
    return results


if __name__ == "__main__":
    main()
