"""The Franka lift tasks' specs and the spec features they use: per-device env fields, cameras, an instruction,
None values and dict fields; and the annotations Hydra needs to convert the lift task's configs."""

from __future__ import annotations

import dataclasses
import textwrap
import typing
import uuid

import gymnasium as gym
import pytest
import torch

from isaaclab_gr00t.registration import REGISTRATION_ERRORS, SpecError, register_spec_files
from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

FRANKA_TASKS = ["GR00T-Franka-Lift", "GR00T-Franka-Lift-Camera"]
INSTRUCTION = "pick up the object and lift it to the target"


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_both_tasks_are_registered_with_their_agents():
    assert not REGISTRATION_ERRORS
    for task in FRANKA_TASKS:
        kwargs = gym.spec(task).kwargs
        assert {"rsl_rl_cfg_entry_point", "rsl_rl_stock_cfg_entry_point"} <= set(kwargs)
    assert "rsl_rl_gr00t_cfg_entry_point" in gym.spec("GR00T-Franka-Lift-Camera").kwargs


def test_state_task_uses_the_bundled_panda_and_cpu_defaults(monkeypatch):
    cfg = load_cfg_from_registry("GR00T-Franka-Lift", "env_cfg_entry_point")
    assert cfg.scene.robot.spawn.usd_path.endswith("franka.usdc")
    assert cfg.scene.plane.spawn.usd_path.endswith("ground_plane.usda") and cfg.scene.plane.spawn.color is None
    assert (cfg.sim.device, cfg.scene.num_envs) == ("cpu", 4)
    assert cfg.events.conditional_reset.params["buffer_size_per_group"] == 2
    # the base task's MDP is inherited unchanged
    assert {"success"} <= set(vars(cfg.rewards)) and cfg.terminations.abnormal_robot is not None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = load_cfg_from_registry("GR00T-Franka-Lift", "env_cfg_entry_point")
    assert (cfg.sim.device, cfg.scene.num_envs) == ("cuda:0", 4096)
    assert cfg.events.conditional_reset.params["buffer_size_per_group"] == 128


def test_agents_follow_the_stock_lift_agent():
    stock = load_cfg_from_registry("GR00T-Franka-Lift", "rsl_rl_stock_cfg_entry_point")
    ppo37 = load_cfg_from_registry("GR00T-Franka-Lift", "rsl_rl_cfg_entry_point")
    for cfg in (stock, ppo37):
        assert cfg.num_steps_per_env == 32 and cfg.actor.hidden_dims == [512, 256, 128]
        assert cfg.obs_groups["actor"] == ["policy", "proprio", "perception"]
        assert (cfg.algorithm.gamma, cfg.algorithm.lam) == (0.995, 0.90)
    assert type(stock.algorithm).__name__ == "RslRlPpoAlgorithmCfg" and stock.actor.obs_normalization
    assert type(ppo37.algorithm).__name__ == "PPO37AlgorithmCfg"
    # the details that slowed the lift are off: stock's std parameterization and init, no reward or obs clipping
    assert ppo37.actor.distribution_cfg.std_type == stock.actor.distribution_cfg.std_type == "scalar"
    assert ppo37.actor.distribution_cfg.init_std == stock.actor.distribution_cfg.init_std
    algorithm = ppo37.algorithm
    assert not (algorithm.orthogonal_init or algorithm.reward_scaling or algorithm.normalize_advantage_per_mini_batch)
    assert algorithm.obs_clip is None and algorithm.adam_eps == stock_adam_eps()


def stock_adam_eps() -> float:
    """The Adam epsilon rsl_rl's PPO builds its optimizer with (torch's default)."""
    import inspect

    return inspect.signature(torch.optim.Adam).parameters["eps"].default


def test_camera_task_adds_two_warp_cameras_image_groups_and_the_instruction():
    from isaaclab_newton.renderers import NewtonWarpRendererCfg

    from isaaclab.sensors import CameraCfg

    cfg = load_cfg_from_registry("GR00T-Franka-Lift-Camera", "env_cfg_entry_point")
    for camera, group in (("front_camera", "front_rgb"), ("wrist_camera", "wrist_rgb")):
        sensor = getattr(cfg.scene, camera)
        assert isinstance(sensor, CameraCfg) and isinstance(sensor.renderer_cfg, NewtonWarpRendererCfg)
        assert (sensor.width, sensor.height, sensor.data_types) == (96, 96, ["rgb"])
        term = getattr(cfg.observations, group).image
        assert term.params["sensor_cfg"].name == camera and term.params["channel_first"]
    assert cfg.scene.wrist_camera.update_latest_camera_pose and "panda_hand" in cfg.scene.wrist_camera.prim_path
    assert not cfg.scene.front_camera.update_latest_camera_pose
    assert cfg.instruction == INSTRUCTION
    assert cfg.scene.num_envs == 2 and cfg.scene.robot.spawn.usd_path.endswith("franka.usdc")  # inherited

    cnn = load_cfg_from_registry("GR00T-Franka-Lift-Camera", "rsl_rl_cfg_entry_point")
    assert cnn.obs_groups == {"actor": ["front_rgb", "wrist_rgb", "proprio"],
                              "critic": ["policy", "proprio", "perception"]}
    assert type(cnn.actor).__name__ == "RslRlCNNModelCfg"
    gr00t = load_cfg_from_registry("GR00T-Franka-Lift-Camera", "rsl_rl_gr00t_cfg_entry_point")
    assert gr00t.actor.instruction == INSTRUCTION
    # N1.5's state token takes at most 64 values: the GR00T actor reads the views, the instruction and the joints
    assert gr00t.obs_groups == {"actor": ["front_rgb", "wrist_rgb", "gr00t_state"],
                                "critic": cnn.obs_groups["critic"]}


PANDA_JOINTS = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
"""The bundled Panda's joints, in its order (tests/assets/test_franka.py)."""


def test_camera_task_gives_the_gr00t_actor_the_nine_joint_positions_as_state():
    """``gr00t_state``: Isaac Lab's ``joint_pos`` of the arm's 7 and the gripper's 2 joints, without noise or
    history; the GR00T agent's actor reads it as its 9-value state beside the two views."""
    import isaaclab.envs.mdp as mdp
    from isaaclab.utils.string import resolve_matching_names
    from tensordict import TensorDict

    from isaaclab_gr00t.gr00t import GR00TActor

    env_cfg = load_cfg_from_registry("GR00T-Franka-Lift-Camera", "env_cfg_entry_point")
    group = env_cfg.observations.gr00t_state
    assert group.concatenate_terms and not group.enable_corruption and not group.history_length
    terms = {name: term for name, term in vars(group).items() if hasattr(term, "func")}
    assert list(terms) == ["joint_pos"]
    term = terms["joint_pos"]
    assert term.func is mdp.joint_pos and term.noise is None and term.history_length == 0
    asset = term.params["asset_cfg"]
    assert asset.name == "robot"
    assert resolve_matching_names(asset.joint_names, PANDA_JOINTS)[1] == PANDA_JOINTS
    assert not hasattr(load_cfg_from_registry("GR00T-Franka-Lift", "env_cfg_entry_point").observations, "gr00t_state")

    agent = load_cfg_from_registry("GR00T-Franka-Lift-Camera", "rsl_rl_gr00t_cfg_entry_point")
    num_envs = 2
    obs = TensorDict({"front_rgb": torch.zeros(num_envs, 3, 96, 96), "wrist_rgb": torch.zeros(num_envs, 3, 96, 96),
                      "gr00t_state": torch.zeros(num_envs, len(PANDA_JOINTS))}, batch_size=[num_envs])
    actor_cfg = {k: v for k, v in agent.actor.to_dict().items() if k != "class_name"}
    actor = GR00TActor(obs, agent.obs_groups, "actor", 9, **actor_cfg)
    assert (actor.image_groups, actor.obs_groups, actor.obs_dim) == (["front_rgb", "wrist_rgb"], ["gr00t_state"], 9)


def test_lift_configs_have_annotations_hydra_can_resolve():
    """Hydra's OmegaConf calls ``get_type_hints`` on config objects left inside the env dict (the lift task's
    ``grasp_configs`` hold spawner configs); their ``Usd``/``schemas`` annotations must resolve."""
    cfg = load_cfg_from_registry("GR00T-Franka-Lift", "env_cfg_entry_point")
    found = []

    def walk(node):
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            found.append(type(node))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(cfg.to_dict())
    assert found, "the lift task no longer leaves configs in its dict: this guard may go"
    for cls in found:
        typing.get_type_hints(cls)


def _spec(tmp_path, body: str):
    path = tmp_path / f"{uuid.uuid4().hex}.yaml"
    task_id = f"Test-{uuid.uuid4().hex[:8]}"
    path.write_text(f"id: {task_id}\nbase: GR00T-Franka-Lift\n" + textwrap.dedent(body)
                    + "agents:\n  rsl_rl_cfg_entry_point: {preset: stock_ppo}\n")
    return path, task_id


@pytest.mark.parametrize("body, field", [
    ("cameras:\n  cam: {prim_path: '{ENV_REGEX_NS}/Cam', width: 64}\n", "cameras.cam.height"),
    ("cameras:\n  cam: {prim_path: '{ENV_REGEX_NS}/Cam', width: 64, height: 64, lens: 3}\n", "cameras.cam.lens"),
    ("cameras:\n  robot: {prim_path: '{ENV_REGEX_NS}/Cam', width: 64, height: 64}\n", "cameras.robot"),
    ("cameras:\n  cam: {prim_path: '{ENV_REGEX_NS}/Cam', width: 64, height: 64, obs_group: policy}\n",
     "cameras.cam.obs_group"),
    ("env: {episode_length_s: null}\n", "env.episode_length_s"),
    ("device_env:\n  cpu: {events.conditional_reset.params.buffer_size: 4}\n",
     "device_env.cpu.events.conditional_reset.params.buffer_size"),
    ("device_env:\n  tpu: {episode_length_s: 4.0}\n", "device_env"),
    ("instruction: ''\n", "instruction"),
    ("state_groups:\n  policy: {joint_pos: {}}\n", "state_groups.policy"),
    ("state_groups:\n  joints: {joint_acc: {}}\n", "state_groups.joints.joint_acc"),
    ("state_groups:\n  joints: {joint_pos: {asset: arm}}\n", "state_groups.joints.joint_pos.asset"),
    ("state_groups:\n  joints: {joint_pos: {joint_names: panda_joint1}}\n",
     "state_groups.joints.joint_pos.joint_names"),
    ("state_groups:\n  joints: {joint_pos: {noise: 0.1}}\n", "state_groups.joints.joint_pos"),
    ("state_groups: [joint_pos]\n", "state_groups"),
])
def test_a_bad_franka_style_spec_names_its_field(tmp_path, body, field):
    path, task_id = _spec(tmp_path, body)
    errors = register_spec_files([path])
    assert isinstance(errors[str(path)], SpecError) and errors[str(path)].field == field, errors
    assert task_id not in gym.registry


def test_a_user_camera_spec_registers_and_null_clears_a_field(tmp_path):
    path, task_id = _spec(tmp_path, """
        instruction: stack the cube
        env: {curriculum: null}
        device_env:
          cpu: {events.conditional_reset.params.buffer_size_per_group: 1}
        cameras:
          top: {prim_path: "{ENV_REGEX_NS}/Top", width: 32, height: 24, offset: {pos: [0.0, 0.0, 2.0]}}
        """)
    assert register_spec_files([path]) == {}
    cfg = load_cfg_from_registry(task_id, "env_cfg_entry_point")
    assert cfg.curriculum is None and cfg.instruction == "stack the cube"
    assert cfg.events.conditional_reset.params["buffer_size_per_group"] == 1
    assert (cfg.scene.top.width, cfg.scene.top.height, cfg.scene.top.offset.pos) == (32, 24, (0.0, 0.0, 2.0))
    assert cfg.observations.top.image.params["sensor_cfg"].name == "top"
