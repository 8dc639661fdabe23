"""Config entry points of spec-registered tasks, addressable as ``"module:<task id>.<entry point>"`` strings.

Isaac Lab resolves a string entry point with ``getattr(import_module(module), name)``; this module answers
with the factory :mod:`.register` stored for that name. Strings (not function objects) keep the registry
readable in ``isaaclab list_envs`` and picklable for multi-process launches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FACTORIES: dict[str, Callable[[], Any]] = {}
"""``"<task id>.<entry point>"`` -> function building that config."""


def entry_point_string(task_id: str, entry_point: str, factory: Callable[[], Any]) -> str:
    """Store ``factory`` and return the string Isaac Lab uses to find it."""
    FACTORIES[f"{task_id}.{entry_point}"] = factory
    return f"{__name__}:{task_id}.{entry_point}"


def __getattr__(name: str) -> Callable[[], Any]:
    try:
        return FACTORIES[name]
    except KeyError:
        raise AttributeError(f"no config entry point '{name}' (is the task registered?)") from None
