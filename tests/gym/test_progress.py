"""The Gymnasium command prints a progress line every ``--progress-steps`` env steps."""

from __future__ import annotations

import re

from isaaclab_gr00t.gym.cli import ProgressLine, main
from isaaclab_gr00t.gym.vec_env import GymVecEnv

LINE = re.compile(r"^steps (\d+)/(\d+) \((\d+)%\) \| return (\S+) \(last 10 episodes\) \| (\d+) steps/s \| ETA (\S+)$")


def test_the_command_prints_steps_return_rate_and_eta(capsys):
    main(["--env", "CartPole-v1", "--steps", "2048", "--eval-episodes", "0", "--progress-steps", "512"])
    lines = [match for line in capsys.readouterr().out.splitlines() if (match := LINE.match(line))]
    assert [int(match[1]) for match in lines] == [512, 1024, 1536, 2048]  # 4 envs: every 128th step
    assert all(int(match[2]) == 2048 and int(match[5]) > 0 for match in lines)
    assert float(lines[-1][4]) > 0 and lines[-1][6] == "0:00:00"


def test_the_line_reads_the_last_ten_episodes_and_projects_the_rest():
    env = GymVecEnv("CartPole-v1", num_envs=1)
    progress = ProgressLine(env, planned_steps=1000, every=100, start=0.0)
    assert progress.line(100, 1.0) == "steps 100/1000 (10%) | return n/a (last 10 episodes) | 100 steps/s | ETA 0:00:09"
    env.finished_episodes.extend((step, 0.0, float(step), 1) for step in range(1, 13))
    assert "| return 7.5 (last 10 episodes) |" in progress.line(250, 5.0)  # episodes 3..12
    assert progress.line(250, 5.0).endswith("| 50 steps/s | ETA 0:00:15")
    env.close()


def test_no_lines_with_progress_steps_zero(capsys):
    main(["--env", "CartPole-v1", "--steps", "512", "--eval-episodes", "0", "--progress-steps", "0"])
    assert not [line for line in capsys.readouterr().out.splitlines() if LINE.match(line)]
