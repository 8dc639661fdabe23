"""A Franka Emika Panda under Isaac Lab's names and conventions, converted offline from ``gymnasium-robotics``.

``gymnasium-robotics`` (Apache-2.0, on PyPI) ships the Panda of its kitchen task as MJCF with STL meshes and link
masses (``envs/assets/kitchen_franka/franka_assets``). That model differs from the standard Panda (franka_ros,
and the ``lula_franka_gen.urdf`` Isaac Lab ships) in ways this module undoes before converting it to USD with
``mujoco-usd-converter``:

- names carry a ``panda0_`` prefix (joints also ``robot:``); they become ``panda_link0..7``, ``panda_joint1..7``,
  ``panda_leftfinger``/``panda_rightfinger`` and ``panda_finger_joint1/2``;
- the frames of links 6 and 7 are turned by an extra pi/2 and pi/4 about their joint axes, which shifts those
  joints' zeros: the standard frames (and the standard joint ranges) are restored;
- there is no ``panda_hand`` body: one is added 0.107 m along link 7, turned -pi/4 about z, holding the hand
  meshes and the fingers (0.0584 m further), and ``panda_finger_joint2`` mimics ``panda_finger_joint1``.

The result has the stock asset's prim layout (``/Geometry/panda_link0/.../panda_hand/panda_rightfinger``) and
position drives with the stock gains (Isaac Lab's ``FRANKA_PANDA_CFG`` reads them from the file).
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HAND_OFFSET = 0.107
"""Distance from the link-7 frame to the hand frame along link 7's z axis [m]."""

FINGER_OFFSET = 0.0584
"""Distance from the hand frame to the finger frames along the hand's z axis [m]."""

JOINT_RANGES = {
    "panda_joint1": (-2.8973, 2.8973),
    "panda_joint2": (-1.7628, 1.7628),
    "panda_joint3": (-2.8973, 2.8973),
    "panda_joint4": (-3.0718, -0.0698),
    "panda_joint5": (-2.8973, 2.8973),
    "panda_joint6": (-0.0175, 3.7525),
    "panda_joint7": (-2.8973, 2.8973),
}
"""Joint ranges of the Franka datasheet [rad], as in franka_ros and Isaac Lab's URDF."""

ARM_STIFFNESS = {f"panda_joint{i}": 870.0 if i <= 4 else 120.0 for i in range(1, 8)}
"""Position-drive stiffness of the arm joints [N m/rad], the stock asset's values."""

ARM_EFFORT = {f"panda_joint{i}": 87.0 if i <= 4 else 12.0 for i in range(1, 8)}
"""Torque limits of the arm joints [N m] (Franka datasheet)."""

_QUAT_X90 = f"{math.cos(math.pi / 4)} {math.sin(math.pi / 4)} 0 0"
_QUAT_HAND = f"{math.cos(-math.pi / 8)} 0 0 {math.sin(-math.pi / 8)}"


def gymnasium_franka_dir() -> Path:
    """The folder of the kitchen Panda MJCF in the installed ``gymnasium-robotics`` (found without importing it)."""
    spec = importlib.util.find_spec("gymnasium_robotics")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The Franka asset is converted from the 'gymnasium-robotics' package, which is not installed "
            "(pip install -e . installs it; or set ISAACLAB_GR00T_ASSET_DIR to a folder holding a built franka.usdc)."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "envs/assets/kitchen_franka/franka_assets"
    if not (folder / "chain.xml").is_file():
        raise FileNotFoundError(f"The installed gymnasium-robotics has no kitchen Panda at {folder}.")
    return folder


def _rename(name: str) -> str:
    return name.removeprefix("robot:").replace("panda0_", "panda_")


def _standardize_chain(link0: ET.Element) -> None:
    """Rename bodies and joints, restore the standard frames of links 6 and 7, add the hand body."""
    for element in link0.iter():
        if element.tag in ("body", "joint") and "name" in element.attrib:
            element.set("name", _rename(element.get("name")))
    bodies = {body.get("name"): body for body in link0.iter("body")}
    for link in ("panda_link6", "panda_link7"):
        body = bodies[link]
        del body.attrib["euler"]
        body.set("quat", _QUAT_X90)
    for joint in link0.iter("joint"):
        if joint.get("name") in JOINT_RANGES:
            joint.set("range", " ".join(map(str, JOINT_RANGES[joint.get("name")])))

    link7 = bodies["panda_link7"]
    hand = ET.Element("body", name="panda_hand", pos=f"0 0 {HAND_OFFSET}", quat=_QUAT_HAND)
    for child in list(link7):
        is_hand_mesh = child.tag == "geom" and child.get("mesh", "").startswith("hand_")
        if is_hand_mesh or child.tag == "body":
            link7.remove(child)
            hand.append(child)
            if is_hand_mesh:  # the hand meshes sat at the hand frame
                del child.attrib["pos"], child.attrib["quat"]
            else:  # a finger: its frame sat at the hand frame shifted along z
                child.set("pos", f"0 0 {FINGER_OFFSET}")
                del child.attrib["quat"]
        elif child.tag == "site":
            link7.remove(child)
    link7.append(hand)


def _strip_passive_dynamics(defaults: ET.Element) -> None:
    """Drop the MJCF's joint damping, armature and actuator defaults: Isaac Lab's actuator configs own them."""
    for element in list(defaults.iter()):
        for attribute in ("damping", "armature", "user"):
            element.attrib.pop(attribute, None)
        for child in list(element):
            if child.tag == "position":
                element.remove(child)


def franka_mjcf(source: Path | None = None) -> str:
    """The standardized Panda as a self-contained MJCF string (mesh paths absolute)."""
    source = source or gymnasium_franka_dir()
    chain = ET.parse(source / "chain.xml").getroot()
    assets = ET.parse(source / "assets.xml").getroot()
    link0 = chain.find("body")
    _standardize_chain(link0)
    defaults = assets.find("default")
    _strip_passive_dynamics(defaults)

    model = ET.Element("mujoco", model="panda")
    ET.SubElement(model, "compiler", angle="radian", meshdir=str((source / "meshes").resolve()), autolimits="true")
    model.append(assets.find("asset"))
    model.append(defaults)
    ET.SubElement(model, "worldbody").append(link0)
    actuators = ET.SubElement(model, "actuator")
    for joint, kp in ARM_STIFFNESS.items():
        limit = ARM_EFFORT[joint]
        ET.SubElement(actuators, "position", name=joint, joint=joint, kp=str(kp), forcerange=f"{-limit} {limit}")
    ET.SubElement(actuators, "position", name="panda_finger_joint1", joint="panda_finger_joint1", kp="2000",
                  forcerange="-200 200")
    equality = ET.SubElement(model, "equality")
    ET.SubElement(equality, "joint", joint1="panda_finger_joint2", joint2="panda_finger_joint1", polycoef="0 1 0 0 0")
    return ET.tostring(model, encoding="unicode")


def write_franka_usd(path: Path) -> None:
    """Convert the standardized Panda to one flattened, self-contained USD file at ``path``.

    The conversion runs in a fresh interpreter: ``mujoco-usd-converter`` registers its USD schemas when it is
    imported, and a process that has used USD before (Isaac Lab, Newton, an earlier asset) has built its schema
    registry already and would not find them.
    """
    if importlib.util.find_spec("mujoco_usd_converter") is None:
        raise FileNotFoundError(
            "Building the Franka asset needs 'mujoco-usd-converter' (pip install -e . installs it), or set "
            "ISAACLAB_GR00T_ASSET_DIR to a folder holding a built franka.usdc."
        )
    result = subprocess.run([sys.executable, "-m", __name__, str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"Converting the Franka Panda to {path} failed:\n{result.stderr[-3000:]}")


def _convert(path: Path) -> None:
    """The conversion itself (see :func:`write_franka_usd`)."""
    from mujoco_usd_converter import Converter

    with tempfile.TemporaryDirectory(prefix="isaaclab_gr00t_franka_") as work:
        mjcf = Path(work) / "panda.xml"
        mjcf.write_text(franka_mjcf())
        built = Converter(layer_structure=False, scene=False).convert(str(mjcf), str(Path(work) / "usd"))
        shutil.copyfile(built.path, path)


if __name__ == "__main__":
    _convert(Path(sys.argv[1]))
