"""A small post-training dataset in the published layout (LeRobot v2 + modality.json), written here directly with
pyarrow and PyAV, field names as in NVIDIA's demo data; not with this package's writer."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

FPS = 10
SIDE = 32
INSTRUCTION = "pick the cube"


def demo_action(state: np.ndarray) -> np.ndarray:
    """The demonstrator: joint targets pulled toward the origin, gripper closed when the first joint is positive."""
    return np.stack([-0.5 * state[:, 0], 0.8 * state[:, 1] - 0.2, (state[:, 0] > 0).astype(np.float64)], axis=1)


def _frames(states: np.ndarray) -> np.ndarray:
    """A camera view that shows the state: brightness bands by state value."""
    ramp = np.linspace(0, 1, SIDE)
    images = 127 + 120 * np.tanh(states[:, :1, None, None] * ramp[None, :, None, None]
                                 + states[:, 1:2, None, None] * ramp[None, None, :, None])
    return np.broadcast_to(images, (len(states), SIDE, SIDE, 3)).astype(np.uint8)


def _write_video(path: str, frames: np.ndarray) -> None:
    import av

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with av.open(path, "w") as container:
        stream = container.add_stream("h264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = SIDE, SIDE, "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_dataset(root: str, *, video: bool, episodes: int = 2, length: int = 6, seed: int = 0,
                  with_stats: bool = True) -> str:
    """State [arm(2), gripper(1)] and action [arm(2), gripper(1)], one task, optionally one view 'front'."""
    rng = np.random.default_rng(seed)
    meta = os.path.join(root, "meta")
    os.makedirs(meta, exist_ok=True)
    all_states, all_actions, index = [], [], 0
    for episode in range(episodes):
        states = rng.uniform(-1, 1, size=(length, 3))
        actions = demo_action(states)
        all_states.append(states)
        all_actions.append(actions)
        table = pa.table({
            "observation.state": pa.array(states.tolist(), type=pa.list_(pa.float64())),
            "action": pa.array(actions.tolist(), type=pa.list_(pa.float64())),
            "timestamp": pa.array(np.arange(length) / FPS, type=pa.float32()),
            "annotation.human.action.task_description": pa.array([0] * length, type=pa.int64()),
            "task_index": pa.array([0] * length, type=pa.int64()),
            "annotation.human.validity": pa.array([1] * length, type=pa.int64()),
            "episode_index": pa.array([episode] * length, type=pa.int64()),
            "index": pa.array(range(index, index + length), type=pa.int64()),
            "next.reward": pa.array([0.0] * (length - 1) + [1.0], type=pa.float32()),
            "next.done": pa.array([False] * (length - 1) + [True]),
        })
        index += length
        path = os.path.join(root, f"data/chunk-000/episode_{episode:06d}.parquet")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        pq.write_table(table, path)
        if video:
            _write_video(os.path.join(root, f"videos/chunk-000/observation.images.front/episode_{episode:06d}.mp4"),
                         _frames(states))
    features = {
        "observation.state": {"dtype": "float64", "shape": [3], "names": ["j0", "j1", "grip"]},
        "action": {"dtype": "float64", "shape": [3], "names": ["j0", "j1", "grip"]},
    }
    if video:
        features["observation.images.front"] = {
            "dtype": "video", "shape": [SIDE, SIDE, 3], "names": ["height", "width", "channel"],
            "video_info": {"video.fps": FPS, "video.codec": "h264", "video.pix_fmt": "yuv420p"}}
    info = {"codebase_version": "v2.0", "robot_type": "test_arm", "total_episodes": episodes,
            "total_frames": episodes * length, "total_tasks": 1, "total_videos": episodes if video else 0,
            "chunks_size": 1000, "fps": FPS, "splits": {"train": f"0:{episodes}"},
            "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
            "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
            "features": features}
    modality = {"state": {"arm": {"start": 0, "end": 2}, "gripper": {"start": 2, "end": 3}},
                "action": {"arm": {"start": 0, "end": 2}, "gripper": {"start": 2, "end": 3}},
                "video": {"front": {"original_key": "observation.images.front"}} if video else {},
                "annotation": {"human.action.task_description": {}, "human.validity": {}}}
    with open(os.path.join(meta, "info.json"), "w") as file:
        json.dump(info, file)
    with open(os.path.join(meta, "modality.json"), "w") as file:
        json.dump(modality, file)
    with open(os.path.join(meta, "tasks.jsonl"), "w") as file:
        file.write(json.dumps({"task_index": 0, "task": INSTRUCTION}) + "\n")
    with open(os.path.join(meta, "episodes.jsonl"), "w") as file:
        for episode in range(episodes):
            file.write(json.dumps({"episode_index": episode, "tasks": [INSTRUCTION], "length": length}) + "\n")
    if with_stats:
        stats = {}
        for column, values in (("observation.state", np.concatenate(all_states)),
                               ("action", np.concatenate(all_actions))):
            stats[column] = {"mean": values.mean(0).tolist(), "std": values.std(0).tolist(),
                             "min": values.min(0).tolist(), "max": values.max(0).tolist(),
                             "q01": np.quantile(values, 0.01, axis=0).tolist(),
                             "q99": np.quantile(values, 0.99, axis=0).tolist()}
        with open(os.path.join(meta, "stats.json"), "w") as file:
            json.dump(stats, file)
    return root


@pytest.fixture
def state_dataset(tmp_path) -> str:
    return write_dataset(str(tmp_path / "state_only"), video=False)


@pytest.fixture
def video_dataset(tmp_path) -> str:
    return write_dataset(str(tmp_path / "with_video"), video=True)
