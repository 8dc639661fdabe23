"""The Franka lift tasks through Isaac Lab's stock CLI, offline on the CPU: created, rendered, trained and played.

CPU is for smoke tests here: a lift step takes about a second at 2 envs on this machine, so the runs are tiny.
"""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from .test_stock_cli import checkpoints

CAMERA_PROBE = '''
import json, sys, torch
import isaaclab_gr00t.registration  # noqa: F401
import gymnasium as gym
from isaaclab_tasks.utils import resolve_task_config

env_cfg, _ = resolve_task_config("GR00T-Franka-Lift-Camera", "rsl_rl_cfg_entry_point", overrides=[])
env = gym.make("GR00T-Franka-Lift-Camera", cfg=env_cfg)
obs, _ = env.reset()
obs, *_ = env.step(torch.zeros(env.action_space.shape))
report = {name: {"shape": list(v.shape), "std": float(v.float().std()), "finite": bool(torch.isfinite(v).all())}
          for name, v in obs.items()}
report["instruction"] = env.unwrapped.cfg.instruction
print("PROBE " + json.dumps(report))
env.close()
'''


def test_camera_task_renders_both_cameras_offline(offline_cli):
    """Both tasks' observation groups, created with the task's CPU defaults (2 envs): the state groups of the
    lift task and two non-blank 96x96 RGB images."""
    probe = offline_cli.cwd / "probe.py"
    probe.write_text(CAMERA_PROBE)
    result = subprocess.run([sys.executable, str(probe)], cwd=offline_cli.cwd, env=offline_cli.env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    report = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("PROBE "))[6:])
    for group in ("front_rgb", "wrist_rgb"):
        assert report[group]["shape"] == [2, 3, 96, 96] and report[group]["finite"]
        assert report[group]["std"] > 0.02, f"{group} looks blank: {report[group]}"
    for group in ("policy", "proprio", "perception"):
        assert len(report[group]["shape"]) == 2 and report[group]["shape"][0] == 2 and report[group]["finite"]
    assert report["instruction"] == "pick up the object and lift it to the target"
    assert offline_cli.network_attempts() == []


def test_state_task_trains_and_plays_offline(offline_cli):
    offline_cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift", "env.scene.num_envs=2",
        "agent.max_iterations=2", "agent.num_steps_per_env=4", "agent.save_interval=1",
    )
    assert [p.name for p in checkpoints(offline_cli, "gr00t_franka_lift")] == ["model_1.pt", "model_2.pt"]
    assert (offline_cli.cwd.parent / "assets" / "franka.usdc").is_file()  # built locally, nothing fetched
    exported = offline_cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift", "--num_envs", "2", "--checkpoint", "latest",
        run_seconds=2.0,
    )
    policy = torch.jit.load(str(exported / "policy.pt"))
    # the actor reads the lift task's policy (100), proprio (190) and perception (960) groups; 9 joint targets out
    actions = policy(torch.zeros(2, 100 + 190 + 960))
    assert actions.shape == (2, 9) and torch.isfinite(actions).all()
    assert offline_cli.network_attempts() == []


def test_camera_task_trains_and_plays_with_the_cnn_agent_offline(offline_cli):
    offline_cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift-Camera", "env.scene.num_envs=2",
        "agent.max_iterations=2", "agent.num_steps_per_env=4", "agent.save_interval=1",
        "agent.algorithm.num_mini_batches=2", "agent.algorithm.num_learning_epochs=1",
    )
    assert checkpoints(offline_cli, "gr00t_franka_lift_camera")
    offline_cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift-Camera", "--num_envs", "2", "--checkpoint", "latest",
        run_seconds=2.0,
    )
    assert offline_cli.network_attempts() == []


def test_camera_task_trains_with_the_gr00t_agent_offline(offline_cli):
    """The GR00T agent (tiny N1.5 on the CPU) on both views and the task's instruction, through the stock CLI."""
    offline_cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift-Camera", "--agent",
        "rsl_rl_gr00t_cfg_entry_point", "env.scene.num_envs=2", "agent.max_iterations=1", "agent.num_steps_per_env=4",
        "agent.save_interval=1",
    )
    assert [p.name for p in checkpoints(offline_cli, "gr00t_franka_lift_camera_gr00t")] == ["model_1.pt"]
    assert offline_cli.network_attempts() == []


def test_list_envs_shows_both_franka_tasks(offline_cli):
    out = offline_cli.run("list_envs", "--keyword", "GR00T-Franka").stdout
    assert "GR00T-Franka-Lift-Camera" in out and "GR00T-Franka-Lift " in out.replace("|", " ")
    assert offline_cli.network_attempts() == []
