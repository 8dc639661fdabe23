"""Reading a GR00T post-training dataset: LeRobot v2 plus ``meta/modality.json`` (layout in :mod:`.layout`).

:meth:`GR00TDataset.open` validates the whole folder before any work, and raises :class:`DatasetError` naming the
file and the field of the first problem. Any dataset in the layout is read, not only this package's:
``modality.json`` decides which parquet columns hold the state and action keys (a key's own ``original_key``
column, else ``observation.state`` / ``action``, sliced by ``start``/``end``) and which videos are views.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..n15.embodiments import KeyStatistics
from .layout import (
    ACTION_COLUMN,
    CHUNKS_SIZE,
    CODEBASE_VERSIONS,
    EPISODES_FILE,
    INFO_FILE,
    MODALITY_FILE,
    STATE_COLUMN,
    STATISTIC_NAMES,
    STATS_FILE,
    TASK_ANNOTATION,
    TASK_COLUMN,
    TASKS_FILE,
    VIDEO_PREFIX,
    DatasetError,
    Episode,
)

TASK_INDEX_COLUMN = "task_index"
"""LeRobot's per-frame task column, the instruction's source when ``modality.json`` names no task annotation."""
REWARD_COLUMN = "next.reward"
DONE_COLUMN = "next.done"


@dataclass(frozen=True)
class VectorKey:
    """A state or action key: ``column[:, start:end]``."""

    column: str
    start: int
    end: int


@dataclass
class _EpisodeData:
    """One episode's validated columns, kept from :meth:`GR00TDataset.open`."""

    index: int
    vectors: dict[str, np.ndarray]
    """``"state.<key>"`` / ``"action.<key>"`` -> ``(T, end - start)`` float32."""
    instruction: str
    rewards: np.ndarray | None
    dones: np.ndarray | None


class GR00TDataset:
    """A validated dataset folder; episodes' vectors are read at :meth:`open`, videos at :meth:`episode`."""

    def __init__(self, root: str, info: dict, state_keys: dict[str, VectorKey], action_keys: dict[str, VectorKey],
                 video_keys: dict[str, str], episodes: list[_EpisodeData], stats: dict[str, Any] | None) -> None:
        self.root = root
        self.info = info
        self._state_keys, self._action_keys = state_keys, action_keys
        self.video_keys = video_keys
        """Modality video key -> its ``original_key`` column (the video folder's name)."""
        self._episodes = episodes
        self._stats = stats

    # ------------------------------------------------------------------ API

    @classmethod
    def open(cls, root: str) -> GR00TDataset:
        """Validate ``root`` entirely and open it.

        Raises:
            DatasetError: A missing ``meta/modality.json``; a missing or unsupported ``info.json`` field; a
                missing parquet or video file; a vector column shorter than ``modality.json``'s ranges; NaN/inf
                values; a missing instruction annotation or task index.
        """
        if not os.path.isdir(root):
            raise DatasetError(root, "folder", "not found")
        info = _read_info(root)
        state_keys, action_keys, video_keys, task_column = _read_modality(root)
        tasks = _read_tasks(root)
        episode_lengths = _read_episode_lengths(root)
        episodes = [_read_episode(root, info, index, length, state_keys, action_keys, task_column, tasks)
                    for index, length in episode_lengths]
        for index, _ in episode_lengths:
            for column in video_keys.values():
                path = _video_path(root, info, index, column)
                if not os.path.isfile(path):
                    raise DatasetError(path, f"video '{column}'", f"not found (episode {index})")
        stats = _read_json(os.path.join(root, STATS_FILE)) if os.path.isfile(os.path.join(root, STATS_FILE)) else None
        return cls(root, info, state_keys, action_keys, video_keys, episodes, stats)

    @property
    def fps(self) -> float:
        return float(self.info["fps"])

    @property
    def num_episodes(self) -> int:
        return len(self._episodes)

    @property
    def episode_lengths(self) -> list[int]:
        return [len(next(iter(e.vectors.values()))) for e in self._episodes]

    @property
    def state_keys(self) -> dict[str, tuple[int, int]]:
        """State key -> (start, end) in its column, in ``modality.json`` order."""
        return {key: (v.start, v.end) for key, v in self._state_keys.items()}

    @property
    def action_keys(self) -> dict[str, tuple[int, int]]:
        """Action key -> (start, end) in its column, in ``modality.json`` order."""
        return {key: (v.start, v.end) for key, v in self._action_keys.items()}

    def statistics(self) -> dict[str, dict[str, KeyStatistics]]:
        """``{"state": {key: KeyStatistics}, "action": {...}}``: sliced from ``meta/stats.json`` where it holds the
        key's column with every statistic, else computed from the data."""
        return {modality: {key: self._key_statistics(modality, key, vector) for key, vector in keys.items()}
                for modality, keys in (("state", self._state_keys), ("action", self._action_keys))}

    def episode(self, i: int) -> Episode:
        """Episode ``i`` (0-based position) with its views decoded to ``(T, H, W, 3)`` uint8."""
        data = self._episodes[i]
        actions = np.concatenate([data.vectors[f"action.{k}"] for k in self._action_keys], axis=1)
        no_state = np.zeros((len(actions), 0), dtype=actions.dtype)
        states = np.concatenate([no_state] + [data.vectors[f"state.{k}"] for k in self._state_keys], axis=1)
        images = {}
        for key, column in self.video_keys.items():
            path = _video_path(self.root, self.info, data.index, column)
            frames = decode_video(path)
            if len(frames) < len(states):
                raise DatasetError(path, f"video '{column}'", f"{len(frames)} frames for {len(states)} rows")
            images[key] = frames[: len(states)]
        return Episode(states=states, actions=actions, instruction=data.instruction, images=images,
                       rewards=data.rewards, dones=data.dones)

    # ------------------------------------------------------------------ statistics

    def _key_statistics(self, modality: str, key: str, vector: VectorKey) -> KeyStatistics:
        column = (self._stats or {}).get(vector.column)
        if isinstance(column, dict) and all(name in column for name in STATISTIC_NAMES):
            sliced = {name: np.asarray(column[name], dtype=np.float64).reshape(-1)[vector.start:vector.end]
                      for name in STATISTIC_NAMES}
            if all(len(values) == vector.end - vector.start for values in sliced.values()):
                return KeyStatistics(**sliced)
        values = np.concatenate([e.vectors[f"{modality}.{key}"] for e in self._episodes]).astype(np.float64)
        return KeyStatistics(max=values.max(0), min=values.min(0), mean=values.mean(0), std=values.std(0),
                             q01=np.quantile(values, 0.01, axis=0), q99=np.quantile(values, 0.99, axis=0))


def decode_video(path: str) -> np.ndarray:
    """Every frame of the first video stream of ``path`` as ``(T, H, W, 3)`` uint8 RGB (PyAV)."""
    import av

    try:
        with av.open(path) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except (av.error.FFmpegError, IndexError) as err:
        raise DatasetError(path, "video", f"not decodable ({err})") from err
    return np.stack(frames) if frames else np.zeros((0, 0, 0, 3), dtype=np.uint8)


# ---------------------------------------------------------------------- meta files


def _read_json(path: str) -> Any:
    if not os.path.isfile(path):
        raise DatasetError(path, "file", "not found")
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(path, "file", f"not readable JSON ({err})") from err


def _read_jsonl(path: str) -> list[dict]:
    if not os.path.isfile(path):
        raise DatasetError(path, "file", "not found")
    rows = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise DatasetError(path, f"line {number}", f"not JSON ({err})") from err
    return rows


def _read_info(root: str) -> dict:
    path = os.path.join(root, INFO_FILE)
    info = _read_json(path)
    for name in ("codebase_version", "fps", "data_path"):
        if name not in info:
            raise DatasetError(path, name, "missing")
    if info["codebase_version"] not in CODEBASE_VERSIONS:
        raise DatasetError(path, "codebase_version", f"{info['codebase_version']!r} is not supported (read: "
                           f"{', '.join(CODEBASE_VERSIONS)})")
    if not isinstance(info["fps"], (int, float)) or info["fps"] <= 0:
        raise DatasetError(path, "fps", f"must be a positive number, got {info['fps']!r}")
    return info


def _read_modality(root: str) -> tuple[dict[str, VectorKey], dict[str, VectorKey], dict[str, str], str]:
    """State keys, action keys, video key -> column, and the instruction's column."""
    path = os.path.join(root, MODALITY_FILE)
    modality = _read_json(path)
    vectors = {}
    for group, default_column in (("state", STATE_COLUMN), ("action", ACTION_COLUMN)):
        keys = modality.get(group)
        # a camera-only robot has no state keys (its state token sees zeros); every robot has an action
        empty_allowed = group == "state" and bool(modality.get("video"))
        if not isinstance(keys, dict) or not (keys or empty_allowed):
            raise DatasetError(path, group, "missing or empty")
        vectors[group] = {}
        for key, entry in keys.items():
            start, end = (entry.get(name) if isinstance(entry, dict) else None for name in ("start", "end"))
            if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
                raise DatasetError(path, f"{group}.{key}", f"needs integer start < end, got {entry!r}")
            vectors[group][key] = VectorKey(entry.get("original_key", default_column), start, end)
    videos = {key: (entry or {}).get("original_key", VIDEO_PREFIX + key)
              for key, entry in (modality.get("video") or {}).items()}
    annotations = modality.get("annotation") or {}
    task_column = TASK_INDEX_COLUMN
    if TASK_ANNOTATION in annotations:
        task_column = (annotations[TASK_ANNOTATION] or {}).get("original_key", TASK_COLUMN)
    return vectors["state"], vectors["action"], videos, task_column


def _read_tasks(root: str) -> dict[int, str]:
    path = os.path.join(root, TASKS_FILE)
    tasks = {}
    for row in _read_jsonl(path):
        if "task_index" not in row or "task" not in row:
            raise DatasetError(path, "task_index" if "task_index" not in row else "task", f"missing in {row}")
        tasks[int(row["task_index"])] = str(row["task"])
    return tasks


def _read_episode_lengths(root: str) -> list[tuple[int, int]]:
    path = os.path.join(root, EPISODES_FILE)
    episodes = []
    for row in _read_jsonl(path):
        for name in ("episode_index", "length"):
            if name not in row:
                raise DatasetError(path, name, f"missing in {row}")
        episodes.append((int(row["episode_index"]), int(row["length"])))
    if not episodes:
        raise DatasetError(path, "episodes", "none listed")
    return episodes


def _chunk(info: dict, index: int) -> int:
    """The ``chunk-NNN`` folder of an episode, with the file's own ``chunks_size``."""
    return index // int(info.get("chunks_size", CHUNKS_SIZE))


def _video_path(root: str, info: dict, index: int, column: str) -> str:
    if "video_path" not in info:
        raise DatasetError(os.path.join(root, INFO_FILE), "video_path", "missing, and modality.json lists videos")
    return os.path.join(root, info["video_path"].format(episode_chunk=_chunk(info, index), video_key=column,
                                                        episode_index=index))


# ---------------------------------------------------------------------- parquet


def _read_episode(root: str, info: dict, index: int, length: int, state_keys: dict[str, VectorKey],
                  action_keys: dict[str, VectorKey], task_column: str, tasks: dict[int, str]) -> _EpisodeData:
    path = os.path.join(root, info["data_path"].format(episode_chunk=_chunk(info, index), episode_index=index))
    if not os.path.isfile(path):
        raise DatasetError(path, "file", f"not found (episode {index} of {EPISODES_FILE})")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as err:
        raise DatasetError(path, "file", f"not readable parquet ({err})") from err
    if table.num_rows != length:
        raise DatasetError(path, "rows", f"{table.num_rows}, {EPISODES_FILE} says length {length}")
    vectors = {}
    for group, keys in (("state", state_keys), ("action", action_keys)):
        for key, vector in keys.items():
            vectors[f"{group}.{key}"] = _vector(table, path, f"{group}.{key}", vector)
    if task_column not in table.column_names:
        raise DatasetError(path, task_column, "missing: the instruction's task index (modality.json annotation "
                           f"'{TASK_ANNOTATION}' or LeRobot's '{TASK_INDEX_COLUMN}')")
    task_indices = table.column(task_column).to_numpy()
    if len(task_indices) == 0 or int(task_indices[0]) not in tasks:
        raise DatasetError(path, task_column, f"task index {task_indices[:1].tolist()} not in {TASKS_FILE}")
    return _EpisodeData(index, vectors, tasks[int(task_indices[0])], _optional(table, REWARD_COLUMN, np.float32),
                        _optional(table, DONE_COLUMN, bool))


def _vector(table: pa.Table, path: str, name: str, vector: VectorKey) -> np.ndarray:
    """``column[:, start:end]`` as float32, checked for length and finiteness."""
    if vector.column not in table.column_names:
        raise DatasetError(path, vector.column, f"missing (column of {name})")
    column = table.column(vector.column).combine_chunks()
    if pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type) \
            or pa.types.is_large_list(column.type):
        lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
        if len(lengths) and lengths.min() < vector.end:
            row = int(np.argmin(lengths))
            raise DatasetError(path, vector.column, f"row {row} has {lengths[row]} values, modality.json's {name} "
                               f"needs [{vector.start}, {vector.end})")
        if len(set(lengths.tolist())) > 1:
            raise DatasetError(path, vector.column, "rows of different lengths")
        values = column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), -1)
    else:
        values = column.to_numpy(zero_copy_only=False).reshape(len(column), 1)
        if vector.end > 1:
            raise DatasetError(path, vector.column, f"a scalar column, modality.json's {name} needs "
                               f"[{vector.start}, {vector.end})")
    values = values[:, vector.start:vector.end].astype(np.float32)
    bad = ~np.isfinite(values)
    if bad.any():
        row, dim = (int(i[0]) for i in np.nonzero(bad))
        raise DatasetError(path, vector.column, f"non-finite value {values[row, dim]} at row {row}, dimension "
                           f"{vector.start + dim} ({name})")
    return values


def _optional(table: pa.Table, column: str, dtype) -> np.ndarray | None:
    return table.column(column).to_numpy().astype(dtype) if column in table.column_names else None
