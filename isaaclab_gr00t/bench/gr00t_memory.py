"""Memory and throughput of a PPO update on the GR00T N1.5 actor/critic (random weights, synthetic camera batch).

Example (on an H200)::

    python -m isaaclab_gr00t.bench.gr00t_memory --size full --batch 256 --micro-batches 8

It builds the model on the device, runs rollout forwards (actor sample + log-prob + critic value, in inference
mode) at ``--batch`` envs, then PPO epochs over ``--minibatches`` minibatches, each accumulated over
``--micro-batches`` backward passes, with AdamW on the trainable parameter groups. It prints a markdown table of
total/trainable parameters, peak memory (``torch.cuda.max_memory_allocated``) and samples/s. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import time

import torch
from tensordict import TensorDict

from isaaclab_gr00t.gr00t import GR00TActor, GR00TCritic

OBS_GROUPS = {"actor": ["policy", "state"], "critic": ["critic"]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "full"], default="full", help="Backbone/head size.")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="Torch device.")
    parser.add_argument("--batch", type=int, default=256, help="Parallel envs of the rollout (= PPO minibatch size x minibatches).")
    parser.add_argument("--micro-batches", type=int, default=8, help="Gradient accumulation steps per minibatch.")
    parser.add_argument("--minibatches", type=int, default=1, help="PPO minibatches per epoch.")
    parser.add_argument("--epochs", type=int, default=1, help="PPO epochs timed.")
    parser.add_argument("--rollout-steps", type=int, default=4, help="Rollout forwards timed.")
    parser.add_argument("--image-size", type=int, default=224, help="Camera image side before the model's crop and resize.")
    parser.add_argument("--views", type=int, default=1, help="Camera views per env (256 vision tokens each at full size).")
    parser.add_argument("--state-dim", type=int, default=8, help="Size of the actor's state vector.")
    parser.add_argument("--action-dim", type=int, default=7, help="Env action dimension.")
    parser.add_argument("--lora-rank", type=int, default=0, help="LoRA rank on the language model (0: none, RLinf's recipe).")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="bfloat16", help="Frozen weight dtype.")
    parser.add_argument("--policy", choices=["gaussian", "flow_sde"], default="gaussian", help="PPO policy mode.")
    parser.add_argument("--gradient-checkpointing", action="store_true", help="Recompute language-model activations.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> str:
    """Run the benchmark, print the markdown table and return it."""
    args = parse_args(argv)
    if args.batch % (args.minibatches * args.micro_batches):
        raise ValueError(f"--batch {args.batch} must divide into --minibatches x --micro-batches.")
    device = torch.device(args.device)
    torch.manual_seed(0)
    obs = TensorDict(
        {
            "policy": torch.rand(args.batch, 3 * args.views, args.image_size, args.image_size, device=device),
            "state": torch.randn(args.batch, args.state_dim, device=device),
            "critic": torch.randn(args.batch, args.state_dim, device=device),
        },
        batch_size=[args.batch],
        device=device,
    )
    with device:  # initialize the random weights directly on the device
        actor = GR00TActor(
            obs, OBS_GROUPS, "actor", args.action_dim, size=args.size, lora_rank=args.lora_rank, dtype=args.dtype,
            policy=args.policy, gradient_checkpointing=args.gradient_checkpointing,
        )
        critic = GR00TCritic(obs, OBS_GROUPS, "critic", 1)
    groups = actor.optimizer_param_groups(3e-4) + critic.optimizer_param_groups(3e-4)
    optimizer = torch.optim.AdamW([{"params": g["params"], "lr": g["lr"]} for g in groups])
    total_params = sum(p.numel() for p in actor.parameters()) + sum(p.numel() for p in critic.parameters())
    trainable_params = sum(p.numel() for g in groups for p in g["params"])
    actor.train()
    critic.train()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    try:
        rollout_rate, update_rate = _measure(args, device, actor, critic, obs, optimizer, groups)
        rates = f"{rollout_rate:.1f} | {update_rate:.1f}"
    except torch.OutOfMemoryError:
        rates = "out of memory | out of memory"

    peak = f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f}" if device.type == "cuda" else "n/a (CPU)"
    table = "\n".join([
        "| size | device | batch | minibatches | micro-batches | total params | trainable params | peak memory (GiB) | rollout samples/s | update samples/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {args.size} | {_device_name(device)} | {args.batch} | {args.minibatches} | {args.micro_batches} | {total_params / 1e6:.1f} M"
        f" | {trainable_params / 1e6:.2f} M | {peak} | {rates} |",
    ])  # fmt: skip
    print(table)
    return table


def _measure(args, device, actor, critic, obs, optimizer, groups) -> tuple[float, float]:
    """Time the rollout forwards and the PPO update; return samples/s of each."""
    # rollout: what PPO.act() computes for every env step
    with torch.inference_mode():
        _rollout_step(actor, critic, obs)  # warm-up
        _sync(device)
        start = time.perf_counter()
        for _ in range(args.rollout_steps):
            actions, log_prob, values = _rollout_step(actor, critic, obs)
        extras = actor.rollout_extras
        _sync(device)
        rollout_rate = args.batch * args.rollout_steps / (time.perf_counter() - start)
    returns = values + torch.randn_like(values)
    advantages = torch.randn(args.batch, device=device)

    # update: PPO clipped loss, minibatches accumulated over micro-batches
    start = time.perf_counter()
    for _ in range(args.epochs):
        for minibatch in torch.randperm(args.batch, device=device).chunk(args.minibatches):
            optimizer.zero_grad(set_to_none=True)
            for micro in minibatch.chunk(args.micro_batches):
                micro_obs = obs[micro]
                if extras is not None:
                    actor.replay(extras[micro])
                actor(micro_obs, stochastic_output=True)
                ratio = torch.exp(actor.get_output_log_prob(actions[micro]) - log_prob[micro])
                surrogate = torch.max(-advantages[micro] * ratio, -advantages[micro] * ratio.clamp(0.8, 1.2)).mean()
                value_loss = (critic(micro_obs) - returns[micro]).pow(2).mean()
                ((surrogate + value_loss) * (len(micro) / len(minibatch))).backward()
            torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
            optimizer.step()
    _sync(device)
    return rollout_rate, args.batch * args.epochs / (time.perf_counter() - start)


def _rollout_step(actor: GR00TActor, critic: GR00TCritic, obs: TensorDict):
    """Actions, their log-probs and values, as PPO.act() records them."""
    actions = actor(obs, stochastic_output=True)
    return actions, actor.get_output_log_prob(actions), critic(obs)


def _sync(device: torch.device) -> None:
    """Wait for queued device work so timings are real."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _device_name(device: torch.device) -> str:
    """Readable device name for the table."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


if __name__ == "__main__":
    main()
