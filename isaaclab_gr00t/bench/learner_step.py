"""What the learner adds to one rollout step: ``act`` + ``process_env_step``, stock PPO against PPO37.

    python -m isaaclab_gr00t.bench.learner_step --num_envs 256 --device cpu

Every variant drives the torch-only point-mass environment (:mod:`isaaclab_gr00t.testing.point_mass`, 32-32
networks) with its algorithm alone: no runner loop, no logging, no update. Per variant the table gives the best of
``--repeats`` timings of ``--steps`` steps, per step, with and without the learner (the environment stepped with zero
actions), and the difference: the learner's share. The PPO37 variants switch off, one after the other, the two
details that run every step: reward scaling (detail 30) and observation normalization (detail 28).

On CUDA the steps run eagerly here; PPO37Runner replays them from CUDA graphs
(:mod:`isaaclab_gr00t.runner.captured_rollout`), so there this measures the launch-bound cost graphs avoid.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass

import torch
from isaaclab.utils import to_dict

from isaaclab_gr00t.bench.common import require_at_least_one, silenced_stdout, synchronize
from isaaclab_gr00t.registration import project_agent_cfg
from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv, point_mass_train_cfg

VARIANTS: dict[str, dict | None] = {
    "stock rsl_rl PPO": None,
    "PPO37, every detail on": {},
    "PPO37 without reward scaling (30)": {"reward_scaling": False},
    "PPO37 without reward scaling (30) and observation normalization (28)": {
        "reward_scaling": False, "obs_normalization": False
    },
}
"""Variant name -> changes to the PPO37 preset ``ppo37_mujoco`` (None: the synthetic task's stock PPO config)."""


@dataclass
class StepCost:
    """Seconds per step of one variant."""

    name: str
    with_learner: float
    env_alone: float

    @property
    def learner_share(self) -> float:
        return self.with_learner - self.env_alone


def algorithm_cfg(changes: dict | None) -> dict | None:
    """The algorithm section of a variant; four minibatches so any env count of a rollout divides."""
    if changes is None:
        return None
    return to_dict(project_agent_cfg("ppo37_mujoco").algorithm) | {"num_mini_batches": 4} | changes


def best_seconds_per_step(step, steps: int, repeats: int, device: str) -> float:
    """The fastest of ``repeats`` timings of ``steps`` calls of ``step()``, per call."""
    best = math.inf
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        synchronize(device)
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def measure(name: str, changes: dict | None, args: argparse.Namespace) -> StepCost:
    """Time one variant's rollout step with and without its learner."""
    torch.manual_seed(args.seed)
    env = PointMassVecEnv(args.num_envs, seed=args.seed, device=args.device)
    cfg = point_mass_train_cfg(algorithm_cfg(changes)) | {"device": args.device}
    with silenced_stdout():
        alg = PPO37Runner(env, cfg, log_dir=None, device=args.device).alg
    obs = env.get_observations().to(args.device)
    zero_actions = torch.zeros(env.num_envs, env.num_actions, device=args.device)

    def learner_step() -> None:
        nonlocal obs
        actions = alg.act(obs)
        obs, rewards, dones, extras = env.step(actions)
        alg.process_env_step(obs, rewards, dones, extras)
        if alg.storage.step == alg.storage.num_transitions_per_env:
            alg.storage.clear()

    with torch.inference_mode():  # as rsl_rl's rollout
        for _ in range(cfg["num_steps_per_env"]):  # warm-up: one rollout
            learner_step()
        with_learner = best_seconds_per_step(learner_step, args.steps, args.repeats, args.device)
        env_alone = best_seconds_per_step(lambda: env.step(zero_actions), args.steps, args.repeats, args.device)
    return StepCost(name, with_learner, env_alone)


def markdown_table(args: argparse.Namespace, costs: list[StepCost]) -> str:
    lines = [
        f"Command: `python -m isaaclab_gr00t.bench.learner_step --num_envs {args.num_envs} --device {args.device} "
        f"--steps {args.steps} --repeats {args.repeats}`",
        "",
        f"Torch-only point-mass task, {args.num_envs} envs; best of {args.repeats} x {args.steps} steps.",
        "",
        "| learner | step with the learner (us) | environment alone (us) | the learner's share (us) |",
        "|---|---:|---:|---:|",
    ]
    for cost in costs:
        lines.append(f"| {cost.name} | {cost.with_learner * 1e6:.1f} | {cost.env_alone * 1e6:.1f} | "
                     f"{cost.learner_share * 1e6:.1f} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num_envs", type=int, default=256, help="Parallel point masses.")
    parser.add_argument("--device", default="cpu", help="Torch device.")
    parser.add_argument("--steps", type=int, default=160, help="Steps per timing.")
    parser.add_argument("--repeats", type=int, default=5, help="Timings per variant; the fastest is reported.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the environment and the networks.")
    parser.add_argument("--out", default=None, help="Also write the table to <out>.md.")
    args = parser.parse_args(argv)
    require_at_least_one(parser, args, ("num_envs", "steps", "repeats"))
    return args


def main(argv: list[str] | None = None) -> list[StepCost]:
    args = parse_args(argv)
    costs = [measure(name, changes, args) for name, changes in VARIANTS.items()]
    table = markdown_table(args, costs)
    print(table)
    if args.out:
        out = args.out.removesuffix(".md") + ".md"
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w", encoding="utf-8") as file:
            file.write(table)
    return costs


if __name__ == "__main__":
    main()
