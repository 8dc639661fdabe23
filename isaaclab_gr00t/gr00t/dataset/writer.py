"""Write episodes as the dataset GR00T N1.5's post-training reads (LeRobot v2 + ``meta/modality.json``).

Each :meth:`DatasetWriter.add_episode` writes that episode's parquet file and videos at once; :meth:`close` writes
``meta/`` last, so a folder whose recording was interrupted has no ``meta/info.json`` and is not read as a dataset.
Columns and metadata follow NVIDIA's demo data (``docs/gr00t.md``, "Post-training"): vectors as float64 lists,
the instruction and the ``"valid"`` flag as indices into ``meta/tasks.jsonl``, and, beyond the demo data, LeRobot's
``frame_index`` and, for recordings that know it, ``next.success`` (true on the last frame of a successful episode).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .layout import (
    ACTION_COLUMN, CHUNKS_SIZE, CODEBASE_VERSIONS, DATA_PATH, EPISODES_FILE, INFO_FILE, MODALITY_FILE, STATE_COLUMN,
    STATS_FILE, TASK_ANNOTATION, TASK_COLUMN, TASKS_FILE, VIDEO_PATH, VIDEO_PREFIX, Episode, episode_chunk,
)
from .video import CODEC, PIXEL_FORMAT, check_frames, encode_video

VALIDITY_ANNOTATION = "human.validity"
"""``modality.json`` annotation key whose column marks each frame valid (an index into the tasks, as in NVIDIA's
demo data, where the task ``"valid"`` is the one used)."""
VALIDITY_COLUMN = "annotation." + VALIDITY_ANNOTATION
VALID_TASK = "valid"
SUCCESS_COLUMN = "next.success"
"""LeRobot's per-frame success flag (e.g. PushT); set on the last frame of an episode that succeeded."""


@dataclass
class _Statistics:
    """The numeric columns of every frame written so far, for ``meta/stats.json``."""

    columns: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, table: pa.Table) -> None:
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_list(column.type):
                flat = np.asarray(column.combine_chunks().flatten(), dtype=np.float64)
                values = flat.reshape(len(column), flat.size // len(column))
            elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
                values = column.to_numpy().astype(np.float64).reshape(-1, 1)
            else:
                continue  # booleans: no statistics, as LeRobot
            self.columns.setdefault(name, []).append(values)

    def summary(self) -> dict[str, dict[str, list[float]]]:
        """Per column and dimension: mean, std, min, max, 1st and 99th percentile."""
        stats = {}
        for name, parts in self.columns.items():
            values = np.concatenate(parts)
            stats[name] = {
                "mean": values.mean(0).tolist(), "std": values.std(0).tolist(),
                "min": values.min(0).tolist(), "max": values.max(0).tolist(),
                "q01": np.quantile(values, 0.01, axis=0).tolist(), "q99": np.quantile(values, 0.99, axis=0).tolist(),
            }
        return stats


class DatasetWriter:
    """Writes a dataset folder episode by episode; a context manager that writes ``meta/`` on a clean exit."""

    def __init__(
        self,
        root: str,
        *,
        fps: float,
        robot_type: str,
        state_keys: dict[str, int],
        action_keys: dict[str, int],
        video_keys: list[str] = (),
        overwrite: bool = False,
    ) -> None:
        """Prepare an empty folder.

        Args:
            root: The dataset folder; it must not exist or be empty, unless ``overwrite``.
            fps: Frames a second (the env's step rate).
            robot_type: ``info.json``'s ``robot_type``.
            state_keys: Ordered ``modality.json`` state keys and their widths; ``Episode.states`` concatenates them.
            action_keys: Ordered action keys and their widths; ``Episode.actions`` concatenates them.
            video_keys: ``modality.json`` video keys; each episode has ``(T, H, W, 3)`` frames for each.
            overwrite: Delete what ``root`` holds first.

        Raises:
            FileExistsError: ``root`` holds files and ``overwrite`` is off.
            ValueError: A key width below 0 (state) or 1 (action), or ``fps`` not positive.
        """
        if fps <= 0:
            raise ValueError(f"DatasetWriter fps must be positive, got {fps}")
        for kind, keys, least in (("state", state_keys, 0), ("action", action_keys, 1)):
            for key, width in keys.items():
                if int(width) < least:
                    raise ValueError(f"DatasetWriter {kind} key '{key}' has width {width}; it must be >= {least}")
        if not action_keys:
            raise ValueError("DatasetWriter needs at least one action key")
        if check_output_folder(root, overwrite):
            shutil.rmtree(root)
        os.makedirs(root, exist_ok=True)
        self.root = root
        self.fps = float(fps)
        self.robot_type = robot_type
        self.state_keys = {key: int(width) for key, width in state_keys.items()}
        self.action_keys = {key: int(width) for key, width in action_keys.items()}
        self.video_keys = list(video_keys)
        self.tasks: dict[str, int] = {}
        self.episodes: list[dict] = []
        self.total_frames = 0
        self.video_shapes: dict[str, tuple[int, int]] = {}
        self.optional_columns: tuple[bool, bool] | None = None
        """(rewards, success) recorded, fixed by the first episode."""
        self.statistics = _Statistics()
        self.closed = False

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        if error_type is None:
            self.close()

    def add_episode(self, episode: Episode) -> None:
        """Check ``episode`` against the writer's keys, then write its parquet file and videos."""
        if self.closed:
            raise RuntimeError(f"{self.root}: the dataset writer is closed")
        self._check(episode)
        index = len(self.episodes)
        table = self._table(episode, index)
        data_path = os.path.join(self.root, DATA_PATH.format(episode_chunk=episode_chunk(index), episode_index=index))
        os.makedirs(os.path.dirname(data_path), exist_ok=True)
        pq.write_table(table, data_path)
        for key in self.video_keys:
            video_path = os.path.join(self.root, VIDEO_PATH.format(
                episode_chunk=episode_chunk(index), video_key=VIDEO_PREFIX + key, episode_index=index))
            os.makedirs(os.path.dirname(video_path), exist_ok=True)
            encode_video(video_path, episode.images[key], self.fps)
        self.statistics.add(table)
        record = {"episode_index": index, "tasks": [episode.instruction, VALID_TASK], "length": len(episode)}
        if episode.success is not None:
            record["success"] = bool(episode.success)
        self.episodes.append(record)
        self.total_frames += len(episode)

    def close(self) -> None:
        """Write ``meta/``: the folder is a complete dataset from here on. Needs at least one episode."""
        if self.closed:
            return
        if not self.episodes:
            raise ValueError(f"{self.root}: no episode was added; an empty dataset is not written")
        os.makedirs(os.path.join(self.root, "meta"), exist_ok=True)
        self._write_jsonl(TASKS_FILE, [{"task_index": i, "task": task} for task, i in self.tasks.items()])
        self._write_jsonl(EPISODES_FILE, self.episodes)
        self._write_json(STATS_FILE, self.statistics.summary())
        self._write_json(MODALITY_FILE, self._modality())
        self._write_json(INFO_FILE, self._info())  # last: its presence marks the dataset complete
        self.closed = True

    # ------------------------------------------------------------------ checks and tables

    def _check(self, episode: Episode) -> None:
        where = f"{self.root}: episode {len(self.episodes)}"
        length = len(episode)
        if length < 1:
            raise ValueError(f"{where}: no frames")
        for name, array, width in (("states", episode.states, sum(self.state_keys.values())),
                                   ("actions", episode.actions, sum(self.action_keys.values()))):
            if array.shape != (length, width):
                raise ValueError(f"{where}: {name} has shape {array.shape}, expected ({length}, {width})")
        for name, array in (("rewards", episode.rewards), ("dones", episode.dones)):
            if array is not None and array.shape != (length,):
                raise ValueError(f"{where}: {name} has shape {array.shape}, expected ({length},)")
        if sorted(episode.images) != sorted(self.video_keys):
            raise ValueError(f"{where}: images for {sorted(episode.images)}, expected {sorted(self.video_keys)}")
        for key in self.video_keys:
            frames = episode.images[key]
            check_frames(frames, f"{where}: images['{key}']")
            if len(frames) != length:
                raise ValueError(f"{where}: images['{key}'] has {len(frames)} frames, expected {length}")
            shape = self.video_shapes.setdefault(key, frames.shape[1:3])
            if frames.shape[1:3] != shape:
                raise ValueError(f"{where}: images['{key}'] are {frames.shape[1:3]}, earlier episodes {shape}")
        optional = (episode.rewards is not None, episode.success is not None)
        if self.optional_columns is None:
            self.optional_columns = optional
        elif optional != self.optional_columns:
            raise ValueError(f"{where}: (rewards, success) given {optional}, earlier episodes {self.optional_columns}")

    def _task_index(self, task: str) -> int:
        return self.tasks.setdefault(task, len(self.tasks))

    def _table(self, episode: Episode, index: int) -> pa.Table:
        length = len(episode)
        frame_index = np.arange(length, dtype=np.int64)
        task = self._task_index(episode.instruction)
        valid = self._task_index(VALID_TASK)
        dones = episode.dones if episode.dones is not None else frame_index == length - 1
        columns = {
            STATE_COLUMN: _list_column(episode.states),
            ACTION_COLUMN: _list_column(episode.actions),
            "timestamp": pa.array(frame_index / self.fps, pa.float64()),
            TASK_COLUMN: pa.array(np.full(length, task, np.int64)),
            "task_index": pa.array(np.full(length, task, np.int64)),
            VALIDITY_COLUMN: pa.array(np.full(length, valid, np.int64)),
            "episode_index": pa.array(np.full(length, index, np.int64)),
            "frame_index": pa.array(frame_index),
            "index": pa.array(self.total_frames + frame_index),
            "next.done": pa.array(np.asarray(dones, bool)),
        }
        if episode.rewards is not None:
            columns["next.reward"] = pa.array(np.asarray(episode.rewards, np.float64))
        if episode.success is not None:
            columns[SUCCESS_COLUMN] = pa.array((frame_index == length - 1) & bool(episode.success))
        return pa.table(columns)

    # ------------------------------------------------------------------ metadata

    def _modality(self) -> dict:
        return {
            "state": _ranges(self.state_keys),
            "action": _ranges(self.action_keys),
            "video": {key: {"original_key": VIDEO_PREFIX + key} for key in self.video_keys},
            "annotation": {TASK_ANNOTATION: {}, VALIDITY_ANNOTATION: {}},
        }

    def _info(self) -> dict:
        episodes = len(self.episodes)
        features = {
            STATE_COLUMN: _vector_feature(self.state_keys),
            ACTION_COLUMN: _vector_feature(self.action_keys),
        }
        for key in self.video_keys:
            height, width = self.video_shapes[key]
            features[VIDEO_PREFIX + key] = {
                "dtype": "video", "shape": [height, width, 3], "names": ["height", "width", "channel"],
                "video_info": {"video.fps": self.fps, "video.codec": CODEC, "video.pix_fmt": PIXEL_FORMAT,
                               "video.is_depth_map": False, "has_audio": False},
            }
        scalars = {"timestamp": "float64", TASK_COLUMN: "int64", "task_index": "int64", VALIDITY_COLUMN: "int64",
                   "episode_index": "int64", "frame_index": "int64", "index": "int64", "next.done": "bool"}
        rewards, success = self.optional_columns
        if rewards:
            scalars["next.reward"] = "float64"
        if success:
            scalars[SUCCESS_COLUMN] = "bool"
        features |= {name: {"dtype": dtype, "shape": [1], "names": None} for name, dtype in scalars.items()}
        return {
            "codebase_version": CODEBASE_VERSIONS[0],
            "robot_type": self.robot_type,
            "total_episodes": episodes,
            "total_frames": self.total_frames,
            "total_tasks": len(self.tasks),
            "total_videos": episodes * len(self.video_keys),
            "total_chunks": episode_chunk(episodes - 1) + 1,
            "chunks_size": CHUNKS_SIZE,
            "fps": self.fps,
            "splits": {"train": f"0:{episodes}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if self.video_keys else None,
            "features": features,
        }

    def _write_json(self, name: str, value) -> None:
        with open(os.path.join(self.root, name), "w", encoding="utf-8") as file:
            json.dump(value, file, indent=2)
            file.write("\n")

    def _write_jsonl(self, name: str, rows: list[dict]) -> None:
        with open(os.path.join(self.root, name), "w", encoding="utf-8") as file:
            file.writelines(json.dumps(row) + "\n" for row in rows)


def check_output_folder(root: str, overwrite: bool) -> bool:
    """Whether ``root`` holds files to delete first; FileExistsError if it does and ``overwrite`` is off."""
    if not (os.path.isdir(root) and os.listdir(root)):
        return False
    if not overwrite:
        raise FileExistsError(f"{root}: the output folder is not empty (overwrite=True, or --overwrite on the "
                              "command line, replaces it)")
    return True


def _list_column(array: np.ndarray) -> pa.ListArray:
    """``(T, D)`` -> a column of T float64 lists of length D."""
    length, width = array.shape
    offsets = pa.array(np.arange(length + 1, dtype=np.int32) * width)
    return pa.ListArray.from_arrays(offsets, pa.array(np.asarray(array, np.float64).reshape(-1)))


def _ranges(keys: dict[str, int]) -> dict[str, dict[str, int]]:
    """Ordered key widths -> ``{key: {"start", "end"}}`` sub-ranges of the concatenated vector."""
    ranges, start = {}, 0
    for key, width in keys.items():
        ranges[key] = {"start": start, "end": start + width}
        start += width
    return ranges


def _vector_feature(keys: dict[str, int]) -> dict:
    names = [f"{key}_{i}" if width > 1 else key for key, width in keys.items() for i in range(width)]
    return {"dtype": "float64", "shape": [len(names)], "names": names}
