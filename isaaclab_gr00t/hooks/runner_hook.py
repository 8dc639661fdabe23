"""Let agent configs name any runner class as ``"package.module:Class"``.

Isaac Lab 3.0's ``isaaclab_rl.rsl_rl.create_rsl_rl_runner`` builds only ``OnPolicyRunner`` and
``DistillationRunner``. The hook wraps it: a ``class_name`` of the form ``"module:Class"`` is resolved with
rsl_rl's own ``resolve_callable`` and built with the stock runner signature; every other name goes to
Isaac Lab's function unchanged, so stock names keep working and unknown names fail with Isaac Lab's error.
"""

from __future__ import annotations

from typing import Any

from .rebinding import rebind

_HOOKED = "_isaaclab_gr00t_runner_hook"
_MODULES_USING_THE_FACTORY = (
    "isaaclab_rl.rsl_rl",
    "isaaclab_rl.rsl_rl.utils",
    "isaaclab_rl.entrypoints.backends.train_rsl_rl",
    "isaaclab_rl.entrypoints.backends.play_rsl_rl",
    "isaaclab_rl.entrypoints.backends.export_rsl_rl",
)


def create_runner(env: Any, agent_cfg: Any, log_dir: str | None = None, *, stock_factory: Any = None) -> Any:
    """Build the runner named by ``agent_cfg.class_name`` (see the module docstring)."""
    from isaaclab.utils import to_dict
    from rsl_rl.utils import resolve_callable

    if stock_factory is None:
        import isaaclab_rl.rsl_rl.utils as rsl_rl_utils

        stock_factory = getattr(rsl_rl_utils.create_rsl_rl_runner, "__wrapped__", rsl_rl_utils.create_rsl_rl_runner)
    # Isaac Lab keeps "module:attr" strings as lazily resolved callables; resolve a plain copy here.
    class_name = str.__str__(agent_cfg.class_name)
    if ":" not in class_name:
        return stock_factory(env, agent_cfg, log_dir=log_dir)
    try:
        runner_class = resolve_callable(class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"Unsupported runner class: {class_name} ({exc})") from exc
    return runner_class(env, to_dict(agent_cfg), log_dir=log_dir, device=agent_cfg.device)


def install_runner_hook() -> None:
    """Replace Isaac Lab's runner factory by :func:`create_runner` wherever it is bound (idempotent)."""
    import isaaclab_rl.rsl_rl.utils as rsl_rl_utils

    stock = rsl_rl_utils.create_rsl_rl_runner
    if getattr(stock, _HOOKED, False):
        return

    def create_rsl_rl_runner(env: Any, agent_cfg: Any, log_dir: str | None = None) -> Any:
        return create_runner(env, agent_cfg, log_dir, stock_factory=stock)

    rebind("create_rsl_rl_runner", stock, create_rsl_rl_runner, _MODULES_USING_THE_FACTORY, _HOOKED)
