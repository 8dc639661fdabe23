"""Record a GR00T-Cartpole-Direct rollout on the CPU (run in a subprocess by test_cartpole_mask_reset.py).

Usage: ``python cartpole_rollout.py OUT.pt {mask,index}``. The episode clocks start spread out, as in training,
so environments end on most steps; ``nonzero()`` calls made during the steps are counted.
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


def main(out: str, path: str) -> None:
    load_external_tasks()
    cfg, _ = resolve_task_config("GR00T-Cartpole-Direct", "rsl_rl_cfg_entry_point", overrides=[])
    cfg.scene.num_envs, cfg.sim.device, cfg.seed = NUM_ENVS, "cpu", 0
    with launch_simulation(cfg, {"device": "cpu"}):
        env = gym.make("GR00T-Cartpole-Direct", cfg=cfg)
        unwrapped = env.unwrapped
        record = {"supports_mask_reset": unwrapped.supports_mask_reset, "cpu_default": unwrapped.uses_mask_reset}
        unwrapped.uses_mask_reset = path == "mask"
        env.reset()
        unwrapped.episode_length_buf.copy_(torch.arange(NUM_ENVS) * 9 % int(unwrapped.max_episode_length))

        nonzero_calls = 0
        original_nonzero = torch.Tensor.nonzero

        def counting_nonzero(tensor, *args, **kwargs):
            nonlocal nonzero_calls
            nonzero_calls += 1
            return original_nonzero(tensor, *args, **kwargs)

        actions = torch.Generator().manual_seed(1)  # apart from the reset draws, which differ between the paths
        steps = []
        torch.Tensor.nonzero = counting_nonzero
        try:
            for _ in range(STEPS):
                lengths_before = unwrapped.episode_length_buf.clone()
                obs, _, terminated, truncated, extras = env.step(6.0 * torch.rand(NUM_ENVS, 1, generator=actions) - 3.0)
                steps.append({
                    "lengths_before": lengths_before,
                    "lengths": unwrapped.episode_length_buf.clone(),
                    "obs": obs["policy"].clone(),
                    "terminated": terminated.clone(),
                    "truncated": truncated.clone(),
                    "success_rate": float(extras["log"]["Metrics/success_rate"]),
                })
        finally:
            torch.Tensor.nonzero = original_nonzero
        record["nonzero_calls"] = nonzero_calls
        record["steps"] = {key: torch.stack([torch.as_tensor(s[key]) for s in steps]) for key in steps[0]}
        record["max_episode_length"] = int(unwrapped.max_episode_length)
        env.close()
    torch.save(record, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
