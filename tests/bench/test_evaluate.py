"""``python -m isaaclab_gr00t.bench.evaluate`` tells a trained cartpole policy from an untrained one."""

from __future__ import annotations

import re

import numpy as np
import pytest

from isaaclab_gr00t.bench import evaluate

ROW = re.compile(
    r"^\| Test-Short-Cartpole[-\w]* \| .* \| (\d+) \| ([\d.]+) \(([\d.]+)-([\d.]+)\) \| (-?[\d.]+) \(([\d.]+)\) "
    r"\| ([\d.]+) \|$", re.MULTILINE)


def evaluation(trained_cartpole, checkpoint) -> tuple[int, float, float, float, float, float]:
    done = trained_cartpole.run("isaaclab_gr00t.bench.evaluate", "--task", "Test-Short-Cartpole", "--checkpoint",
                                str(checkpoint), "--agent", "rsl_rl_cfg_entry_point", "--episodes", "8",
                                "--num_envs", "8", "--device", "cpu", "--seed", "1")
    assert "| success rate (95% Wilson interval) | mean return (std) | mean length |" in done.stdout
    assert "Success: ran to its time limit with the pole within 12 degrees of upright." in done.stdout
    episodes, rate, low, high, mean_return, _, length = ROW.search(done.stdout).groups()
    return int(episodes), float(rate), float(low), float(high), float(mean_return), float(length)


def test_a_trained_policy_scores_above_an_untrained_one(trained_cartpole):
    trained = evaluation(trained_cartpole, trained_cartpole.run_dir)
    untrained = evaluation(trained_cartpole, trained_cartpole.untrained)
    for episodes, rate, low, high, *_ in (trained, untrained):
        assert episodes == 8 and low <= rate <= high
    assert trained[1] > untrained[1], "success (pole upright at the time limit)"
    assert trained[4] > untrained[4] and trained[5] > untrained[5]


def test_wilson_interval_matches_the_formula():
    assert evaluate.wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert evaluate.wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert evaluate.wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)


def test_a_video_needs_a_gif_or_mp4_path(capsys):
    with pytest.raises(SystemExit):
        evaluate.parse_args(["--task", "T", "--checkpoint", "c", "--episodes", "1", "--video", "out.avi"])
    assert "--video out.avi: expected a file ending in .gif or .mp4" in capsys.readouterr().err


def test_a_video_of_env_0_comes_from_the_camera_twin(trained_cartpole, tmp_path):
    import av

    video = tmp_path / "cartpole.mp4"
    done = trained_cartpole.run(
        "isaaclab_gr00t.bench.evaluate", "--task", "Test-Short-Cartpole-Camera", "--policy_task",
        "Test-Short-Cartpole", "--obs_map", "policy=critic", "--checkpoint", str(trained_cartpole.run_dir),
        "--episodes", "2", "--num_envs", "2", "--device", "cpu", "--video", str(video))
    assert f"Wrote {video} (env 0)" in done.stdout
    assert ROW.search(done.stdout).group(1) == "2"
    with av.open(str(video)) as container:
        frames = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    # env 0's one counted episode, one camera frame a step (at most the 120 steps of an episode)
    assert frames.shape[1:] == (96, 96, 3) and 2 <= len(frames) <= 120
    assert frames.min() < 80 and np.median(frames) > 150
