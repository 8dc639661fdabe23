"""GR00T N1.5 as published: the model, its checkpoint folder and its embodiments.

Public names:

- :class:`N15Config` (``preset("full" | "tiny")``, ``from_checkpoint(ckpt_dir, processor_dir)``).
- :class:`GR00TN15` (``.backbone``: :class:`EagleBackbone`, ``.action_head``: :class:`FlowMatchingActionHead`).
- :func:`load_checkpoint` -> :class:`N15Checkpoint`, :func:`save_checkpoint`, :func:`published_state_dict`.
- :func:`resolve_embodiment` -> :class:`Embodiment`, :data:`PUBLISHED_SLOTS`.
- :class:`CheckpointError` and its subclasses (``errors``).
"""

from .action_head import FlowMatchingActionHead
from .backbone import EagleBackbone
from .checkpoint import N15Checkpoint, load_checkpoint, published_state_dict, save_checkpoint
from .config import N15Config
from .embodiments import PUBLISHED_SLOTS, Embodiment, EmbodimentStatistics, KeyStatistics, resolve_embodiment
from .errors import (
    CheckpointError,
    CheckpointNotFoundError,
    ConfigError,
    KeyMismatchError,
    MetadataError,
    MissingShardError,
    MissingTokenizerError,
    ShapeMismatchError,
    UnknownEmbodimentError,
)
from .model import GR00TN15

__all__ = [
    "CheckpointError",
    "CheckpointNotFoundError",
    "ConfigError",
    "EagleBackbone",
    "Embodiment",
    "EmbodimentStatistics",
    "FlowMatchingActionHead",
    "GR00TN15",
    "KeyMismatchError",
    "KeyStatistics",
    "MetadataError",
    "MissingShardError",
    "MissingTokenizerError",
    "N15Checkpoint",
    "N15Config",
    "PUBLISHED_SLOTS",
    "ShapeMismatchError",
    "UnknownEmbodimentError",
    "load_checkpoint",
    "resolve_embodiment",
    "published_state_dict",
    "save_checkpoint",
]
