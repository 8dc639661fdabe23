"""Two CPU processes over gloo, launched like torchrun: synchronized weights, rank-0-only output, exact maths.

Three checks, each chosen so that the maths fixes the answer:

- A: different seeds and data per rank. The initial broadcast and the averaged gradients keep both ranks'
  parameters identical; only rank 0 writes logs and checkpoints.
- B: identical seeds and data on both ranks, SGD. The average of two equal gradients is that gradient, so
  with per-rank statistics (stock PPO) the 2-process run must equal a 1-process run; a summed (not averaged)
  gradient would double every SGD step (Adam would hide that, being scale invariant).
- C: one rollout of 2N envs collected and normalized in one process, then split into two equal halves of
  N envs. With one minibatch (a mean loss) the average of the halves' gradients is the full-batch
  gradient, so one update on two ranks must equal one update on the combined batch in one process.
"""

import importlib.util
import os
import socket
import subprocess
import sys

import pytest
import torch
from tensordict import TensorDict

from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv

WORKER = os.path.join(os.path.dirname(__file__), "distributed_worker.py")
NUM_ENVS = 8


_spec = importlib.util.spec_from_file_location("distributed_worker", WORKER)
worker_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker_module)
parameters = worker_module.parameters


def assert_same(actual: dict, expected: dict, what: str, atol: float = 0.0) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        difference = (actual[name] - expected[name]).abs().max().item()
        assert difference <= atol, f"{what}: {name} differs by {difference:.3g} (allowed {atol:.0g})"


def combined_rollout(cfg: dict) -> tuple[dict, dict, dict, dict]:
    """Collect one rollout of 2N envs in this process.

    Returns:
        Initial state dicts, the storage tensors, the flat initial and the updated parameters.
    """
    torch.manual_seed(3)
    runner = PPO37Runner(PointMassVecEnv(num_envs=2 * NUM_ENVS, seed=9), cfg, log_dir=None, device="cpu")
    saved = runner.alg.save()  # live tensors: clone before the update changes them
    initial = {
        key: {name: t.clone() for name, t in saved[key].items()} for key in ("actor_state_dict", "critic_state_dict")
    }
    initial_flat = parameters(runner)
    obs = runner.env.get_observations()
    with torch.inference_mode():
        for _ in range(cfg["num_steps_per_env"]):
            obs, rewards, dones, extras = runner.env.step(runner.alg.act(obs))
            runner.alg.process_env_step(obs, rewards, dones, extras)
        runner.alg.compute_returns(obs)
    storage_shape = (cfg["num_steps_per_env"], 2 * NUM_ENVS)
    # TensorDicts travel as plain dicts of tensors so the workers can read them with weights_only=True
    batch = {}
    for name, value in vars(runner.alg.storage).items():
        if isinstance(value, torch.Tensor) and tuple(value.shape[:2]) == storage_shape:
            batch[name] = value.clone()
        elif isinstance(value, TensorDict) and tuple(value.shape[:2]) == storage_shape:
            batch[name] = value.clone().to_dict()
        elif isinstance(value, tuple) and value and all(isinstance(v, torch.Tensor) for v in value):
            batch[name] = [v.clone() for v in value]
    runner.alg.train_mode()
    runner.alg.update()
    return initial, batch, initial_flat, parameters(runner)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("algorithm", [None, "isaaclab_gr00t.ppo:PPO37AlgorithmCfg"], ids=["default", "PPO37"])
def test_two_gloo_ranks(tmp_path, train_cfg, algorithm_cfg, algorithm):
    sgd_fixed = {"optimizer": "sgd", "schedule": "fixed", "learning_rate": 0.05}
    cfg_a = train_cfg(algorithm_cfg(algorithm), num_steps_per_env=8, save_interval=1)
    cfg_b = train_cfg(algorithm_cfg(algorithm, **sgd_fixed), num_steps_per_env=8)
    cfg_c = train_cfg(algorithm_cfg(algorithm, **sgd_fixed, num_mini_batches=1), num_steps_per_env=8)
    initial_c, batch_c, initial_flat_c, expected_c = combined_rollout(cfg_c)
    setup = {"num_envs": NUM_ENVS, "cfg_a": cfg_a, "cfg_b": cfg_b, "cfg_c": cfg_c, "seed_b": 21,
             "initial_c": initial_c, "batch_c": batch_c}
    torch.save(setup, tmp_path / "setup.pt")

    # one thread a rank: two ranks of two threads each oversubscribe a 2-core machine several times over
    base_env = {**os.environ, "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
                "OMP_NUM_THREADS": "1"}
    workers = [
        subprocess.Popen(
            [sys.executable, WORKER, str(tmp_path)],
            env={**base_env, "RANK": str(r), "LOCAL_RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(2)
    ]
    outputs = [worker.communicate(timeout=200)[0] for worker in workers]
    for rank, worker in enumerate(workers):
        assert worker.returncode == 0, f"rank {rank} failed:\n{outputs[rank][-4000:]}"
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))

    # A: both ranks started from different weights and saw different data, and end identical
    assert any(not torch.equal(rank0["initial_a"][k], rank1["initial_a"][k]) for k in rank0["initial_a"])
    assert_same(rank1["a"], rank0["a"], "A: rank 1 vs rank 0")
    assert any(not torch.equal(rank0["a"][k], rank0["initial_a"][k]) for k in rank0["a"])
    logs0 = os.listdir(tmp_path / "logs_rank0")
    assert "model_1.pt" in logs0 and "model_2.pt" in logs0 and any(n.startswith("events.out") for n in logs0)
    assert not (tmp_path / "logs_rank1").exists(), "rank 1 must not write logs or checkpoints"
    assert "Learning iteration 1/2" in outputs[0] and "Learning iteration" not in outputs[1]

    # B: two ranks on identical data == one process on that data
    # (only for per-rank statistics, as stock PPO keeps them: PPO37 pools its normalizer and advantage statistics
    # over ranks, so duplicated data doubles their counts and the unbiased advantage std is not the 1-process one)
    if "PPO37" not in str(cfg_b["algorithm"]["class_name"]):
        torch.manual_seed(21)
        single = PPO37Runner(PointMassVecEnv(num_envs=NUM_ENVS, seed=7), cfg_b, log_dir=None, device="cpu")
        single.learn(2, init_at_random_ep_len=True)
        assert_same(rank0["b"], parameters(single), "B: 2 ranks vs 1 process", atol=1e-6)
    assert_same(rank1["b"], rank0["b"], "B: rank 1 vs rank 0")

    # C: two halves == the combined batch
    assert_same(rank0["c"], expected_c, "C: halves vs combined batch", atol=1e-6)
    assert_same(rank1["c"], rank0["c"], "C: rank 1 vs rank 0")
    assert any(not torch.equal(expected_c[k], initial_flat_c[k]) for k in expected_c)
