"""The optimized path (bfloat16 frozen backbone, stored features replayed by the update) computes what the plain
float32 path computes, within bfloat16 rounding; its full-size twin is gpu_tests/test_gr00t_numerics.py."""

from __future__ import annotations

from isaaclab_gr00t.testing.gr00t_numerics import camera_batch, compare_paths

BF16_RELATIVE = 3e-2  # bfloat16 keeps 8 bits of mantissa (relative rounding 4e-3), through a dozen layers
LOG_PROB_NATS = 1e-2  # a 1 % error of PPO's probability ratio


def test_optimized_path_matches_plain_path_at_tiny_size():
    errors = compare_paths(camera_batch(num_envs=4, image_size=30, state_dim=6, device="cpu"), 6, "tiny")
    assert errors["mean_actions"] < BF16_RELATIVE, errors
    assert errors["values"] < BF16_RELATIVE, errors
    assert errors["log_prob_nats"] < LOG_PROB_NATS, errors
    assert errors["mean_actions"] > 0  # the optimized path did run in bfloat16
