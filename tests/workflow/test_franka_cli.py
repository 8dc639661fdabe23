"""The Franka lift tasks through Isaac Lab's stock CLI, offline on the CPU: created, rendered, trained and played.

CPU is for smoke tests here: a lift step takes about a second at 2 envs on this machine, so the runs are tiny.
Each run is a job of :data:`FAMILIES` that starts when the tests are collected (``CliJobs`` in conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .test_stock_cli import check_exported_policy, checkpoints

INSTRUCTION = "pick up the object and lift it to the target"


def state_lift(cli) -> Path:
    cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift", "env.scene.num_envs=2",
        "agent.max_iterations=2", "agent.num_steps_per_env=4", "agent.save_interval=1",
    )
    return cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift", "--num_envs", "2", "--checkpoint", "latest",
    )


def cnn_camera_lift(cli) -> Path:
    """Trains (saving each camera's first frame of env 0 as a PNG: Isaac Lab's sensor capture) and plays."""
    cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Franka-Lift-Camera", "env.scene.num_envs=2",
        "agent.max_iterations=2", "agent.num_steps_per_env=4", "agent.save_interval=1",
        "agent.algorithm.num_mini_batches=2", "agent.algorithm.num_learning_epochs=1",
        "--capture_env_sensors", "1", "--capture_env_sensors_length", "1", "--capture_env_sensors_format", "file",
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


FAMILIES = {"state_lift": state_lift, "cnn_camera_lift": cnn_camera_lift, "gr00t_camera_lift": gr00t_camera_lift}
"""The module's CLI jobs, longest first so that the two running at a time finish close together."""


def test_camera_task_renders_both_cameras_offline(runs):
    """The CNN run's captured frames: both 96x96 RGB cameras render a non-blank scene. (Its PPO37Runner stops on
    non-finite observations of any group, so the run finishing also shows every group finite.)"""
    job, cli = runs["cnn_camera_lift"]
    job.result()
    for camera in ("front_camera", "wrist_camera"):
        frames = sorted(cli.cwd.glob(f"logs/rsl_rl/gr00t_franka_lift_camera/*/sensor_frames/train/{camera}/rgb/*.png"))
        assert frames, f"no {camera} frame was captured"
        image = np.asarray(Image.open(frames[0]), dtype=np.float32) / 255.0
        assert image.shape == (96, 96, 3)
        assert image.std() > 0.02, f"{camera} looks blank: std {image.std()}"
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
    exported = job.result()
    assert checkpoints(cli, "gr00t_franka_lift_camera")
    # the CNN actor reads proprio (190) flat and the two 3x96x96 views as images; 9 joint targets out
    check_exported_policy(exported, (torch.zeros(2, 190), [torch.zeros(2, 3, 96, 96)] * 2), action_dim=9)
    assert cli.network_attempts() == []


def test_camera_task_trains_with_the_gr00t_agent_offline(runs):
    """The GR00T agent (tiny N1.5 on the CPU) on both views and the task's instruction, through the stock CLI."""
    job, cli = runs["gr00t_camera_lift"]
    job.result()
    saved = checkpoints(cli, "gr00t_franka_lift_camera_gr00t")
    assert [p.name for p in saved] == ["model_1.pt"]
    # the env the run built carries the task's instruction, and the GR00T actor was given it
    params = saved[0].parent / "params"
    assert f"instruction: {INSTRUCTION}" in (params / "env.yaml").read_text()
    assert f"instruction: {INSTRUCTION}" in (params / "agent.yaml").read_text()
    assert cli.network_attempts() == []


def test_list_envs_shows_both_franka_tasks(listed_envs):
    job, cli = listed_envs
    result = job.result()
    assert "GR00T-Franka-Lift-Camera" in result.stdout and "GR00T-Franka-Lift " in result.stdout.replace("|", " ")
    assert cli.network_attempts() == []
