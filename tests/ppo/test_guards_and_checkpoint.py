"""Non-finite guard, config validation, checkpoints, and the OnPolicyRunner contract."""

from __future__ import annotations

import copy

import pytest
import torch
from rsl_rl.runners import OnPolicyRunner

from isaaclab.utils import to_dict
from isaaclab_gr00t.ppo import PPO37, PPO37AlgorithmCfg
from isaaclab_gr00t.registration import project_agent_cfg, project_agent_presets


def test_nonfinite_loss_skips_step_and_leaves_weights_unchanged(kit):
    """The eager guard; tests/ppo/test_update_modes.py checks the device-resident one."""
    alg, env = kit.build(num_learning_epochs=1, num_mini_batches=4, max_consecutive_nonfinite_updates=100,
                         update_mode="eager")
    kit.rollout(alg, env)
    before = kit.params(alg)
    alg.storage.returns[0, 0] = float("nan")  # poisons exactly one of the four minibatches
    metrics = alg.update()
    assert metrics["nonfinite_skips"] == 1.0 and metrics["num_optimizer_steps"] == 3.0
    assert all(torch.isfinite(p).all() for p in kit.params(alg))
    assert any(not torch.equal(a, b) for a, b in zip(before, kit.params(alg)))  # the finite steps did happen

    alg, env = kit.build(num_learning_epochs=1, num_mini_batches=4, max_consecutive_nonfinite_updates=100,
                         update_mode="eager")
    kit.rollout(alg, env)
    before = kit.params(alg)
    alg.storage.returns.fill_(float("nan"))
    metrics = alg.update()
    assert metrics["nonfinite_skips"] == 4.0
    for a, b in zip(before, kit.params(alg)):
        assert torch.equal(a, b)
    assert alg.optimizer.state_dict()["state"] == {}  # Adam's moments were never touched


@pytest.mark.parametrize("update_mode, run", [("eager", 3), ("device", 4)])  # device mode checks at update end
def test_consecutive_nonfinite_steps_raise(kit, update_mode, run):
    alg, env = kit.build(num_learning_epochs=1, num_mini_batches=4, max_consecutive_nonfinite_updates=3,
                         update_mode=update_mode)
    kit.rollout(alg, env)
    before = kit.params(alg)
    alg.storage.advantages.fill_(float("inf"))
    alg.cfg.normalize_advantage = False
    with pytest.raises(RuntimeError, match=f"{run} consecutive optimizer steps"):
        alg.update()
    for a, b in zip(before, kit.params(alg)):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"not_a_field": 1}, "not_a_field"),
        ({"clip_param": -0.1}, "clip_param"),
        ({"value_clip_param": 0.0}, "value_clip_param"),
        ({"num_mini_batches": 0}, "num_mini_batches"),
        ({"num_mini_batches": 5}, "num_mini_batches"),  # 32 samples are not divisible by 5
        ({"num_micro_batches": 3}, "num_micro_batches"),
        ({"micro_batch_size": 0}, r"'micro_batch_size' = 0 must be >= 1"),
        ({"micro_batch_size": 4, "num_micro_batches": 2},
         r"'micro_batch_size' = 4 replaces 'num_micro_batches'.* \(it is 2\); the minibatch size 8"),
        ({"schedule": "cosine"}, "schedule"),
        ({"optimizer": "lion"}, "optimizer"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
        ({"gamma": 1.5}, "gamma"),
        ({"obs_clip": -1.0}, "obs_clip"),
        ({"image_scaling": "some"}, "image_scaling"),
        ({"rnd_cfg": {"weight": 1.0}}, "rnd_cfg"),
        ({"symmetry_cfg": {"use_data_augmentation": True}}, "symmetry_cfg"),
        ({"use_mixed_precision": True}, "use_mixed_precision"),
        ({"lr_anneal_iterations": 0}, "lr_anneal_iterations"),
    ],
)
def test_bad_config_fails_at_construction_naming_the_field(kit, overrides, field):
    with pytest.raises(ValueError, match=field):
        kit.build(**overrides)


def test_every_isaaclab_cfg_field_is_accepted(kit):
    presets = [project_agent_cfg(name).algorithm for name in project_agent_presets()]  # agents/*.yaml
    presets = [preset for preset in presets if isinstance(preset, PPO37AlgorithmCfg)]
    assert len(presets) >= 4
    for preset in (PPO37AlgorithmCfg(), *presets):
        algorithm = to_dict(preset)
        algorithm.pop("class_name")
        # the toy rollout has 32 samples; its MLP models have no encoder to share (the GR00T presets share theirs)
        algorithm.update(num_mini_batches=4, share_cnn_encoders=False)
        alg, _ = kit.build(**algorithm)
        assert isinstance(alg, PPO37)
    assert PPO37AlgorithmCfg().class_name == "isaaclab_gr00t.ppo:PPO37"


def test_checkpoint_loads_weights_only_and_resume_continues_exactly(kit, tmp_path):
    alg, env = kit.build(seed=1, max_iterations=6)
    for _ in range(2):
        kit.rollout(alg, env)
        alg.update()
    path = tmp_path / "model.pt"
    checkpoint = alg.save()
    checkpoint.update(iter=2, infos=None)
    torch.save(checkpoint, path)
    env_at_save = copy.deepcopy(env)
    loaded = torch.load(path, weights_only=True)
    assert {"actor_state_dict", "critic_state_dict", "optimizer_state_dict", "ppo37_state"} <= set(loaded)

    resumed, _ = kit.build(seed=99, max_iterations=6)
    assert resumed.load(loaded, None, strict=True) is True
    torch.testing.assert_close(resumed.reward_scaler.return_stats.var, alg.reward_scaler.return_stats.var)
    torch.testing.assert_close(resumed.actor.obs_normalizer.mean, alg.actor.obs_normalizer.mean)

    runs = []
    for algorithm, environment in ((alg, env), (resumed, env_at_save)):
        torch.manual_seed(5)
        metrics = []
        for _ in range(2):
            kit.rollout(algorithm, environment)
            metrics.append(algorithm.update())
        runs.append((kit.params(algorithm), metrics))
    for a, b in zip(runs[0][0], runs[1][0]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert runs[0][1] == runs[1][1]


def test_on_policy_runner_trains_saves_and_loads(kit, tmp_path):
    env = kit.ToyVecEnv()
    cfg = kit.train_cfg(max_iterations=3)
    cfg.update(save_interval=1, logger="tensorboard")
    torch.manual_seed(0)
    runner = OnPolicyRunner(env, copy.deepcopy(cfg), log_dir=str(tmp_path), device="cpu")
    assert isinstance(runner.alg, PPO37)
    runner.learn(3)
    saved = torch.load(tmp_path / "model_2.pt", weights_only=True)
    assert saved["ppo37_state"]["update_count"] == 3
    other = OnPolicyRunner(kit.ToyVecEnv(seed=1), copy.deepcopy(cfg), log_dir=None, device="cpu")
    other.load(str(tmp_path / "model_2.pt"))
    assert other.current_learning_iteration == 2 and other.alg.update_count == 3
    policy = other.get_inference_policy("cpu")
    assert policy(env.get_observations()).shape == (4, 2)
    # Isaac Lab's play exports both formats unconditionally; the clipped normalizer must survive both.
    other.export_policy_to_jit(str(tmp_path / "exported"))
    other.export_policy_to_onnx(str(tmp_path / "exported"))
    scripted = torch.jit.load(str(tmp_path / "exported" / "policy.pt"))
    torch.testing.assert_close(scripted(env.get_observations()["policy"]), policy(env.get_observations()))
    assert (tmp_path / "exported" / "policy.onnx").exists()


def test_checkpoint_of_plain_cnn_resumes_into_a_channels_last_cnn_with_the_same_adam_steps(kit):
    """Adam's moments take the loading model's memory layout; fused Adam would otherwise mix up the CNN's weights."""
    from isaaclab_gr00t.models import use_channels_last

    def build():
        env = kit.ImageToyVecEnv(seed=2)
        torch.manual_seed(0)
        cfg = kit.cnn_train_cfg(update_mode="device")  # fused Adam, as on the GPU
        return PPO37.construct_algorithm(env.get_observations(), env, cfg, "cpu"), env

    trained, env = build()
    kit.rollout(trained, env)
    trained.update()
    checkpoint = copy.deepcopy(trained.save())

    runs = []
    for channels_last in (False, True):
        resumed, _ = build()
        if channels_last:
            use_channels_last(resumed.actor.cnns["image"].encoder)
        resumed.load(copy.deepcopy(checkpoint), None, strict=True)
        for param, state in resumed.optimizer.state.items():
            assert state["exp_avg"].stride() == param.stride() and state["exp_avg_sq"].stride() == param.stride()
        torch.manual_seed(5)
        kit.rollout(resumed, copy.deepcopy(env))
        resumed.update()
        runs.append(kit.params(resumed))
    for plain, channels_last in zip(*runs):
        torch.testing.assert_close(channels_last, plain, rtol=1e-4, atol=1e-5)
