"""Offline robot and ground assets.

Isaac Lab's stock tasks fetch their USD files from a cloud asset server at run time. The project's tasks
use the files built here instead: they are generated from the robots the ``newton`` wheel ships (or built
with ``pxr``) into a local cache the first time they are asked for, so no task ever reaches a network.
Task specs name them as ``asset:<name>`` (see :func:`resolve_asset_uri`).
"""

from .library import ASSET_BUILDERS, AssetError, asset_cache_dir, asset_path, resolve_asset_uri

__all__ = ["ASSET_BUILDERS", "AssetError", "asset_cache_dir", "asset_path", "resolve_asset_uri"]
