"""Writers for the offline USD assets (ground plane, cartpole, ant).

The cartpole and ant come from the robots the ``newton`` wheel ships in ``newton/examples/assets``: the
cartpole carries Isaac Lab's joint names (``slider_to_cart``, ``cart_to_pole``) and the ant matches
Isaac Lab's ant config. Both are opened with ``pxr`` and re-exported with the fixes Isaac Lab needs.
"""

from __future__ import annotations

from pathlib import Path

from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdShade


def _newton_asset(name: str) -> Path:
    import newton.examples

    path = Path(newton.examples.__file__).parent / "assets" / name
    if not path.is_file():
        raise FileNotFoundError(f"The installed newton wheel does not ship '{name}' (looked in {path.parent}).")
    return path


def write_ground_plane_usd(path: Path) -> None:
    """An infinite collision plane (z up) with a friction-1 physics material and a grey visual quad."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/GroundPlane")
    stage.SetDefaultPrim(root.GetPrim())

    plane = UsdGeom.Plane.Define(stage, "/GroundPlane/CollisionPlane")
    plane.CreateAxisAttr(UsdGeom.Tokens.z)
    plane.CreateWidthAttr(200.0)
    plane.CreateLengthAttr(200.0)
    plane.CreateDisplayColorAttr([Gf.Vec3f(0.35, 0.37, 0.4)])
    UsdPhysics.CollisionAPI.Apply(plane.GetPrim())

    # Terrain importers that take a USD file apply no material of their own, so friction lives in the file.
    material = UsdShade.Material.Define(stage, "/GroundPlane/PhysicsMaterial")
    physics_material = UsdPhysics.MaterialAPI.Apply(material.GetPrim())
    physics_material.CreateStaticFrictionAttr(1.0)
    physics_material.CreateDynamicFrictionAttr(1.0)
    physics_material.CreateRestitutionAttr(0.0)
    UsdShade.MaterialBindingAPI.Apply(plane.GetPrim()).Bind(
        material, UsdShade.Tokens.weakerThanDescendants, "physics"
    )
    stage.GetRootLayer().Save()


def _reexport(source: Path, path: Path, default_prim: str) -> None:
    layer = Sdf.Layer.OpenAsAnonymous(str(source))
    if not layer.GetPrimAtPath(f"/{default_prim}"):
        raise ValueError(f"'{source}' has no root prim '/{default_prim}'.")
    layer.defaultPrim = default_prim
    layer.Export(str(path))


def write_cartpole_usd(path: Path) -> None:
    """Newton's single-pendulum cartpole; its ``defaultPrim`` names a prim that does not exist, fixed here."""
    _reexport(_newton_asset("cartpole_single_pendulum.usda"), path, default_prim="cartpole")


def write_ant_usd(path: Path) -> None:
    """Newton's ant, whose joint and body names match Isaac Lab's ant config."""
    _reexport(_newton_asset("ant.usda"), path, default_prim="ant")
