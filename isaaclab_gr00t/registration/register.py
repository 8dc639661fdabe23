"""Find task specs and agent presets, and register the tasks with gymnasium as Isaac Lab expects.

Spec folders, in order: the project's own ``tasks/``; each folder in ``$ISAACLAB_GR00T_TASK_PATH``
(``os.pathsep``-separated, files allowed too); the folders that installed packages announce through the
``isaaclab_gr00t.task_specs`` entry point group (the entry point names a module; its folder is searched).
Agent presets are looked up in an ``agents/`` folder beside the spec, then ``$ISAACLAB_GR00T_AGENT_PATH``,
then the project's own ``agents/``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from ..assets import resolve_asset_uri
from .agents import build_agent_cfg, load_agent_preset
from .cameras import add_cameras
from .entry_points import entry_point_string
from .errors import SpecError
from .overrides import apply_overrides
from .state_groups import add_state_groups
from .task_spec import TaskSpec, check_asset_value, parse_task_spec

SPEC_ENTRY_POINT_GROUP = "isaaclab_gr00t.task_specs"
"""Entry point group through which other packages announce folders of task specs."""

TASK_PATH_VARIABLE = "ISAACLAB_GR00T_TASK_PATH"
AGENT_PATH_VARIABLE = "ISAACLAB_GR00T_AGENT_PATH"


def _project_folder(name: str) -> Path:
    """``tasks/`` or ``agents/`` of a source checkout, else the copy installed under ``share/``."""
    source_tree = Path(__file__).resolve().parents[2] / name
    if source_tree.is_dir():
        return source_tree
    return Path(sys.prefix) / "share" / "isaaclab_gr00t" / name


def _paths_from_variable(variable: str) -> list[Path]:
    return [Path(p).expanduser() for p in os.environ.get(variable, "").split(os.pathsep) if p]


def spec_search_path() -> list[Path]:
    """Every folder or file searched for task specs, in registration order."""
    paths = [_project_folder("tasks"), *_paths_from_variable(TASK_PATH_VARIABLE)]
    for entry_point in importlib.metadata.entry_points(group=SPEC_ENTRY_POINT_GROUP):
        module = importlib.import_module(entry_point.value.split(":")[0])
        paths.append(Path(module.__file__).parent)
    return paths


def find_spec_files(paths: Iterable[Path]) -> list[Path]:
    """The ``*.yaml`` spec files in the given folders (sorted) and the given files themselves."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.yaml") if p.is_file()))
        elif path.is_file():
            files.append(path)
    return files


def find_agent_preset(name: str, spec_source: str) -> Path:
    """Locate preset ``name`` for the spec file ``spec_source``."""
    folders = [Path(spec_source).parent / "agents", *_paths_from_variable(AGENT_PATH_VARIABLE)]
    folders.append(_project_folder("agents"))
    for folder in folders:
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    raise SpecError(spec_source, "preset", f"agent preset '{name}' not found in {', '.join(map(str, folders))}")


def project_agent_presets() -> list[str]:
    """Names of the project's own agent presets (``agents/*.yaml``)."""
    return sorted(path.stem for path in _project_folder("agents").glob("*.yaml"))


def project_agent_cfg(name: str, device: str = "cpu") -> Any:
    """The runner config of the project's agent preset ``agents/<name>.yaml``, built as for a task that names it.

    The Gymnasium command, the benchmarks and the torch-only test task take their settings from here, so each
    preset is written once.
    """
    path = _project_folder("agents") / f"{name}.yaml"
    if not path.is_file():
        raise SpecError(str(path), None, f"no such agent preset; the project's presets: {project_agent_presets()}")
    return build_agent_cfg(load_agent_preset(path), {}, str(path), device)


def default_device() -> str:
    """The device a task uses when the user names none: the first GPU if there is one, else the CPU."""
    return "cuda:0" if torch.cuda.is_available() else "cpu"


def _load_class(path: str) -> Any:
    """The object a ``module:attr`` entry point string names."""
    module_name, _, name = path.partition(":")
    return getattr(importlib.import_module(module_name), name)


def _base_env_cfg(base: str) -> Any:
    entry = gym.spec(base).kwargs.get("env_cfg_entry_point")
    if isinstance(entry, str):
        entry = _load_class(entry)
    cfg = entry() if callable(entry) else entry
    return cfg() if callable(cfg) else cfg


def _env_variants(cfg: Any) -> list[Any]:
    """The env configs inside ``cfg``: the config itself, or every variant of an Isaac Lab ``PresetCfg``."""
    from isaaclab_tasks.utils import PresetCfg

    if not isinstance(cfg, PresetCfg):
        return [cfg]
    values = [getattr(cfg, f.name) for f in dataclasses.fields(cfg) if not f.name.startswith("_")]
    return [v for v in values if dataclasses.is_dataclass(v)]


def _asset_converter(spec: TaskSpec, resolve: bool) -> Callable[[str, Any], Any]:
    """Checks every ``usd_path`` value of the spec; with ``resolve``, also turns it into a built local file."""

    def convert(field: str, value: Any) -> Any:
        if not field.endswith("usd_path"):
            return value
        check_asset_value(field, value, spec.source)
        if not resolve:
            return value
        if not value.startswith("asset:") and not Path(value).expanduser().is_absolute():
            value = str(Path(spec.source).parent / value)
        return resolve_asset_uri(value)

    return convert


def build_env_cfg(spec: TaskSpec, resolve_assets: bool = True) -> Any:
    """The base task's env config with the spec's overrides and this machine's device defaults."""
    cfg = _base_env_cfg(spec.base)
    device = default_device()
    convert = _asset_converter(spec, resolve=resolve_assets)
    device_kind = device.split(":")[0]
    for variant in _env_variants(cfg):
        apply_overrides(variant, spec.env, spec.source, prefix="env", convert=convert)
        device_env = spec.device_env.get(device_kind, {})
        apply_overrides(variant, device_env, spec.source, prefix=f"device_env.{device_kind}", convert=convert)
        add_cameras(variant, spec.cameras, spec.source)
        add_state_groups(variant, spec.state_groups, spec.source)
        if spec.instruction is not None:
            # agents read it from the env config (env.unwrapped.cfg.instruction); Hydra overrides it as env.instruction
            variant.instruction = spec.instruction
        if device_kind in spec.num_envs:
            variant.scene.num_envs = spec.num_envs[device_kind]
        variant.sim.device = device
    return cfg


def build_task_agent_cfg(spec: TaskSpec, entry_point: str, device: str | None = None) -> Any:
    """The runner config of one of the spec's agent entry points, for ``device`` (default: this machine's)."""
    choice = spec.agents[entry_point]
    device = device or default_device()
    preset_path = find_agent_preset(choice.presets[device.split(":")[0]], spec.source)
    source = f"{spec.source} (preset {preset_path})"
    cfg = build_agent_cfg(load_agent_preset(preset_path), choice.overrides, source, device)
    actor_overrides = choice.overrides.get("actor", {})
    # an actor that takes a language instruction (the GR00T actor) gets the task's, unless the agent sets its own
    if spec.instruction is not None and hasattr(cfg.actor, "instruction") and "instruction" not in actor_overrides \
            and "actor.instruction" not in choice.overrides:
        cfg.actor.instruction = spec.instruction
    return cfg


def register_task_spec(spec: TaskSpec) -> None:
    """Validate ``spec`` fully (base, fields, types, presets) and register its task ID."""
    if spec.id in gym.registry:
        raise SpecError(spec.source, "id", f"task '{spec.id}' is already registered")
    if spec.base not in gym.registry:
        raise SpecError(spec.source, "base", f"unknown base task '{spec.base}'")
    build_env_cfg(spec, resolve_assets=False)
    kwargs: dict[str, Any] = {
        "env_cfg_entry_point": entry_point_string(spec.id, "env_cfg", lambda: build_env_cfg(spec)),
        "default_agent": spec.default_agent,
        "task_spec_file": spec.source,
    }
    warp_entry_point = _warp_entry_point(spec)
    if warp_entry_point is not None:
        kwargs["warp_entry_point"] = warp_entry_point
    for entry_point in spec.agents:
        for device in ("cpu", "cuda:0"):  # the preset of either device kind must build
            build_task_agent_cfg(spec, entry_point, device)
        kwargs[entry_point] = entry_point_string(
            spec.id, entry_point, lambda ep=entry_point: build_task_agent_cfg(spec, ep)
        )
    gym.register(id=spec.id, entry_point=_env_entry_point(spec), disable_env_checker=True, kwargs=kwargs)


def _import_spec_class(spec: TaskSpec, field: str) -> Any:
    """The object the spec's ``module:Class`` field names; a SpecError naming the field if it cannot be imported."""
    path = getattr(spec, field)
    try:
        return _load_class(path)
    except (ImportError, AttributeError) as exc:
        raise SpecError(spec.source, field, f"cannot import '{path}': {exc}") from exc


def _env_entry_point(spec: TaskSpec) -> Any:
    """The base task's env entry point, or the spec's ``env_class`` once checked to be a subclass of it."""
    base_entry_point = gym.spec(spec.base).entry_point
    if spec.env_class is None:
        return base_entry_point
    env_class = _import_spec_class(spec, "env_class")
    base_class = _load_class(base_entry_point) if isinstance(base_entry_point, str) else base_entry_point
    if not (isinstance(env_class, type) and isinstance(base_class, type) and issubclass(env_class, base_class)):
        raise SpecError(
            spec.source, "env_class", f"'{spec.env_class}' is not a subclass of the base task's env {base_entry_point}"
        )
    return spec.env_class


def _warp_entry_point(spec: TaskSpec) -> str | None:
    """The env class ``--frontend warp`` builds: the spec's ``warp_env_class`` once imported, else the base task's.

    Isaac Lab finds a direct task's Warp twin by the name of its env entry point; a spec with its own
    ``env_class`` breaks that mirror, so it names the twin here. Such a spec inherits no twin: its env class may
    change the task in Python, which the base task's twin would not.
    """
    if spec.warp_env_class is None:
        return None if spec.env_class else gym.spec(spec.base).kwargs.get("warp_entry_point")
    warp_class = _import_spec_class(spec, "warp_env_class")
    if not isinstance(warp_class, type):
        raise SpecError(spec.source, "warp_env_class", f"'{spec.warp_env_class}' is not a class")
    return spec.warp_env_class


def register_spec_files(files: Iterable[Path]) -> dict[str, SpecError]:
    """Register every spec it can; a bad spec is reported and skipped, never breaking the others.

    Specs whose base is another spec's task are registered after it, whatever the file order.

    Returns:
        The error of each spec file that could not be registered.
    """
    errors: dict[str, SpecError] = {}
    pending: list[TaskSpec] = []
    for path in files:
        try:
            pending.append(parse_task_spec(path))
        except SpecError as exc:
            errors[str(path)] = exc
    pending_ids = {spec.id for spec in pending}
    while pending:
        ready = [s for s in pending if s.base in gym.registry or s.base not in pending_ids or s.base == s.id]
        if not ready:  # the rest wait on each other: a cycle
            ready = pending
        for spec in ready:
            pending.remove(spec)
            pending_ids = {s.id for s in pending}
            try:
                register_task_spec(spec)
            except SpecError as exc:
                errors[spec.source] = exc
            except Exception as exc:  # a broken base config must not take the other tasks down
                errors[spec.source] = SpecError(spec.source, None, f"{type(exc).__name__}: {exc}")
    for exc in errors.values():
        print(f"[isaaclab_gr00t] task spec skipped: {exc}", file=sys.stderr)
    return errors
