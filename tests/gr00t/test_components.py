"""Building blocks: action adapter, chunked env, camera frames, tokenizer, gradient checkpointing, bf16 paths."""

from __future__ import annotations

import pytest
import torch

from isaaclab_gr00t.gr00t import ChunkedActionEnv, GR00TActor
from isaaclab_gr00t.gr00t.action_adapter import ActionAdapter
from isaaclab_gr00t.gr00t.images import camera_frames
from isaaclab_gr00t.gr00t.tokenizer import BOS_ID, NUM_SPECIAL, tokenize_instruction

OBS_GROUPS = {"actor": ["policy"], "critic": ["critic"]}
TINY = {"size": "tiny", "lora_rank": 4, "action_horizon": 4}


def test_action_adapter_round_trip_and_errors():
    adapter = ActionAdapter(output_dim=6, horizon=4, padded_dim=32, execute_steps=2)
    chunk = torch.randn(5, 4, 32)
    actions = adapter.to_env(chunk)
    assert actions.shape == (5, 6)
    torch.testing.assert_close(actions[:, 3:], chunk[:, 1, :3])
    back = adapter.to_model(actions)
    torch.testing.assert_close(back[:, :2, :3], chunk[:, :2, :3])
    assert back[:, 2:].abs().sum() == 0 and back[:, :, 3:].abs().sum() == 0
    with pytest.raises(ValueError, match="execute_steps"):
        ActionAdapter(output_dim=5, horizon=4, padded_dim=32, execute_steps=2)
    with pytest.raises(ValueError, match="execute_steps"):
        ActionAdapter(output_dim=5, horizon=4, padded_dim=32, execute_steps=5)


def test_chunked_env_sums_rewards_until_done(make_env):
    inner = make_env(num_envs=3, episode_length=3)
    inner.episode_length_buf[:] = torch.tensor([0, 1, 2])
    sub_steps = []
    inner_step = inner.step

    def recording_step(action):
        result = inner_step(action)
        sub_steps.append((action.clone(), result[1].clone(), result[2].clone()))
        return result

    inner.step = recording_step
    env = ChunkedActionEnv(inner, execute_steps=2)
    assert env.num_actions == 2
    actions = torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    _, rewards, dones, extras = env.step(actions)
    (first_action, first_reward, first_done), (second_action, second_reward, _) = sub_steps
    assert torch.equal(first_action, actions[:, :1]) and torch.equal(second_action, actions[:, 1:])
    # env 2 ends after its first sub-step: the second reward belongs to the next episode and is dropped
    assert first_done.tolist() == [0, 0, 1]
    torch.testing.assert_close(rewards, first_reward + second_reward * torch.tensor([1.0, 1.0, 0.0]))
    assert dones.tolist() == [0, 1, 1] and extras["time_outs"].tolist() == [False, True, True]


def test_camera_frames_split_stacked_frames_and_depth():
    rgb = torch.arange(2 * 6 * 4 * 4, dtype=torch.float32).reshape(2, 6, 4, 4)
    views = camera_frames([rgb], channels_per_frame=3, image_size=4, scale=2.0)
    assert views.shape == (2, 2, 3, 4, 4)
    torch.testing.assert_close(views[1, 1], 2.0 * rgb[1, 3:])
    depth = torch.rand(2, 2, 8, 8)
    views = camera_frames([depth], channels_per_frame=1, image_size=4, scale=1.0)
    assert views.shape == (2, 2, 3, 4, 4) and torch.equal(views[:, :, 0], views[:, :, 2])
    with pytest.raises(ValueError, match="channels_per_frame"):
        camera_frames([torch.zeros(1, 4, 4, 4)], channels_per_frame=3, image_size=4, scale=1.0)


def test_byte_tokenizer():
    ids = tokenize_instruction("hé", vocab_size=300)
    assert ids.tolist() == [[BOS_ID, NUM_SPECIAL + ord("h"), NUM_SPECIAL + 0xC3, NUM_SPECIAL + 0xA9]]
    with pytest.raises(ValueError, match="vocabulary"):
        tokenize_instruction("h", vocab_size=50)


def test_gradient_checkpointing_gives_same_gradients(env):
    obs = env.get_observations()
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        actor = GR00TActor(obs, OBS_GROUPS, "actor", 1, gradient_checkpointing=checkpointing, **TINY)
        actor.train()
        with torch.no_grad():  # make LoRA B non-zero so that A gets gradients too
            for name, p in actor.backbone.named_parameters():
                if "lora_B" in name:
                    p.normal_(0.0, 0.1)
        actor(obs).pow(2).sum().backward()
        grads.append([p.grad.clone() for p in actor.backbone.parameters() if p.requires_grad])
        assert all(not m.training for m in actor.backbone.modules() if m is not actor.backbone and list(m.children()) == [])
    for plain, checkpointed in zip(*grads):
        torch.testing.assert_close(plain, checkpointed, atol=1e-6, rtol=1e-5)
    assert any(g.abs().sum() > 0 for g in grads[0])


def test_bf16_backbone_on_cpu_keeps_float32_heads(env):
    obs = env.get_observations()
    actor = GR00TActor(obs, OBS_GROUPS, "actor", 1, frozen_dtype="bfloat16", **TINY)
    assert actor.backbone.proj.weight.dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in actor.action_head.parameters())
    out = actor(obs)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is None for p in actor.backbone.parameters() if not p.requires_grad)
    with pytest.raises(ValueError, match="autocast_dtype"):
        GR00TActor(obs, OBS_GROUPS, "actor", 1, frozen_dtype="bfloat16", autocast_dtype="float32", **TINY)
