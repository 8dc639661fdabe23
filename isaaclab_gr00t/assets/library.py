"""Build and cache the project's offline USD assets.

Each asset has a builder that writes one USD file. Files are written once per package version into
:func:`asset_cache_dir`, through a temporary file and an atomic rename, so concurrent processes (several
ranks of a multi-GPU run, parallel tests) never see a half-written asset.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from .builders import write_ant_usd, write_cartpole_usd, write_ground_plane_usd

ASSET_URI_PREFIX = "asset:"
"""Prefix that marks an asset name in task specs, e.g. ``asset:cartpole``."""


def _write_humanoid_usd(path: Path) -> None:
    from .humanoid import write_humanoid_usd  # the humanoid builder is large; import it only when needed

    write_humanoid_usd(path)


def _write_franka_usd(path: Path) -> None:
    from .franka import write_franka_usd  # needs the build-time converter; import it only when needed

    write_franka_usd(path)


ASSET_BUILDERS: dict[str, Callable[[Path], None]] = {
    "ground_plane": write_ground_plane_usd,
    "cartpole": write_cartpole_usd,
    "ant": write_ant_usd,
    "humanoid": _write_humanoid_usd,
    "franka": _write_franka_usd,
}
"""Asset name -> function writing that asset's USD file to the given path."""

ASSET_FORMATS: dict[str, str] = {"franka": "usdc"}
"""Asset name -> USD file format, for assets not written as text (``usda``): meshes are far smaller in crate."""


class AssetError(FileNotFoundError):
    """An asset is unknown or could not be built."""


def asset_cache_dir() -> Path:
    """Folder holding the generated assets: ``$ISAACLAB_GR00T_ASSET_DIR`` or a per-version user cache."""
    override = os.environ.get("ISAACLAB_GR00T_ASSET_DIR")
    if override:
        return Path(override)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "isaaclab_gr00t" / f"assets-{__version__}"


def asset_path(name: str) -> str:
    """Return the local path of asset ``name``, building it first if it is not cached yet."""
    builder = ASSET_BUILDERS.get(name)
    if builder is None:
        raise AssetError(f"Unknown asset '{name}'. Bundled assets: {', '.join(sorted(ASSET_BUILDERS))}.")
    suffix = f".{ASSET_FORMATS.get(name, 'usda')}"
    target = asset_cache_dir() / f"{name}{suffix}"
    if target.is_file():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}-", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        builder(Path(tmp_name))
        os.replace(tmp_name, target)
    except Exception as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise AssetError(f"Could not build asset '{name}' at {target}: {exc}") from exc
    return str(target)


def resolve_asset_uri(value: str) -> str:
    """Turn ``asset:<name>`` into a local file path; other strings must name an existing file."""
    if value.startswith(ASSET_URI_PREFIX):
        return asset_path(value[len(ASSET_URI_PREFIX) :])
    path = Path(os.path.expandvars(value)).expanduser()
    if not path.is_file():
        raise AssetError(f"Asset file not found: '{value}'.")
    return str(path.resolve())
