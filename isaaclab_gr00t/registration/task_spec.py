"""Declarative task specs: a YAML file that registers a new Isaac Lab task ID without Python.

A spec names a registered base task, overrides of its environment config, and agent presets::

    id: GR00T-Cartpole-Direct               # the new task ID
    base: Isaac-Cartpole-Direct             # any registered Isaac Lab or project task
    env_class: my_pkg.envs:MyCartpoleEnv    # optional: a subclass of the base task's env class to run instead
    warp_env_class: pkg.mod:CartpoleWarpEnv # optional: the env `--frontend warp` builds (Isaac Lab's Warp twin)
    description: Cartpole from joint state, fully offline.
    num_envs: {cpu: 256, cuda: 4096}        # default env count per device kind
    env:                                    # dotted fields of the base env config (``null`` where None is allowed)
      scene.cartpole.spawn.usd_path: asset:cartpole
    device_env:                             # more env fields, per device kind, applied after ``env``
      cpu: {events.reset.params.buffer_size: 16}
    cameras:                                # RGB cameras (Newton Warp renderer), each with its observation group
      front_camera: {prim_path: "{ENV_REGEX_NS}/Camera", width: 96, height: 96, obs_group: front_rgb}
    state_groups:                           # 1-D observation groups of joint state (no noise, no history)
      arm_state: {joint_pos: {asset: robot, joint_names: ["panda_joint.*"]}}
    instruction: balance the pole           # language instruction, on the env config as ``cfg.instruction``
    agents:                                 # entry point -> preset in agents/ + overrides
      rsl_rl_cfg_entry_point: {preset: ppo37_gpu, overrides: {max_iterations: 150}}
      rsl_rl_gr00t_cfg_entry_point: {preset: {cpu: gr00t_tiny, cuda: gr00t_n15}}   # a preset per device kind

Fields ending in ``usd_path`` take ``asset:<name>`` (a bundled asset) or a local file path.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..assets import ASSET_BUILDERS
from ..assets.library import ASSET_URI_PREFIX
from .agents import read_yaml
from .errors import SpecError

TASK_ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
ENV_DEVICES = ("cpu", "cuda")
_TOP_LEVEL_FIELDS = {
    "id", "base", "env_class", "warp_env_class", "description", "num_envs", "env", "device_env", "cameras",
    "state_groups", "instruction", "agents", "default_agent",
}
_CLASS_PATH_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_AGENT_FIELDS = {"preset", "overrides"}


@dataclasses.dataclass(frozen=True)
class AgentChoice:
    """One agent entry point of a task: a preset from ``agents/`` and the task's overrides of it."""

    presets: Mapping[str, str]
    """Device kind (``cpu``, ``cuda``) -> preset name; a spec's single name stands for both."""
    overrides: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """A parsed, shape-checked task spec (see the module docstring for the file format)."""

    source: str
    id: str
    base: str
    description: str
    num_envs: Mapping[str, int]
    env: Mapping[str, Any]
    agents: Mapping[str, AgentChoice]
    default_agent: str
    env_class: str | None = None
    """``module:Class`` of the env to construct; None runs the base task's own env class."""
    warp_env_class: str | None = None
    """``module:Class`` of the env Isaac Lab's ``--frontend warp`` constructs (registered as ``warp_entry_point``);
    None inherits the base task's, unless the spec sets its own ``env_class``."""
    device_env: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    """Device kind (``cpu``/``cuda``) -> env overrides applied after :attr:`env` on that kind of device."""
    cameras: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    """Scene sensor name -> camera settings (see :mod:`.cameras`)."""
    state_groups: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    """Observation group name -> its joint terms (see :mod:`.state_groups`)."""
    instruction: str | None = None
    """Language instruction of the task, set on the env config as ``instruction`` and given to agents whose actor
    takes one."""


def _presets(value: Any, source: str, field: str) -> dict[str, str]:
    """A preset name for every device kind: one name for all, or a name per kind (``{cpu: tiny, cuda: full}``)."""
    if isinstance(value, str):
        return {device: value for device in ENV_DEVICES}
    names_per_device = isinstance(value, Mapping) and set(value) == set(ENV_DEVICES)
    if not names_per_device or not all(isinstance(v, str) for v in value.values()):
        raise SpecError(source, field,
                        f"expected a preset name or a mapping of {', '.join(ENV_DEVICES)} to preset names")
    return dict(value)


def _require(data: Mapping[str, Any], key: str, kind: type, source: str) -> Any:
    if key not in data:
        raise SpecError(source, key, "missing")
    value = data[key]
    if not isinstance(value, kind):
        raise SpecError(source, key, f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _class_path(data: Mapping[str, Any], key: str, source: str) -> str | None:
    """An optional ``module:Class`` field."""
    value = data.get(key)
    if value is not None and not (isinstance(value, str) and _CLASS_PATH_PATTERN.match(value)):
        raise SpecError(source, key, f"expected 'module:Class', got {value!r}")
    return value


def check_asset_value(field: str, value: Any, source: str) -> None:
    """A ``usd_path`` value must name a bundled asset or an existing file."""
    if not isinstance(value, str):
        raise SpecError(source, field, f"expected a path or 'asset:<name>', got {type(value).__name__}")
    if value.startswith(ASSET_URI_PREFIX):
        name = value[len(ASSET_URI_PREFIX) :]
        if name not in ASSET_BUILDERS:
            raise SpecError(source, field, f"unknown asset '{name}'; bundled: {', '.join(sorted(ASSET_BUILDERS))}")
        return
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(source).parent / path
    if not path.is_file():
        raise SpecError(source, field, f"asset file not found: {path}")


def parse_task_spec(path: Path) -> TaskSpec:
    """Read and shape-check one spec file. Raises :class:`SpecError` naming the file and field."""
    source = str(path)
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise SpecError(source, None, "a task spec must be a mapping")
    unknown = sorted(set(data) - _TOP_LEVEL_FIELDS)
    if unknown:
        raise SpecError(source, unknown[0], f"unknown field; allowed: {', '.join(sorted(_TOP_LEVEL_FIELDS))}")
    task_id = _require(data, "id", str, source)
    if not TASK_ID_PATTERN.match(task_id):
        raise SpecError(source, "id", f"'{task_id}' is not a valid task ID")
    base = _require(data, "base", str, source)
    env_class, warp_env_class = (_class_path(data, key, source) for key in ("env_class", "warp_env_class"))
    num_envs = data.get("num_envs", {})
    if not isinstance(num_envs, Mapping) or any(
        k not in ENV_DEVICES or isinstance(v, bool) or not isinstance(v, int) or v < 1 for k, v in num_envs.items()
    ):
        raise SpecError(source, "num_envs", f"expected a mapping of {ENV_DEVICES} to positive integers")
    env = data.get("env", {})
    if not isinstance(env, Mapping):
        raise SpecError(source, "env", f"expected a mapping, got {type(env).__name__}")
    device_env = data.get("device_env", {})
    if not isinstance(device_env, Mapping) or any(
        k not in ENV_DEVICES or not isinstance(v, Mapping) for k, v in device_env.items()
    ):
        raise SpecError(source, "device_env", f"expected a mapping of {ENV_DEVICES} to mappings of env fields")
    cameras = data.get("cameras", {})
    if not isinstance(cameras, Mapping) or any(not isinstance(v, Mapping) for v in cameras.values()):
        raise SpecError(source, "cameras", "expected a mapping of camera names to mappings of camera settings")
    state_groups = data.get("state_groups", {})
    if not isinstance(state_groups, Mapping) or any(not isinstance(v, Mapping) for v in state_groups.values()):
        raise SpecError(source, "state_groups", "expected a mapping of group names to mappings of joint terms")
    instruction = data.get("instruction")
    if instruction is not None and not (isinstance(instruction, str) and instruction.strip()):
        raise SpecError(source, "instruction", f"expected a non-empty string, got {instruction!r}")
    agents_data = _require(data, "agents", Mapping, source)
    agents = {}
    for entry_point, choice in agents_data.items():
        field = f"agents.{entry_point}"
        if not str(entry_point).endswith("_cfg_entry_point"):
            raise SpecError(source, field, "agent entry point names end in '_cfg_entry_point'")
        if not isinstance(choice, Mapping) or "preset" not in choice or set(choice) - _AGENT_FIELDS:
            raise SpecError(source, field, "expected {preset: <name> or {cpu: <name>, cuda: <name>}, overrides: {...}}")
        overrides = choice.get("overrides") or {}
        if not isinstance(overrides, Mapping):
            raise SpecError(source, f"{field}.overrides", "expected a mapping")
        presets = _presets(choice["preset"], source, f"{field}.preset")
        agents[entry_point] = AgentChoice(presets=presets, overrides=overrides)
    default_agent = data.get("default_agent", "rsl_rl")
    if f"{default_agent}_cfg_entry_point" not in agents:
        raise SpecError(source, "default_agent", f"no agent entry point '{default_agent}_cfg_entry_point'")
    return TaskSpec(
        source=source,
        id=task_id,
        base=base,
        description=str(data.get("description", "")),
        num_envs=dict(num_envs),
        env=dict(env),
        agents=agents,
        default_agent=default_agent,
        env_class=env_class,
        warp_env_class=warp_env_class,
        device_env={k: dict(v) for k, v in device_env.items()},
        cameras={str(k): dict(v) for k, v in cameras.items()},
        state_groups={str(k): dict(v) for k, v in state_groups.items()},
        instruction=instruction,
    )
