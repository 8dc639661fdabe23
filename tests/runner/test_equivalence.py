"""PPO37Runner changes where the host reads results, not the maths: same seed, same weights as rsl_rl's runner."""

import pytest
import torch
from rsl_rl.runners import OnPolicyRunner

from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv


RND_CFG = {"weight": 0.5, "num_outputs": 4, "predictor_hidden_dims": [16], "target_hidden_dims": [16]}
"""Random Network Distillation (Burda et al., 2018) as rsl_rl configures it: intrinsic rewards in the rollout."""


def train(runner_class, cfg, iterations: int, log_dir=None) -> dict[str, torch.Tensor]:
    torch.manual_seed(11)
    env = PointMassVecEnv(num_envs=32, seed=5)
    runner = runner_class(env, cfg, log_dir=log_dir, device="cpu")
    runner.learn(iterations, init_at_random_ep_len=True)
    return {**runner.alg.save()["actor_state_dict"], **runner.alg.save()["critic_state_dict"]}


@pytest.mark.parametrize("rnd", [False, True], ids=["ppo", "ppo_rnd"])
def test_same_parameters_as_stock_on_policy_runner(train_cfg, algorithm_cfg, rnd, tmp_path, capsys):
    def cfg():
        if not rnd:
            return train_cfg()
        obs_groups = {"actor": ["policy"], "critic": ["policy"], "rnd_state": ["policy"]}
        return train_cfg(algorithm_cfg(rnd_cfg=dict(RND_CFG)) | {"rnd_cfg": dict(RND_CFG)}, obs_groups=obs_groups)

    stock = train(OnPolicyRunner, cfg(), iterations=3, log_dir=str(tmp_path / "stock"))
    capsys.readouterr()
    fast = train(PPO37Runner, cfg(), iterations=3, log_dir=str(tmp_path / "fast"))
    console = capsys.readouterr().out
    initial = train(PPO37Runner, cfg(), iterations=0)
    assert stock.keys() == fast.keys()
    for name in stock:
        torch.testing.assert_close(fast[name], stock[name], rtol=0, atol=0, msg=f"{name} differs from stock")
    # the runs did train: equality is not the trivial equality of untouched weights
    assert any(not torch.equal(fast[name], initial[name]) for name in fast)
    assert console.count("Mean reward:") == 3
    assert console.count("Mean intrinsic reward:") == (3 if rnd else 0)
