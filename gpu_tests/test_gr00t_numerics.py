"""At full size on CUDA, the optimized GR00T path (bfloat16 frozen backbone and autocast, stored features replayed
by the update) computes what the plain float32 path computes, within bfloat16 rounding."""

from __future__ import annotations

from isaaclab_gr00t.testing.gr00t_numerics import camera_batch, compare_paths

BF16_RELATIVE = 5e-2  # bfloat16 autocast through the vision tower, 12 LM layers and 4 Euler steps of the DiT
LOG_PROB_NATS = 5e-2  # a 5 % error of PPO's probability ratio


def test_optimized_path_matches_plain_path_at_full_size():
    errors = compare_paths(camera_batch(num_envs=8, image_size=224, state_dim=8, device="cuda"), 7, "full")
    print(f"optimized vs plain at full size: {errors}")
    assert errors["mean_actions"] < BF16_RELATIVE, errors
    assert errors["values"] < BF16_RELATIVE, errors
    assert errors["log_prob_nats"] < LOG_PROB_NATS, errors
