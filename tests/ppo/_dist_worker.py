"""Worker of the 2-process gloo test (a plain module so torch.multiprocessing.spawn can pickle it)."""

from __future__ import annotations

import torch
import torch.distributed as dist
from rsl_rl.models import MLPModel
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

from isaaclab_gr00t.ppo import PPO37


def run(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    torch.manual_seed(rank)  # different initial weights and data on every rank
    num_envs, num_steps = 4, 8
    obs = TensorDict({"policy": torch.randn(num_envs, 3)}, batch_size=[num_envs])
    groups = {"actor": ["policy"], "critic": ["policy"]}
    actor = MLPModel(obs, groups, "actor", 2, hidden_dims=[8], activation="tanh",
                     distribution_cfg={"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "log"})
    critic = MLPModel(obs, groups, "critic", 1, hidden_dims=[8], activation="tanh")
    storage = RolloutStorage("rl", num_envs, num_steps, obs, [2])
    alg = PPO37(actor, critic, storage, {"num_mini_batches": 2, "num_learning_epochs": 2, "lr_anneal_iterations": 5})
    alg.broadcast_parameters()
    initial = [p.detach().clone() for p in alg._params]
    with torch.inference_mode():
        for _ in range(num_steps):
            alg.act(obs)
            obs = TensorDict({"policy": torch.randn(num_envs, 3) * (rank + 1)}, batch_size=[num_envs])
            alg.process_env_step(obs, torch.randn(num_envs) * (rank + 1), torch.zeros(num_envs, dtype=torch.long), {})
        alg.compute_returns(obs)
    alg.update()
    torch.save(
        {
            "initial": initial,
            "params": [p.detach().clone() for p in alg._params],
            "obs_mean": alg.actor.obs_normalizer.mean.clone(),
            "obs_count": alg.actor.obs_normalizer.count.clone(),
            "return_var": alg.reward_scaler.return_stats.var.clone(),
        },
        f"{out_dir}/rank{rank}.pt",
    )
    dist.destroy_process_group()
