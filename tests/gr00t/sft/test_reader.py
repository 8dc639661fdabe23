"""GR00TDataset reads a dataset in the published layout and refuses a broken one, naming file and field."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from isaaclab_gr00t.gr00t.dataset.layout import DatasetError
from isaaclab_gr00t.gr00t.dataset.reader import GR00TDataset

from .conftest import INSTRUCTION, demo_action, write_dataset

EPISODE_0 = os.path.join("data", "chunk-000", "episode_000000.parquet")


def test_reads_state_actions_views_and_statistics(video_dataset):
    dataset = GR00TDataset.open(video_dataset)
    assert dataset.fps == 10 and dataset.num_episodes == 2 and dataset.episode_lengths == [6, 6]
    assert dataset.state_keys == {"arm": (0, 2), "gripper": (2, 3)}
    assert list(dataset.action_keys) == ["arm", "gripper"]
    assert dataset.video_keys == {"front": "observation.images.front"}
    episode = dataset.episode(1)
    assert episode.instruction == INSTRUCTION and len(episode) == 6
    np.testing.assert_allclose(episode.actions, demo_action(episode.states.astype(np.float64)), atol=1e-6)
    assert episode.images["front"].shape == (6, 32, 32, 3) and episode.images["front"].dtype == np.uint8
    assert episode.dones.tolist() == [False] * 5 + [True]
    stats = dataset.statistics()
    states = np.concatenate([dataset.episode(i).states for i in range(2)])
    np.testing.assert_allclose(stats["state"]["arm"].max, states[:, :2].max(0), atol=1e-6)
    np.testing.assert_allclose(stats["action"]["gripper"].mean, [0.5], atol=0.5)


def test_statistics_are_computed_when_stats_json_is_absent(tmp_path):
    with_file = GR00TDataset.open(write_dataset(str(tmp_path / "a"), video=False)).statistics()
    computed = GR00TDataset.open(write_dataset(str(tmp_path / "b"), video=False, with_stats=False)).statistics()
    for name in ("mean", "std", "min", "max", "q01", "q99"):
        np.testing.assert_allclose(getattr(computed["state"]["arm"], name), getattr(with_file["state"]["arm"], name),
                                   atol=1e-6)


def test_a_key_with_its_own_column_and_a_foreign_dataset(state_dataset):
    """modality.json decides the columns: a gripper key read from a column of its own."""
    path = os.path.join(state_dataset, EPISODE_0)
    table = pq.read_table(path)
    grip = [row[2] for row in table.column("observation.state").to_pylist()]
    pq.write_table(table.append_column("observation.gripper", pa.array(grip)), path)
    second = os.path.join(state_dataset, "data", "chunk-000", "episode_000001.parquet")
    table = pq.read_table(second)
    grip2 = [row[2] for row in table.column("observation.state").to_pylist()]
    pq.write_table(table.append_column("observation.gripper", pa.array(grip2)), second)
    _edit_json(state_dataset, "meta/modality.json",
               lambda m: m["state"].update({"gripper": {"start": 0, "end": 1, "original_key": "observation.gripper"}}))
    dataset = GR00TDataset.open(state_dataset)
    np.testing.assert_allclose(dataset.episode(0).states[:, 2], np.array(grip, dtype=np.float32))


def _edit_json(root: str, name: str, edit) -> None:
    path = os.path.join(root, name)
    with open(path) as file:
        data = json.load(file)
    edit(data)
    with open(path, "w") as file:
        json.dump(data, file)


def _replace_column(root: str, column: str, values) -> None:
    path = os.path.join(root, EPISODE_0)
    table = pq.read_table(path)
    position = table.column_names.index(column)
    pq.write_table(table.set_column(position, column, values), path)


def _short_state(root):
    _replace_column(root, "observation.state", pa.array([[0.1, 0.2]] * 6, type=pa.list_(pa.float64())))


def _nan_action(root):
    _replace_column(root, "action", pa.array([[0.1, float("nan"), 0.0]] * 6, type=pa.list_(pa.float64())))


def _inf_state(root):
    _replace_column(root, "observation.state", pa.array([[0.1, 0.2, float("inf")]] * 6, type=pa.list_(pa.float64())))


def _no_annotation(root):
    path = os.path.join(root, EPISODE_0)
    pq.write_table(pq.read_table(path).drop_columns(["annotation.human.action.task_description"]), path)


def _unknown_task(root):
    _replace_column(root, "annotation.human.action.task_description", pa.array([5] * 6, type=pa.int64()))


@pytest.mark.parametrize(("breaks", "file", "field"), [
    (lambda r: os.remove(os.path.join(r, "meta", "modality.json")), "meta/modality.json", "file"),
    (lambda r: _edit_json(r, "meta/info.json", lambda i: i.pop("codebase_version")), "meta/info.json",
     "codebase_version"),
    (lambda r: _edit_json(r, "meta/info.json", lambda i: i.update(codebase_version="v3.0")), "meta/info.json",
     "codebase_version"),
    (lambda r: _edit_json(r, "meta/info.json", lambda i: i.pop("fps")), "meta/info.json", "fps"),
    (lambda r: os.remove(os.path.join(r, "videos/chunk-000/observation.images.front/episode_000001.mp4")),
     "episode_000001.mp4", "video 'observation.images.front'"),
    (_short_state, EPISODE_0, "observation.state"),
    (_nan_action, EPISODE_0, "action"),
    (_inf_state, EPISODE_0, "observation.state"),
    (_no_annotation, EPISODE_0, "annotation.human.action.task_description"),
    (_unknown_task, EPISODE_0, "annotation.human.action.task_description"),
    (lambda r: _edit_json(r, "meta/modality.json", lambda m: m["action"].update(arm={"start": 0, "end": 7})),
     EPISODE_0, "action"),
], ids=["no_modality", "no_version", "bad_version", "no_fps", "no_video", "short_state", "nan", "inf",
        "no_annotation", "unknown_task", "action_range_past_column"])
def test_a_broken_dataset_is_refused_naming_file_and_field(video_dataset, breaks, file, field):
    breaks(video_dataset)
    with pytest.raises(DatasetError) as caught:
        GR00TDataset.open(video_dataset)
    assert caught.value.path.endswith(file) and caught.value.field == field, str(caught.value)
