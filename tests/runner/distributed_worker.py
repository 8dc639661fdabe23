"""One rank of the 2-process gloo test; started by ``test_distributed.py`` with torchrun's environment variables.

Usage: RANK=r LOCAL_RANK=r WORLD_SIZE=2 MASTER_ADDR=... MASTER_PORT=... python distributed_worker.py OUT_DIR
Reads OUT_DIR/setup.pt (configs and the combined batch), writes OUT_DIR/rank<r>.pt (parameters per phase).
"""

import os
import sys

import torch
from tensordict import TensorDict

from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv


def parameters(runner: PPO37Runner) -> dict[str, torch.Tensor]:
    saved = runner.alg.save()
    return {f"actor.{k}": v.clone() for k, v in saved["actor_state_dict"].items()} | {
        f"critic.{k}": v.clone() for k, v in saved["critic_state_dict"].items()
    }


def main() -> None:
    out_dir = sys.argv[1]
    rank = int(os.environ["RANK"])
    setup = torch.load(os.path.join(out_dir, "setup.pt"), weights_only=True)
    num_envs = setup["num_envs"]
    results = {}

    # A: different seeds and data per rank; rank 0 alone writes logs and checkpoints
    torch.manual_seed(100 + rank)
    env = PointMassVecEnv(num_envs=num_envs, seed=rank)
    runner = PPO37Runner(env, setup["cfg_a"], log_dir=os.path.join(out_dir, f"logs_rank{rank}"), device="cpu")
    results["initial_a"] = parameters(runner)
    runner.learn(2, init_at_random_ep_len=True)
    results["a"] = parameters(runner)

    # B: identical seeds and data on both ranks; the averaged gradient is each rank's own gradient
    torch.manual_seed(setup["seed_b"])
    runner = PPO37Runner(PointMassVecEnv(num_envs=num_envs, seed=7), setup["cfg_b"], log_dir=None, device="cpu")
    runner.learn(2, init_at_random_ep_len=True)
    results["b"] = parameters(runner)

    # C: this rank's half of one combined rollout; one full-batch update must equal the single-process one
    runner = PPO37Runner(PointMassVecEnv(num_envs=num_envs), setup["cfg_c"], log_dir=None, device="cpu")
    runner.alg.load(setup["initial_c"], {"actor": True, "critic": True}, strict=True)
    half = slice(rank * num_envs, (rank + 1) * num_envs)
    for name, value in setup["batch_c"].items():
        if isinstance(value, list):
            setattr(runner.alg.storage, name, tuple(v[:, half].clone() for v in value))
        elif isinstance(value, dict):  # a TensorDict, sent as a dict of (steps, envs, ...) tensors
            halves = {key: tensor[:, half].clone() for key, tensor in value.items()}
            steps = len(next(iter(halves.values())))
            setattr(runner.alg.storage, name, TensorDict(halves, batch_size=[steps, num_envs]))
        else:
            setattr(runner.alg.storage, name, value[:, half].clone())
    runner.alg.storage.step = setup["cfg_c"]["num_steps_per_env"]
    runner.alg.train_mode()
    runner.alg.update()
    results["c"] = parameters(runner)

    torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
