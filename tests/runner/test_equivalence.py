"""PPO37Runner changes where the host reads results, not the maths: same seed, same weights as rsl_rl's runner."""

import torch
from rsl_rl.runners import OnPolicyRunner

from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.runner.synthetic_env import PointMassVecEnv


def train(runner_class, cfg, iterations: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(11)
    env = PointMassVecEnv(num_envs=32, seed=5)
    runner = runner_class(env, cfg, log_dir=None, device="cpu")
    runner.learn(iterations, init_at_random_ep_len=True)
    return {**runner.alg.save()["actor_state_dict"], **runner.alg.save()["critic_state_dict"]}


def test_same_parameters_as_stock_on_policy_runner(train_cfg):
    stock = train(OnPolicyRunner, train_cfg(), iterations=3)
    fast = train(PPO37Runner, train_cfg(), iterations=3)
    initial = train(PPO37Runner, train_cfg(), iterations=0)
    assert stock.keys() == fast.keys()
    for name in stock:
        torch.testing.assert_close(fast[name], stock[name], rtol=0, atol=0, msg=f"{name} differs from stock")
    # the runs did train: equality is not the trivial equality of untouched weights
    assert any(not torch.equal(fast[name], initial[name]) for name in fast)
