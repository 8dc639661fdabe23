"""The actor on a checkpoint folder: strict load, embodiment statistics, PPO checkpoints without the frozen
weights, reload that reproduces the policy, and clear errors for bad configs."""

from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict

from isaaclab_gr00t.gr00t import GR00TActor, GR00TCritic, GR00TExportError
from isaaclab_gr00t.gr00t.n15 import CheckpointError, UnknownEmbodimentError, published_state_dict
from isaaclab_gr00t.gr00t.n15.testing import write_tiny_checkpoint

GROUPS = {"actor": ["policy", "state"], "critic": ["critic"]}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    return write_tiny_checkpoint(str(tmp_path_factory.mktemp("gr00t")))


def _obs(num_envs: int = 3, state_dim: int = 6) -> TensorDict:
    torch.manual_seed(1)
    return TensorDict(
        {"policy": torch.rand(num_envs, 3, 30, 30) - 0.5, "state": torch.randn(num_envs, state_dim),
         "critic": torch.randn(num_envs, 4)},
        batch_size=[num_envs],
    )


def _actor(ckpt, obs, **kwargs) -> GR00TActor:
    cfg = {"checkpoint": ckpt.checkpoint_dir, "processor": ckpt.processor_dir, "pixel_offset": 0.5, **kwargs}
    return GR00TActor(obs, GROUPS, "actor", 6, **cfg)


def test_actor_runs_the_loaded_weights(tiny_checkpoint):
    obs = _obs()
    actor = _actor(tiny_checkpoint, obs)
    source = tiny_checkpoint.model.state_dict()
    loaded = published_state_dict(actor.gr00t)
    assert loaded.keys() == source.keys() and all(torch.equal(value, source[key]) for key, value in loaded.items())
    assert actor.embodiment_id == 31  # new_embodiment


def _seeded(actor: GR00TActor, obs) -> torch.Tensor:
    """The deterministic action from a fixed start noise (every integration starts from x_0 ~ N(0, I))."""
    torch.manual_seed(7)
    return actor(obs)


def test_embodiment_statistics_map_state_and_actions(tiny_checkpoint):
    obs = _obs()
    plain = _actor(tiny_checkpoint, obs, embodiment="gr1", use_statistics=False)
    mapped = _actor(tiny_checkpoint, obs, embodiment="gr1")
    assert plain.embodiment_id == mapped.embodiment_id == 24
    raw_state = obs["state"]
    torch.testing.assert_close(plain.state_map.normalize(raw_state), raw_state)
    assert not torch.allclose(mapped.state_map.normalize(raw_state), raw_state)
    with torch.no_grad():
        executed = plain(obs)  # the model's [-1, 1] actions (identity map)
        round_trip = mapped.action_map.unnormalize(mapped.action_map.normalize(executed))
        torch.testing.assert_close(round_trip, executed)  # min_max clips neither way, as published
    with pytest.raises(ValueError, match="state statistics describe 6 dimensions"):
        _actor(tiny_checkpoint, _obs(state_dim=5), embodiment="gr1")


def test_unknown_embodiment_and_missing_folder_are_named(tiny_checkpoint, tmp_path):
    with pytest.raises(UnknownEmbodimentError, match="robot_x"):
        _actor(tiny_checkpoint, _obs(), embodiment="robot_x")
    with pytest.raises(CheckpointError, match=str(tmp_path / "nowhere")):
        GR00TActor(_obs(), GROUPS, "actor", 6, checkpoint=str(tmp_path / "nowhere"))


def test_ppo_checkpoint_leaves_out_frozen_weights_and_reload_reproduces_actions(tiny_checkpoint):
    obs = _obs()
    actor = _actor(tiny_checkpoint, obs, lora_rank=2)
    with torch.no_grad():  # move the trainable weights away from the checkpoint's
        for p in actor.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    state = actor.state_dict()
    trainable = {n for n, p in actor.named_parameters() if p.requires_grad}
    assert trainable <= set(state)
    assert not any(k.startswith("gr00t.backbone") and "lora_" not in k for k in state)
    fresh = _actor(tiny_checkpoint, obs, lora_rank=2)
    fresh.load_state_dict(state, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(_seeded(fresh, obs), _seeded(actor, obs))
    del state[next(k for k in state if "lora_B" in k)]
    with pytest.raises(RuntimeError, match="lora_B"):
        fresh.load_state_dict(state, strict=True)


def test_random_model_checkpoint_keeps_every_weight():
    obs = _obs()
    actor = GR00TActor(obs, GROUPS, "actor", 6, pixel_offset=0.5)
    state = actor.state_dict()
    assert any(k.startswith("gr00t.backbone.eagle_model.vision_model") for k in state)
    torch.manual_seed(123)  # a different random init, overwritten by the checkpoint
    fresh = GR00TActor(obs, GROUPS, "actor", 6, pixel_offset=0.5)
    fresh.load_state_dict(state, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(_seeded(fresh, obs), _seeded(actor, obs))


def test_export_raises_not_implemented():
    obs = _obs()
    actor = GR00TActor(obs, GROUPS, "actor", 6, pixel_offset=0.5)
    critic = GR00TCritic(obs, GROUPS, "critic", 1, cnns=actor.cnns)
    for export in (actor.as_jit, actor.as_onnx, critic.as_jit, critic.as_onnx):
        with pytest.raises(GR00TExportError):
            export()
    state_critic = GR00TCritic(obs, GROUPS, "critic", 1, value_input="state")
    assert state_critic.as_jit() is not None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"policy": "beta"}, "'policy'"),
        ({"hidden_dims": [64]}, "'hidden_dims'"),
        ({"dtype": "float16"}, "'dtype'"),
        ({"execute_steps": 4}, "execute_steps"),
        ({"execute_steps": 0}, "execute_steps"),
        ({"share_key": "a"}, "Unknown GR00T actor cfg field"),
    ],
)
def test_bad_actor_cfg_values_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GR00TActor(_obs(), GROUPS, "actor", 6, **kwargs)


def test_bad_critic_cfg_values_are_named():
    obs = _obs()
    actor = GR00TActor(obs, GROUPS, "actor", 6)
    with pytest.raises(ValueError, match="'value_input'"):
        GR00TCritic(obs, GROUPS, "critic", 1, value_input="pixels")
    with pytest.raises(ValueError, match="share_cnn_encoders=true"):
        GR00TCritic(obs, GROUPS, "critic", 1)
    with pytest.raises(ValueError, match="share_cnn_encoders=false"):
        GR00TCritic(obs, GROUPS, "critic", 1, cnns=actor.cnns, value_input="state")
    with pytest.raises(ValueError, match="Unknown GR00T critic cfg field"):
        GR00TCritic(obs, GROUPS, "critic", 1, cnns=actor.cnns, share_key="a")
    with pytest.raises(ValueError, match="1-D groups only"):
        GR00TCritic(obs, {"critic": ["policy"]}, "critic", 1, value_input="state")


def test_embodiment_is_chosen_by_name_or_slot_id(tiny_checkpoint):
    by_id = _actor(tiny_checkpoint, _obs(), embodiment="24")
    assert by_id.embodiment_id == 24
    # gr1's statistics come along with its slot id
    assert by_id.state_map.dim == 6


def test_gradient_checkpointing_gives_the_same_lora_gradients():
    obs = _obs()
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        actor = GR00TActor(obs, GROUPS, "actor", 6, lora_rank=2, gradient_checkpointing=checkpointing, pixel_offset=0.5)
        actor.train()
        layer_runs = [0]
        layer = actor.gr00t.backbone.eagle_model.language_model.model.layers[0]
        layer.register_forward_pre_hook(lambda *_: layer_runs.__setitem__(0, layer_runs[0] + 1))
        with torch.no_grad():
            for name, p in actor.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.1)  # LoRA B starts at zero: make the adapters act
        actor(obs).square().sum().backward()
        assert layer_runs[0] == (2 if checkpointing else 1)  # checkpointing starts the layer again in backward
        assert all(not m.training for m in actor.gr00t.action_head.modules())  # dropout stays off
        grads.append({n: p.grad for n, p in actor.named_parameters() if "lora_A" in n})
    assert grads[0] and all(g.abs().sum() > 0 for g in grads[0].values())
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, atol=1e-6, rtol=1e-5)


def test_gradient_checkpointing_gives_the_same_action_head_gradients():
    obs = _obs()
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        actor = GR00TActor(obs, GROUPS, "actor", 6, gradient_checkpointing=checkpointing, pixel_offset=0.5)
        actor.train()
        head = actor.gr00t.action_head
        runs = {"dit": 0, "vlsa": 0}
        first_blocks = (("dit", head.model.transformer_blocks[0]),
                        ("vlsa", head.vl_self_attention.transformer_blocks[0]))
        for name, block in first_blocks:
            block.register_forward_pre_hook(lambda *_, name=name: runs.__setitem__(name, runs[name] + 1))
        actor(obs).square().sum().backward()
        steps = actor.gr00t.config.action_head.num_inference_timesteps
        # checkpointing runs each block again in backward: once more per Euler step for the DiT's
        assert runs == ({"dit": 2 * steps, "vlsa": 2} if checkpointing else {"dit": steps, "vlsa": 1})
        assert not actor.gr00t.backbone.training  # a frozen backbone stays in eval mode
        grads.append({n: p.grad for n, p in actor.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 100
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, atol=1e-6, rtol=1e-5)
