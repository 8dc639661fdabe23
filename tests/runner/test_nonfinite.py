"""Non-finite environment data stops training before the update, on a device-side check read once per iteration."""

import os

import pytest
import torch

from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv


def test_nan_observation_stops_before_the_update_and_the_save(train_cfg, tmp_path):
    cfg = train_cfg(num_steps_per_env=8, save_interval=1)
    # the NaN appears during the second rollout (global steps 8..15)
    runner = PPO37Runner(PointMassVecEnv(num_envs=8, nan_at_step=11), cfg, log_dir=str(tmp_path), device="cpu")
    runner.learn(1)
    after_first = {k: v.clone() for k, v in runner.alg.save()["actor_state_dict"].items()}
    with pytest.raises(FloatingPointError, match=r"Iteration 1: .*observation group 'policy'"):
        runner.learn(3)
    for name, tensor in runner.alg.save()["actor_state_dict"].items():
        assert torch.equal(tensor, after_first[name]), f"{name} was updated with non-finite data"
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".pt")) == ["model_1.pt"]
    assert runner.current_learning_iteration == 1

