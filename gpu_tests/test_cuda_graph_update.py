"""PPO37's "graph" update mode on CUDA gives the numbers of the "eager" and "device" modes, and keeps its guards."""

from __future__ import annotations

import pytest
import torch

from isaaclab_gr00t.ppo import PPO37
from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv, point_mass_train_cfg

DEVICE = "cuda:0"


def build(update_mode: str, **algorithm) -> tuple[PPO37, PointMassVecEnv, dict]:
    env = PointMassVecEnv(num_envs=256, seed=3, device=DEVICE)
    cfg = point_mass_train_cfg({"class_name": "isaaclab_gr00t.ppo:PPO37", "num_learning_epochs": 4,
                                "num_mini_batches": 4, "update_mode": update_mode, **algorithm})
    torch.manual_seed(0)
    torch.cuda.manual_seed(0)
    return PPO37.construct_algorithm(env.get_observations(), env, cfg, DEVICE), env, cfg


def rollout(alg: PPO37, env: PointMassVecEnv, num_steps: int) -> None:
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in range(num_steps):
            obs, rewards, dones, extras = env.step(alg.act(obs))
            alg.process_env_step(obs, rewards, dones, extras)
        alg.compute_returns(obs)


def train(update_mode: str, updates: int = 4, **algorithm) -> tuple[PPO37, list[dict]]:
    alg, env, cfg = build(update_mode, **algorithm)
    metrics = []
    for _ in range(updates):
        rollout(alg, env, cfg["num_steps_per_env"])
        metrics.append(alg.update())
    return alg, metrics


def parameters(alg: PPO37) -> list[torch.Tensor]:
    return [p.detach().clone() for p in list(alg.actor.parameters()) + list(alg.critic.parameters())]


@pytest.mark.parametrize("algorithm", [{}, {"schedule": "adaptive", "desired_kl": 0.002, "learning_rate": 3e-3}])
def test_graph_mode_matches_eager_and_device(algorithm):
    results = {mode: train(mode, **algorithm) for mode in ("eager", "device", "graph")}
    graph_alg, graph_metrics = results["graph"]
    assert graph_alg._captured_step.graph is not None  # the update really replayed a captured graph
    for mode in ("eager", "device"):
        alg, metrics = results[mode]
        for a, b in zip(parameters(alg), parameters(graph_alg)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        for a, b in zip(metrics, graph_metrics):
            for key in a:
                assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-5), (mode, key)


def test_auto_mode_picks_the_graph_on_cuda():
    alg, _, _ = build("auto")
    assert alg.update_mode == "graph"


def test_graph_mode_skips_a_poisoned_minibatch_after_capture():
    alg, env, cfg = build("graph", num_learning_epochs=1, max_consecutive_nonfinite_updates=100)
    for _ in range(2):  # the first update warms up and captures
        rollout(alg, env, cfg["num_steps_per_env"])
        alg.update()
    assert alg._captured_step.graph is not None
    rollout(alg, env, cfg["num_steps_per_env"])
    alg.storage.returns.fill_(float("nan"))
    before = parameters(alg)
    moments = [state["exp_avg"].clone() for state in alg.optimizer.state.values()]
    metrics = alg.update()
    assert metrics["nonfinite_skips"] == 4.0 and metrics["num_optimizer_steps"] == 0.0
    for a, b in zip(before, parameters(alg)):
        assert torch.equal(a, b)
    for a, state in zip(moments, alg.optimizer.state.values()):
        assert torch.equal(a, state["exp_avg"])


def test_runner_learns_with_the_graph_update(tmp_path):
    env = PointMassVecEnv(num_envs=1024, seed=0, device=DEVICE)
    cfg = point_mass_train_cfg({"class_name": "isaaclab_gr00t.ppo:PPO37", "num_learning_epochs": 4,
                                "num_mini_batches": 4, "learning_rate": 1e-3})
    runner = PPO37Runner(env, cfg, log_dir=str(tmp_path), device=DEVICE)
    assert runner.alg.update_mode == "graph"
    before = mean_reward(runner, env)
    runner.learn(30)
    assert (tmp_path / "model_30.pt").exists()
    assert mean_reward(runner, env) > before + 0.1


def mean_reward(runner: PPO37Runner, env: PointMassVecEnv, steps: int = 64) -> float:
    """Mean reward a step of the runner's deterministic policy."""
    policy = runner.get_inference_policy(DEVICE)
    obs, total = env.get_observations(), 0.0
    with torch.inference_mode():
        for _ in range(steps):
            obs, reward, _, _ = env.step(policy(obs))
            total += reward.mean().item()
    return total / steps


def test_runner_with_graphs_matches_the_eager_runner():
    final = {}
    for mode in ("eager", "graph"):
        env = PointMassVecEnv(num_envs=512, seed=0, device=DEVICE)
        cfg = point_mass_train_cfg({"class_name": "isaaclab_gr00t.ppo:PPO37", "num_learning_epochs": 4,
                                    "num_mini_batches": 4, "update_mode": mode}, save_interval=1000)
        torch.manual_seed(0)
        torch.cuda.manual_seed(0)
        runner = PPO37Runner(env, cfg, log_dir=None, device=DEVICE)
        assert (runner.rollout is not None) == (mode == "graph")
        runner.learn(6)  # rollout 1 eager, 2 captures, 3-6 replay
        final[mode] = parameters(runner.alg), runner.alg.storage.step
    for a, b in zip(final["eager"][0], final["graph"][0]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


class ImagePointMass(PointMassVecEnv):
    """The point mass seen through an 8 x 8 three-channel 'camera' whose brightness follows the position."""

    def get_observations(self):
        obs = super().get_observations()
        pattern = torch.linspace(0.0, 1.0, 64, device=self.device).view(1, 1, 8, 8)
        obs["image"] = (obs["policy"][:, :1, None, None].tanh() * pattern).expand(-1, 3, 8, 8).contiguous()
        return obs


@pytest.mark.parametrize("channels_last", [False, True])
def test_cnn_actor_trains_in_graph_mode_like_eager(channels_last):
    """A CNN actor runs channels-last on CUDA (unless switched off); the graph update keeps the eager numbers."""
    final = {}
    for mode in ("eager", "graph"):
        env = ImagePointMass(num_envs=256, seed=3, device=DEVICE)
        cfg = point_mass_train_cfg({"class_name": "isaaclab_gr00t.ppo:PPO37", "num_learning_epochs": 2,
                                    "num_mini_batches": 4, "update_mode": mode, "channels_last_images": channels_last})
        cfg["obs_groups"] = {"actor": ["policy", "image"], "critic": ["policy"]}
        cfg["actor"] = {"class_name": "CNNModel", "hidden_dims": [32], "activation": "elu",
                        "cnn_cfg": {"output_channels": [8, 8], "kernel_size": 3, "stride": 1, "activation": "relu"},
                        "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 1.0,
                                             "std_type": "scalar"}}
        torch.manual_seed(0)
        torch.cuda.manual_seed(0)
        runner = PPO37Runner(env, cfg, log_dir=None, device=DEVICE)
        encoder = runner.alg.actor.cnns["image"]
        assert ("to_channels_last" in encoder._modules) == channels_last
        runner.learn(4)
        final[mode] = parameters(runner.alg)
    for a, b in zip(final["eager"], final["graph"]):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
