"""``python -m isaaclab_gr00t.gr00t.record`` writes a trained cartpole policy's episodes as a GR00T dataset."""

from __future__ import annotations

import json

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from isaaclab_gr00t.gr00t import record

RECORD = "isaaclab_gr00t.gr00t.record"
EPISODE_STEPS = 120
"""2 s episodes at 60 steps a second (tests/bench/conftest.py)."""


def read_meta(root, name):
    text = (root / "meta" / name).read_text()
    return json.loads(text) if name.endswith(".json") else [json.loads(line) for line in text.splitlines()]


def test_state_task_records_only_successful_episodes(trained_cartpole, tmp_path):
    out = tmp_path / "state"
    done = trained_cartpole.run(RECORD, "--task", "Test-Short-Cartpole", "--checkpoint", str(trained_cartpole.run_dir),
                                "--episodes", "3", "--num_envs", "4", "--device", "cpu", "--successful-only",
                                "--instruction", "balance the pole", "--out", str(out))
    assert "policy rsl_rl_cfg_entry_point" in done.stdout  # found by the run's experiment name
    info = read_meta(out, "info.json")
    assert info["total_episodes"] == 3 and info["fps"] == 60 and info["robot_type"] == "Test-Short-Cartpole"
    assert info["total_videos"] == 0 and not (out / "videos").exists()
    # the cartpole's GR00T agent reads the 'policy' group: the 4 joint values
    assert read_meta(out, "modality.json")["state"] == {"policy": {"start": 0, "end": 4}}
    assert read_meta(out, "tasks.jsonl")[0] == {"task_index": 0, "task": "balance the pole"}
    for index, episode in enumerate(read_meta(out, "episodes.jsonl")):
        assert episode["success"] and episode["length"] == EPISODE_STEPS
        table = pq.read_table(out / f"data/chunk-000/episode_{index:06d}.parquet").to_pydict()
        states, actions = np.array(table["observation.state"]), np.array(table["action"])
        assert states.shape == (EPISODE_STEPS, 4) and actions.shape == (EPISODE_STEPS, 1)
        assert np.isfinite(states).all() and (states.std(0) > 0).all()
        assert table["next.success"][-1] and table["next.done"][-1] and not any(table["next.done"][:-1])
        assert np.std(actions) > 0


def test_a_state_expert_records_its_camera_twin(trained_cartpole, tmp_path):
    out = tmp_path / "camera"
    done = trained_cartpole.run(
        RECORD, "--task", "Test-Short-Cartpole-Camera", "--policy_task", "Test-Short-Cartpole", "--obs_map",
        "policy=critic", "--checkpoint", str(trained_cartpole.run_dir), "--episodes", "1", "--num_envs", "2",
        "--device", "cpu", "--out", str(out))
    assert "videos ['policy']" in done.stdout and "instruction 'keep the pole upright'" in done.stdout
    info = read_meta(out, "info.json")
    assert info["features"]["observation.images.policy"]["shape"] == [96, 96, 3]
    # the camera cartpole's GR00T agent reads images only: an empty state, the camera carries the pole
    assert read_meta(out, "modality.json")["state"] == {}
    length = read_meta(out, "episodes.jsonl")[0]["length"]
    with av.open(str(out / "videos/chunk-000/observation.images.policy/episode_000000.mp4")) as container:
        frames = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    assert frames.shape == (length, 96, 96, 3)
    # a dark cart and pole on a light background
    assert frames.min() < 80 and np.median(frames) > 150


@pytest.mark.parametrize(
    "change, message",
    [
        (["--checkpoint", "/no/such/run"], "--checkpoint /no/such/run: no such file or folder"),
        (["--task", "No-Such-Task"], "--task No-Such-Task: not a registered task"),
        (["--obs_map", "policy"], "--obs_map 'policy': expected POLICY_GROUP=TASK_GROUP"),
    ],
)
def test_bad_input_is_named_before_any_env_is_built(trained_cartpole, tmp_path, change, message):
    args = ["--task", "Test-Short-Cartpole", "--checkpoint", str(trained_cartpole.run_dir), "--episodes", "1",
            "--device", "cpu", "--out", str(tmp_path / "out")]
    for index in range(0, len(change), 2):
        if change[index] in args:
            args[args.index(change[index]) + 1] = change[index + 1]
        else:
            args += change[index:index + 2]
    done = trained_cartpole.run(RECORD, *args, check=False, timeout=120)
    assert done.returncode != 0 and message in done.stderr
    assert "Starting the simulation" not in done.stdout + done.stderr


def test_a_non_empty_output_folder_is_refused(tmp_path, capsys):
    (tmp_path / "episode.parquet").write_text("old")
    with pytest.raises(SystemExit):
        record.parse_args(["--task", "Test-Short-Cartpole", "--checkpoint", "x", "--episodes", "1",
                           "--out", str(tmp_path)])
    assert "the output folder is not empty" in capsys.readouterr().err
