"""State normalization and action un-normalization with an embodiment's statistics, one mode per key.

GR00T N1.5 sees normalized states zero-padded to ``max_state_dim`` (64) and predicts normalized actions padded to
``max_action_dim`` (32). The checkpoint's ``experiment_cfg/metadata.json`` holds, per embodiment,
``statistics.{state,action}.{key}.{min,max,mean,std,q01,q99}``; the keys' dimensions, concatenated in file order,
are the robot's state or action vector. NVIDIA's data configs choose a mode per key (``StateActionTransform``'s
``normalization_modes``); the modes here follow its published formulas:

- ``min_max``: ``2 (x - min) / (max - min) - 1``, a constant dimension (min == max) maps to 0; no clipping either
  way (values outside the statistics' range leave [-1, 1]).
- ``q99``: ``2 (x - q01) / (q99 - q01) - 1`` clipped to [-1, 1], a constant dimension passes through (then
  clipped); the inverse does not clip.
- ``mean_std``: ``(x - mean) / std``, a dimension of std 0 passes through.
- ``binary``: ``x > 0.5`` as 0/1, both ways (grippers).
- ``sin_cos`` (state only): ``[sin x, cos x]``, twice the key's width (NVIDIA's ``StateActionSinCosTransform``,
  GR1's joint angles).

Without statistics (a new robot whose env already gives values in about [-1, 1]) both maps are the identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .n15.embodiments import STATISTIC_NAMES, EmbodimentStatistics

Statistics = dict[str, torch.Tensor]
"""One key's statistics by name (``min``, ``max``, ``mean``, ``std``, ``q01``, ``q99``), each ``(dim,)``."""


class NormalizationMode:
    """How one key's raw values map to the model's space and back."""

    name: str = ""
    invertible: bool = True
    """Whether model outputs can be mapped back (actions need it)."""

    def width(self, dim: int) -> int:
        """Normalized width of a key of ``dim`` raw dimensions."""
        return dim

    def normalize(self, x: torch.Tensor, stats: Statistics) -> torch.Tensor:
        raise NotImplementedError

    def unnormalize(self, x: torch.Tensor, stats: Statistics) -> torch.Tensor:
        raise NotImplementedError


def _to_unit_range(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
    """``2 (x - low) / (high - low) - 1`` where ``high != low``, else ``constant``."""
    span = high - low
    varies = span != 0
    scaled = 2.0 * (x - low) / torch.where(varies, span, torch.ones_like(span)) - 1.0
    return torch.where(varies, scaled, constant)


def _from_unit_range(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    return (x + 1.0) / 2.0 * (high - low) + low


class MinMax(NormalizationMode):
    name = "min_max"

    def normalize(self, x, stats):
        return _to_unit_range(x, stats["min"], stats["max"], torch.zeros_like(x))

    def unnormalize(self, x, stats):
        return _from_unit_range(x, stats["min"], stats["max"])


class Q99(NormalizationMode):
    name = "q99"

    def normalize(self, x, stats):
        return _to_unit_range(x, stats["q01"], stats["q99"], x).clamp(-1.0, 1.0)

    def unnormalize(self, x, stats):
        return _from_unit_range(x, stats["q01"], stats["q99"])


class MeanStd(NormalizationMode):
    name = "mean_std"

    def normalize(self, x, stats):
        varies = stats["std"] != 0
        scaled = (x - stats["mean"]) / torch.where(varies, stats["std"], torch.ones_like(stats["std"]))
        return torch.where(varies, scaled, x)

    def unnormalize(self, x, stats):
        return x * stats["std"] + stats["mean"]


class Binary(NormalizationMode):
    name = "binary"

    def normalize(self, x, stats):
        return (x > 0.5).to(x.dtype)

    def unnormalize(self, x, stats):
        return (x > 0.5).to(x.dtype)


class SinCos(NormalizationMode):
    name = "sin_cos"
    invertible = False

    def width(self, dim: int) -> int:
        return 2 * dim

    def normalize(self, x, stats):
        return torch.cat([x.sin(), x.cos()], dim=-1)


MODES: dict[str, NormalizationMode] = {mode.name: mode for mode in (MinMax(), Q99(), MeanStd(), Binary(), SinCos())}
"""Mode name -> mode; the names of NVIDIA's data configs (``sin_cos`` for its sin/cos state transform)."""

DEFAULT_MODE = "min_max"
"""The mode of a key that no cfg or metadata names (most keys of NVIDIA's data configs)."""


@dataclass(frozen=True)
class KeySlot:
    """Where one key sits in the raw and the normalized vector, and its mode."""

    name: str
    mode: NormalizationMode
    raw: slice
    normalized: slice


class StatisticsMap(nn.Module):
    """The state or action map of one embodiment: per key, its statistics' slice and its mode."""

    def __init__(self, keys: list[KeySlot], statistics: Statistics) -> None:
        """Store the keys (empty for the identity) and the statistics concatenated over them, ``(raw dim,)`` each."""
        super().__init__()
        self.keys = keys
        for name, tensor in statistics.items():
            self.register_buffer(name, tensor.float(), persistent=False)

    @property
    def identity(self) -> bool:
        return not self.keys

    @property
    def dim(self) -> int | None:
        """Raw dimensions the statistics describe (None for the identity)."""
        return None if self.identity else self.keys[-1].raw.stop

    @property
    def normalized_dim(self) -> int | None:
        """Dimensions after normalization (None for the identity)."""
        return None if self.identity else self.keys[-1].normalized.stop

    def modes(self, modality: str) -> dict[str, str]:
        """``"<modality>.<key>"`` -> mode name, as :func:`statistics_map` takes them."""
        return {f"{modality}.{key.name}": key.mode.name for key in self.keys}

    def _stats(self, key: KeySlot) -> Statistics:
        return {name: getattr(self, name)[key.raw] for name in STATISTIC_NAMES}

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Raw values ``(..., dim)`` -> the model's values ``(..., normalized_dim)``."""
        if self.identity:
            return x
        return torch.cat([key.mode.normalize(x[..., key.raw], self._stats(key)) for key in self.keys], dim=-1)

    def unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        """The model's values ``(..., normalized_dim)`` -> raw values ``(..., dim)``."""
        if self.identity:
            return x
        return torch.cat([key.mode.unnormalize(x[..., key.normalized], self._stats(key)) for key in self.keys], dim=-1)


def statistics_map(
    statistics: EmbodimentStatistics | None,
    modality: str,
    env_dim: int,
    source: str,
    modes: dict[str, str] | None = None,
) -> StatisticsMap:
    """Build the ``modality`` ("state" or "action") map of an embodiment, checked against the env's size.

    Args:
        statistics: The embodiment's statistics from ``metadata.json``, or None for the identity.
        modality: ``state`` or ``action``.
        env_dim: The env's state or action size that the map is applied to.
        source: What to name in errors (the metadata file and embodiment).
        modes: ``"<modality>.<key>"`` -> mode name (the model's key names, e.g. ``"action.gripper": "binary"``);
            a key not named takes the mode the metadata recorded for it (a checkpoint this package fine-tuned),
            else ``min_max``. Entries of the other modality are ignored here.

    Raises:
        ValueError: If the statistics' concatenated size differs from ``env_dim``, a mode is unknown, an action key
            asks for a mode without an inverse, or ``modes`` names a key of this modality the statistics lack.
    """
    if statistics is None:
        return StatisticsMap([], {})
    keys = getattr(statistics, modality)
    prefix = modality + "."
    chosen = {name[len(prefix):]: mode for name, mode in {**statistics.modes, **(modes or {})}.items()
              if name.startswith(prefix)}
    unknown = sorted(prefix + name for name in set(chosen) - set(keys))
    if unknown:
        raise ValueError(f"{source}: normalization modes name {unknown}, which the statistics lack ({modality} keys: "
                         f"{', '.join(keys)}).")
    slots, raw, normalized = [], 0, 0
    for name, key in keys.items():
        mode_name = chosen.get(name, DEFAULT_MODE)
        if mode_name not in MODES:
            raise ValueError(f"{source}: {prefix}{name}: unknown normalization mode {mode_name!r}; known: "
                             f"{', '.join(MODES)}.")
        mode = MODES[mode_name]
        if not mode.invertible and modality == "action":
            raise ValueError(f"{source}: {prefix}{name}: mode {mode_name!r} has no inverse; use it for state keys.")
        width = mode.width(key.dim)
        slots.append(KeySlot(name, mode, slice(raw, raw + key.dim), slice(normalized, normalized + width)))
        raw, normalized = raw + key.dim, normalized + width
    if raw != env_dim:
        raise ValueError(
            f"{source}: the {modality} statistics describe {raw} dimensions ({', '.join(keys)}) but the env's"
            f" {modality} has {env_dim}; set the actor cfg field 'use_statistics' to False for a robot of its own."
        )
    # a camera-only robot has no state keys: empty statistics, the identity on its (N, 0) state
    concatenated = {stat: torch.cat([torch.zeros(0), *(torch.as_tensor(getattr(keys[k], stat), dtype=torch.float32)
                                                       .flatten() for k in keys)]) for stat in STATISTIC_NAMES}
    return StatisticsMap(slots, concatenated)


def pad_to(x: torch.Tensor, width: int, what: str) -> torch.Tensor:
    """Zero-pad the last dimension of ``x`` to ``width`` (the model's ``max_state_dim`` or ``max_action_dim``)."""
    if x.shape[-1] > width:
        raise ValueError(f"The env's {what} has {x.shape[-1]} dimensions, more than the model's {width}.")
    return torch.nn.functional.pad(x, (0, width - x.shape[-1]))
