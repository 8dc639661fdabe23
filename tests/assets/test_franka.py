"""The bundled Franka Panda: Isaac Lab's kinematics, names and prim paths, and it holds its pose under the stock
gains."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import mujoco
import numpy as np
import pytest
from pxr import Usd, UsdPhysics

import isaaclab
from isaaclab_gr00t.assets import asset_path
from isaaclab_gr00t.assets.franka import JOINT_RANGES, franka_mjcf

LULA_URDF = Path(isaaclab.__file__).parent / "controllers/config/data/lula_franka_gen.urdf"
BODIES = [*(f"panda_link{i}" for i in range(1, 8)), "panda_hand", "panda_leftfinger", "panda_rightfinger"]
ARM_JOINTS = [f"panda_joint{i}" for i in range(1, 8)]
DEFAULT_POSE = {"panda_joint1": 0.0, "panda_joint2": -0.569, "panda_joint3": 0.0, "panda_joint4": -2.810,
                "panda_joint5": 0.0, "panda_joint6": 3.037, "panda_joint7": 0.741}
"""Isaac Lab's ``FRANKA_PANDA_CFG.init_state`` arm pose (fingers open at 0.04)."""


@pytest.fixture(scope="module")
def model() -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_string(franka_mjcf())


@pytest.fixture(scope="module")
def franka_usd(tmp_path_factory) -> Path:
    """Built once per test module, into a fresh cache folder."""
    import os

    folder = tmp_path_factory.mktemp("assets")
    old = os.environ.get("ISAACLAB_GR00T_ASSET_DIR")
    os.environ["ISAACLAB_GR00T_ASSET_DIR"] = str(folder)
    try:
        return Path(asset_path("franka"))
    finally:
        if old is None:
            del os.environ["ISAACLAB_GR00T_ASSET_DIR"]
        else:
            os.environ["ISAACLAB_GR00T_ASSET_DIR"] = old


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    x, y, z = axis / np.linalg.norm(axis)
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


def _rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    return _rotation(np.array([0, 0, 1.0]), yaw) @ _rotation(np.array([0, 1.0, 0]), pitch) @ _rotation(
        np.array([1.0, 0, 0]), roll
    )


def urdf_fk(q: dict[str, float]) -> dict[str, np.ndarray]:
    """World poses (4x4) of every link of Isaac Lab's Franka URDF, from ``panda_link0`` at the origin."""
    joints = {}
    for joint in ET.parse(LULA_URDF).getroot().iter("joint"):
        origin = joint.find("origin")
        xyz = [float(v) for v in origin.get("xyz", "0 0 0").split()] if origin is not None else [0, 0, 0]
        rpy = [float(v) for v in origin.get("rpy", "0 0 0").split()] if origin is not None else [0, 0, 0]
        axis = joint.find("axis")
        joints[joint.find("child").get("link")] = (
            joint.find("parent").get("link"), joint.get("name"), joint.get("type"), np.array(xyz), _rpy(*rpy),
            np.array([float(v) for v in axis.get("xyz").split()]) if axis is not None else None,
        )
    poses = {"panda_link0": np.eye(4)}

    def pose(link: str) -> np.ndarray:
        if link not in poses:
            parent, name, kind, xyz, rot, axis = joints[link]
            local = np.eye(4)
            local[:3, :3], local[:3, 3] = rot, xyz
            motion = np.eye(4)
            if kind == "revolute":
                motion[:3, :3] = _rotation(axis, q[name])
            elif kind == "prismatic":
                motion[:3, 3] = axis * q[name]
            poses[link] = pose(parent) @ local @ motion
        return poses[link]

    return {link: pose(link) for link in BODIES}


def mujoco_fk(model: mujoco.MjModel, q: dict[str, float]) -> dict[str, np.ndarray]:
    data = mujoco.MjData(model)
    for name, value in q.items():
        data.qpos[model.joint(name).qposadr[0]] = value
    mujoco.mj_kinematics(model, data)
    base = np.eye(4)
    base[:3, :3], base[:3, 3] = data.body("panda_link0").xmat.reshape(3, 3), data.body("panda_link0").xpos
    poses = {}
    for link in BODIES:
        world = np.eye(4)
        world[:3, :3], world[:3, 3] = data.body(link).xmat.reshape(3, 3), data.body(link).xpos
        poses[link] = np.linalg.inv(base) @ world
    return poses


def test_forward_kinematics_match_isaac_lab_s_franka_urdf(model):
    rng = np.random.default_rng(0)
    for _ in range(50):
        q = {name: rng.uniform(*JOINT_RANGES[name]) for name in ARM_JOINTS}
        q["panda_finger_joint1"] = q["panda_finger_joint2"] = rng.uniform(0.0, 0.04)
        expected, actual = urdf_fk(q), mujoco_fk(model, q)
        for link in BODIES:
            position_error = np.linalg.norm(actual[link][:3, 3] - expected[link][:3, 3])
            rotation_error = np.linalg.norm(actual[link][:3, :3] - expected[link][:3, :3])
            assert position_error < 1e-3, f"{link}: {position_error * 1000:.2f} mm off at q={q}"
            assert rotation_error < 1e-3, f"{link}: frame off by {rotation_error:.2e} at q={q}"


def test_joint_ranges_and_names_are_the_standard_ones(model):
    names = [model.joint(i).name for i in range(model.njnt)]
    assert names == [*ARM_JOINTS, "panda_finger_joint1", "panda_finger_joint2"]
    for name, (low, high) in JOINT_RANGES.items():
        assert model.joint(name).range.tolist() == pytest.approx([low, high])
    assert model.body("panda_hand").parentid[0] == model.body("panda_link7").id
    assert 17.0 < model.body_mass.sum() < 19.0  # the gymnasium-robotics Panda: about 18 kg


def test_holds_the_default_pose_under_the_lift_task_s_gains(model):
    """Gravity on, Isaac Lab's lift-task PD gains and armature, targets at the default pose: the arm stays there.

    A PD drive without gravity compensation settles where stiffness balances gravity: the arm may deflect by
    gravity torque / stiffness (about 0.033 rad at joint 4 for an 18 kg Panda at kp 600), no more, and stop.
    """
    from isaaclab_tasks.core.lift.config.franka.franka_env_cfg import FRANKA_PANDA_LIFT_CFG

    arm = FRANKA_PANDA_LIFT_CFG.actuators["panda_arm"]

    def per_joint(values: dict[str, float], joint: str) -> float:
        return next(v for pattern, v in values.items() if re.fullmatch(pattern, joint))

    sim = mujoco.MjModel.from_xml_string(franka_mjcf())
    data = mujoco.MjData(sim)
    stiffness = np.array([per_joint(arm.stiffness, joint) for joint in ARM_JOINTS])
    for joint, kp in zip(ARM_JOINTS, stiffness):
        actuator = sim.actuator(joint)
        actuator.gainprm[0], actuator.biasprm[1:3] = kp, (-kp, -per_joint(arm.damping, joint))
        sim.dof_armature[sim.joint(joint).dofadr[0]] = per_joint(arm.armature, joint)
        data.qpos[sim.joint(joint).qposadr[0]] = data.ctrl[actuator.id] = DEFAULT_POSE[joint]
    for finger in ("panda_finger_joint1", "panda_finger_joint2"):
        data.qpos[sim.joint(finger).qposadr[0]] = 0.04
    data.ctrl[sim.actuator("panda_finger_joint1").id] = 0.04
    mujoco.mj_forward(sim, data)
    static_deflection = data.qfrc_bias[:7] / stiffness
    hand_start = data.body("panda_hand").xpos.copy()
    for _ in range(int(2.0 / sim.opt.timestep)):
        mujoco.mj_step(sim, data)
    deviation = data.qpos[:7] - np.array([DEFAULT_POSE[j] for j in ARM_JOINTS])
    assert np.abs(deviation).max() < 0.05, f"the arm left its default pose by {deviation.round(4)} rad"
    np.testing.assert_allclose(deviation, -static_deflection, atol=5e-3)
    assert np.linalg.norm(data.body("panda_hand").xpos - hand_start) < 0.03
    assert np.abs(data.qvel).max() < 1e-2, "the arm is still moving after 2 s"
    assert data.qpos[sim.joint("panda_finger_joint2").qposadr[0]] == pytest.approx(0.04, abs=1e-3)


def test_usd_has_the_stock_prim_paths_joints_and_finger_mimic(franka_usd):
    assert franka_usd.suffix == ".usdc" and franka_usd.stat().st_size > 1_000_000  # meshes included
    stage = Usd.Stage.Open(str(franka_usd))
    root = stage.GetDefaultPrim().GetPath()
    chain = "/".join(f"panda_link{i}" for i in range(8))
    # the prim paths the stock Franka lift config puts its finger contact sensors on
    for finger in ("panda_leftfinger", "panda_rightfinger"):
        assert stage.GetPrimAtPath(f"{root}/Geometry/{chain}/panda_hand/{finger}").IsValid()
    joints = {p.GetName(): p for p in stage.Traverse() if p.IsA(UsdPhysics.Joint)}
    assert {*ARM_JOINTS, "panda_finger_joint1", "panda_finger_joint2"} <= set(joints)
    follower = joints["panda_finger_joint2"]
    # read from the prim's metadata: GetAppliedSchemas() lists only schemas this process's registry knows, and
    # whether Newton's are known depends on what used USD first in the test session
    assert "NewtonMimicAPI" in follower.GetMetadata("apiSchemas").GetAddedOrExplicitItems()
    assert follower.GetRelationship("newton:mimicJoint").GetTargets()[0].name == "panda_finger_joint1"
    limit = UsdPhysics.RevoluteJoint(joints["panda_joint6"]).GetUpperLimitAttr().Get()
    assert limit == pytest.approx(math.degrees(JOINT_RANGES["panda_joint6"][1]), abs=1e-3)
    # nothing in the file points outside it (no meshes or layers to fetch)
    assert not stage.GetRootLayer().GetExternalReferences()
