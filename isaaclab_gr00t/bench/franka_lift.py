"""Measurements on the Franka lift tasks: env-only speed, learning curves from training logs, and camera frames.

    python -m isaaclab_gr00t.bench.franka_lift envonly --task GR00T-Franka-Lift GR00T-Franka-Lift-Camera \
        --num_envs 4096 512 --out results/envonly
    python -m isaaclab_gr00t.bench.franka_lift report --run ppo37=logs/rsl_rl/gr00t_franka_lift/<date> \
        --run stock=logs/rsl_rl/gr00t_franka_lift_stock/<date> --out results/learning
    python -m isaaclab_gr00t.bench.franka_lift frames --policy <run>/exported/policy.pt --out results/lift.gif

``envonly`` times random actions (no learner). ``report`` reads the TensorBoard logs of ``isaaclab train`` runs
(``Train/mean_reward``, ``Metrics/success_rate``, and the iteration wall times) and writes ``<out>.md`` and
``<out>.png``: return and success rate against env steps and against wall time. ``frames`` runs an exported
state policy of ``GR00T-Franka-Lift`` in ``GR00T-Franka-Lift-Camera`` (which has the same state groups) and saves
its front camera as a GIF. ``scripts/gpu/franka_lift.sh`` runs all three on a CUDA machine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

STATE_GROUPS = ("policy", "proprio", "perception")
"""Observation groups the state agents read, in the order their exported policy takes them."""


VIDEO_CAMERA = {
    "prim_path": "{ENV_REGEX_NS}/VideoCamera",
    # across the table from the robot and to its right, looking at the cube's start area (yaw -37 deg, pitched
    # down 20 deg); the robot stands at the origin, the table spans x from -0.95 to -0.15 m
    "offset": {"pos": [-1.6, 0.9, 0.9], "rot": [0.0553, 0.1659, -0.3113, 0.9341], "convention": "world"},
    "width": 256,
    "height": 256,
    "spawn": {"focal_length": 24.0, "clipping_range": [0.05, 6.0]},
    "obs_group": "video_rgb",
}
"""The camera the GIF is recorded with (a task-spec camera entry), added to the camera task's scene."""


def _make_env(task: str, num_envs: int | None, device: str | None, cameras: dict | None = None):
    import gymnasium as gym

    import isaaclab_gr00t.registration  # noqa: F401  (registers the tasks)
    from isaaclab_gr00t.registration.cameras import add_cameras
    from isaaclab_tasks.utils import resolve_task_config

    env_cfg, _ = resolve_task_config(task, "rsl_rl_cfg_entry_point", overrides=[])
    add_cameras(env_cfg, cameras or {}, "isaaclab_gr00t.bench.franka_lift")
    if num_envs:
        env_cfg.scene.num_envs = num_envs
    if device:
        env_cfg.sim.device = device
    return gym.make(task, cfg=env_cfg)


def envonly(task: str, num_envs: int | None, steps: int, device: str | None) -> dict:
    """Env steps/s with uniform random actions in [-1, 1], after a short warm-up."""
    import torch

    from .common import synchronize

    started = time.perf_counter()
    env = _make_env(task, num_envs, device)
    created = time.perf_counter() - started
    unwrapped = env.unwrapped
    env.reset()
    action_shape = (unwrapped.num_envs, unwrapped.action_manager.total_action_dim)

    def actions() -> torch.Tensor:
        return 2 * torch.rand(action_shape, device=unwrapped.device) - 1

    for _ in range(10):
        env.step(actions())
    synchronize(unwrapped.device)
    start = time.perf_counter()
    for _ in range(steps):
        env.step(actions())
    synchronize(unwrapped.device)
    elapsed = time.perf_counter() - start
    result = {"task": task, "num_envs": unwrapped.num_envs, "device": str(unwrapped.device), "steps": steps,
              "env_steps_per_s": steps * unwrapped.num_envs / elapsed, "ms_per_step": 1000 * elapsed / steps,
              "creation_s": created}
    env.close()
    return result


def _scalars(run: Path) -> dict[str, list[tuple[int, float, float]]]:
    """Tag -> [(iteration, wall time, value)] from a run folder's TensorBoard event files."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {tag: [(e.step, e.wall_time, e.value) for e in accumulator.Scalars(tag)]
            for tag in accumulator.Tags()["scalars"]}


def _run_params(run: Path) -> tuple[int, int]:
    """(num_envs, num_steps_per_env) of an ``isaaclab train`` run, from the configs it dumps."""
    import yaml

    env = yaml.unsafe_load((run / "params" / "env.yaml").read_text())  # the run's own dump, tagged by Isaac Lab
    agent = yaml.unsafe_load((run / "params" / "agent.yaml").read_text())
    return int(env["scene"]["num_envs"]), int(agent["num_steps_per_env"])


def report(runs: dict[str, Path], out: Path) -> str:
    """Markdown table and plot of return and success rate against env steps and wall time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {}
    for name, run in runs.items():
        scalars = _scalars(run)
        num_envs, steps_per_env = _run_params(run)
        rewards = scalars.get("Train/mean_reward", [])
        start = min(w for tag in scalars.values() for _, w, _ in tag)
        success = scalars.get("Metrics/success_rate", [])
        curves[name] = {
            "steps_per_iteration": num_envs * steps_per_env,
            "reward": [((i + 1) * num_envs * steps_per_env, w - start, v) for i, w, v in rewards],
            "success": [((i + 1) * num_envs * steps_per_env, w - start, v) for i, w, v in success],
            "fps": [v for _, _, v in scalars.get("Perf/total_fps", [])],
        }
    lines = ["| agent | iterations | env steps | wall time s | final return | final success rate | best success rate"
             " | mean steps/s |", "|---|---|---|---|---|---|---|---|"]
    for name, c in curves.items():
        last = c["reward"][-1] if c["reward"] else (0, 0.0, float("nan"))
        final_success = c["success"][-1][2] if c["success"] else float("nan")
        best_success = max((v for *_, v in c["success"]), default=float("nan"))
        fps = sum(c["fps"]) / len(c["fps"]) if c["fps"] else float("nan")
        lines.append(f"| {name} | {len(c['reward'])} | {last[0]} | {last[1]:.0f} | {last[2]:.2f} | {final_success:.3f}"
                     f" | {best_success:.3f} | {fps:.0f} |")
    table = "\n".join(lines)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(table + "\n")
    out.with_suffix(".json").write_text(json.dumps(curves))
    figure, axes = plt.subplots(2, 2, figsize=(11, 7))
    for name, c in curves.items():
        for row, key in enumerate(("reward", "success")):
            points = c[key]
            axes[row][0].plot([p[0] for p in points], [p[2] for p in points], label=name)
            axes[row][1].plot([p[1] for p in points], [p[2] for p in points], label=name)
    for row, label in enumerate(("mean episode return", "Metrics/success_rate")):
        axes[row][0].set(xlabel="env steps", ylabel=label)
        axes[row][1].set(xlabel="wall time [s]", ylabel=label)
    axes[0][0].legend()
    figure.tight_layout()
    figure.savefig(out.with_suffix(".png"), dpi=110)
    return table


def frames(policy_path: Path, out: Path, steps: int, num_envs: int, device: str | None) -> int:
    """Run an exported state policy in the camera task and save, as a GIF from :data:`VIDEO_CAMERA`, the env that
    held the cube aloft (5 to 50 cm above its start) for the most steps; return that env's index."""
    import imageio.v2 as imageio
    import numpy as np
    import torch

    env = _make_env("GR00T-Franka-Lift-Camera", num_envs, device, {"video_camera": VIDEO_CAMERA})
    unwrapped = env.unwrapped
    policy = torch.jit.load(str(policy_path), map_location=unwrapped.device).eval()
    camera, cube = unwrapped.scene["video_camera"], unwrapped.scene["object"]
    obs, _ = env.reset()
    start_height = cube.data.root_pos_w.torch[:, 2].clone()
    images, aloft = [], torch.zeros(unwrapped.num_envs, device=unwrapped.device)
    with torch.inference_mode():
        for _ in range(steps):
            actions = policy(torch.cat([obs[g].flatten(1) for g in STATE_GROUPS], dim=-1))
            obs, *_ = env.step(actions)
            images.append(camera.data.output["rgb"].torch[..., :3].cpu().numpy().astype(np.uint8))
            lift = cube.data.root_pos_w.torch[:, 2] - start_height
            aloft += ((lift > 0.05) & (lift < 0.5)).float()
    env.close()
    best = int(aloft.argmax())
    out.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(out, [frame[best] for frame in images], duration=1000 * unwrapped.step_dt, loop=0)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    env_parser = commands.add_parser("envonly", help="env steps/s with random actions")
    env_parser.add_argument("--task", nargs="+", required=True)
    env_parser.add_argument("--num_envs", type=int, nargs="+", default=None, help="one per task (default: the task's)")
    env_parser.add_argument("--steps", type=int, default=100)
    env_parser.add_argument("--device", default=None)
    env_parser.add_argument("--out", type=Path, required=True, help="writes <out>.md and <out>.json")
    report_parser = commands.add_parser("report", help="learning curves from isaaclab train logs")
    report_parser.add_argument("--run", action="append", required=True, metavar="NAME=RUN_DIR")
    report_parser.add_argument("--out", type=Path, required=True, help="writes <out>.md, <out>.png, <out>.json")
    frames_parser = commands.add_parser("frames", help="GIF of the front camera under an exported state policy")
    frames_parser.add_argument("--policy", type=Path, required=True)
    frames_parser.add_argument("--steps", type=int, default=150)
    frames_parser.add_argument("--num_envs", type=int, default=4)
    frames_parser.add_argument("--device", default=None)
    frames_parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "envonly":
        counts = args.num_envs or [None] * len(args.task)
        if len(counts) != len(args.task):
            parser.error(f"--num_envs takes one count per task ({len(args.task)}), got {len(counts)}")
        results = [envonly(task, n, args.steps, args.device) for task, n in zip(args.task, counts)]
        lines = ["| task | envs | device | env steps/s (random actions) | ms a step | env creation s |",
                 "|---|---|---|---|---|---|"]
        lines += [f"| {r['task']} | {r['num_envs']} | {r['device']} | {r['env_steps_per_s']:.0f} | "
                  f"{r['ms_per_step']:.1f} | {r['creation_s']:.0f} |" for r in results]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1))
        print("\n".join(lines))
    elif args.command == "report":
        runs = {}
        for item in args.run:
            name, sep, folder = item.partition("=")
            if not sep or not Path(folder).is_dir():
                parser.error(f"--run takes NAME=RUN_DIR with an existing folder, got '{item}'")
            runs[name] = Path(folder)
        print(report(runs, args.out))
    else:
        best = frames(args.policy, args.out, args.steps, args.num_envs, args.device)
        print(f"wrote {args.out}: env {best} of {args.num_envs}, the longest held aloft")


if __name__ == "__main__":
    main()
