"""SIGKILL a real training process, then resume from Isaac Lab's ``--checkpoint latest`` choice."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import torch

SCRIPT = os.path.join(os.path.dirname(__file__), "train_point_mass.py")


def run_script(algorithm, log_root, run_name, iterations, *extra, **popen_kwargs):
    command = [sys.executable, SCRIPT, str(log_root), run_name, str(iterations)]
    command += ["--algorithm_json", json.dumps(algorithm), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(command, env=env, text=True, **popen_kwargs)


def test_sigkill_then_resume_latest_continues_the_iteration_count(tmp_path, algorithm_cfg):
    log_root = tmp_path / "logs"
    console = open(tmp_path / "first.log", "w")
    first = run_script(algorithm_cfg(), log_root, "run_a", 100000, stdout=console, stderr=subprocess.STDOUT)
    run_dir = log_root / "run_a"
    deadline = time.time() + 150
    while not (run_dir / "model_4.pt").exists():
        assert first.poll() is None, open(tmp_path / "first.log").read()[-3000:]
        assert time.time() < deadline, "training never wrote model_4.pt"
        time.sleep(0.05)
    time.sleep(0.3)  # kill at an arbitrary point of a later iteration (possibly mid-save)
    first.send_signal(signal.SIGKILL)
    first.wait()
    console.close()
    assert first.returncode == -signal.SIGKILL

    logged = [int(i) for i in re.findall(r"Learning iteration (\d+)/", open(tmp_path / "first.log").read())]
    saved = sorted(int(m.group(1)) for name in os.listdir(run_dir) if (m := re.fullmatch(r"model_(\d+)\.pt", name)))
    newest = saved[-1]
    # iteration i is logged, then model_{i+1}.pt saved: at most the iteration being saved is lost
    assert logged[-1] <= newest <= logged[-1] + 1
    assert torch.load(run_dir / f"model_{newest}.pt", weights_only=True)["iter"] == newest

    second = run_script(
        algorithm_cfg(), log_root, "run_b", 2, "--resume", "latest", stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output, _ = second.communicate(timeout=150)
    assert second.returncode == 0, output[-3000:]
    assert f"RESUMED {run_dir / f'model_{newest}.pt'} AT {newest}" in output
    assert re.findall(r"Learning iteration (\d+)/", output) == [str(newest), str(newest + 1)]
    assert f"FINISHED AT {newest + 2}" in output
    resumed = torch.load(log_root / "run_b" / f"model_{newest + 2}.pt", weights_only=True)
    assert resumed["iter"] == newest + 2
