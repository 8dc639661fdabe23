"""The update-mode and learning-rate objects PPO37's update calls, on their own."""

from __future__ import annotations

import pytest
import torch

from isaaclab_gr00t.ppo.lr_schedule import AdaptiveSchedule, DeviceLearningRate, HostLearningRate, LinearSchedule
from isaaclab_gr00t.ppo.update_modes import DeviceUpdate, EagerUpdate, GraphUpdate


def optimizer(lr: float = 1e-3) -> torch.optim.Optimizer:
    params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    groups = [{"params": [params[0]], "lr": lr * 0.1, "base_lr": lr * 0.1}, {"params": [params[1]], "lr": lr,
                                                                             "base_lr": lr}]
    return torch.optim.Adam(groups, lr=lr)


@pytest.mark.parametrize("rate_class", [HostLearningRate, DeviceLearningRate])
def test_both_rates_follow_the_schedules_with_each_groups_ratio(rate_class):
    opt = optimizer()
    rate = rate_class(opt, 1e-3) if rate_class is HostLearningRate else rate_class(opt, 1e-3, "cpu")
    LinearSchedule(rate, None, (1e-5, 1e-2)).start_update(update_count=1, horizon=4)
    assert rate.value == pytest.approx(7.5e-4)
    assert [float(group["lr"]) for group in opt.param_groups] == pytest.approx([7.5e-5, 7.5e-4])
    adaptive = AdaptiveSchedule(rate, 0.01, (1e-5, 1e-2))
    adaptive.after_step(torch.tensor(0.5), finite=torch.tensor(False))  # a skipped step leaves the rate alone
    adaptive.after_step(torch.tensor(0.5), finite=torch.tensor(True))  # KL far above 2 * desired_kl: divide by 1.5
    rate.read({"learning_rate": float(getattr(rate, "tensor", rate.value))})  # as the update reads its metrics
    assert rate.value == pytest.approx(7.5e-4 / 1.5)
    assert [float(group["lr"]) for group in opt.param_groups] == pytest.approx([5e-5, 5e-4])


def test_eager_steps_only_finite_steps_and_raises_at_the_limit():
    opt = optimizer()
    param = opt.param_groups[1]["params"][0]
    param.grad = torch.ones(3)
    mode, schedule = EagerUpdate(), LinearSchedule(HostLearningRate(opt, 1e-3), None, (1e-5, 1e-2))
    mode.optimizer_step(opt, torch.tensor(False), schedule, None, nonfinite_run=torch.tensor(1.0), limit=3)
    assert not param.any() and param.grad is None  # skipped: gradient dropped, weights as they were
    with pytest.raises(RuntimeError, match="3 consecutive optimizer steps"):
        mode.optimizer_step(opt, torch.tensor(False), schedule, None, nonfinite_run=torch.tensor(3.0), limit=3)
    param.grad = torch.ones(3)
    mode.optimizer_step(opt, torch.tensor(True), schedule, None, nonfinite_run=torch.tensor(0.0), limit=3)
    assert (param < 0).all()


def test_compiled_models_leave_the_graph_but_keep_the_device_update():
    graph = GraphUpdate("cpu")
    device = graph.for_compiled_models()
    assert type(device) is DeviceUpdate and device.skip is graph.skip  # fused Adam keeps reading the same flag
    assert graph.replays_graphs and not device.replays_graphs
    assert EagerUpdate().for_compiled_models().name == "eager"


def test_an_explicit_eager_update_takes_any_optimizer(kit):
    alg, env = kit.build(update_mode="eager", optimizer="sgd", learning_rate=0.1)
    assert alg.update_mode == "eager" and isinstance(alg.optimizer, torch.optim.SGD)
    kit.rollout(alg, env)
    assert alg.update()["num_optimizer_steps"] == 8.0


def test_share_cnn_encoders_must_hold_for_models_built_elsewhere(kit):
    from isaaclab_gr00t.ppo import PPO37

    env = kit.ImageToyVecEnv()
    shared = PPO37.construct_algorithm(env.get_observations(), env, kit.cnn_train_cfg(share_cnn_encoders=True), "cpu")
    assert shared.critic.cnns is shared.actor.cnns
    separate = PPO37.construct_algorithm(env.get_observations(), env, kit.cnn_train_cfg(), "cpu")
    with pytest.raises(ValueError, match="share_cnn_encoders"):
        PPO37(separate.actor, separate.critic, separate.storage, {"share_cnn_encoders": True, "num_mini_batches": 4})
