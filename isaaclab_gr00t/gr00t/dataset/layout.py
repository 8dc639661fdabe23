"""The dataset layout GR00T N1.5's post-training reads: LeRobot v2 plus GR00T's ``meta/modality.json``.

A dataset folder holds::

    meta/info.json          codebase_version, fps, features (per column: dtype, shape, names), path templates
    meta/episodes.jsonl     {"episode_index", "tasks", "length"} per episode
    meta/tasks.jsonl        {"task_index", "task"} per instruction
    meta/stats.json         per column: mean, std, min, max, q01, q99
    meta/modality.json      state/action sub-ranges of the vector columns, video keys, annotation keys
    data/chunk-000/episode_000000.parquet
    videos/chunk-000/<original video key>/episode_000000.mp4   (h264)

This module holds the names both the writer and the reader use, the in-memory :class:`Episode` and
:class:`DatasetError`. The layout is described in docs/gr00t.md (post-training).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

CODEBASE_VERSIONS = ("v2.0", "v2.1")
"""``meta/info.json`` versions of the layout that are read; the writer writes the first."""

INFO_FILE = os.path.join("meta", "info.json")
EPISODES_FILE = os.path.join("meta", "episodes.jsonl")
TASKS_FILE = os.path.join("meta", "tasks.jsonl")
STATS_FILE = os.path.join("meta", "stats.json")
MODALITY_FILE = os.path.join("meta", "modality.json")

DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
"""``info.json``'s ``data_path`` template as the writer writes it (the reader uses the file's own)."""
VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
"""``info.json``'s ``video_path`` template as the writer writes it (the reader uses the file's own)."""
CHUNKS_SIZE = 1000
"""Episodes per ``chunk-NNN`` folder."""

STATE_COLUMN = "observation.state"
ACTION_COLUMN = "action"
TASK_ANNOTATION = "human.action.task_description"
"""``modality.json`` annotation key of the instruction; its parquet column is ``annotation.<key>``."""
TASK_COLUMN = "annotation." + TASK_ANNOTATION
VIDEO_PREFIX = "observation.images."
"""Prefix of a video's column name (``original_key``) for a modality video key."""

STATISTIC_NAMES = ("mean", "std", "min", "max", "q01", "q99")
"""Statistics per column in ``meta/stats.json``."""


class DatasetError(ValueError):
    """A dataset folder that cannot be read; the message names the file and the field."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path = path
        self.field = field


@dataclass
class Episode:
    """One episode in memory, frame-aligned: row ``t`` of every array is frame ``t``."""

    states: np.ndarray
    """``(T, state_dim)`` float32: the state keys, concatenated in ``modality.json`` order."""
    actions: np.ndarray
    """``(T, action_dim)`` float32: the action taken at each frame, keys concatenated in ``modality.json`` order."""
    instruction: str
    """The task description (``annotation.human.action.task_description``)."""
    images: dict[str, np.ndarray] = field(default_factory=dict)
    """Modality video key -> ``(T, H, W, 3)`` uint8 RGB frames; empty for a state-only task."""
    rewards: np.ndarray | None = None
    """``(T,)`` float32 reward after each frame's action (``next.reward``), when recorded."""
    dones: np.ndarray | None = None
    """``(T,)`` bool, true on the last frame (``next.done``), when recorded."""
    success: bool | None = None
    """Whether the episode succeeded, when known."""

    def __len__(self) -> int:
        return int(self.states.shape[0])


def episode_chunk(episode_index: int) -> int:
    """The ``chunk-NNN`` folder of an episode."""
    return episode_index // CHUNKS_SIZE
