"""Train PPO37Runner on the point-mass env the way ``isaaclab train`` lays out runs (script for the crash test).

Usage: python train_point_mass.py LOG_ROOT RUN_NAME ITERATIONS [--resume latest]
"""

import argparse
import json
import os

import torch
from isaaclab_rl.entrypoints.common import resolve_checkpoint_selector, write_run_manifest

from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv, point_mass_train_cfg

TASK = "PointMass-Synthetic"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log_root")
    parser.add_argument("run_name")
    parser.add_argument("iterations", type=int)
    parser.add_argument("--algorithm_json", default=None, help="Algorithm section as JSON (default: stock PPO).")
    parser.add_argument("--resume", choices=["latest"], default=None)
    args = parser.parse_args()

    # the checkpoint is resolved before this run's manifest exists, as in isaaclab's train entrypoint
    resume_path = None
    if args.resume:
        resume_path = resolve_checkpoint_selector(
            args.log_root, args.resume, library="rsl_rl", task=TASK, checkpoint_pattern=r"model_.*\.pt"
        )
    log_dir = os.path.join(args.log_root, args.run_name)
    write_run_manifest(log_dir, library="rsl_rl", task=TASK)

    torch.manual_seed(0)
    algorithm = json.loads(args.algorithm_json) if args.algorithm_json else None
    cfg = point_mass_train_cfg(algorithm, num_steps_per_env=8, save_interval=1)
    runner = PPO37Runner(PointMassVecEnv(num_envs=16), cfg, log_dir=log_dir, device="cpu")
    if resume_path:
        runner.load(resume_path, map_location="cpu")
        print(f"RESUMED {resume_path} AT {runner.current_learning_iteration}", flush=True)
    runner.learn(args.iterations, init_at_random_ep_len=True)
    print(f"FINISHED AT {runner.current_learning_iteration}", flush=True)


if __name__ == "__main__":
    main()
