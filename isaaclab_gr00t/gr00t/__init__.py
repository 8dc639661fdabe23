"""GR00T N1.5 as rsl-rl-lib 5.x actor and critic models, fine-tuned with PPO (docs/gr00t.md).

Public names:

- :class:`GR00TRunner`: PPO37Runner plus action-chunk execution (``class_name`` ``isaaclab_gr00t.gr00t:GR00TRunner``).
- :class:`GR00TActor`, :class:`GR00TCritic`: models (``class_name`` ``isaaclab_gr00t.gr00t:GR00TActor`` /
  ``...:GR00TCritic``).
- :class:`GR00TActorCfg`, :class:`GR00TCriticCfg`: their Isaac Lab configclasses.
- :class:`GR00TExportError`: raised by ``as_jit``/``as_onnx`` (a ``NotImplementedError``).
- :class:`ChunkedActionEnv`: executes ``execute_steps`` chunk actions per PPO step.
- :mod:`isaaclab_gr00t.gr00t.n15`: the published N1.5 model, its checkpoint folder and embodiments.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Names are imported on first use: the task registration reads only the configclasses, and the models pull in
# transformers (seconds of start-up for every `isaaclab` command that never builds a GR00T agent).
_SOURCES = {
    "ChunkedActionEnv": ".chunked_env",
    "GR00TActor": ".models",
    "GR00TActorCfg": ".config",
    "GR00TCritic": ".models",
    "GR00TCriticCfg": ".config",
    "GR00TExportError": ".models",
    "GR00TRunner": ".runner",
}

__all__ = [
    "ChunkedActionEnv",
    "GR00TActor",
    "GR00TActorCfg",
    "GR00TCritic",
    "GR00TCriticCfg",
    "GR00TExportError",
    "GR00TRunner",
]

if TYPE_CHECKING:
    from .chunked_env import ChunkedActionEnv
    from .config import GR00TActorCfg, GR00TCriticCfg
    from .models import GR00TActor, GR00TCritic, GR00TExportError
    from .runner import GR00TRunner


def __getattr__(name: str):
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_SOURCES[name], __name__), name)
