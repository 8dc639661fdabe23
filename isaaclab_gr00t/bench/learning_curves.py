"""Learning curves of PPO37 against stock rsl_rl PPO on a Gymnasium env: same seeds, same env-step budget.

    python -m isaaclab_gr00t.bench.learning_curves --env Hopper-v5 --steps 1000000 --seeds 1 2 3 --jobs 6 \
        --out docs/results/hopper

Every (algo, seed) run is one process (``--jobs`` in parallel, one torch thread each) that saves its result so
far to ``<out>_runs/<algo>_seed<N>.json`` every 30 s. Writes ``<out>.md`` (the markdown table, also printed) and
``<out>.png`` (episode return against env steps and against wall time). ``--report-only`` rebuilds both from the
JSON files, so runs cut short still give their curves, marked as such in the table. Runs in parallel share the
machine, so steps/s and wall time are only comparable within one invocation.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from isaaclab_gr00t.gym.cli import TrainResult, rollout_shape, train


def _run(job: tuple[str, int, int, str, int, int | None, Path]) -> TrainResult:
    import torch

    torch.set_num_threads(1)
    env_id, steps, seed, algo, eval_episodes, num_envs, progress_path = job
    return train(env_id, steps, seed, algo, eval_episodes, rollout=rollout_shape(env_id, num_envs),
                 progress_path=progress_path)


def _mean_std(values: list[float]) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "n/a"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.1f} ± {std:.1f}"


def markdown_table(results: list[TrainResult], algos: list[str]) -> str:
    """One row per algorithm, aggregated over seeds."""
    lines = [
        "| algo | seeds | env steps | final return (last 10 train episodes) | eval return (deterministic) |"
        " steps/s | wall time s |",
        "|---|---|---|---|---|---|---|",
    ]
    for algo in algos:
        runs = [r for r in results if r.algo == algo]
        if not runs:
            continue
        eval_means = [statistics.fmean(r.eval_returns) if r.eval_returns else math.nan for r in runs]
        reached = min(r.env_steps for r in runs)
        complete = all(r.complete for r in runs)
        steps = str(reached) if complete else f"{reached} of {runs[0].planned_env_steps} (cut short)"
        lines.append(
            f"| {algo} | {' '.join(str(r.seed) for r in runs)} | {steps} |"
            f" {_mean_std([r.final_train_return() for r in runs])} | {_mean_std(eval_means)} |"
            f" {statistics.fmean(r.steps_per_s for r in runs):.0f} |"
            f" {statistics.fmean(r.wall_time_s for r in runs):.1f} |"
        )
    return "\n".join(lines)


def _smoothed(returns: np.ndarray, window: int = 10) -> np.ndarray:
    cumulative = np.cumsum(np.insert(returns, 0, 0.0))
    counts = np.minimum(np.arange(1, len(returns) + 1), window)
    return (cumulative[1:] - cumulative[np.maximum(np.arange(1, len(returns) + 1) - window, 0)]) / counts


def plot(results: list[TrainResult], algos: list[str], env_id: str, path: Path) -> None:
    """Return (10-episode moving average) against env steps and against wall time, one line per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_steps, by_time) = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, algo in zip(colors, algos):
        for index, run in enumerate(r for r in results if r.algo == algo):
            if not run.episodes:
                continue
            steps, seconds, returns, _ = (np.asarray(column) for column in zip(*run.episodes))
            label = algo if index == 0 else None
            by_steps.plot(steps, _smoothed(returns), color=color, alpha=0.8, label=label)
            by_time.plot(seconds, _smoothed(returns), color=color, alpha=0.8, label=label)
    for axis, xlabel in ((by_steps, "env steps"), (by_time, "wall time [s]")):
        axis.set_xlabel(xlabel)
        axis.set_ylabel("episode return (10-episode mean)")
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(f"{env_id}: PPO37 vs stock rsl_rl PPO (one line per seed)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--algos", nargs="+", choices=["ppo37", "stock"], default=["ppo37", "stock"])
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--num-envs", type=int, default=None,
                        help="envs a run, keeping the preset's rollout batch (default: the preset's, 1 for MuJoCo)")
    parser.add_argument("--out", required=True, help="output prefix: writes <out>.md, <out>.png and <out>_runs/")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: rebuild <out>.md and <out>.png from <out>_runs/*.json")
    args = parser.parse_args(argv)

    out = Path(args.out)
    runs_dir = out.parent / f"{out.name}_runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        results = [TrainResult.load(path) for path in sorted(runs_dir.glob("*.json"))]
        if not results:
            raise SystemExit(f"--report-only: no run results in {runs_dir}.")
    else:
        jobs = [(args.env, args.steps, seed, algo, args.eval_episodes, args.num_envs,
                 runs_dir / f"{algo}_seed{seed}.json") for algo in args.algos for seed in args.seeds]
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_run, jobs))
    num_envs, num_steps = rollout_shape(args.env, args.num_envs)
    table = markdown_table(results, args.algos)
    source = f" (table rebuilt from {runs_dir})" if args.report_only else f", {args.jobs} runs in parallel"
    header = (f"# {args.env}: PPO37 vs stock rsl_rl PPO\n\n{results[0].planned_env_steps} env steps a run"
              f" ({num_envs} envs x {num_steps} steps a rollout), seeds {sorted({r.seed for r in results})}"
              f"{source}."
              " Stock PPO: rsl_rl's PPO with the same network, rollout, epochs,"
              " minibatches, lr, gamma, lambda and clip range (see isaaclab_gr00t/gym/cli.py).\n\n")
    out.with_suffix(".md").write_text(header + table + "\n")
    plot(results, args.algos, args.env, out.with_suffix(".png"))
    print(table)


if __name__ == "__main__":
    main()
