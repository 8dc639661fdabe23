"""GR00T-Cartpole-Direct's mask reset: no nonzero(), the stock reset distribution, the stock episode bookkeeping.

Both reset paths run the same seeded rollout in a subprocess (Newton on the CPU, 32 envs, episode clocks spread
so that environments end on most steps); the mask path is forced on, as CUDA runs use it by default.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROLLOUT_SCRIPT = Path(__file__).with_name("cartpole_rollout.py")
# CartpoleEnvCfg: initial cart position +-1 m, cart velocity +-0.5 m/s, pole angle and velocity +-pi/4
INITIAL_BOUNDS = torch.tensor([1.0, 0.25 * math.pi, 0.5, 0.25 * math.pi])
DT = 1.0 / 60.0  # env step: 2 physics steps of 1/120 s


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("cartpole")
    processes = {
        path: subprocess.Popen(
            [sys.executable, str(ROLLOUT_SCRIPT), str(folder / f"{path}.pt"), path],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for path in ("mask", "index")
    }
    for path, process in processes.items():
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
    return {path: torch.load(folder / f"{path}.pt", weights_only=True) for path in processes}


def test_the_mask_path_never_calls_nonzero(rollouts):
    assert rollouts["mask"]["supports_mask_reset"]
    assert not rollouts["mask"]["cpu_default"]  # the CPU keeps the index path unless asked
    assert rollouts["mask"]["nonzero_calls"] == 0
    assert rollouts["index"]["nonzero_calls"] >= len(rollouts["index"]["steps"]["obs"])


@pytest.mark.parametrize("path", ["mask", "index"])
def test_ended_episodes_restart_from_the_initial_state_distribution(rollouts, path):
    steps = rollouts[path]["steps"]
    ended = steps["terminated"] | steps["truncated"]
    assert ended.sum() > 20  # the spread clocks make many episodes end, time-outs and failures alike
    assert steps["truncated"].any() and steps["terminated"].any()
    assert torch.equal(steps["lengths"][ended], torch.zeros(int(ended.sum()), dtype=steps["lengths"].dtype))
    assert torch.equal(steps["lengths"][~ended], steps["lengths_before"][~ended] + 1)
    # the first observation of a new episode is the drawn initial state (joint positions/velocities)
    restarted = steps["obs"][ended]
    assert (restarted.abs() <= INITIAL_BOUNDS + 1e-5).all()
    # the draws cover their ranges (32+ uniform draws each): not a constant, not a fixed subset
    assert (restarted.std(dim=0) > 0.3 * INITIAL_BOUNDS / math.sqrt(3)).all()
    # time-outs come exactly at the episode limit
    assert (steps["lengths_before"][steps["truncated"]] + 1 == rollouts[path]["max_episode_length"]).all()


@pytest.mark.parametrize("path", ["mask", "index"])
def test_success_rate_is_the_time_out_share_of_the_last_step_with_endings(rollouts, path):
    steps = rollouts[path]["steps"]
    ended = steps["terminated"] | steps["truncated"]
    expected, checked = None, 0
    for step in range(len(ended)):
        if ended[step].any():
            expected = float(steps["truncated"][step][ended[step]].float().mean())
        if expected is not None:
            assert steps["success_rate"][step] == pytest.approx(expected)
            checked += 1
    assert checked > 10


def test_both_paths_give_the_same_dynamics_until_an_environment_first_resets(rollouts):
    """Same seed and actions: each environment evolves identically until its first reset draws a new state."""
    mask, index = rollouts["mask"]["steps"], rollouts["index"]["steps"]
    ended = mask["terminated"] | mask["truncated"]
    assert torch.equal(ended.float().argmax(dim=0), (index["terminated"] | index["truncated"]).float().argmax(dim=0))
    compared = 0
    for env_id, first_end in enumerate(ended.float().argmax(dim=0).tolist()):
        torch.testing.assert_close(mask["obs"][:first_end, env_id], index["obs"][:first_end, env_id])
        compared += first_end
    assert compared > 100
