"""Offline humanoid USD for Isaac Lab's ``Isaac-Humanoid-Direct`` task.

Isaac Lab's humanoid (``isaaclab_assets.robots.humanoid.HUMANOID_CFG``) is the MuJoCo humanoid of
Tassa et al., "Synthesis and stabilization of complex behaviors through online trajectory optimization"
(IROS 2012) as an Isaac Sim USD that is fetched from a cloud asset server at run time. The ``newton`` wheel
ships an Isaac Sim MJCF-importer export of the same robot, ``newton/examples/assets/humanoid.usda``:
16 rigid bodies (torso, head, lower_waist, pelvis, thighs, shins, feet, upper and lower arms, hands),
one D6 joint per multi-axis MuJoCo joint group, named after the body it moves (``lower_waist``,
``right_thigh``, ``right_foot``, ``right_upper_arm``), and revolute joints for the rest. Isaac Lab's
config keys every joint by the body it moves, but three kinds of revolute joints keep their MuJoCo names
in the wheel's file (``abdomen_x``, ``*_knee``, ``*_elbow`` instead of ``pelvis``, ``*_shin``,
``*_lower_arm``). :func:`write_humanoid_usd` re-exports the file with every joint named after its child
body and without the importer's collision groups (see the comment there).

Newton names the DOFs of a multi-axis joint ``<joint>:<i>``, so the exported articulation has the 21
actuated DOFs Isaac Lab's gears, stiffnesses and dampings are keyed by (``lower_waist:0``, ``pelvis``,
``right_thigh:1``, ``right_foot:0`` ...), see :data:`HUMANOID_JOINT_DOF_COUNTS`.
"""

from __future__ import annotations

from pathlib import Path

from pxr import Sdf, Usd, UsdPhysics

SOURCE_ROOT_PRIM = "nv_humanoid"
"""Root prim of the wheel's humanoid; it holds the bodies and a ``joints`` scope."""

HUMANOID_JOINT_DOF_COUNTS: dict[str, int] = {
    "lower_waist": 2,
    "pelvis": 1,
    "right_thigh": 3,
    "right_shin": 1,
    "right_foot": 2,
    "left_thigh": 3,
    "left_shin": 1,
    "left_foot": 2,
    "right_upper_arm": 2,
    "right_lower_arm": 1,
    "left_upper_arm": 2,
    "left_lower_arm": 1,
}
"""Movable joint -> number of rotational DOFs; 21 in all, Isaac Lab's ``action_space``."""

_ROTATION_AXES = ("rotX", "rotY", "rotZ")


def _newton_humanoid_path() -> Path:
    import newton.examples

    path = Path(newton.examples.__file__).parent / "assets" / "humanoid.usda"
    if not path.is_file():
        raise FileNotFoundError(f"The installed newton wheel does not ship the humanoid (looked for {path}).")
    return path


def _free_rotation_axes(joint: Usd.Prim) -> int:
    """DOFs a joint leaves free: 1 for a revolute joint, the unlocked rotation axes for a D6 joint."""
    if joint.IsA(UsdPhysics.RevoluteJoint):
        return 1
    if joint.IsA(UsdPhysics.FixedJoint):
        return 0
    free = 0
    for axis in _ROTATION_AXES:
        limit = UsdPhysics.LimitAPI.Get(joint, axis)
        low, high = limit.GetLowAttr().Get(), limit.GetHighAttr().Get()
        # USD Physics locks a D6 axis by authoring low > high; an axis without a limit is free
        if low is None or high is None or low <= high:
            free += 1
    return free


def _check_joint_dofs(stage: Usd.Stage, source: Path) -> None:
    found = {
        prim.GetName(): _free_rotation_axes(prim)
        for prim in stage.Traverse()
        if prim.IsA(UsdPhysics.Joint) and not prim.IsA(UsdPhysics.FixedJoint)
    }
    if found != HUMANOID_JOINT_DOF_COUNTS:
        raise ValueError(
            f"The humanoid in '{source}' does not have Isaac Lab's joints after renaming: expected (joint: DOFs) "
            f"{HUMANOID_JOINT_DOF_COUNTS}, found {found}."
        )


def write_humanoid_usd(path: Path) -> None:
    """Write Isaac Lab's humanoid articulation, with Isaac Lab's joint and body names, to ``path``.

    The file format follows the suffix (``.usda`` for text). The layer holds only the robot (no physics
    scene): rigid bodies with density-derived mass and capsule/sphere colliders, the articulation root on
    ``torso``, D6 and revolute joints with limits (and the MuJoCo joint stiffness/damping as drives, which
    Isaac Lab's actuator config overrides).

    Raises:
        FileNotFoundError: The installed ``newton`` wheel does not ship ``examples/assets/humanoid.usda``.
        ValueError: That file's joints do not map to Isaac Lab's humanoid joints.
    """
    source = _newton_humanoid_path()
    layer = Sdf.Layer.OpenAsAnonymous(str(source))
    if not layer.GetPrimAtPath(f"/{SOURCE_ROOT_PRIM}"):
        raise ValueError(f"'{source}' has no root prim '/{SOURCE_ROOT_PRIM}'.")
    layer.defaultPrim = SOURCE_ROOT_PRIM
    # the physics scene belongs to the simulation Isaac Lab builds, not to the robot asset
    for root in list(layer.rootPrims):
        if root.name != SOURCE_ROOT_PRIM:
            del layer.rootPrims[root.name]

    stage = Usd.Stage.Open(layer)
    for prim in list(stage.Traverse()):
        if prim.IsA(UsdPhysics.CollisionGroup):
            # the importer puts every capsule in its own group that filters only an empty group, so under
            # PhysX everything collides. Newton instead gives each group an id that collides only with
            # itself: the ground (default id 1) would touch just the head and the feet would fall through.
            # Without groups every shape collides, as under PhysX and in the MuJoCo model.
            spec = layer.GetPrimAtPath(prim.GetPath())
            del spec.nameParent.nameChildren[spec.name]
    for prim in list(stage.Traverse()):
        if not prim.IsA(UsdPhysics.Joint):
            continue
        child_bodies = UsdPhysics.Joint(prim).GetBody1Rel().GetTargets()
        if len(child_bodies) != 1:
            raise ValueError(f"Joint '{prim.GetPath()}' in '{source}' must move exactly one body.")
        # renaming the spec in place keeps the joints in their authored order
        layer.GetPrimAtPath(prim.GetPath()).name = child_bodies[0].name

    _check_joint_dofs(stage, source)
    if not layer.Export(str(path)):
        raise OSError(f"Could not write the humanoid USD to '{path}'.")
