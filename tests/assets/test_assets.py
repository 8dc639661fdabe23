"""Offline assets: built locally, cached atomically, valid USD with what Isaac Lab looks for."""

from __future__ import annotations

import pytest
from pxr import Usd, UsdPhysics

from isaaclab_gr00t.assets import ASSET_BUILDERS, AssetError, asset_path, resolve_asset_uri


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ISAACLAB_GR00T_ASSET_DIR", str(tmp_path / "cache"))


def joint_names(stage) -> set[str]:
    return {p.GetName() for p in stage.Traverse() if p.IsA(UsdPhysics.Joint)}


def test_cartpole_has_isaac_labs_joint_names_and_a_valid_default_prim():
    stage = Usd.Stage.Open(asset_path("cartpole"))
    default = stage.GetDefaultPrim()
    assert default and default.GetName() == "cartpole"
    assert {"slider_to_cart", "cart_to_pole"} <= joint_names(stage)


def test_ant_has_eight_revolute_joints_under_its_default_prim():
    stage = Usd.Stage.Open(asset_path("ant"))
    revolute = [p for p in Usd.PrimRange(stage.GetDefaultPrim()) if p.IsA(UsdPhysics.RevoluteJoint)]
    assert len(revolute) == 8


def test_ground_plane_collides_and_carries_friction():
    stage = Usd.Stage.Open(asset_path("ground_plane"))
    planes = [p for p in stage.Traverse() if p.GetTypeName() == "Plane"]
    assert len(planes) == 1 and planes[0].HasAPI(UsdPhysics.CollisionAPI)
    materials = [p for p in stage.Traverse() if p.HasAPI(UsdPhysics.MaterialAPI)]
    assert UsdPhysics.MaterialAPI(materials[0]).GetStaticFrictionAttr().Get() == pytest.approx(1.0)


def test_assets_are_built_once_and_reused(tmp_path):
    first = asset_path("cartpole")
    stamp = (tmp_path / "cache" / "cartpole.usda").stat().st_mtime_ns
    assert asset_path("cartpole") == first
    assert (tmp_path / "cache" / "cartpole.usda").stat().st_mtime_ns == stamp
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")], "no temp files left"


def test_a_failing_builder_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken(path):
        path.write_text("#usda 1.0\n(half")
        raise RuntimeError("disk full")

    monkeypatch.setitem(ASSET_BUILDERS, "broken", broken)
    with pytest.raises(AssetError, match="broken.*disk full"):
        asset_path("broken")
    assert list((tmp_path / "cache").iterdir()) == []


def test_unknown_assets_and_missing_files_are_named():
    with pytest.raises(AssetError, match="Unknown asset 'unicorn'"):
        resolve_asset_uri("asset:unicorn")
    with pytest.raises(AssetError, match="/no/such.usda"):
        resolve_asset_uri("/no/such.usda")
