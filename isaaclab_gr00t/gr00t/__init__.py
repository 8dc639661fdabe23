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

from .chunked_env import ChunkedActionEnv
from .config import GR00TActorCfg, GR00TCriticCfg
from .models import GR00TActor, GR00TCritic, GR00TExportError
from .runner import GR00TRunner

__all__ = [
    "ChunkedActionEnv",
    "GR00TActor",
    "GR00TActorCfg",
    "GR00TCritic",
    "GR00TCriticCfg",
    "GR00TExportError",
    "GR00TRunner",
]
