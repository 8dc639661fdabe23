"""The ``state_groups`` section of a task spec: 1-D observation groups of a scene articulation's joint state.

Each entry is a new observation group (terms concatenated in the order written, no noise, no history) whose terms
are joint observations of Isaac Lab's ``isaaclab.envs.mdp`` (:data:`JOINT_TERMS`), each of a scene asset's joints
``joint_names`` (regular expressions, matched in the articulation's joint order; left out: every joint)::

    state_groups:
      gr00t_state:
        joint_pos: {asset: robot, joint_names: ["panda_joint[1-7]", "panda_finger_joint[1-2]"]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import SpecError

JOINT_TERMS = ("joint_pos", "joint_pos_rel", "joint_vel", "joint_vel_rel")
"""The ``isaaclab.envs.mdp`` observation functions a state group may name (each reads ``asset_cfg``'s joints)."""

TERM_KEYS = {"asset", "joint_names"}
"""Settings of a term: the scene asset (default ``robot``) and its joints (default: all)."""


def _joint_term(term: str, settings: Mapping[str, Any], scene: Any, source: str, field: str) -> Any:
    """The observation term ``term`` of the asset and joints ``settings`` name."""
    import isaaclab.envs.mdp as mdp
    from isaaclab.managers import ObservationTermCfg, SceneEntityCfg

    if term not in JOINT_TERMS:
        raise SpecError(source, field, f"unknown term; known terms: {', '.join(JOINT_TERMS)}")
    if not isinstance(settings, Mapping) or set(settings) - TERM_KEYS:
        raise SpecError(source, field, f"expected a mapping of {', '.join(sorted(TERM_KEYS))}, got {settings!r}")
    asset = settings.get("asset", "robot")
    if not isinstance(asset, str) or not hasattr(scene, asset):
        raise SpecError(source, f"{field}.asset", f"no scene entry {asset!r}")
    joint_names = settings.get("joint_names")
    if joint_names is not None and not (
        isinstance(joint_names, list) and joint_names and all(isinstance(name, str) for name in joint_names)
    ):
        raise SpecError(source, f"{field}.joint_names", f"expected a list of joint name patterns, got {joint_names!r}")
    return ObservationTermCfg(
        func=getattr(mdp, term), params={"asset_cfg": SceneEntityCfg(asset, joint_names=joint_names)}
    )


def add_state_groups(cfg: Any, groups: Mapping[str, Mapping[str, Any]], source: str) -> None:
    """Add each state group to ``cfg.observations``.

    Raises:
        SpecError: naming the group and field, for a name already in use, an unknown term or setting, or an asset
            the scene lacks.
    """
    from isaaclab.managers import ObservationGroupCfg

    for name, terms in groups.items():
        field = f"state_groups.{name}"
        if hasattr(cfg.observations, name):
            raise SpecError(source, field, f"'{name}' is not a new observation group name")
        if not isinstance(terms, Mapping) or not terms:
            raise SpecError(source, field, f"expected a mapping of joint terms ({', '.join(JOINT_TERMS)})")
        group = ObservationGroupCfg(concatenate_terms=True, enable_corruption=False)
        for term, settings in terms.items():
            setattr(group, term, _joint_term(str(term), settings or {}, cfg.scene, source, f"{field}.{term}"))
        setattr(cfg.observations, name, group)
