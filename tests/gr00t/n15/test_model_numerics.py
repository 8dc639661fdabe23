"""Numerics the published checkpoint depends on, each checked against the formula of the public N1.5 code, and
the behaviour of the action head and backbone the PPO policy relies on."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from isaaclab_gr00t.gr00t.n15 import GR00TN15, N15Config, published_state_dict
from isaaclab_gr00t.gr00t.n15.config import DiTConfig
from isaaclab_gr00t.gr00t.n15.dit import DiT, DiTBlock, TanhGELUProjection, timestep_sinusoid
from isaaclab_gr00t.gr00t.n15.embodiment_layers import action_time_sinusoid


@pytest.fixture(scope="module")
def tiny_model() -> GR00TN15:
    torch.manual_seed(0)
    return GR00TN15(N15Config.preset("tiny")).eval()


def head_inputs(model: GR00TN15, batch: int = 3, seed: int = 1):
    cfg = model.config.action_head
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(batch, 7, cfg.backbone_embedding_dim, generator=g)
    state = torch.randn(batch, cfg.max_state_dim, generator=g)
    noise = torch.randn(batch, cfg.action_horizon, cfg.action_dim, generator=g)
    embodiment = torch.tensor([31, 24, 17][:batch])
    return features, state, noise, embodiment


def test_timestep_sinusoid_is_cos_first_with_frequency_shift_one():
    t = torch.tensor([0, 250, 999])
    half = 128
    freqs = torch.tensor([10000 ** (-i / (half - 1)) for i in range(half)], dtype=torch.float64)
    expected = torch.cat([torch.cos(t[:, None] * freqs), torch.sin(t[:, None] * freqs)], dim=-1)
    torch.testing.assert_close(timestep_sinusoid(t, 256).double(), expected, rtol=0, atol=2e-4)  # float32 angles


def test_action_time_encoding_is_sin_first_without_shift():
    t = torch.tensor([[0, 500]])
    half = 8
    freqs = torch.tensor([math.exp(-i * math.log(10000.0) / half) for i in range(half)])
    expected = torch.cat([torch.sin(t[..., None] * freqs), torch.cos(t[..., None] * freqs)], dim=-1)
    torch.testing.assert_close(action_time_sinusoid(t, 16), expected)


def test_adaptive_layer_norm_takes_scale_then_shift():
    block = DiTBlock(8, 2, 4, dropout=0.0, context_dim=None).eval()
    scale, shift = torch.randn(8), torch.randn(8)
    with torch.no_grad():
        block.norm1.linear.weight.zero_()
        block.norm1.linear.bias.copy_(torch.cat([scale, shift]))
    x = torch.randn(2, 5, 8)
    out = block.norm1(x, torch.randn(2, 8))
    torch.testing.assert_close(out, F.layer_norm(x, (8,), eps=1e-5) * (1 + scale) + shift)


def test_output_modulation_takes_shift_then_scale():
    dit = DiT(DiTConfig(num_layers=0, num_heads=2, head_dim=4, output_dim=3, cross_attention_dim=6)).eval()
    shift, scale = torch.randn(8), torch.randn(8)
    with torch.no_grad():
        dit.proj_out_1.weight.zero_()
        dit.proj_out_1.bias.copy_(torch.cat([shift, scale]))
    tokens = torch.randn(2, 5, 8)
    out = dit(tokens, torch.tensor([0, 500]), [])
    expected = dit.proj_out_2(F.layer_norm(tokens, (8,), eps=1e-6) * (1 + scale) + shift)
    torch.testing.assert_close(out, expected)


def test_feed_forward_uses_tanh_gelu():
    proj = TanhGELUProjection(4, 16)
    x = torch.randn(3, 4)
    h = proj.proj(x)
    expected = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))
    torch.testing.assert_close(proj(x), expected)


def test_even_blocks_cross_attend_and_odd_blocks_self_attend(tiny_model):
    blocks = tiny_model.action_head.model.transformer_blocks
    assert [block.cross for block in blocks] == [True, False, True, False]
    assert blocks[0].attn1.to_k.in_features == tiny_model.config.action_head.dit.cross_attention_dim
    assert blocks[1].attn1.to_k.in_features == tiny_model.config.action_head.input_embedding_dim


def test_sample_is_the_euler_loop_over_velocity(tiny_model):
    head = tiny_model.action_head
    features, state, noise, embodiment = head_inputs(tiny_model)
    with torch.no_grad():
        context = head.encode_context(features)
        tokens = head.encode_state(state, embodiment)
        sampled = head.sample(context, tokens, embodiment, noise)
        x = noise
        for bucket in (0, 250, 500, 750):  # t = k / 4, bucket int(1000 t)
            x = x + 0.25 * head.velocity(context, tokens, x, torch.full((3,), bucket), embodiment)
    assert tokens.shape == (3, 1, tiny_model.config.action_head.input_embedding_dim)
    assert sampled.shape == noise.shape
    torch.testing.assert_close(sampled, x)
    assert not torch.allclose(sampled, noise)


def test_cached_context_keys_values_give_the_same_velocity(tiny_model):
    head = tiny_model.action_head
    features, state, noise, embodiment = head_inputs(tiny_model)
    with torch.no_grad():
        context = head.encode_context(features)
        tokens = head.encode_state(state, embodiment)
        bucket = torch.tensor([0, 250, 750])
        fresh = head.velocity(context, tokens, noise, bucket, embodiment)
        cached = head.velocity(context, tokens, noise, bucket, embodiment, context_kv=head.context_kv(context))
    torch.testing.assert_close(cached, fresh, rtol=0, atol=0)


def test_dropout_acts_in_train_mode_only(tiny_model):
    head = tiny_model.action_head
    features, state, noise, embodiment = head_inputs(tiny_model)
    bucket = torch.tensor([0, 250, 500])

    def velocity():
        context = head.encode_context(features)
        return head.velocity(context, head.encode_state(state, embodiment), noise, bucket, embodiment)

    with torch.no_grad():
        assert torch.equal(velocity(), velocity())
        head.train()
        try:
            assert not torch.allclose(velocity(), velocity())
        finally:
            head.eval()


def test_each_sample_uses_its_own_embodiment_slot(tiny_model):
    head = tiny_model.action_head
    features, state, noise, embodiment = head_inputs(tiny_model)
    bucket = torch.tensor([250, 250, 250])
    with torch.no_grad():
        context = head.encode_context(features)
        before = head.velocity(context, head.encode_state(state, embodiment), noise, bucket, embodiment)
        saved = head.action_decoder.layer2.W[24].clone()
        head.action_decoder.layer2.W[24].add_(1.0)
        try:
            after = head.velocity(context, head.encode_state(state, embodiment), noise, bucket, embodiment)
        finally:
            head.action_decoder.layer2.W[24].copy_(saved)
    assert torch.equal(after[[0, 2]], before[[0, 2]])  # slots 31 and 17
    assert not torch.allclose(after[1], before[1])  # slot 24


def test_one_slot_for_the_batch_matches_per_sample_ids_in_values_and_gradients(tiny_model):
    head = tiny_model.action_head
    features, state, noise, _ = head_inputs(tiny_model)
    bucket = torch.tensor([250, 500, 750])
    context = head.encode_context(features).detach()
    results = []
    for embodiment in (torch.full((3,), 24), 24):
        head.zero_grad(set_to_none=True)
        velocity = head.velocity(context, head.encode_state(state, embodiment), noise, bucket, embodiment)
        velocity.square().sum().backward()
        weight_grad = head.action_encoder.W2.W.grad
        results.append((velocity.detach(), weight_grad.clone()))
        assert weight_grad[[17, 31]].abs().sum() == 0  # only slot 24 was used
    head.zero_grad(set_to_none=True)
    (per_sample, per_sample_grad), (one_slot, one_slot_grad) = results
    torch.testing.assert_close(one_slot, per_sample)
    torch.testing.assert_close(one_slot_grad, per_sample_grad)


def test_backbone_writes_vision_tokens_view_major_at_the_image_context_positions(tiny_model):
    cfg = tiny_model.config
    per_view = cfg.tokens_per_view
    eagle = tiny_model.backbone.eagle_model
    ids = torch.tensor([[5, cfg.image_start_id] + [cfg.image_token_id] * per_view + [cfg.image_end_id, 7,
                         cfg.image_start_id] + [cfg.image_token_id] * per_view + [cfg.image_end_id, 9]])
    pixels = torch.rand(1, 2, 3, cfg.vision.image_size, cfg.vision.image_size) * 2 - 1
    captured = {}
    hook = eagle.language_model.model.register_forward_pre_hook(
        lambda module, args, kwargs: captured.update(embeds=kwargs["inputs_embeds"]), with_kwargs=True)
    try:
        with torch.no_grad():
            features = tiny_model.backbone(pixels, ids, torch.ones_like(ids))
            vision = eagle.mlp1(eagle.vision_model.vision_model(pixel_values=pixels[0]).last_hidden_state)
            text = eagle.language_model.model.embed_tokens(ids)
    finally:
        hook.remove()
    embeds = captured["embeds"][0]
    positions = (ids[0] == cfg.image_token_id).nonzero().squeeze(1)
    torch.testing.assert_close(embeds[positions], vision.reshape(2 * per_view, -1))
    torch.testing.assert_close(embeds[0], text[0, 0])
    assert features.shape == (1, ids.shape[1], cfg.text.hidden_size)
    with pytest.raises(ValueError, match=f"needs {2 * per_view} <IMG_CONTEXT> tokens .* got \\[{per_view}\\]"):
        tiny_model.backbone(pixels, ids[:, : 3 + per_view], torch.ones_like(ids[:, : 3 + per_view]))


def test_training_one_slot_alone_takes_the_steps_of_training_every_slot():
    """Adam steps on slot_W/slot_b equal those on the whole W/b (the other slots get no gradient), in less memory;
    published_state_dict writes the trained slot back into the published W/b."""
    torch.manual_seed(0)
    every_slot = GR00TN15(N15Config.preset("tiny")).eval()
    one_slot = GR00TN15(N15Config.preset("tiny")).eval()
    one_slot.load_state_dict(every_slot.state_dict())
    one_slot.action_head.train_only_slot(24)
    features, state, noise, _ = head_inputs(every_slot)
    bucket = torch.tensor([250, 500, 750])
    sizes = []
    for model in (every_slot, one_slot):
        head = model.action_head
        params = [p for p in head.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=1e-2)
        for _ in range(3):
            optimizer.zero_grad()
            context = head.encode_context(features)
            head.velocity(context, head.encode_state(state, 24), noise, bucket, 24).square().mean().backward()
            optimizer.step()
        sizes.append(sum(s.numel() for p in params for s in optimizer.state[p].values() if s.dim()))
    trained = published_state_dict(one_slot)
    assert trained.keys() == every_slot.state_dict().keys()
    for key, value in every_slot.state_dict().items():
        torch.testing.assert_close(trained[key], value, rtol=1e-5, atol=1e-6, msg=key)
    slot_layer = one_slot.action_head.action_encoder.W2
    assert not torch.equal(slot_layer.slot_W, slot_layer.W[24])  # the frozen copy kept the published weights
    assert sizes[1] < sizes[0]  # moments for one slot of each per-embodiment layer, not for all of them


def test_context_keys_values_cast_the_context_once_under_autocast(tiny_model):
    head = tiny_model.action_head
    features = head_inputs(tiny_model)[0].requires_grad_(True)
    context = head.encode_context(features)  # not a leaf: autocast caches the casts of leaves only
    results = {}
    for name, context_kv in (("per projection", head.model.context_kv), ("once", head.context_kv)):
        saved = {}

        def pack(tensor, saved=saved):
            saved[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
            return tensor

        with torch.autocast("cpu", torch.bfloat16), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            kv = [t for pair in context_kv(context) if pair is not None for t in pair]
        results[name] = (kv, sum(saved.values()))
    (per_projection, bytes_per_projection), (once, bytes_once) = results["per projection"], results["once"]
    assert all(torch.equal(a, b) for a, b in zip(once, per_projection)) and len(once) == len(per_projection) > 2
    assert bytes_once < bytes_per_projection  # one cast context kept for the backward pass, not one per projection


def test_a_state_dict_of_every_slot_training_loads_into_one_slot_training(tiny_model):
    """PPO checkpoints written while the whole W/b trained (no slot_W/slot_b) load strictly: the slot comes from W/b."""
    one_slot = GR00TN15(N15Config.preset("tiny")).eval()
    one_slot.action_head.train_only_slot(24)
    one_slot.load_state_dict(tiny_model.state_dict(), strict=True)
    layer, source = one_slot.action_head.action_decoder.layer1, tiny_model.action_head.action_decoder.layer1
    assert torch.equal(layer.slot_W, source.W[24]) and torch.equal(layer.slot_b, source.b[24])
    assert torch.equal(layer.W, source.W)
