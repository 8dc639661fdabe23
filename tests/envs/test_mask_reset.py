"""The project's tasks reset from the mask: no nonzero(), the stock reset distribution and episode bookkeeping.

Both reset paths of GR00T-Cartpole-Direct and GR00T-Ant-Direct run the same seeded rollout in subprocesses
(Newton on the CPU, 32 envs, episode clocks spread so that environments end on most steps); the mask path is
forced on, as CUDA runs use it by default. GR00T-Humanoid-Direct shares the ant's code
(:class:`~isaaclab_gr00t.envs.locomotion.MaskResetLocomotion`).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROLLOUT_SCRIPT = Path(__file__).with_name("mask_reset_rollout.py")
# (joint position, joint velocity) offset bounds of the initial-state draw, per joint column
INITIAL_OFFSETS = {
    # CartpoleEnvCfg: cart position +-1 m and velocity +-0.5 m/s; pole angle and velocity +-pi/4
    "GR00T-Cartpole-Direct": (torch.tensor([1.0, 0.25 * math.pi]), torch.tensor([0.5, 0.25 * math.pi])),
    # AntEnvCfg: every joint +-0.2 rad, +-0.1 rad/s
    "GR00T-Ant-Direct": (torch.tensor(0.2), torch.tensor(0.1)),
}
TASKS = list(INITIAL_OFFSETS)


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory) -> dict[tuple[str, str], dict]:
    folder = tmp_path_factory.mktemp("mask_reset")
    runs = {(task, path): folder / f"{task}_{path}.pt" for task in TASKS for path in ("mask", "index")}
    processes = {
        key: subprocess.Popen([sys.executable, str(ROLLOUT_SCRIPT), key[0], str(out), key[1]],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for key, out in runs.items()
    }
    for key, process in processes.items():
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, f"{key}: {output[-3000:]}"
    return {key: torch.load(out, weights_only=True) for key, out in runs.items()}


@pytest.mark.parametrize("task", TASKS)
def test_the_mask_path_never_calls_nonzero(rollouts, task):
    mask, index = rollouts[task, "mask"], rollouts[task, "index"]
    assert mask["supports_mask_reset"]
    assert not mask["cpu_default"]  # the CPU keeps the index path unless asked
    assert mask["nonzero_calls"] == 0
    assert index["nonzero_calls"] >= len(index["steps"]["obs"])


@pytest.mark.parametrize("path", ["mask", "index"])
@pytest.mark.parametrize("task", TASKS)
def test_ended_episodes_restart_from_the_initial_state_distribution(rollouts, task, path):
    record = rollouts[task, path]
    steps = record["steps"]
    ended = steps["terminated"] | steps["truncated"]
    assert steps["truncated"].sum() >= 8 and ended.sum() > 20  # the spread clocks make many episodes end
    assert torch.equal(steps["lengths"][ended], torch.zeros(int(ended.sum()), dtype=steps["lengths"].dtype))
    assert torch.equal(steps["lengths"][~ended], steps["lengths_before"][~ended] + 1)
    assert (steps["lengths_before"][steps["truncated"]] + 1 == record["max_episode_length"]).all()

    # right after a reset the articulation sits at the drawn state: root at its default pose in the env
    # (fixed for the cartpole), joints within the draw around the default pose, clamped to the joint limits
    env_ids = ended.nonzero()[:, 1]
    torch.testing.assert_close(steps["root_pos"][ended], record["reset_root_pos"][env_ids])
    position_offsets, _ = INITIAL_OFFSETS[task]
    offsets = steps["joint_pos"][ended] - record["default_joint_pos"][env_ids]
    assert (offsets.abs() <= position_offsets + 1e-5).all()
    limits, restarted = record["joint_pos_limits"][env_ids], steps["joint_pos"][ended]
    assert ((restarted >= limits[..., 0] - 1e-5) & (restarted <= limits[..., 1] + 1e-5)).all()
    # the draws cover their range (20+ uniform draws each): not a constant, not a fixed subset
    assert (offsets.std(dim=0) > 0.3 * position_offsets / math.sqrt(3)).all()


@pytest.mark.parametrize("path", ["mask", "index"])
@pytest.mark.parametrize("task", TASKS)
def test_success_rate_is_the_time_out_share_of_the_last_step_with_endings(rollouts, task, path):
    steps = rollouts[task, path]["steps"]
    ended = steps["terminated"] | steps["truncated"]
    expected, checked = None, 0
    for step in range(len(ended)):
        if ended[step].any():
            expected = float(steps["truncated"][step][ended[step]].float().mean())
        if expected is not None:
            assert steps["success_rate"][step] == pytest.approx(expected)
            checked += 1
    assert checked > 10


@pytest.mark.parametrize("task", TASKS)
def test_both_paths_give_the_same_dynamics_until_an_environment_first_resets(rollouts, task):
    """Same seed and actions: each environment evolves identically until its first reset draws a new state."""
    mask, index = rollouts[task, "mask"]["steps"], rollouts[task, "index"]["steps"]
    first_end = (mask["terminated"] | mask["truncated"]).float().argmax(dim=0)
    assert torch.equal(first_end, (index["terminated"] | index["truncated"]).float().argmax(dim=0))
    compared = 0
    for env_id, end in enumerate(first_end.tolist()):
        torch.testing.assert_close(mask["obs"][:end, env_id], index["obs"][:end, env_id])
        compared += end
    assert compared > 100
