"""Make the string annotations of Isaac Lab's spawner configs resolvable, so Hydra can convert them.

Isaac Lab's spawner config modules annotate fields with ``Usd.Prim`` and ``schemas.*`` under ``from __future__
import annotations`` but import those names only for type checkers. ``typing.get_type_hints`` on such a class
then raises ``NameError: name 'Usd' is not defined``. Isaac Lab's Hydra path meets spawner configs that
``to_dict`` leaves inside tuples (``Isaac-Lift-Franka``'s ``grasp_configs``: ``(MeshCuboidCfg, opening, quat)``)
and OmegaConf calls ``get_type_hints`` on them; with some Python 3.12 patch releases ``isaaclab train`` then fails
before the env is built. Binding the two names in those modules is all the annotations need.
"""

from __future__ import annotations

import importlib

SPAWNER_CONFIG_MODULES = (
    "isaaclab.sim.spawners.spawner_cfg",
    "isaaclab.sim.spawners.meshes.meshes_cfg",
    "isaaclab.sim.spawners.shapes.shapes_cfg",
    "isaaclab.sim.spawners.from_files.from_files_cfg",
)
"""Modules whose annotations name ``Usd`` or ``schemas`` without importing them at run time."""


def install_annotations_hook() -> None:
    """Bind ``Usd`` and ``schemas`` in the spawner config modules (idempotent; existing names are kept)."""
    from pxr import Usd

    from isaaclab.sim import schemas

    for name in SPAWNER_CONFIG_MODULES:
        namespace = vars(importlib.import_module(name))
        namespace.setdefault("Usd", Usd)
        namespace.setdefault("schemas", schemas)
