"""Record a rollout of a mask-reset task on the CPU (run in a subprocess by test_mask_reset.py).

Usage: ``python mask_reset_rollout.py TASK OUT.pt {mask,index}``. The episode clocks start spread out, as in
training, so environments end on most steps; ``nonzero()`` calls made during the steps are counted. Actions
come from their own generator, so both reset paths receive the same actions.
"""

from __future__ import annotations

import sys

import gymnasium as gym
import torch
from isaaclab.app import launch_simulation
from isaaclab.cli import load_external_tasks
from isaaclab_tasks.utils import resolve_task_config

NUM_ENVS = 32
STEPS = 120


def main(task: str, out: str, path: str) -> None:
    load_external_tasks()
    cfg, _ = resolve_task_config(task, "rsl_rl_cfg_entry_point", overrides=[])
    cfg.scene.num_envs, cfg.sim.device, cfg.seed = NUM_ENVS, "cpu", 0
    with launch_simulation(cfg, {"device": "cpu"}):
        env = gym.make(task, cfg=cfg)
        unwrapped = env.unwrapped
        robot = next(iter(unwrapped.scene.articulations.values()))
        record = {
            "supports_mask_reset": unwrapped.supports_mask_reset,
            "cpu_default": unwrapped.uses_mask_reset,
            "max_episode_length": int(unwrapped.max_episode_length),
            "default_joint_pos": robot.data.default_joint_pos.torch.clone(),
            "joint_pos_limits": robot.data.soft_joint_pos_limits.torch.clone(),
            "reset_root_pos": robot.data.default_root_pose.torch[:, :3] + unwrapped.scene.env_origins,
        }
        unwrapped.uses_mask_reset = path == "mask"
        env.reset()
        # env i times out at step 7.5 i: half the envs within the rollout, besides the episodes that fail
        spread = record["max_episode_length"] - 1 - torch.arange(NUM_ENVS) * (2 * STEPS // NUM_ENVS)
        unwrapped.episode_length_buf.copy_(spread.clamp_min(0))

        nonzero_calls = 0
        original_nonzero = torch.Tensor.nonzero

        def counting_nonzero(tensor, *args, **kwargs):
            nonlocal nonzero_calls
            nonzero_calls += 1
            return original_nonzero(tensor, *args, **kwargs)

        actions = torch.Generator().manual_seed(1)
        steps = []
        torch.Tensor.nonzero = counting_nonzero
        try:
            for _ in range(STEPS):
                lengths_before = unwrapped.episode_length_buf.clone()
                action = 6.0 * torch.rand(NUM_ENVS, unwrapped.cfg.action_space, generator=actions) - 3.0
                obs, _, terminated, truncated, extras = env.step(action)
                steps.append({
                    "lengths_before": lengths_before,
                    "lengths": unwrapped.episode_length_buf.clone(),
                    "obs": obs["policy"].clone(),
                    "joint_pos": robot.data.joint_pos.torch.clone(),
                    "root_pos": robot.data.root_pos_w.torch.clone(),
                    "terminated": terminated.clone(),
                    "truncated": truncated.clone(),
                    "success_rate": float(extras["log"]["Metrics/success_rate"]),
                })
        finally:
            torch.Tensor.nonzero = original_nonzero
        record["nonzero_calls"] = nonzero_calls
        record["steps"] = {key: torch.stack([torch.as_tensor(s[key]) for s in steps]) for key in steps[0]}
        env.close()
    torch.save(record, out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
