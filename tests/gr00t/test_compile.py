"""``compile_blocks``: every repeated transformer block runs compiled, with the numbers of the eager model."""

from __future__ import annotations

import pytest
import torch

from isaaclab_gr00t.gr00t import GR00TActor
from isaaclab_gr00t.gr00t.build import repeated_blocks
from isaaclab_gr00t.testing.gr00t_numerics import GROUPS, camera_batch


def _actions_and_gradients(obs, compile_blocks: bool):
    torch.manual_seed(0)
    actor = GR00TActor(obs, GROUPS, "actor", 6, pixel_offset=0.5, gradient_checkpointing=True,
                       compile_blocks=compile_blocks)
    with torch.no_grad():
        mean = actor(obs)
    actor.train()
    actions = actor(obs, stochastic_output=True)
    actor.get_output_log_prob(actions.detach()).sum().backward()
    gradients = torch.cat([p.grad.flatten() for p in actor.gr00t.action_head.parameters() if p.grad is not None])
    return actor, mean, gradients


def test_compiled_blocks_give_the_eager_actions_and_gradients():
    obs = camera_batch(num_envs=3, image_size=30, state_dim=6, device="cpu")
    _, eager_mean, eager_gradients = _actions_and_gradients(obs, compile_blocks=False)
    actor, mean, gradients = _actions_and_gradients(obs, compile_blocks=True)
    stacks = repeated_blocks(actor.gr00t)
    assert len(stacks) == 4 and all(block._compiled_call_impl is not None for stack in stacks for block in stack)
    torch.testing.assert_close(mean, eager_mean, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gradients, eager_gradients, rtol=1e-3, atol=1e-5)


def test_compiling_without_a_c_compiler_names_the_setting(monkeypatch):
    monkeypatch.setattr("isaaclab_gr00t.gr00t.build.shutil.which", lambda name: None)
    obs = camera_batch(num_envs=2, image_size=30, state_dim=6, device="cpu")
    with pytest.raises(ValueError, match=r"compile_blocks.*C/C\+\+ compiler.*agent\.actor\.compile_blocks=false"):
        GR00TActor(obs, GROUPS, "actor", 6, pixel_offset=0.5, compile_blocks=True)
