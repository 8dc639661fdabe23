"""The Franka lift tasks through Isaac Lab's stock CLI, offline on the CPU: created, rendered, trained and played.

CPU is for smoke tests here: a lift step takes about a second at 2 envs on this machine, so the runs are tiny.
The module starts every run at once (two at a time); each test checks one run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

import pytest
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


def camera_probe(cli) -> dict:
    """The camera task's observation groups after a reset and one step, created with the task's CPU defaults."""
    probe = cli.cwd / "probe.py"
    probe.write_text(CAMERA_PROBE)
    result = subprocess.run([sys.executable, str(probe)], cwd=cli.cwd, env=cli.env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(next(line for line in result.stdout.splitlines() if line.startswith("PROBE "))[6:])


def state_lift(cli) -> Path:
    cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift", "env.scene.num_envs=2",
        "agent.max_iterations=2", "agent.num_steps_per_env=4", "agent.save_interval=1",
    )
    return cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift", "--num_envs", "2", "--checkpoint", "latest",
    )


def cnn_camera_lift(cli) -> Path:
    cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift-Camera", "env.scene.num_envs=2",
        "agent.max_iterations=2", "agent.num_steps_per_env=4", "agent.save_interval=1",
        "agent.algorithm.num_mini_batches=2", "agent.algorithm.num_learning_epochs=1",
    )
    return cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift-Camera", "--num_envs", "2", "--checkpoint", "latest",
    )


def gr00t_camera_lift(cli) -> None:
    """The GR00T agent (tiny N1.5 on the CPU) on both views and the task's instruction."""
    cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift-Camera", "--agent",
        "rsl_rl_gr00t_cfg_entry_point", "env.scene.num_envs=2", "agent.max_iterations=1", "agent.num_steps_per_env=4",
        "agent.save_interval=1",
    )


FAMILIES = {"state_lift": state_lift, "cnn_camera_lift": cnn_camera_lift, "gr00t_camera_lift": gr00t_camera_lift,
            "camera_probe": camera_probe}
"""The module's CLI jobs, longest first so that the two running at a time finish close together."""


@pytest.fixture(scope="module", autouse=True)
def runs(new_offline_cli, cli_jobs) -> dict[str, tuple[Future, object]]:
    """Run -> (its job's future, its CLI), all started before the first test of the module runs."""
    clis = {name: new_offline_cli(name) for name in FAMILIES}
    return {name: (cli_jobs.submit(job, clis[name]), clis[name]) for name, job in FAMILIES.items()}


def test_camera_task_renders_both_cameras_offline(runs):
    """Both tasks' observation groups, created with the task's CPU defaults (2 envs): the state groups of the
    lift task and two non-blank 96x96 RGB images."""
    job, cli = runs["camera_probe"]
    report = job.result()
    for group in ("front_rgb", "wrist_rgb"):
        assert report[group]["shape"] == [2, 3, 96, 96] and report[group]["finite"]
        assert report[group]["std"] > 0.02, f"{group} looks blank: {report[group]}"
    for group in ("policy", "proprio", "perception"):
        assert len(report[group]["shape"]) == 2 and report[group]["shape"][0] == 2 and report[group]["finite"]
    assert report["instruction"] == "pick up the object and lift it to the target"
    assert cli.network_attempts() == []


def test_state_task_trains_and_plays_offline(runs):
    job, cli = runs["state_lift"]
    exported = job.result()
    assert [p.name for p in checkpoints(cli, "gr00t_franka_lift")] == ["model_1.pt", "model_2.pt"]
    assert (cli.assets / "franka.usdc").is_file()  # built locally, nothing fetched
    policy = torch.jit.load(str(exported / "policy.pt"))
    # the actor reads the lift task's policy (100), proprio (190) and perception (960) groups; 9 joint targets out
    actions = policy(torch.zeros(2, 100 + 190 + 960))
    assert actions.shape == (2, 9) and torch.isfinite(actions).all()
    assert cli.network_attempts() == []


def test_camera_task_trains_and_plays_with_the_cnn_agent_offline(runs):
    job, cli = runs["cnn_camera_lift"]
    job.result()
    assert checkpoints(cli, "gr00t_franka_lift_camera")
    assert cli.network_attempts() == []


def test_camera_task_trains_with_the_gr00t_agent_offline(runs):
    """The GR00T agent (tiny N1.5 on the CPU) on both views and the task's instruction, through the stock CLI."""
    job, cli = runs["gr00t_camera_lift"]
    job.result()
    assert [p.name for p in checkpoints(cli, "gr00t_franka_lift_camera_gr00t")] == ["model_1.pt"]
    assert cli.network_attempts() == []


def test_list_envs_shows_both_franka_tasks(listed_envs):
    result, cli = listed_envs.result()
    assert "GR00T-Franka-Lift-Camera" in result.stdout and "GR00T-Franka-Lift " in result.stdout.replace("|", " ")
    assert cli.network_attempts() == []
