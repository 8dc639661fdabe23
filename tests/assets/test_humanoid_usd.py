"""``GR00T-Humanoid-Direct`` (Isaac Lab's humanoid task) runs offline on the humanoid from :func:`write_humanoid_usd`.

One module-scoped rollout (Newton MuJoCo-Warp on CPU, 4 envs) feeds every test: the stock env config with
only the robot USD and the ground swapped for local files, 70 steps of zero torques, then random torques.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from isaaclab_gr00t.assets.humanoid import HUMANOID_JOINT_DOF_COUNTS

TASK = "Isaac-Humanoid-Direct"
PROJECT_TASK = "GR00T-Humanoid-Direct"  # the stock task with the generated humanoid and ground plane
NUM_ENVS = 4
ZERO_ACTION_STEPS = 70  # 1.2 s: without torques the humanoid falls below 0.8 m after 0.6-0.8 s
RANDOM_ACTION_STEPS = 20
STANDING_STEPS = 10  # the feet land after ~6 steps (they start 5 cm up); the torso is still high after 10


@dataclass
class Rollout:
    """What the tests check, recorded from one env run."""

    cfg: object
    joint_names: list[str]
    body_names: list[str]
    sensor_feet_ids: list[int]
    action_shape: tuple[int, ...]
    obs_shapes: list[tuple[int, ...]]
    layer_paths: list[str]
    reset_height: torch.Tensor  # (envs,) torso height after reset
    reset_upright: torch.Tensor  # (envs,) cosine between torso up axis and world up
    torso_is_root: bool
    heights: torch.Tensor  # (steps, envs) torso height after each step (after auto-reset when done)
    feet_heights: torch.Tensor  # (steps, envs, 2) foot body heights
    obs_heights: torch.Tensor  # (steps, envs) torso height the policy observes (obs[:, 0])
    terminated: torch.Tensor  # (steps, envs)
    rewards: torch.Tensor  # (steps, envs)
    obs_finite: torch.Tensor  # (steps,)


@pytest.fixture(scope="module")
def rollout(tmp_path_factory) -> Rollout:
    tmp = tmp_path_factory.mktemp("humanoid")
    asset_root = tmp / "empty_asset_root"
    asset_root.mkdir()

    with pytest.MonkeyPatch.context() as patch:
        # an empty asset root turns any cloud fetch into an immediate FileNotFoundError (when Isaac Lab is
        # first imported here); test_only_local_files_are_loaded checks the stage regardless
        patch.setenv("ISAACSIM_ASSET_ROOT", str(asset_root))
        patch.setenv("ISAACLAB_GR00T_ASSET_DIR", str(tmp / "assets"))
        import gymnasium as gym
        import isaaclab_tasks  # noqa: F401  (registers the task)
        from isaaclab.app import launch_simulation
        from isaaclab.sim.utils.stage import get_current_stage
        from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

        import isaaclab_gr00t.registration  # noqa: F401  (registers the project's task)

        cfg = load_cfg_from_registry(PROJECT_TASK, "env_cfg_entry_point")
        cfg.sim.physics = cfg.sim.physics.newton_mjwarp
        cfg.sim.device = "cpu"
        cfg.scene.num_envs = NUM_ENVS

        torch.manual_seed(0)
        with launch_simulation(cfg, {"device": "cpu"}):
            env = gym.make(TASK, cfg=cfg)
            try:
                return _record(env, cfg, get_current_stage())
            finally:
                env.close()


def _record(env, cfg, stage) -> Rollout:
    unwrapped = env.unwrapped
    robot = unwrapped.robot
    feet_ids, _ = robot.find_bodies(cfg.feet_body_names, preserve_order=True)
    torso_id = robot.body_names.index("torso")

    obs, _ = env.reset()
    obs_shapes = [tuple(obs["policy"].shape)]
    reset_height = robot.data.root_pos_w.torch[:, 2].clone()
    reset_upright = -robot.data.projected_gravity_b.torch[:, 2].clone()
    torso_is_root = torch.allclose(robot.data.body_pos_w.torch[:, torso_id], robot.data.root_pos_w.torch)

    zero = torch.zeros(NUM_ENVS, cfg.action_space, device=unwrapped.device)
    actions = [zero] * ZERO_ACTION_STEPS + [
        2 * torch.rand(NUM_ENVS, cfg.action_space, device=unwrapped.device) - 1 for _ in range(RANDOM_ACTION_STEPS)
    ]
    heights, feet_heights, obs_heights, terminated, rewards, obs_finite = [], [], [], [], [], []
    for action in actions:
        obs, reward, term, _, _ = env.step(action)
        policy_obs = obs["policy"]
        obs_shapes.append(tuple(policy_obs.shape))
        heights.append(robot.data.root_pos_w.torch[:, 2].clone())
        feet_heights.append(robot.data.body_pos_w.torch[:, feet_ids, 2].clone())
        obs_heights.append(policy_obs[:, 0].clone())
        terminated.append(term.clone())
        rewards.append(reward.clone())
        obs_finite.append(torch.isfinite(policy_obs).all())

    return Rollout(
        cfg=cfg,
        joint_names=list(robot.joint_names),
        body_names=list(robot.body_names),
        sensor_feet_ids=list(unwrapped.joint_wrench.find_bodies(cfg.feet_body_names)[0]),
        action_shape=tuple(env.action_space.shape),
        obs_shapes=obs_shapes,
        layer_paths=[layer.realPath for layer in stage.GetUsedLayers() if not layer.anonymous],
        reset_height=reset_height,
        reset_upright=reset_upright,
        torso_is_root=torso_is_root,
        heights=torch.stack(heights),
        feet_heights=torch.stack(feet_heights),
        obs_heights=torch.stack(obs_heights),
        terminated=torch.stack(terminated),
        rewards=torch.stack(rewards),
        obs_finite=torch.stack(obs_finite),
    )


def _matching_keys(name: str, patterns: dict[str, float]) -> list[str]:
    return [pattern for pattern in patterns if re.fullmatch(pattern, name)]


def test_joints_are_isaac_lab_humanoid_dofs(rollout: Rollout):
    expected = {
        joint if count == 1 else f"{joint}:{axis}"
        for joint, count in HUMANOID_JOINT_DOF_COUNTS.items()
        for axis in range(count)
    }
    assert len(rollout.joint_names) == rollout.cfg.action_space == 21
    assert set(rollout.joint_names) == expected


@pytest.mark.parametrize("table", ["joint_gears", "stiffness", "damping"])
def test_every_joint_matches_exactly_one_config_pattern(rollout: Rollout, table: str):
    """Joints no pattern matches silently get a unit gear / default gains, so coverage is the real contract."""
    actuator = rollout.cfg.scene.robot.actuators["body"]
    patterns = rollout.cfg.joint_gears if table == "joint_gears" else getattr(actuator, table)
    for name in rollout.joint_names:
        assert len(_matching_keys(name, patterns)) == 1, f"joint {name!r} vs {table} keys {list(patterns)}"
    for pattern in patterns:
        assert any(re.fullmatch(pattern, name) for name in rollout.joint_names), f"{table} key {pattern!r} is unused"


def test_torso_is_root_and_feet_are_observed(rollout: Rollout):
    assert rollout.torso_is_root
    assert set(rollout.cfg.feet_body_names) <= set(rollout.body_names)
    assert len(set(rollout.sensor_feet_ids)) == len(rollout.cfg.feet_body_names)


def test_action_and_observation_shapes_match_config(rollout: Rollout):
    assert rollout.action_shape == (NUM_ENVS, rollout.cfg.action_space)
    assert set(rollout.obs_shapes) == {(NUM_ENVS, rollout.cfg.observation_space)}


def test_humanoid_starts_upright_and_lands_on_its_feet(rollout: Rollout):
    init_height = rollout.cfg.scene.robot.init_state.pos[2]
    assert torch.allclose(rollout.reset_height, torch.full_like(rollout.reset_height, init_height), atol=0.02)
    assert (rollout.reset_upright > 0.99).all()
    standing = slice(0, STANDING_STEPS)
    assert not rollout.terminated[standing].any()
    # the feet start a few cm up; without ground contact they would be 5 cm below it after 10 steps
    feet = rollout.feet_heights[standing]
    assert (feet > -0.01).all(), "a foot went through the ground"
    # a foot capsule (radius 0.027 m) rests on the ground, its body origin a little higher when the ankle is tilted
    assert (feet.amin(dim=(0, 2)) < 0.06).all(), "the feet never reached the ground"


def test_humanoid_falls_and_terminates_without_torques(rollout: Rollout):
    zero_phase = rollout.terminated[:ZERO_ACTION_STEPS]
    assert zero_phase.any(dim=0).all(), "an env never fell under zero torques"
    # the step that terminates an env observes the reset humanoid, back at its initial height
    init_height = rollout.cfg.scene.robot.init_state.pos[2]
    reset_obs_heights = rollout.obs_heights[rollout.terminated]
    assert torch.allclose(reset_obs_heights, torch.full_like(reset_obs_heights, init_height), atol=0.02)
    # before falling the torso is above the termination height: termination is not spurious
    assert (rollout.heights[:STANDING_STEPS] > rollout.cfg.termination_height).all()


def test_rewards_and_observations_stay_finite(rollout: Rollout):
    assert rollout.obs_finite.all()
    assert torch.isfinite(rollout.rewards).all()
    # alive steps earn about step_dt * (2 alive + 0.1 up + 0.5 heading); a fall costs death_cost = -1
    assert rollout.rewards.abs().max() < 2.0
    assert (rollout.rewards[rollout.terminated] < 0).all()


def test_only_local_files_are_loaded(rollout: Rollout):
    assert rollout.layer_paths, "the stage used no file layers: the robot was not referenced from its USD"
    for path in rollout.layer_paths:
        assert Path(path).is_file(), f"stage layer {path!r} is not a local file"
