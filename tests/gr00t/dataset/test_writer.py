"""The dataset writer writes the LeRobot v2 + modality.json layout GR00T N1.5's post-training reads."""

from __future__ import annotations

import json
import os

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from isaaclab_gr00t.gr00t.dataset import DatasetError, Episode, GR00TDataset
from isaaclab_gr00t.gr00t.dataset.layout import (
    EPISODES_FILE, INFO_FILE, MODALITY_FILE, STATISTIC_NAMES, STATS_FILE, TASKS_FILE,
)
from isaaclab_gr00t.gr00t.dataset.writer import DatasetWriter

STATE_KEYS = {"joints": 3, "gripper": 1}
ACTION_KEYS = {"arm": 2, "hand": 1}


def smooth_frames(length: int, height: int = 32, width: int = 48, seed: int = 0) -> np.ndarray:
    """Frames of a smooth, tinted pattern that moves a little each frame, like a camera's view of a scene."""
    rows, cols = np.mgrid[0:height, 0:width]
    tint = np.random.default_rng(seed).uniform(0.6, 1.0, 3)
    frames = [(40 + 90 * (1 + np.sin(rows / 9 + cols / 13 + 0.2 * t)))[..., None] * tint for t in range(length)]
    return np.asarray(frames).round().astype(np.uint8)


def make_episode(length: int, seed: int, instruction: str = "lift the cube", success: bool | None = True,
                 videos: tuple[str, ...] = ("front", "wrist")) -> Episode:
    rng = np.random.default_rng(seed)
    return Episode(
        states=rng.normal(size=(length, 4)).astype(np.float32),
        actions=rng.uniform(-1, 1, size=(length, 3)).astype(np.float32),
        instruction=instruction,
        images={key: smooth_frames(length, seed=seed + i) for i, key in enumerate(videos)},
        rewards=rng.normal(size=length).astype(np.float32),
        success=success,
    )


def decode(path: str) -> np.ndarray:
    with av.open(path) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.format.name == "yuv420p"
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(stream)])


def read_json(root, name):
    with open(os.path.join(root, name)) as file:
        return json.load(file)


def read_jsonl(root, name):
    with open(os.path.join(root, name)) as file:
        return [json.loads(line) for line in file]


def test_round_trip_writes_the_published_layout(tmp_path):
    root = str(tmp_path / "data")
    episodes = [make_episode(7, 0), make_episode(5, 1, instruction="put it down", success=False),
                make_episode(6, 2)]
    with DatasetWriter(root, fps=30, robot_type="franka", state_keys=STATE_KEYS, action_keys=ACTION_KEYS,
                       video_keys=["front", "wrist"]) as writer:
        for episode in episodes:
            writer.add_episode(episode)

    info = read_json(root, INFO_FILE)
    assert info["codebase_version"] == "v2.0" and info["robot_type"] == "franka" and info["fps"] == 30
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"], info["total_videos"]) == (3, 18, 3, 6)
    assert info["chunks_size"] == 1000 and info["splits"] == {"train": "0:3"}
    assert info["data_path"] == "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
    assert info["video_path"] == "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
    features = info["features"]
    assert features["observation.state"] == {"dtype": "float64", "shape": [4],
                                             "names": ["joints_0", "joints_1", "joints_2", "gripper"]}
    assert features["action"]["shape"] == [3]
    video = features["observation.images.front"]
    assert video["dtype"] == "video" and video["shape"] == [32, 48, 3]
    assert video["video_info"]["video.codec"] == "h264" and video["video_info"]["video.pix_fmt"] == "yuv420p"
    assert video["video_info"]["video.fps"] == 30

    assert read_jsonl(root, TASKS_FILE) == [{"task_index": 0, "task": "lift the cube"},
                                            {"task_index": 1, "task": "valid"},
                                            {"task_index": 2, "task": "put it down"}]
    assert read_jsonl(root, EPISODES_FILE)[1] == {"episode_index": 1, "tasks": ["put it down", "valid"],
                                                  "length": 5, "success": False}
    assert read_json(root, MODALITY_FILE) == {
        "state": {"joints": {"start": 0, "end": 3}, "gripper": {"start": 3, "end": 4}},
        "action": {"arm": {"start": 0, "end": 2}, "hand": {"start": 2, "end": 3}},
        "video": {"front": {"original_key": "observation.images.front"},
                  "wrist": {"original_key": "observation.images.wrist"}},
        "annotation": {"human.action.task_description": {}, "human.validity": {}},
    }

    first_index = 0
    for index, episode in enumerate(episodes):
        table = pq.read_table(os.path.join(root, f"data/chunk-000/episode_{index:06d}.parquet")).to_pydict()
        assert set(features) - {"observation.images.front", "observation.images.wrist"} == set(table)
        np.testing.assert_array_equal(np.array(table["observation.state"]), episode.states.astype(np.float64))
        np.testing.assert_array_equal(np.array(table["action"]), episode.actions.astype(np.float64))
        np.testing.assert_allclose(table["next.reward"], episode.rewards, rtol=1e-6)
        assert table["timestamp"] == pytest.approx(np.arange(len(episode)) / 30)
        assert table["episode_index"] == [index] * len(episode)
        assert table["frame_index"] == list(range(len(episode)))
        assert table["index"] == list(range(first_index, first_index + len(episode)))
        task = 2 if index == 1 else 0
        assert table["annotation.human.action.task_description"] == table["task_index"] == [task] * len(episode)
        assert table["annotation.human.validity"] == [1] * len(episode)
        assert table["next.done"] == [False] * (len(episode) - 1) + [True]
        assert table["next.success"] == [False] * (len(episode) - 1) + [bool(episode.success)]
        first_index += len(episode)
        for key in ("front", "wrist"):
            frames = decode(os.path.join(root, f"videos/chunk-000/observation.images.{key}/episode_{index:06d}.mp4"))
            assert frames.shape == episode.images[key].shape
            # limited-range yuv420p and H.264 at crf 18: ~2 levels; swapped channels or frames would be ~20
            error = np.abs(frames.astype(int) - episode.images[key])
            assert error.mean() < 3 and np.percentile(error, 99) < 10, (error.mean(), np.percentile(error, 99))

    stats = read_json(root, STATS_FILE)
    states = np.concatenate([episode.states for episode in episodes]).astype(np.float64)
    assert set(stats["observation.state"]) == set(STATISTIC_NAMES)
    np.testing.assert_allclose(stats["observation.state"]["mean"], states.mean(0))
    np.testing.assert_allclose(stats["observation.state"]["std"], states.std(0))
    np.testing.assert_allclose(stats["observation.state"]["min"], states.min(0))
    np.testing.assert_allclose(stats["observation.state"]["q99"], np.quantile(states, 0.99, axis=0))
    actions = np.concatenate([episode.actions for episode in episodes]).astype(np.float64)
    np.testing.assert_allclose(stats["action"]["q01"], np.quantile(actions, 0.01, axis=0))
    np.testing.assert_allclose(stats["action"]["max"], actions.max(0))
    assert stats["index"]["max"] == [17.0]


def test_state_only_dataset_has_no_videos_and_optional_columns_follow_the_episodes(tmp_path):
    root = tmp_path / "state_only"
    with DatasetWriter(str(root), fps=60, robot_type="cartpole", state_keys={"policy": 4},
                       action_keys={"action": 1}) as writer:
        episode = Episode(states=np.zeros((3, 4), np.float32), actions=np.ones((3, 1), np.float32),
                          instruction="balance", dones=np.array([False, True, True]))
        writer.add_episode(episode)
    info = read_json(root, INFO_FILE)
    assert not (root / "videos").exists() and info["total_videos"] == 0 and info["video_path"] is None
    assert not any(key.startswith("observation.images.") for key in info["features"])
    assert "next.reward" not in info["features"] and "next.success" not in info["features"]
    table = pq.read_table(root / "data/chunk-000/episode_000000.parquet")
    assert "next.reward" not in table.column_names and table["next.done"].to_pylist() == [False, True, True]
    assert read_json(root, MODALITY_FILE)["video"] == {}


def test_an_image_only_task_writes_an_empty_state(tmp_path):
    """A camera task whose GR00T agent reads no 1-D group: the state has width 0, the images carry everything."""
    root = tmp_path / "images_only"
    with DatasetWriter(str(root), fps=30, robot_type="cartpole", state_keys={}, action_keys={"action": 1},
                       video_keys=["policy"]) as writer:
        writer.add_episode(Episode(states=np.zeros((4, 0), np.float32), actions=np.ones((4, 1), np.float32),
                                   instruction="balance", images={"policy": smooth_frames(4, 16, 16)}))
    table = pq.read_table(root / "data/chunk-000/episode_000000.parquet")
    assert table["observation.state"].to_pylist() == [[]] * 4
    assert read_json(root, INFO_FILE)["features"]["observation.state"]["shape"] == [0]
    assert read_json(root, MODALITY_FILE)["state"] == {}


def test_an_interrupted_recording_has_no_info_file(tmp_path):
    root = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        with DatasetWriter(str(root), fps=30, robot_type="x", state_keys=STATE_KEYS, action_keys=ACTION_KEYS,
                           video_keys=["front", "wrist"]) as writer:
            writer.add_episode(make_episode(3, 0))
            raise KeyboardInterrupt
    assert (root / "data/chunk-000/episode_000000.parquet").exists()
    assert not (root / "meta" / "info.json").exists()


def test_a_non_empty_folder_is_refused_unless_overwrite(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        DatasetWriter(str(tmp_path), fps=30, robot_type="x", state_keys=STATE_KEYS, action_keys=ACTION_KEYS)
    assert (tmp_path / "old.txt").exists()
    DatasetWriter(str(tmp_path), fps=30, robot_type="x", state_keys=STATE_KEYS, action_keys=ACTION_KEYS,
                  overwrite=True)
    assert not (tmp_path / "old.txt").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda e: setattr(e, "states", e.states[:, :3]), r"states has shape \(4, 3\), expected \(4, 4\)"),
        (lambda e: setattr(e, "actions", e.actions[:2]), r"actions has shape \(2, 3\), expected \(4, 3\)"),
        (lambda e: e.images.pop("wrist"), r"images for \['front'\], expected \['front', 'wrist'\]"),
        (lambda e: e.images.update(front=e.images["front"][:, :31]),
         r"images\['front'\]: yuv420p video needs an even width and height, got 48x31"),
        (lambda e: e.images.update(front=e.images["front"].astype(np.float32)),
         r"images\['front'\]: expected \(T, H, W, 3\) uint8 RGB frames"),
        (lambda e: setattr(e, "rewards", None), r"\(rewards, success\) given \(False, True\)"),
    ],
)
def test_a_bad_episode_is_refused_with_its_field_named(tmp_path, change, message):
    writer = DatasetWriter(str(tmp_path / "data"), fps=30, robot_type="x", state_keys=STATE_KEYS,
                           action_keys=ACTION_KEYS, video_keys=["front", "wrist"])
    writer.add_episode(make_episode(4, 0))
    episode = make_episode(4, 1)
    change(episode)
    with pytest.raises(ValueError, match=f"episode 1: {message}"):
        writer.add_episode(episode)

# ---- what the writer writes, the reader reads back


def _write_dataset(root, episodes, state_keys, video_keys):
    with DatasetWriter(root, fps=30, robot_type="test_arm", state_keys=state_keys, action_keys={"arm": 2, "hand": 1},
                       video_keys=video_keys) as writer:
        for episode in episodes:
            writer.add_episode(episode)


def test_reader_reads_back_what_the_writer_wrote(tmp_path):
    episodes = [make_episode(12, seed=0), make_episode(9, seed=1, instruction="push the cube")]
    _write_dataset(tmp_path, episodes, {"joints": 3, "gripper": 1}, ["front", "wrist"])
    dataset = GR00TDataset.open(str(tmp_path))
    assert dataset.episode_lengths == [12, 9]
    assert dataset.state_keys == {"joints": (0, 3), "gripper": (3, 4)}
    assert dataset.action_keys == {"arm": (0, 2), "hand": (2, 3)}
    assert set(dataset.video_keys) == {"front", "wrist"}
    for index, written in enumerate(episodes):
        read = dataset.episode(index)
        assert read.instruction == written.instruction
        np.testing.assert_allclose(read.states, written.states, rtol=0, atol=1e-6)
        np.testing.assert_allclose(read.actions, written.actions, rtol=0, atol=1e-6)
        for key, frames in written.images.items():
            assert read.images[key].shape == frames.shape
            assert np.abs(read.images[key].astype(float) - frames).mean() < 3.0  # h264 at crf 18
    statistics = dataset.statistics()
    every_state = np.concatenate([episode.states for episode in episodes])
    np.testing.assert_allclose(statistics["state"]["joints"].mean, every_state[:, :3].mean(0), atol=1e-5)
    np.testing.assert_allclose(statistics["state"]["gripper"].max, every_state[:, 3:].max(0), atol=1e-6)


def test_a_camera_only_robot_has_no_state_keys_and_still_reads(tmp_path):
    episode = make_episode(8, seed=2, videos=("front",))
    episode = Episode(states=np.zeros((8, 0), np.float32), actions=episode.actions, instruction="balance",
                      images=episode.images, rewards=episode.rewards, success=True)
    _write_dataset(tmp_path, [episode], {}, ["front"])
    dataset = GR00TDataset.open(str(tmp_path))
    assert dataset.state_keys == {}
    assert dataset.episode(0).states.shape == (8, 0)


def test_a_state_less_dataset_without_views_is_refused(tmp_path):
    episode = make_episode(8, seed=3, videos=())
    episode = Episode(states=np.zeros((8, 0), np.float32), actions=episode.actions, instruction="balance")
    _write_dataset(tmp_path, [episode], {}, [])
    with pytest.raises(DatasetError, match="modality.json: state: missing or empty"):
        GR00TDataset.open(str(tmp_path))
