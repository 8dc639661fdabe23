"""Speed and memory of PPO on the GR00T N1.5 actor/critic: the optimized path against a plain baseline.

Example (on an H200)::

    python -m isaaclab_gr00t.bench.gr00t_memory --size full --batch 256 --micro-batches 2 --gradient-checkpointing

Random weights, a synthetic camera batch shaped like a camera task's (``--views`` RGB views at ``--image-size``,
the chat-templated instruction, a state vector); nothing is downloaded. Each variant builds the actor and critic,
runs rollout forwards (actor sample + log-prob + critic value, inference mode) at ``--batch`` envs, then PPO epochs
over ``--minibatches`` minibatches, each accumulated over ``--micro-batches`` backward passes, with AdamW:

- ``optimized``: bfloat16 frozen weights and autocast, and the update replays the rollout's stored extras (the
  frozen backbone's features), so it never runs the vision tower or the language model again;
- ``plain``: the same model in float32 without autocast, the update re-running the whole model.

``--gradient-checkpointing`` recomputes the trained blocks' activations in the optimized variant's backward pass;
``--compile`` compiles its transformer blocks (``compile_blocks``; the untimed warm-ups include the compilation).
``--profile FILE`` writes the optimized variant's kernel table (one rollout forward, one update) to FILE.

It prints a markdown table (memory: ``torch.cuda.memory_allocated`` after construction, the weights only, and the
peak of the rollout and of the update as PPO37Runner logs them; samples/s, matrix TFLOP/s counted
from the config by :mod:`isaaclab_gr00t.bench.gr00t_flops` and their fraction of ``--peak-tflops``) and the time of
each part of one rollout forward of the first variant.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import defaultdict
from pathlib import Path

import torch
from tensordict import TensorDict

from isaaclab_gr00t.bench.common import device_name, reset_peak_memory, synchronize
from isaaclab_gr00t.bench.gr00t_flops import policy_flops
from isaaclab_gr00t.gr00t import GR00TActor, GR00TCritic
from isaaclab_gr00t.runner.ppo37_runner import peak_memory
from isaaclab_gr00t.testing.gr00t_numerics import GROUPS, camera_batch

VARIANTS = {"optimized": ("bfloat16", True), "plain": ("float32", False)}
"""Variant -> (weight dtype, whether the update replays the stored backbone features)."""
PER_STEP = "DiT per Euler step"
MEMORY_COLUMNS = ("construction", "Perf/peak_memory_rollout_gib", "Perf/peak_memory_update_gib")
"""Keys of the memory a variant reports: after construction, then :func:`peak_memory` of each phase."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "full"], default="full", help="Model size (random weights).")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="Torch device.")
    parser.add_argument("--batch", type=int, default=256,
                        help="Parallel envs of the rollout (= samples per update epoch).")
    parser.add_argument("--micro-batches", type=int, default=8, help="Gradient accumulation steps per minibatch.")
    parser.add_argument("--minibatches", type=int, default=1, help="PPO minibatches per epoch.")
    parser.add_argument("--epochs", type=int, default=1, help="PPO epochs timed.")
    parser.add_argument("--rollout-steps", type=int, default=4, help="Rollout forwards timed.")
    parser.add_argument("--image-size", type=int, default=224,
                        help="Camera image side before the model's crop and resize.")
    parser.add_argument("--views", type=int, default=1,
                        help="Camera views per env (256 vision tokens each at full size).")
    parser.add_argument("--state-dim", type=int, default=8, help="Size of the actor's state vector.")
    parser.add_argument("--action-dim", type=int, default=7, help="Env action dimension.")
    parser.add_argument("--lora-rank", type=int, default=0,
                        help="LoRA rank on the language model (0: none, RLinf's recipe).")
    parser.add_argument("--policy", choices=["gaussian", "flow_sde"], default="gaussian", help="PPO policy mode.")
    parser.add_argument("--variants", default="optimized,plain", help=f"Comma-separated, of {', '.join(VARIANTS)}.")
    parser.add_argument("--gradient-checkpointing", action="store_true",
                        help="Recompute the trained blocks' activations in the optimized variant's backward pass.")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the optimized variant's transformer blocks (compile_blocks).")
    parser.add_argument("--profile", type=Path, default=None,
                        help="Write the optimized variant's top kernels (torch profiler) of one rollout and one"
                             " update here.")
    parser.add_argument("--peak-tflops", type=float, default=989.0,
                        help="Dense bf16 matrix peak the FLOP rate is divided by (H100/H200 SXM datasheet: 989).")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> str:
    """Run the benchmark, print the markdown tables and return them."""
    args = parse_args(argv)
    if args.batch % (args.minibatches * args.micro_batches):
        raise ValueError(f"--batch {args.batch} must divide into --minibatches x --micro-batches.")
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"--variants: unknown {unknown}; known: {', '.join(VARIANTS)}.")
    device = torch.device(args.device)
    rows, parts = [], None
    for variant in variants:
        row, variant_parts = _run_variant(args, device, variant)
        rows.append(row)
        parts = parts or variant_parts
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    header = (
        "| variant | weights | device | batch | micro-batches | gradient checkpointing | compiled"
        " | memory after construction (GiB) | rollout peak (GiB) | update peak (GiB)"
        " | rollout samples/s | update samples/s | rollout TFLOP/s (% of peak) | update TFLOP/s (% of peak) |"
    )
    table = "\n".join([header, "|" + "---|" * 14, *rows])
    total = sum(ms for name, ms in parts.items() if name != PER_STEP)
    split = "\n".join(
        ["| part of one rollout forward | ms | share |", "|---|---:|---:|"]
        + [f"| {name} | {ms:.2f} | {'' if name == PER_STEP else f'{ms / total:.0%}'} |" for name, ms in parts.items()]
    )
    text = f"{table}\n\nPart times of one rollout forward ({variants[0]}, batch {args.batch}):\n\n{split}"
    print(text)
    return text


def _run_variant(args, device: torch.device, variant: str) -> tuple[str, dict[str, float]]:
    """Build, time and describe one variant: its table row and the part times of one rollout forward."""
    dtype, replay_features = VARIANTS[variant]
    torch.manual_seed(0)
    obs = camera_batch(args.batch, args.image_size, args.state_dim, device, views=args.views)
    checkpointing = args.gradient_checkpointing and replay_features
    compiled = args.compile and replay_features
    with device:  # initialize the random weights directly on the device
        actor = GR00TActor(
            obs, GROUPS, "actor", args.action_dim, size=args.size, lora_rank=args.lora_rank, dtype=dtype,
            policy=args.policy, pixel_offset=0.5, gradient_checkpointing=checkpointing, compile_blocks=compiled,
        )
        critic = GR00TCritic(obs, GROUPS, "critic", 1, cnns=actor.cnns)
    groups = actor.optimizer_param_groups(3e-4) + critic.optimizer_param_groups(3e-4)
    optimizer = torch.optim.AdamW([{"params": g["params"], "lr": g["lr"]} for g in groups])
    actor.train()
    critic.train()
    memory = {"construction": torch.cuda.memory_allocated(device) / 2**30} if device.type == "cuda" else {}
    flops = policy_flops(actor.gr00t.config, _views(actor, obs), actor.input_ids.shape[1])
    rollout_flops = sum(flops.values())
    update_flops = 3 * (rollout_flops - flops["vision"] - flops["language model"])  # forward + backward of the head
    if not replay_features:
        update_flops += flops["vision"] + flops["language model"]  # the frozen backbone's forward again
    try:
        rollout_rate, update_rate = _measure(args, device, actor, critic, obs, optimizer, groups, replay_features,
                                             memory)
        parts = _part_times(actor, critic, obs, device)
        if args.profile is not None and replay_features:
            _profile(args, device, actor, critic, obs, optimizer, groups)
        rates = (
            f"{rollout_rate:.1f} | {update_rate:.1f} | {_tflops(rollout_flops, rollout_rate, args)}"
            f" | {_tflops(update_flops, update_rate, args)}"
        )
    except torch.OutOfMemoryError:
        rates, parts = "out of memory | out of memory | - | -", {}
    peaks = _memory_cells(memory, device)
    row = (f"| {variant} | {dtype} | {device_name(device)} | {args.batch} | {args.micro_batches}"
           f" | {'yes' if checkpointing else 'no'} | {'yes' if compiled else 'no'} | {peaks} | {rates} |")
    return row, parts


def _measure(args, device, actor, critic, obs, optimizer, groups, replay_features: bool,
             memory: dict[str, float]) -> tuple[float, float]:
    """Time the rollout forwards and the PPO update (after an untimed warm-up of each); return samples/s of each and
    add each phase's peak memory to ``memory``."""
    reset_peak_memory(device)  # the rollout's peak from here on
    with torch.inference_mode():
        _rollout_step(actor, critic, obs)
        synchronize(device)
        start = time.perf_counter()
        for _ in range(args.rollout_steps):
            rollout = _rollout_step(actor, critic, obs)
        synchronize(device)
        rollout_rate = args.batch * args.rollout_steps / (time.perf_counter() - start)
    memory |= peak_memory(str(device), "rollout")  # and the update's from here on
    update_batch = _update_batch(actor, rollout, replay_features)
    _update_epoch(args, device, actor, critic, obs, optimizer, groups, *update_batch)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(args.epochs):
        _update_epoch(args, device, actor, critic, obs, optimizer, groups, *update_batch)
    synchronize(device)
    update_rate = args.batch * args.epochs / (time.perf_counter() - start)
    memory |= peak_memory(str(device), "update")
    return rollout_rate, update_rate


def _update_batch(actor: GR00TActor, rollout: tuple[torch.Tensor, ...], replay_features: bool) -> tuple:
    """What the update reads from a rollout forward: stored extras, actions, log-probs, returns, advantages."""
    actions, log_prob, values = (t.clone() for t in rollout)  # out of inference mode
    extras = actor.rollout_extras
    if extras is not None and not replay_features:
        extras = extras.exclude("features")
    extras = extras.clone() if extras is not None and len(extras.keys()) else None
    returns = values + torch.randn_like(values)
    return extras, actions, log_prob, returns, torch.randn_like(log_prob)


def _profile(args, device, actor, critic, obs, optimizer, groups) -> None:
    """Write the top kernels of one rollout forward and one update epoch to ``args.profile``."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    sort_by = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    tables = []
    with profile(activities=activities) as rollout_profile:
        with torch.inference_mode():
            rollout = _rollout_step(actor, critic, obs)
        synchronize(device)
    tables.append(("one rollout forward", rollout_profile))
    update_batch = _update_batch(actor, rollout, replay_features=True)
    with profile(activities=activities) as update_profile:
        _update_epoch(args, device, actor, critic, obs, optimizer, groups, *update_batch)
        synchronize(device)
    tables.append(("one update epoch", update_profile))
    text = "\n\n".join(f"## {title}\n{p.key_averages().table(sort_by=sort_by, row_limit=30)}" for title, p in tables)
    args.profile.write_text(text)


def _update_epoch(args, device, actor, critic, obs, optimizer, groups, extras, actions, log_prob, returns, advantages):
    """One PPO epoch: clipped surrogate and value loss, accumulated over micro-batches, an AdamW step per minibatch."""
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


def _rollout_step(actor: GR00TActor, critic: GR00TCritic, obs: TensorDict):
    """Actions, their log-probs and values, as PPO.act() records them."""
    actions = actor(obs, stochastic_output=True)
    return actions, actor.get_output_log_prob(actions), critic(obs)


def _part_times(actor: GR00TActor, critic: GR00TCritic, obs: TensorDict, device: torch.device) -> dict[str, float]:
    """Milliseconds of each part of one rollout forward, from timestamps taken around the parts' modules."""
    model = actor.gr00t
    eagle, head = model.backbone.eagle_model, model.action_head
    modules = {
        "vision (tower + mlp1)": (eagle.vision_model.vision_model, eagle.mlp1),
        "language model": (eagle.language_model.model,),
        "vl_self_attention": (head.vl_self_attention,),
        "DiT (all Euler steps)": (head.model,),
        "value head": (critic.mlp,),
    }
    totals: dict[str, float] = defaultdict(float)
    pending = []
    handles = []
    for name, parts in modules.items():
        for module in parts:
            def stamp(*_, name=name) -> None:
                pending.append((name, _stamp(device)))

            handles += [module.register_forward_pre_hook(stamp), module.register_forward_hook(stamp)]
    try:
        with torch.inference_mode():
            _rollout_step(actor, critic, obs)
        synchronize(device)
    finally:
        for handle in handles:
            handle.remove()
    for (name, start), (_, end) in zip(pending[::2], pending[1::2]):
        totals[name] += _elapsed_ms(start, end)
    totals[PER_STEP] = totals["DiT (all Euler steps)"] / model.config.action_head.num_inference_timesteps
    return dict(totals)


def _stamp(device: torch.device):
    if device.type == "cuda":
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event
    return time.perf_counter()


def _elapsed_ms(start, end) -> float:
    return start.elapsed_time(end) if isinstance(start, torch.cuda.Event) else 1000.0 * (end - start)


def _views(actor: GR00TActor, obs: TensorDict) -> int:
    image_id = actor.gr00t.config.image_token_id
    return int((actor.input_ids[0] == image_id).sum()) // actor.gr00t.config.tokens_per_view


def _tflops(flops_per_sample: float, samples_per_s: float, args) -> str:
    rate = flops_per_sample * samples_per_s / 1e12
    return f"{rate:.3g} ({rate / args.peak_tflops:.0%})"


def _memory_cells(memory: dict[str, float], device: torch.device) -> str:
    """The table's memory cells in GiB: ``out of memory`` for a phase that did not finish, ``n/a (CPU)`` on the CPU."""
    if device.type != "cuda":
        return " | ".join(["n/a (CPU)"] * len(MEMORY_COLUMNS))
    return " | ".join(f"{memory[key]:.2f}" if key in memory else "out of memory" for key in MEMORY_COLUMNS)


if __name__ == "__main__":
    main()
