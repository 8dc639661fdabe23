"""Agent presets: YAML files in ``agents/`` that describe an rsl_rl runner config declaratively.

A preset names a runner ``kind`` and the fields to set on it::

    description: PPO37 tuned for thousands of GPU environments.
    kind: ppo37_runner
    num_steps_per_env: 24
    algorithm: {kind: ppo37, learning_rate: 1.0e-3, ...}
    actor: {kind: mlp, hidden_dims: [256, 128], activation: elu, distribution_cfg: {kind: gaussian, init_std: 1.0}}
    critic: {kind: mlp, hidden_dims: [256, 128], activation: elu}

Task specs pick a preset by name and may override any of its fields.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError
from .overrides import apply_overrides, build_config, missing_fields

_LEGACY_FIELDS = {"policy", "empirical_normalization", "stochastic", "init_noise_std"}
"""Fields Isaac Lab keeps for rsl-rl < 5 and migrates itself; they may stay MISSING."""


def read_yaml(path: Path) -> Any:
    """Parse a YAML file with the safe loader (no tags, no code), naming the file on errors."""
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as exc:
        raise SpecError(str(path), None, f"not valid YAML: {exc}") from exc
    except OSError as exc:
        raise SpecError(str(path), None, f"cannot be read: {exc}") from exc


def load_agent_preset(path: Path) -> dict[str, Any]:
    """Read an agent preset file and check its top-level shape."""
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise SpecError(str(path), None, "an agent preset must be a mapping")
    if "kind" not in data:
        raise SpecError(str(path), "kind", "missing (a runner kind such as 'ppo37_runner')")
    return dict(data)


def build_agent_cfg(preset: Mapping[str, Any], overrides: Mapping[str, Any], source: str, device: str) -> Any:
    """Build the runner config from a preset and a task's overrides.

    Args:
        preset: The parsed preset (see :func:`load_agent_preset`).
        overrides: The task spec's agent overrides, applied after the preset.
        source: File names for error messages.
        device: Default device for the learner (the task picks it from what the machine has).
    """
    fields = {k: copy.deepcopy(v) for k, v in preset.items() if k != "description"}
    cfg = build_config(fields, source, "agent")
    cfg.device = device
    apply_overrides(cfg, overrides, source, prefix="agent")
    missing = [name for name in missing_fields(cfg) if name.rsplit(".", 1)[-1] not in _LEGACY_FIELDS]
    if missing:
        raise SpecError(source, f"agent.{missing[0]}", f"required but not set (all missing: {', '.join(missing)})")
    return cfg
