"""Building blocks: action adapter, chunked env, camera views, chat-templated prompt, embodiment min-max maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from isaaclab_gr00t.gr00t import ChunkedActionEnv
from isaaclab_gr00t.gr00t.action_adapter import ActionAdapter
from isaaclab_gr00t.gr00t.images import camera_views, count_views
from isaaclab_gr00t.gr00t.n15 import KeyStatistics
from isaaclab_gr00t.gr00t.n15.embodiments import EmbodimentStatistics
from isaaclab_gr00t.gr00t.n15 import N15Config
from isaaclab_gr00t.gr00t.n15.checkpoint import load_tokenizer
from isaaclab_gr00t.gr00t.n15.config import TINY_SPECIAL_TOKENS
from isaaclab_gr00t.gr00t.n15.testing import CHAT_TEMPLATE, write_tokenizer
from isaaclab_gr00t.gr00t.normalization import pad_to, statistics_map
from isaaclab_gr00t.gr00t.prompt import prompt_tokens


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


def test_camera_views_crop_resize_and_normalize():
    # uint8-style pixels: a horizontal ramp 0..255 over 40 columns, two stacked RGB frames, one grey frame group
    ramp = torch.linspace(0, 255, 40).expand(2, 6, 40, 40).clone()
    ramp[:, 3:] = 255 - ramp[:, 3:]
    grey = torch.full((2, 1, 20, 20), 0.25)
    views = camera_views([ramp], image_size=19, pixel_scale=1 / 255, pixel_offset=0.0)
    assert views.shape == (2, 2, 3, 19, 19)
    # (x - 0.5) / 0.5 of a centre crop of 95 %: the ramp's ends are cut, so the views stay strictly inside [-1, 1]
    assert -1.0 < views[0, 0].min() < -0.9 and 0.9 < views[0, 0].max() < 1.0
    torch.testing.assert_close(views[:, 1], views[:, 0].flip(-1), atol=1e-4, rtol=0)
    depth = camera_views([grey], image_size=7, pixel_scale=1.0, pixel_offset=0.0, channels_per_frame=1)
    torch.testing.assert_close(depth, torch.full((2, 1, 3, 7, 7), -0.5))
    channel_last = camera_views([ramp[:, :3].permute(0, 2, 3, 1)], image_size=19, pixel_scale=1 / 255, pixel_offset=0.0)
    torch.testing.assert_close(channel_last, views[:, :1])
    with pytest.raises(ValueError, match="channels_per_frame"):
        camera_views([torch.zeros(1, 5, 8, 8)], image_size=4, pixel_scale=1.0, pixel_offset=0.0)
    # views are counted from the shapes: two stacked frames, one channel-last frame, three grey frames
    groups = [ramp, ramp[:, :3].permute(0, 2, 3, 1), torch.zeros(2, 3, 500, 500)]
    assert count_views(groups[:2]) == 3 and count_views(groups[2:], channels_per_frame=1) == 3


def test_centre_crop_truncates_the_side_as_published():
    # a 10 px side crops to int(9.5) = 9 px (rounding would keep all 10); a resize to 9 px is then the identity
    frame = torch.rand(1, 3, 10, 10)
    views = camera_views([frame], image_size=9, pixel_scale=1.0, pixel_offset=0.0)
    torch.testing.assert_close(views[:, 0], (frame[..., :9, :9] - 0.5) / 0.5)


def _tokenizer(tmp_path):
    write_tokenizer(str(tmp_path), TINY_SPECIAL_TOKENS)
    return load_tokenizer(str(tmp_path), None, N15Config.preset("tiny"))


def test_prompt_has_the_published_structure(tmp_path):
    tokenizer = _tokenizer(tmp_path)
    ids, mask = prompt_tokens(tokenizer, ["pick up the red cube"], num_views=2, tokens_per_view=4)
    text = tokenizer.decode(ids[0])
    expected_user = "<image 1><img>" + "<IMG_CONTEXT>" * 4 + "</img><image 2><img>" + "<IMG_CONTEXT>" * 4 + "</img>"
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        + expected_user + "pick up the red cube<|im_end|>\n<|im_start|>assistant\n"
    )
    image_id = tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    positions = (ids[0] == image_id).nonzero().flatten()
    assert len(positions) == 8 and bool(mask.all())
    # each view's image-context tokens are one run, opened by <img> and closed by </img>
    start, end = tokenizer.convert_tokens_to_ids("<img>"), tokenizer.convert_tokens_to_ids("</img>")
    assert ids[0, positions[0] - 1] == start and ids[0, positions[3] + 1] == end and ids[0, positions[4] - 1] == start


def test_prompts_are_left_padded(tmp_path):
    tokenizer = _tokenizer(tmp_path)
    ids, mask = prompt_tokens(tokenizer, ["go", "pick up the red cube"], num_views=1, tokens_per_view=4)
    short = int(mask[0].sum())
    assert mask[1].all() and not mask[0, 0] and mask[0, -short:].all()
    torch.testing.assert_close(ids[0, -short:], prompt_tokens(tokenizer, ["go"], 1, 4)[0][0])
    assert (ids[0, : ids.shape[1] - short] == tokenizer.pad_token_id).all()


def test_prompt_refuses_a_tokenizer_without_template_or_image_tokens(tmp_path):
    tokenizer = _tokenizer(tmp_path)
    tokenizer.chat_template = None
    with pytest.raises(ValueError, match="chat template"):
        prompt_tokens(tokenizer, ["go"], 1, 4)
    tokenizer.chat_template = CHAT_TEMPLATE.replace("{{ message['content'] }}", "{{ message['content'][:3] }}")
    with pytest.raises(ValueError, match="IMG_CONTEXT"):
        prompt_tokens(tokenizer, ["go"], 1, 4)


def _key(low: list[float], high: list[float]) -> KeyStatistics:
    low, high = np.array(low), np.array(high)
    return KeyStatistics(max=high, min=low, mean=(low + high) / 2, std=high - low, q01=low, q99=high)


def test_min_max_maps_normalize_state_and_unnormalize_actions():
    statistics = EmbodimentStatistics(
        state={"arm": _key([0.0, -2.0], [2.0, 2.0]), "gripper": _key([0.0], [0.08])},
        action={"arm": _key([-1.0, 0.0], [3.0, 1.0])},
        modalities={},
    )
    state = statistics_map(statistics, "state", 3, "test")
    torch.testing.assert_close(state.normalize(torch.tensor([[1.0, 2.0, 0.0]])), torch.tensor([[0.0, 1.0, -1.0]]))
    # published: no clipping when normalizing, nor when un-normalizing
    torch.testing.assert_close(state.normalize(torch.tensor([[5.0, -9.0, 0.04]])), torch.tensor([[4.0, -4.5, 0.0]]))
    action = statistics_map(statistics, "action", 2, "test")
    torch.testing.assert_close(action.unnormalize(torch.tensor([[-1.0, 1.0], [0.0, 0.0], [2.0, -3.0]])),
                               torch.tensor([[-1.0, 1.0], [1.0, 0.5], [5.0, -1.0]]))
    x = torch.rand(5, 2) * 2 - 1
    torch.testing.assert_close(action.normalize(action.unnormalize(x)), x)
    identity = statistics_map(None, "state", 3, "test")
    assert identity.normalize(torch.ones(1, 3)).equal(torch.ones(1, 3))
    with pytest.raises(ValueError, match="state statistics describe 3 dimensions"):
        statistics_map(statistics, "state", 4, "metadata.json [gr1]")
    assert pad_to(torch.ones(2, 3), 5, "state").tolist() == [[1, 1, 1, 0, 0]] * 2
    with pytest.raises(ValueError, match="more than the model's 2"):
        pad_to(torch.ones(2, 3), 2, "state")


def test_min_max_maps_a_constant_dimension_to_zero():
    statistics = EmbodimentStatistics(state={"arm": _key([0.5, -1.0], [0.5, 1.0])}, action={}, modalities={})
    state = statistics_map(statistics, "state", 2, "test")
    torch.testing.assert_close(state.normalize(torch.tensor([[0.5, 0.0], [7.0, 1.0]])),
                               torch.tensor([[0.0, 0.0], [0.0, 1.0]]))


def test_a_camera_only_robot_has_an_empty_state_map():
    statistics = EmbodimentStatistics(state={}, action={"arm": _key([0.0], [2.0])}, modalities={})
    state = statistics_map(statistics, "state", 0, "test")
    assert state.identity and state.modes("state") == {}
    assert state.normalize(torch.zeros(3, 0)).shape == (3, 0)
    with pytest.raises(ValueError, match="describe 0 dimensions"):
        statistics_map(statistics, "state", 2, "test")

def test_normalization_modes_per_key_follow_the_published_formulas():
    arm = KeyStatistics(max=np.array([4.0, 1.0]), min=np.array([-4.0, 0.0]), mean=np.array([1.0, 0.5]),
                        std=np.array([2.0, 0.0]), q01=np.array([-2.0, 3.0]), q99=np.array([2.0, 3.0]))
    gripper = _key([0.0], [1.0])
    statistics = EmbodimentStatistics(state={"arm": arm, "gripper": gripper}, action={"arm": arm, "gripper": gripper},
                                      modalities={}, modes={"state.gripper": "binary"})
    raw = torch.tensor([[3.0, 7.0, 0.7]])
    q99 = statistics_map(statistics, "state", 3, "test", {"state.arm": "q99"})
    # 2 (3 - -2) / 4 - 1 = 1.5 clipped to 1; q01 == q99 passes 7 through, clipped to 1; the gripper mode from metadata
    torch.testing.assert_close(q99.normalize(raw), torch.tensor([[1.0, 1.0, 1.0]]))
    mean_std = statistics_map(statistics, "state", 3, "test", {"state.arm": "mean_std", "state.gripper": "min_max"})
    torch.testing.assert_close(mean_std.normalize(raw), torch.tensor([[1.0, 7.0, 0.4]]))  # std 0 passes through
    sin_cos = statistics_map(statistics, "state", 3, "test", {"state.arm": "sin_cos"})
    assert sin_cos.normalized_dim == 5
    torch.testing.assert_close(sin_cos.normalize(raw), torch.tensor([[np.sin(3.0), np.sin(7.0), np.cos(3.0),
                                                                      np.cos(7.0), 1.0]], dtype=torch.float32))
    action = statistics_map(statistics, "action", 3, "test", {"action.arm": "q99", "action.gripper": "binary"})
    torch.testing.assert_close(action.unnormalize(torch.tensor([[2.0, 0.0, 0.2]])),  # the inverse does not clip
                               torch.tensor([[4.0, 3.0, 0.0]]))
    assert action.modes("action") == {"action.arm": "q99", "action.gripper": "binary"}
    with pytest.raises(ValueError, match="'sin_cos' has no inverse"):
        statistics_map(statistics, "action", 3, "test", {"action.arm": "sin_cos"})
    with pytest.raises(ValueError, match="unknown normalization mode 'q98'"):
        statistics_map(statistics, "state", 3, "test", {"state.arm": "q98"})
    with pytest.raises(ValueError, match=r"\['state.wrist'\], which the statistics lack"):
        statistics_map(statistics, "state", 3, "test", {"state.wrist": "q99"})


def test_chunked_inference_policy_replays_each_chunk_action_in_order():
    from isaaclab_gr00t.gr00t.chunked_env import ChunkedInferencePolicy

    calls = []

    def policy(obs):
        calls.append(obs)
        return torch.arange(6.0).repeat(2, 1) + 10 * len(calls)  # 3 actions of 2 dims per env

    player = ChunkedInferencePolicy(policy, execute_steps=3)
    actions = [player(torch.zeros(2)) for _ in range(4)]
    assert len(calls) == 2  # a new chunk at the 1st and 4th call
    assert [a[0].tolist() for a in actions] == [[10, 11], [12, 13], [14, 15], [20, 21]]
    player.reset(torch.zeros(2))
