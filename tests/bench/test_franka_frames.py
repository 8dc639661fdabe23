"""The Franka GIF command records the chosen env from its own video camera under an exported state policy."""

from __future__ import annotations

import imageio.v2 as imageio
import torch

from isaaclab_gr00t.bench import franka_lift


class _FlailingArm(torch.nn.Module):
    """An exported-policy stand-in: random commands for the 9 action entries (a moving arm, so no two frames are
    the same and the GIF writer merges none)."""

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return 2.0 * torch.rand(obs.shape[0], 9, dtype=obs.dtype, device=obs.device) - 1.0


def test_frames_writes_a_gif_of_one_env_from_the_video_camera(tmp_path):
    policy = tmp_path / "policy.pt"
    torch.jit.script(_FlailingArm()).save(str(policy))
    gif = tmp_path / "lift.gif"
    best = franka_lift.frames(policy, gif, steps=3, num_envs=2, device="cpu")
    frames = imageio.mimread(gif)
    assert 0 <= best < 2
    assert len(frames) == 3
    width, height = franka_lift.VIDEO_CAMERA["width"], franka_lift.VIDEO_CAMERA["height"]
    assert frames[0].shape[:2] == (height, width)
    assert frames[0].std() > 1.0  # the scene is rendered, not a blank frame
