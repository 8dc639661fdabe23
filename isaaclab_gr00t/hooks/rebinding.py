"""Replace a function of Isaac Lab by a wrapper in every module that bound it by name."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def rebind(
    name: str, stock: Callable[..., Any], wrapper: Callable[..., Any], modules: tuple[str, ...], marker: str
) -> None:
    """Bind ``wrapper`` as ``name`` in each already-imported module of ``modules``.

    Modules imported later pick the wrapper up from the first module (they import it from there by name).
    ``wrapper.__wrapped__`` keeps ``stock``; ``marker`` flags the wrapper so a second install is a no-op.
    """
    wrapper.__doc__ = stock.__doc__
    wrapper.__wrapped__ = stock
    setattr(wrapper, marker, True)
    for module_name in modules:
        module = sys.modules.get(module_name)
        if module is not None:
            setattr(module, name, wrapper)
