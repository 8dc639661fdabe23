"""The stock ``isaaclab`` CLI trains, plays and exports the project's tasks, offline and on the CPU."""

from __future__ import annotations

import torch

PROJECT_TASKS = ["GR00T-Cartpole-Direct", "GR00T-Cartpole-Camera-Direct", "GR00T-Ant-Direct", "GR00T-Humanoid-Direct"]


def checkpoints(cli, experiment: str):
    return sorted(cli.cwd.glob(f"logs/rsl_rl/{experiment}/*/model_*.pt"))


def check_exported_policy(folder, inputs: tuple, action_dim: int):
    assert (folder / "policy.onnx").stat().st_size > 0
    policy = torch.jit.load(str(folder / "policy.pt"))
    actions = policy(*inputs)
    assert actions.shape == (2, action_dim) and torch.isfinite(actions).all()


def test_list_envs_shows_the_project_tasks(offline_cli):
    out = offline_cli.run("list_envs", "--keyword", "GR00T-").stdout
    for task in PROJECT_TASKS:
        assert task in out
    assert offline_cli.network_attempts() == []


def test_state_task_trains_and_plays_offline(offline_cli):
    offline_cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Direct",
        "env.scene.num_envs=32", "agent.max_iterations=3", "agent.save_interval=1",
    )
    assert checkpoints(offline_cli, "gr00t_cartpole_direct"), "training saved no checkpoint"
    exported = offline_cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Direct", "--num_envs", "4", "--checkpoint", "latest"
    )
    check_exported_policy(exported, (torch.zeros(2, 4),), action_dim=1)
    assert offline_cli.network_attempts() == []


def test_warp_frontend_trains_resumes_and_plays_the_task_s_warp_twin(offline_cli):
    """``--frontend warp`` builds Isaac Lab's Warp twin that the task spec names (its graph-captured step)."""
    args = ("train", "--rl_library", "rsl_rl", "--task", "GR00T-Ant-Direct", "--frontend", "warp",
            "env.scene.num_envs=16", "agent.num_steps_per_env=8", "agent.max_iterations=2", "agent.save_interval=1")
    first = offline_cli.run(*args)
    assert "InteractiveSceneWarp" in first.stdout + first.stderr
    assert [path.name for path in checkpoints(offline_cli, "gr00t_ant_direct")] == ["model_1.pt", "model_2.pt"]
    offline_cli.run(*args, "--checkpoint", "latest")
    assert checkpoints(offline_cli, "gr00t_ant_direct")[-1].name == "model_4.pt"
    exported = offline_cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Ant-Direct", "--frontend", "warp", "--num_envs", "4",
        "--checkpoint", "latest",
    )
    check_exported_policy(exported, (torch.zeros(2, 60),), action_dim=8)
    assert offline_cli.network_attempts() == []


def test_camera_task_trains_and_plays_offline(offline_cli):
    offline_cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Camera-Direct",
        "env.scene.num_envs=8", "agent.max_iterations=1", "agent.num_steps_per_env=8",
        "agent.algorithm.num_mini_batches=2", "agent.algorithm.num_learning_epochs=1",
    )
    assert checkpoints(offline_cli, "gr00t_cartpole_camera_direct")
    exported = offline_cli.play_until_exported(
        "--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Camera-Direct", "--num_envs", "2",
        "--checkpoint", "latest",
    )
    # the exported CNN policy takes the flat observations (none here) and the list of images
    check_exported_policy(exported, (torch.zeros(2, 0), [torch.zeros(2, 6, 96, 96)]), action_dim=1)
    assert offline_cli.network_attempts() == []


def test_tasks_from_a_user_folder_are_listed_and_a_bad_one_is_reported(offline_cli, tmp_path):
    folder = tmp_path / "my_tasks"
    folder.mkdir()
    (folder / "long_cartpole.yaml").write_text(
        "id: My-Long-Cartpole\nbase: GR00T-Cartpole-Direct\nenv: {episode_length_s: 10.0}\n"
        "agents:\n  rsl_rl_cfg_entry_point: {preset: stock_ppo}\n"
    )
    (folder / "broken.yaml").write_text("id: My-Broken\nbase: GR00T-Cartpole-Direct\nenv: {gravity_on_mars: 1}\n"
                                        "agents:\n  rsl_rl_cfg_entry_point: {preset: stock_ppo}\n")
    offline_cli.env["ISAACLAB_GR00T_TASK_PATH"] = str(folder)
    result = offline_cli.run("list_envs", "--keyword", "My-")
    assert "My-Long-Cartpole" in result.stdout and "My-Broken" not in result.stdout
    assert "broken.yaml: field 'env.gravity_on_mars'" in result.stderr


def test_camera_task_trains_and_plays_with_the_gr00t_agent(offline_cli):
    offline_cli.run(
        "train", "--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Camera-Direct",
        "--agent", "rsl_rl_gr00t_cfg_entry_point", "env.scene.num_envs=4", "agent.max_iterations=1",
        "agent.num_steps_per_env=4", "agent.algorithm.num_mini_batches=2", "agent.algorithm.micro_batch_size=4",
    )
    saved = checkpoints(offline_cli, "gr00t_cartpole_camera_direct_gr00t")
    assert saved
    # LoRA, heads and std only: the frozen backbone is referenced by its config, not stored
    actor_state = torch.load(saved[-1], weights_only=True)["actor_state_dict"]
    assert actor_state and not any("base_layer" in key for key in actor_state)
    output = offline_cli.play_until(
        "--rl_library", "rsl_rl", "--task", "GR00T-Cartpole-Camera-Direct", "--agent", "rsl_rl_gr00t_cfg_entry_point",
        "--num_envs", "2", "--checkpoint", "latest",
        ready=lambda out: "ONNX export skipped" in out,
    )
    assert "TorchScript export skipped" in output
    assert offline_cli.network_attempts() == []
