"""The captured rollout's step protocol (act, env step, store) records exactly what the plain runner loop records.

On CPU it runs its eager path, which the first rollout of every CUDA run takes and whose calls the CUDA graphs
capture; gpu_tests/test_cuda_graph_update.py compares the replayed rollouts on a GPU.
"""

from __future__ import annotations

import torch

from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.runner.captured_rollout import MAX_CAPTURED_STEPS, CapturedRollout
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv, point_mass_train_cfg


def trained(with_captured_rollout: bool, iterations: int = 3) -> PPO37Runner:
    env = PointMassVecEnv(64, seed=0)
    cfg = point_mass_train_cfg({"class_name": "isaaclab_gr00t.ppo:PPO37", "num_mini_batches": 4,
                                "update_mode": "device"}, save_interval=1000)
    torch.manual_seed(0)
    runner = PPO37Runner(env, cfg, log_dir=None, device="cpu")
    assert runner.rollout is None  # only CUDA graph updates bring a captured rollout
    if with_captured_rollout:
        runner.rollout = CapturedRollout(runner.alg, runner.statistics, env.get_observations(), 16)
        runner.rollout.enabled = False  # no CUDA here: every rollout takes the eager path
    runner.learn(iterations)
    return runner


def test_captured_rollout_protocol_matches_the_plain_loop():
    plain, captured = trained(False), trained(True)
    for a, b in zip(plain.alg.storage.observations.values(), captured.alg.storage.observations.values()):
        assert torch.equal(a, b)
    for name in ("actions", "rewards", "dones", "values", "actions_log_prob", "returns"):
        assert torch.equal(getattr(plain.alg.storage, name), getattr(captured.alg.storage, name)), name
    for a, b in zip(plain.alg.actor.parameters(), captured.alg.actor.parameters()):
        assert torch.equal(a, b)


def test_long_rollouts_stay_eager():
    env = PointMassVecEnv(4, seed=0)
    cfg = point_mass_train_cfg({"class_name": "isaaclab_gr00t.ppo:PPO37", "num_mini_batches": 4})
    runner = PPO37Runner(env, cfg, log_dir=None, device="cpu")
    assert not CapturedRollout(runner.alg, runner.statistics, env.get_observations(), MAX_CAPTURED_STEPS + 1).enabled
    assert CapturedRollout(runner.alg, runner.statistics, env.get_observations(), MAX_CAPTURED_STEPS).enabled
