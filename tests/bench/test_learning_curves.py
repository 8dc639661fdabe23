"""The learning-curve benchmark: per-run JSON results, tables that mark runs cut short, report-only rebuilds."""

from __future__ import annotations

import dataclasses

import pytest

from isaaclab_gr00t.bench import learning_curves
from isaaclab_gr00t.gym.cli import TrainResult


def test_runs_write_results_and_report_only_marks_runs_cut_short(tmp_path, capsys):
    out = tmp_path / "cartpole"
    learning_curves.main(["--env", "CartPole-v1", "--steps", "1024", "--seeds", "3", "--jobs", "1",
                          "--eval-episodes", "1", "--num-envs", "2", "--out", str(out)])
    runs = {path.name: TrainResult.load(path) for path in (tmp_path / "cartpole_runs").glob("*.json")}
    assert set(runs) == {"ppo37_seed3.json", "stock_seed3.json"}
    for result in runs.values():
        assert result.complete and result.env_steps == result.planned_env_steps == 1024
        assert result.episodes and len(result.eval_returns) == 1
    assert "cut short" not in out.with_suffix(".md").read_text()
    assert "2 envs x 256 steps" in out.with_suffix(".md").read_text()
    assert out.with_suffix(".png").stat().st_size > 0

    stock = runs["stock_seed3.json"]
    cut = dataclasses.replace(stock, env_steps=512, episodes=stock.episodes[:3], eval_returns=[])
    cut.save(tmp_path / "cartpole_runs" / "stock_seed3.json")
    capsys.readouterr()
    learning_curves.main(["--env", "CartPole-v1", "--out", str(out), "--report-only"])
    table = capsys.readouterr().out
    stock_row = next(line for line in table.splitlines() if line.startswith("| stock"))
    ppo37_row = next(line for line in table.splitlines() if line.startswith("| ppo37"))
    assert "512 of 1024 (cut short)" in stock_row
    assert "cut short" not in ppo37_row


def test_report_only_without_results_names_the_folder(tmp_path):
    with pytest.raises(SystemExit, match="none_runs"):
        learning_curves.main(["--env", "CartPole-v1", "--out", str(tmp_path / "none"), "--report-only"])
