"""Run the project's tasks on the CPU by default when the machine has no CUDA device.

Isaac Lab's launcher gives ``--device`` the default ``"cuda:0"`` whether or not a GPU exists, and the train
and play commands copy it onto the env config, so a CPU-only machine needs ``--device cpu`` on every
command. The hook wraps ``apply_env_overrides``: for tasks registered from this project's specs, when the
user did not pass ``--device`` and CUDA is unavailable, the device stays the one the task chose (the CPU).
Other tasks and explicit ``--device`` values are untouched.
"""

from __future__ import annotations

from typing import Any

from .rebinding import rebind

_HOOKED = "_isaaclab_gr00t_device_hook"
_MODULES_USING_THE_FUNCTION = (
    "isaaclab_rl.entrypoints.common",
    "isaaclab_rl.entrypoints.backends.train_rsl_rl",
    "isaaclab_rl.entrypoints.backends.play_rsl_rl",
)


def is_project_task(task: str | None) -> bool:
    """Whether ``task`` was registered from one of this project's task specs."""
    import gymnasium as gym

    if not task:
        return False
    try:
        return "task_spec_file" in gym.spec(task.split(":")[-1]).kwargs
    except gym.error.Error:
        return False


def keep_task_device(args_cli: Any) -> bool:
    """Whether the CLI's implicit ``--device cuda:0`` should be dropped for this command."""
    import torch

    explicit = getattr(args_cli, "device_explicit", False)
    return not explicit and not torch.cuda.is_available() and is_project_task(getattr(args_cli, "task", None))


def install_device_hook() -> None:
    """Wrap Isaac Lab's ``apply_env_overrides`` wherever it is bound (idempotent)."""
    import isaaclab_rl.entrypoints.common as common

    stock = common.apply_env_overrides
    if getattr(stock, _HOOKED, False):
        return

    def apply_env_overrides(args_cli: Any, env_cfg: Any, **kwargs: Any) -> None:
        if keep_task_device(args_cli):
            args_cli.device = env_cfg.sim.device
        stock(args_cli, env_cfg, **kwargs)

    rebind("apply_env_overrides", stock, apply_env_overrides, _MODULES_USING_THE_FUNCTION, _HOOKED)
