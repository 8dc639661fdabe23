"""The stock ``isaaclab`` CLI trains, plays and exports the project's tasks, offline and on the CPU.

Each task family trains once and plays once (the Ant also resumes), as one job of :data:`FAMILIES` that starts when
the tests are collected (``CliJobs`` in conftest.py); each test checks one family's runs: their output, log folder,
checkpoints and exported policy.
"""

from __future__ import annotations

from pathlib import Path

import torch

PROJECT_TASKS = ["GR00T-Cartpole-Direct", "GR00T-Cartpole-Camera-Direct", "GR00T-Ant-Direct", "GR00T-Humanoid-Direct"]
WARP_ANT = ("train", "--rl_library", "rsl_rl", "--task", "GR00T-Ant-Direct", "--frontend", "warp",
            "env.scene.num_envs=16", "agent.num_steps_per_env=8", "agent.max_iterations=2", "agent.save_interval=1")
GR00T_CAMERA = ("--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Camera-Direct", "--agent",
                "rsl_rl_gr00t_cfg_entry_point")


def checkpoints(cli, experiment: str):
    return sorted(cli.cwd.glob(f"logs/rsl_rl/{experiment}/*/model_*.pt"))


def check_exported_policy(folder, inputs: tuple, action_dim: int):
    assert (folder / "policy.onnx").stat().st_size > 0
    policy = torch.jit.load(str(folder / "policy.pt"))
    actions = policy(*inputs)
    assert actions.shape == (2, action_dim) and torch.isfinite(actions).all()


def state_cartpole(cli) -> Path:
    cli.run("train", "--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Direct",
            "env.scene.num_envs=32", "agent.max_iterations=3", "agent.save_interval=1")
    return cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Direct", "--num_envs", "4", "--checkpoint", "latest"
    )


def warp_ant(cli) -> dict:
    first = cli.run(*WARP_ANT)
    first_checkpoints = [path.name for path in checkpoints(cli, "gr00t_ant_direct")]
    cli.run(*WARP_ANT, "--checkpoint", "latest")
    exported = cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Ant-Direct", "--frontend", "warp", "--num_envs", "4",
        "--checkpoint", "latest",
    )
    return {"first_output": first.stdout + first.stderr, "first_checkpoints": first_checkpoints, "exported": exported}


def cnn_camera_cartpole(cli) -> Path:
    cli.run("train", "--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Camera-Direct",
            "env.scene.num_envs=8", "agent.max_iterations=1", "agent.num_steps_per_env=8",
            "agent.algorithm.num_mini_batches=2", "agent.algorithm.num_learning_epochs=1")
    return cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Camera-Direct", "--num_envs", "2", "--checkpoint", "latest"
    )


def gr00t_camera_cartpole(cli) -> str:
    cli.run("train", *GR00T_CAMERA, "env.scene.num_envs=4", "agent.max_iterations=1", "agent.num_steps_per_env=4",
            "agent.algorithm.num_mini_batches=2", "agent.algorithm.micro_batch_size=4")
    return cli.play_until(*GR00T_CAMERA, "--num_envs", "2", "--checkpoint", "latest",
                          ready=lambda out: "ONNX export skipped" in out)


FAMILIES = {"warp_ant": warp_ant, "gr00t_camera_cartpole": gr00t_camera_cartpole,
            "cnn_camera_cartpole": cnn_camera_cartpole, "state_cartpole": state_cartpole}
"""The module's CLI jobs, longest first so that the two running at a time finish close together."""


def test_list_envs_shows_the_project_tasks(listed_envs):
    job, cli = listed_envs
    result = job.result()
    for task in PROJECT_TASKS:
        assert task in result.stdout
    assert cli.network_attempts() == []


def test_tasks_from_a_user_folder_are_listed_and_a_bad_one_is_reported(listed_envs):
    job, _ = listed_envs
    result = job.result()
    assert "My-Long-Cartpole" in result.stdout and "My-Broken" not in result.stdout
    assert "broken.yaml: field 'env.gravity_on_mars'" in result.stderr


def test_state_task_trains_and_plays_offline(runs):
    job, cli = runs["state_cartpole"]
    exported = job.result()
    assert checkpoints(cli, "gr00t_cartpole_direct"), "training saved no checkpoint"
    check_exported_policy(exported, (torch.zeros(2, 4),), action_dim=1)
    assert cli.network_attempts() == []


def test_warp_frontend_trains_resumes_and_plays_the_task_s_warp_twin(runs):
    """``--frontend warp`` builds Isaac Lab's Warp twin that the task spec names (its graph-captured step)."""
    job, cli = runs["warp_ant"]
    run = job.result()
    assert "InteractiveSceneWarp" in run["first_output"]
    assert run["first_checkpoints"] == ["model_1.pt", "model_2.pt"]
    assert checkpoints(cli, "gr00t_ant_direct")[-1].name == "model_4.pt"  # the resumed run went on counting
    check_exported_policy(run["exported"], (torch.zeros(2, 60),), action_dim=8)
    assert cli.network_attempts() == []


def test_camera_task_trains_and_plays_offline(runs):
    job, cli = runs["cnn_camera_cartpole"]
    exported = job.result()
    assert checkpoints(cli, "gr00t_cartpole_camera_direct")
    # the exported CNN policy takes the flat observations (none here) and the list of images
    check_exported_policy(exported, (torch.zeros(2, 0), [torch.zeros(2, 6, 96, 96)]), action_dim=1)
    assert cli.network_attempts() == []


def test_camera_task_trains_and_plays_with_the_gr00t_agent(runs):
    job, cli = runs["gr00t_camera_cartpole"]
    play_output = job.result()
    saved = checkpoints(cli, "gr00t_cartpole_camera_direct_gr00t")
    assert saved
    # LoRA, heads and std only: the frozen backbone is referenced by its config, not stored
    actor_state = torch.load(saved[-1], weights_only=True)["actor_state_dict"]
    assert actor_state and not any("base_layer" in key for key in actor_state)
    assert "TorchScript export skipped" in play_output
    assert cli.network_attempts() == []
