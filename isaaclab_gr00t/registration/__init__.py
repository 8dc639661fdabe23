"""Task registration, loaded by Isaac Lab through the ``isaaclab.tasks`` entry point.

Importing this module registers the project's tasks and the ones users declare in spec files (see
:mod:`.task_spec`), and installs the runner hook so agent configs can name the project's runner.
"""

import isaaclab_tasks  # noqa: F401  (registers the Isaac Lab base tasks the specs build on)

from ..hooks import install_hooks
from .agents import build_agent_cfg, load_agent_preset
from .errors import SpecError
from .register import (
    find_spec_files,
    project_agent_cfg,
    project_agent_presets,
    register_spec_files,
    register_task_spec,
    spec_search_path,
)
from .task_spec import TaskSpec, parse_task_spec

install_hooks()
REGISTRATION_ERRORS = register_spec_files(find_spec_files(spec_search_path()))
"""Spec file -> error, for every spec that was skipped at import."""

__all__ = [
    "REGISTRATION_ERRORS",
    "SpecError",
    "TaskSpec",
    "build_agent_cfg",
    "find_spec_files",
    "load_agent_preset",
    "parse_task_spec",
    "project_agent_cfg",
    "project_agent_presets",
    "register_spec_files",
    "register_task_spec",
    "spec_search_path",
]
