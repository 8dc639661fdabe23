"""Post-training GR00T N1.5 on demonstrations, end to end on the CPU with the tiny model:
record -> finetune -> doctor -> ``isaaclab train`` from the SFT folder -> evaluate against the untrained model.

The demonstrations come from the session's trained cartpole (tests/bench/conftest.py). The commands that need no
simulation (finetune, doctor) run in this process; the others run as subprocesses, at the same time where they do
not depend on each other, one thread each.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from isaaclab_gr00t.gr00t import doctor, finetune

RECORD = "isaaclab_gr00t.gr00t.record"
EVALUATE = "isaaclab_gr00t.bench.evaluate"
TASK = "Test-Short-Cartpole"
GR00T_AGENT = "rsl_rl_gr00t_cfg_entry_point"
EPISODES = 16
# Measured on the 2-core CPU: with these, the SFT policy's first action correlates ~0.95 with the expert's on the
# demonstrations; 300 steps (~0.7) or batch 64 for 150 steps (sometimes ~0) leave its mean return at the untrained
# model's.
SFT_ARGS = ["--size", "tiny", "--embodiment", "new_embodiment", "--batch-size", "16", "--lr", "3e-3",
            "--device", "cpu", "--log-every", "100"]
SFT_STEPS = 600
ROW = re.compile(rf"^\| {TASK} \| .* \| (\d+) \| ([\d.]+) \(.*\) \| (-?[\d.]+) \(([\d.]+)\) \| ([\d.]+) \|$",
                 re.MULTILINE)


def start(cartpole, *args: str) -> subprocess.Popen:
    """``args`` (a module, or the ``isaaclab`` CLI) in the training's folder, one thread, without waiting."""
    isaaclab = str(Path(sys.executable).with_name("isaaclab"))
    command = [isaaclab, *args[1:]] if args[0] == "isaaclab" else [sys.executable, "-m", *args]
    return subprocess.Popen(command, cwd=cartpole.run_dir.parents[3], env={**cartpole.env, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    """The stdout of ``process`` once it exited with 0."""
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"{process.args} failed:\n{stdout[-3000:]}\n{stderr[-5000:]}"
    return stdout


@pytest.fixture(scope="module")
def recordings(trained_cartpole, tmp_path_factory):
    """16 successful episodes of the trained cartpole, and one of it in the camera twin."""
    root = tmp_path_factory.mktemp("sft_pipeline")
    common = ["--checkpoint", str(trained_cartpole.run_dir), "--device", "cpu"]
    state = start(trained_cartpole, RECORD, "--task", TASK, *common, "--episodes", str(EPISODES), "--num_envs", "16",
                  "--successful-only", "--out", str(root / "state"))
    camera = start(trained_cartpole, RECORD, "--task", "Test-Short-Cartpole-Camera", "--policy_task", TASK,
                   "--obs_map", "policy=critic", *common, "--episodes", "1", "--num_envs", "2",
                   "--out", str(root / "camera"))
    assert f"wrote {EPISODES} episodes" in finish(state)
    assert "wrote 1 episodes" in finish(camera)
    return root


@pytest.fixture(scope="module")
def checkpoints(recordings):
    """The tiny model fine-tuned on the state demonstrations (``sft``), and its 0-step twin (``untrained``): the
    same random start and the same statistics, never trained."""
    dataset = str(recordings / "state")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads on this tiny model take twice as long on the 2-core machine
    try:
        for name, steps in (("untrained", 0), ("sft", SFT_STEPS)):
            assert finetune.main(["--dataset", dataset, *SFT_ARGS, "--steps", str(steps),
                                  "--out", str(recordings / name)]) == 0
    finally:
        torch.set_num_threads(threads)
    return recordings / "sft", recordings / "untrained"


def test_the_camera_twin_recording_fine_tunes(recordings, capsys):
    out = recordings / "camera_sft"
    assert finetune.main(["--dataset", str(recordings / "camera"), *SFT_ARGS, "--steps", "2", "--batch-size", "2",
                          "--out", str(out)]) == 0
    losses = re.search(r"fixed-batch loss ([\d.]+) -> ([\d.]+)", capsys.readouterr().out).groups()
    assert all(0 < float(loss) < 100 for loss in losses)
    entry = json.loads((out / "experiment_cfg" / "metadata.json").read_text())["new_embodiment"]
    # the camera is the view; the camera cartpole's GR00T agent reads no state
    assert entry["modalities"]["video"]["policy"]["resolution"] == [96, 96]
    assert entry["statistics"]["state"] == {}
    assert torch.load(out / "trainer_state.pt", weights_only=True)["step"] == 2


def test_the_doctor_passes_the_sft_folder(checkpoints, capsys):
    assert doctor.main([str(checkpoints[0]), "--load"]) == 0
    assert "OK:" in capsys.readouterr().out


def sft_tensor(folder, key: str) -> torch.Tensor:
    index = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    with safe_open(str(folder / index[key]), "pt") as shard:
        return shard.get_tensor(key)


def evaluation(stdout: str) -> tuple[int, float, float]:
    """(episodes, success rate, mean return) of evaluate's table."""
    episodes, rate, mean_return, _, _ = ROW.search(stdout).groups()
    return int(episodes), float(rate), float(mean_return)


def test_ppo_starts_from_the_sft_folder_and_the_sft_policy_beats_the_untrained_one(trained_cartpole, checkpoints):
    sft, untrained = checkpoints
    evaluate = ["--task", TASK, "--agent", GR00T_AGENT, "--episodes", "8", "--num_envs", "8", "--device", "cpu",
                "--seed", "1", "--checkpoint"]
    processes = [
        start(trained_cartpole, "isaaclab", "train", "--rl_library", "rsl_rl", "--task", TASK, "--agent", GR00T_AGENT,
              f"agent.actor.checkpoint={sft}", "agent.max_iterations=1", "agent.save_interval=1",
              "env.scene.num_envs=8"),
        start(trained_cartpole, EVALUATE, *evaluate, str(sft)),
        start(trained_cartpole, EVALUATE, *evaluate, str(untrained)),
    ]
    _, trained_out, untrained_out = (finish(process) for process in processes)

    # PPO loaded the SFT folder strictly and trained from it: one iteration moves the action head a little
    run = next((trained_cartpole.run_dir.parents[1] / "test_short_cartpole_gr00t").iterdir())
    actor = torch.load(run / "model_1.pt", weights_only=True)["actor_state_dict"]
    key = "action_head.model.proj_out_2.weight"
    sft_weight, untrained_weight = sft_tensor(sft, key), sft_tensor(untrained, key)
    assert 0 < (actor[f"gr00t.{key}"] - sft_weight).abs().max() < 0.1 * (sft_weight - untrained_weight).abs().max()

    # the same 8 seeded episodes: the SFT policy keeps the pole far closer to upright
    (episodes, _, sft_return), (_, _, untrained_return) = evaluation(trained_out), evaluation(untrained_out)
    assert episodes == 8
    assert sft_return > untrained_return + 0.5, (sft_return, untrained_return)
