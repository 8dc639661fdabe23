"""Checkpoints hold LoRA + heads + std only and reload exactly; pretrained weights load from disk with a key map;
missing weights fall back to rsl_rl's policies or fail with the path named; export raises a catchable error."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch
from rsl_rl.models import CNNModel, MLPModel
from rsl_rl.runners import OnPolicyRunner
from isaaclab_rl.rsl_rl import RslRlCNNModelCfg
from safetensors.torch import load_file, save_file

from isaaclab_gr00t.gr00t import GR00TActor, GR00TCritic, GR00TExportError, PretrainedWeightsNotFoundError, save_backbone_weights

OBS_GROUPS = {"actor": ["policy"], "critic": ["critic"]}
TINY = {"size": "tiny", "lora_rank": 4, "action_horizon": 4}
GAUSSIAN = {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "log"}


def _runner(env, cfg) -> OnPolicyRunner:
    with contextlib.redirect_stdout(io.StringIO()):
        return OnPolicyRunner(env, cfg, log_dir=None, device="cpu")


@pytest.fixture
def pretrained_dir(env, tmp_path):
    """A tiny random 'pretrained' backbone saved to disk."""
    torch.manual_seed(123)
    source = GR00TActor(env.get_observations(), OBS_GROUPS, "actor", 1, **TINY)
    save_backbone_weights(source.backbone, str(tmp_path / "ckpt"))
    return tmp_path / "ckpt", source


def test_checkpoint_excludes_backbone_and_reload_reproduces_actions(env, make_runner_cfg, pretrained_dir, tmp_path):
    cfg = make_runner_cfg(actor_kwargs={"pretrained_path": str(pretrained_dir[0])})
    torch.manual_seed(1)
    runner = _runner(env, cfg)
    runner.learn(num_learning_iterations=2)
    path = tmp_path / "model.pt"
    runner.save(str(path))

    checkpoint = torch.load(path, weights_only=True)
    actor_keys = list(checkpoint["actor_state_dict"])
    assert all(k.startswith(("action_head.", "distribution.")) or "lora_" in k for k in actor_keys)
    assert any("lora_" in k for k in actor_keys)
    assert not any(k.startswith("backbone") for k in checkpoint["critic_state_dict"])

    torch.manual_seed(2)  # different random init of everything trainable
    reloaded = _runner(env, make_runner_cfg(actor_kwargs={"pretrained_path": str(pretrained_dir[0])}))
    reloaded.load(str(path))
    obs = env.get_observations()
    with torch.no_grad():
        torch.testing.assert_close(reloaded.alg.actor(obs), runner.alg.actor(obs), atol=0, rtol=0)
        torch.testing.assert_close(reloaded.alg.critic(obs), runner.alg.critic(obs), atol=0, rtol=0)


def test_load_state_dict_is_strict_about_trainable_weights(env):
    actor = GR00TActor(env.get_observations(), OBS_GROUPS, "actor", 1, distribution_cfg=GAUSSIAN, **TINY)
    state = actor.state_dict()
    lora_key = next(k for k in state if "lora_" in k)
    with pytest.raises(RuntimeError, match="lora_"):
        actor.load_state_dict({k: v for k, v in state.items() if k != lora_key}, strict=True)
    with pytest.raises(RuntimeError, match="not_a_weight"):
        actor.load_state_dict({**state, "not_a_weight": torch.zeros(1)}, strict=True)
    actor.load_state_dict(state, strict=True)


def test_pretrained_weights_load_through_key_map(env, pretrained_dir, tmp_path):
    directory, source = pretrained_dir
    renamed = {f"model.vlm.{k}": v for k, v in load_file(str(directory / "model.safetensors")).items()}
    renamed["model.action_head.extra"] = torch.zeros(3)  # keys the backbone does not have are ignored
    (tmp_path / "renamed").mkdir()
    save_file(renamed, str(tmp_path / "renamed" / "model-00001-of-00001.safetensors"))

    actor = GR00TActor(
        env.get_observations(), OBS_GROUPS, "actor", 1, pretrained_path=str(tmp_path / "renamed"),
        checkpoint_key_map={"model.vlm.": ""}, **TINY,
    )  # fmt: skip
    loaded = actor.backbone.state_dict()
    for key, value in source.backbone.state_dict().items():
        if "lora_" not in key:
            assert torch.equal(loaded[key], value), key

    with pytest.raises(KeyError, match="checkpoint_key_map"):
        GR00TActor(env.get_observations(), OBS_GROUPS, "actor", 1, pretrained_path=str(tmp_path / "renamed"), **TINY)


def test_shape_mismatch_names_the_key(env, pretrained_dir, tmp_path):
    weights = load_file(str(pretrained_dir[0] / "model.safetensors"))
    weights["proj.weight"] = torch.zeros(3, 3)
    (tmp_path / "bad").mkdir()
    save_file(weights, str(tmp_path / "bad" / "model.safetensors"))
    with pytest.raises(ValueError, match="proj.weight"):
        GR00TActor(env.get_observations(), OBS_GROUPS, "actor", 1, pretrained_path=str(tmp_path / "bad"), **TINY)


def test_missing_weights_error_names_the_path(env):
    with pytest.raises(FileNotFoundError, match="/no/such/gr00t"):
        GR00TActor(env.get_observations(), OBS_GROUPS, "actor", 1, pretrained_path="/no/such/gr00t", **TINY)
    with pytest.raises(PretrainedWeightsNotFoundError, match="nobody/not-cached"):
        from isaaclab_gr00t.gr00t.loading import resolve_pretrained_dir

        resolve_pretrained_dir("nobody/not-cached")


def test_missing_weights_fall_back_to_rsl_rl_policies(env, make_env, make_runner_cfg):
    small_cnn = {"output_channels": [4], "kernel_size": [3], "stride": [2], "activation": "relu"}  # 16 px images
    fallback = {"pretrained_path": "/no/such/gr00t", "on_missing": "fallback_mlp", "fallback_cnn_cfg": small_cnn, **TINY}
    with pytest.warns(RuntimeWarning, match="/no/such/gr00t"):
        actor = GR00TActor(env.get_observations(), OBS_GROUPS, "actor", 1, distribution_cfg=GAUSSIAN, **fallback)
    assert type(actor) is CNNModel
    # the critic cannot use features of a backbone that was never built
    with pytest.raises(ValueError, match="share_key"):
        GR00TCritic(env.get_observations(), OBS_GROUPS, "critic", 1)

    state_env = make_env(with_images=False)
    with pytest.warns(RuntimeWarning, match="MLPModel"):
        actor = GR00TActor(state_env.get_observations(), OBS_GROUPS, "actor", 1, distribution_cfg=GAUSSIAN, **fallback)
    assert type(actor) is MLPModel

    # a whole run with the fallback policy and a state critic
    cnn_cfg = RslRlCNNModelCfg.CNNCfg(**small_cnn)
    cfg = make_runner_cfg(
        actor_kwargs={"pretrained_path": "/no/such/gr00t", "on_missing": "fallback_mlp", "fallback_cnn_cfg": cnn_cfg},
        critic_kwargs={"value_input": "state"},
    )
    with pytest.warns(RuntimeWarning):
        runner = _runner(env, cfg)
    runner.learn(num_learning_iterations=1)


def test_missing_code_errors_or_falls_back(env, monkeypatch):
    from isaaclab_gr00t.gr00t import fallback

    real_find_spec = fallback.importlib.util.find_spec
    monkeypatch.setattr(fallback.importlib.util, "find_spec", lambda name: None if name == "peft" else real_find_spec(name))
    obs = env.get_observations()
    with pytest.raises(ImportError, match="'peft'"):
        GR00TActor(obs, OBS_GROUPS, "actor", 1, **TINY)
    small_cnn = {"output_channels": [4], "kernel_size": [3], "stride": [2], "activation": "relu"}
    with pytest.warns(RuntimeWarning, match="'peft'"):
        actor = GR00TActor(obs, OBS_GROUPS, "actor", 1, on_missing="fallback_mlp", fallback_cnn_cfg=small_cnn, **TINY)
    assert type(actor) is CNNModel


def test_export_raises_not_implemented(env):
    obs = env.get_observations()
    actor = GR00TActor(obs, OBS_GROUPS, "actor", 1, distribution_cfg=GAUSSIAN, **TINY)
    with pytest.raises(NotImplementedError, match="TorchScript"):
        actor.as_jit()
    with pytest.raises(GR00TExportError, match="ONNX"):
        actor.as_onnx(verbose=False)
    with pytest.raises(GR00TExportError, match="features"):
        GR00TCritic(obs, OBS_GROUPS, "critic", 1).as_jit()
    state_critic = GR00TCritic(obs, OBS_GROUPS, "critic", 1, value_input="state")
    torch.testing.assert_close(state_critic.as_jit()(obs["critic"]), state_critic(obs))


def test_bad_cfg_values_are_named(env):
    obs = env.get_observations()
    with pytest.raises(ValueError, match="'size'"):
        GR00TActor(obs, OBS_GROUPS, "actor", 1, size="huge")
    with pytest.raises(ValueError, match="lora_llm_targets"):
        GR00TActor(obs, OBS_GROUPS, "actor", 1, **{**TINY, "lora_llm_targets": ["no_such_proj"]})
    with pytest.raises(ValueError, match="max_action_dim"):
        GR00TActor(obs, OBS_GROUPS, "actor", 40, **TINY)
    with pytest.raises(ValueError, match="instruction"):
        GR00TActor(obs, OBS_GROUPS, "actor", 1, instruction="", **TINY)
    with pytest.raises(ValueError, match="on_missing"):
        GR00TActor(obs, OBS_GROUPS, "actor", 1, on_missing="ignore", **TINY)
    with pytest.raises(ValueError, match="no image or state group"):
        GR00TActor(obs, {"actor": [], "critic": ["critic"]}, "actor", 1, **TINY)
    with pytest.raises(ValueError, match="value_input"):
        GR00TCritic(obs, OBS_GROUPS, "critic", 1, value_input="pixels")
