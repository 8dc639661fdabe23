"""Embodiment slots of GR00T N1.5 and the per-embodiment statistics of a checkpoint.

The action head keeps one set of state-encoder, action-encoder and action-decoder weights per slot. The slot of a
published embodiment tag is NVIDIA's ``EMBODIMENT_TAG_MAPPING`` of the N1.5 release; ``new_embodiment`` (31) is the
slot meant for a robot the base model has not seen (presumably untrained in the base checkpoint).
A checkpoint's ``experiment_cfg/metadata.json`` holds, per tag, the statistics that normalize the state and
un-normalize the actions: ``{tag: {statistics: {state|action: {key: {max, min, mean, std, q01, q99}}},
modalities, embodiment_tag}}``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import MetadataError, UnknownEmbodimentError, read_json_object

PUBLISHED_SLOTS: dict[str, int] = {
    "new_embodiment": 31,
    "oxe_droid": 17,
    "agibot_genie1": 26,
    "gr1": 24,
}
"""Embodiment tag -> action-head slot, as released with GR00T N1.5."""

STATISTIC_NAMES = ("max", "min", "mean", "std", "q01", "q99")
"""Statistics stored per state/action key."""

METADATA_FILE = os.path.join("experiment_cfg", "metadata.json")
"""Path of the statistics file inside a checkpoint folder."""

EMBODIMENT_SLOT_FIELD = "isaaclab_gr00t_embodiment_slot"
"""This package's extra field in a tag's ``metadata.json`` entry: the action-head slot of a tag that is not published
(a fine-tune's own robot); :func:`resolve_embodiment` reads it, so the checkpoint loads by that tag."""

NORMALIZATION_MODES_FIELD = "isaaclab_gr00t_normalization_modes"
"""This package's extra field in a tag's ``metadata.json`` entry: ``{"state.<key>" | "action.<key>": mode}``, the
normalization modes a fine-tune trained with (``python -m isaaclab_gr00t.gr00t.finetune`` writes it), so that a
model loading the checkpoint normalizes the same way. NVIDIA's code ignores it (its data config holds the modes)."""


@dataclass(frozen=True, eq=False)
class KeyStatistics:
    """Statistics of one state or action key, each an array over that key's dims."""

    max: np.ndarray
    min: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    q01: np.ndarray
    q99: np.ndarray

    @property
    def dim(self) -> int:
        """Dims of the key."""
        return int(self.max.shape[0])


@dataclass(frozen=True)
class EmbodimentStatistics:
    """Per-key statistics in the file's key order (the order the published transforms concatenate keys in)."""

    state: dict[str, KeyStatistics]
    action: dict[str, KeyStatistics]
    modalities: dict[str, Any]
    """The file's ``modalities`` entry, kept as read."""
    modes: dict[str, str] = field(default_factory=dict)
    """``"state.<key>"`` / ``"action.<key>"`` -> normalization mode, from :data:`NORMALIZATION_MODES_FIELD`."""


@dataclass(frozen=True)
class Embodiment:
    """A resolved embodiment: its tag, action-head slot and statistics."""

    name: str
    slot_id: int
    statistics: EmbodimentStatistics | None
    """None when the metadata has no entry for this tag (e.g. ``new_embodiment`` of the base checkpoint)."""


def read_metadata(path: str) -> dict[str, Any]:
    """Parse ``metadata.json``; raise :class:`MetadataError` naming the file when it is not a JSON object."""
    return read_json_object(path, MetadataError, "a JSON object keyed by embodiment tag")


def resolve_embodiment(
    name_or_id: str | int, metadata: Mapping[str, Any] | None, extra_slots: Mapping[str, int] | None = None
) -> Embodiment:
    """Find an embodiment by tag or slot id and attach its statistics from ``metadata``.

    Args:
        name_or_id: A tag (``"new_embodiment"``, ``"gr1"``, ...) or a slot id.
        metadata: Parsed ``metadata.json``, or None.
        extra_slots: More tag -> slot entries (e.g. a fine-tuned checkpoint's own tag such as RLinf's
            ``{"libero_franka": 31}``); they, and the slots ``metadata`` records (:data:`EMBODIMENT_SLOT_FIELD`),
            take precedence over the published table.

    Raises:
        UnknownEmbodimentError: If the tag or id is not in the table; the message names the known ones.
        MetadataError: If the tag's metadata entry is malformed.
    """
    recorded = {tag: entry[EMBODIMENT_SLOT_FIELD] for tag, entry in (metadata or {}).items()
                if isinstance(entry, dict) and isinstance(entry.get(EMBODIMENT_SLOT_FIELD), int)}
    slots = {**PUBLISHED_SLOTS, **recorded, **(extra_slots or {})}
    if isinstance(name_or_id, (int, np.integer)) and not isinstance(name_or_id, bool):
        names = [name for name, slot in slots.items() if slot == int(name_or_id)]
        if not names:
            raise UnknownEmbodimentError(f"Unknown embodiment slot id {name_or_id}: known slots are {_known(slots)}.")
        # A slot shared by several tags (e.g. an extra tag on slot 31) resolves to the one the metadata describes.
        name = next((n for n in names if metadata and n in metadata), names[0])
    else:
        name = str(name_or_id)
        if name not in slots:
            raise UnknownEmbodimentError(f"Unknown embodiment '{name}': known embodiments are {_known(slots)}.")
    entry = (metadata or {}).get(name)
    return Embodiment(name=name, slot_id=slots[name], statistics=None if entry is None else _statistics(name, entry))


def _known(slots: Mapping[str, int]) -> str:
    return ", ".join(f"'{name}' (slot {slot})" for name, slot in sorted(slots.items(), key=lambda item: item[1]))


def _statistics(tag: str, entry: Any) -> EmbodimentStatistics:
    """Parse one tag's metadata entry."""
    if not isinstance(entry, dict) or not isinstance(entry.get("statistics"), dict):
        raise MetadataError(f"metadata.json entry '{tag}': expected an object with a 'statistics' object.")
    stats = entry["statistics"]
    groups = {}
    for group in ("state", "action"):
        keys = stats.get(group, {})
        if not isinstance(keys, dict):
            raise MetadataError(f"metadata.json entry '{tag}': statistics.{group} is not an object.")
        groups[group] = {key: _key_statistics(f"{tag}.statistics.{group}.{key}", value) for key, value in keys.items()}
    modes = entry.get(NORMALIZATION_MODES_FIELD, {})
    if not isinstance(modes, dict) or not all(isinstance(mode, str) for mode in modes.values()):
        raise MetadataError(f"metadata.json entry '{tag}': {NORMALIZATION_MODES_FIELD} is not an object of mode "
                            "names.")
    return EmbodimentStatistics(state=groups["state"], action=groups["action"],
                                modalities=entry.get("modalities", {}), modes=modes)


def _key_statistics(where: str, value: Any) -> KeyStatistics:
    """Parse ``{max, min, mean, std, q01, q99}``, each a list of equal length."""
    if not isinstance(value, dict):
        raise MetadataError(f"metadata.json {where}: expected an object with {', '.join(STATISTIC_NAMES)}.")
    missing = [name for name in STATISTIC_NAMES if name not in value]
    if missing:
        raise MetadataError(f"metadata.json {where}: missing {', '.join(missing)}.")
    arrays = {name: np.asarray(value[name], dtype=np.float64).reshape(-1) for name in STATISTIC_NAMES}
    lengths = {name: array.shape[0] for name, array in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise MetadataError(f"metadata.json {where}: statistics of different lengths {lengths}.")
    return KeyStatistics(**arrays)
