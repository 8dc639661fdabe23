"""``isaaclab-gr00t-gym``: train PPO37 or stock rsl_rl PPO on a Gymnasium env with PPO37Runner.

Example::

    isaaclab-gr00t-gym --env Hopper-v5 --steps 1000000 --seed 1 --algo ppo37

Box action spaces use the agent preset ``agents/ppo37_mujoco.yaml`` (the blog's MuJoCo setting, 1 env x 2048 steps),
Discrete/MultiDiscrete ones ``agents/ppo37_classic_control.yaml`` (4 envs x 128 steps): the algorithm section, the
rollout length and the network. "stock" trains rsl_rl's PPO with the same network, rollout, epochs, minibatches,
learning rate, discount and clip range, keeping rsl_rl's own mechanisms (KL-adaptive LR, per-network grad clip 1.0,
value loss coefficient 1.0, rsl_rl's empirical observation normalization, default init). A progress line (env steps,
mean return of the last 10 episodes, steps/s, ETA) is printed every ``--progress-steps`` env steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from isaaclab.utils import to_dict

from isaaclab_gr00t.envs import VecEnvWrapper
from isaaclab_gr00t.registration import project_agent_cfg
from isaaclab_gr00t.runner import PPO37Runner

from ._mujoco_compat import ensure_mujoco_envs_importable
from .vec_env import GymVecEnv

PRESETS = {"continuous": ("ppo37_mujoco", 1), "discrete": ("ppo37_classic_control", 4)}
"""Action space kind -> (agent preset in ``agents/``, envs of the blog's rollout); the preset sets the steps per env."""


@dataclass
class TrainResult:
    """Outcome of one training run."""

    env_id: str
    algo: str
    seed: int
    env_steps: int
    wall_time_s: float
    episodes: list[tuple[int, float, float, int]] = field(default_factory=list)
    """(env_steps, seconds, return, length) of every finished training episode (true rewards)."""
    eval_returns: list[float] = field(default_factory=list)
    """Returns of deterministic evaluation episodes after training."""
    planned_env_steps: int = 0
    """The run's env-step budget; ``env_steps < planned_env_steps`` marks a run still going (or killed)."""

    @property
    def complete(self) -> bool:
        """Whether the run reached its budget."""
        return self.env_steps >= self.planned_env_steps

    def save(self, path: Path) -> None:
        """Write the result as JSON (atomically, so a reader never sees half a file)."""
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(dataclasses.asdict(self)))
        temporary.replace(path)

    def record_progress(self, env: GymVecEnv, start: float) -> None:
        """Take the env's step count and finished episodes, and the wall time since ``start``."""
        self.env_steps = env.total_env_steps
        self.wall_time_s = time.perf_counter() - start
        self.episodes = list(env.finished_episodes)

    @classmethod
    def load(cls, path: Path) -> TrainResult:
        """Read a result written by :meth:`save`."""
        fields = json.loads(path.read_text())
        fields["episodes"] = [tuple(episode) for episode in fields["episodes"]]
        return cls(**fields)

    @property
    def steps_per_s(self) -> float:
        """Training env steps a second, updates included."""
        return self.env_steps / self.wall_time_s

    def final_train_return(self, last: int = 10) -> float:
        """Mean return of the last ``last`` finished training episodes (NaN if none finished)."""
        returns = [episode[2] for episode in self.episodes[-last:]]
        return statistics.fmean(returns) if returns else math.nan


def preset_for(action_space: gym.Space) -> tuple[str, int]:
    """(agent preset, envs of the blog's rollout) for an action space: Box continuous, anything else discrete."""
    return PRESETS["continuous" if isinstance(action_space, gym.spaces.Box) else "discrete"]


def rollout_shape(env_id: str, num_envs: int | None = None) -> tuple[int, int]:
    """(num_envs, num_steps_per_env) of the preset for ``env_id``: MuJoCo 1 x 2048, classic control 4 x 128.

    With ``num_envs`` the rollout keeps the preset's batch (2048 or 512 samples) spread over that many envs.
    """
    ensure_mujoco_envs_importable()
    probe = gym.make(env_id)
    preset, preset_envs = preset_for(probe.action_space)
    probe.close()
    preset_steps = project_agent_cfg(preset).num_steps_per_env
    if num_envs is None:
        return preset_envs, preset_steps
    batch = preset_envs * preset_steps
    if num_envs < 1 or batch % num_envs:
        raise ValueError(f"num_envs must divide the preset's rollout batch of {batch} samples, got {num_envs}.")
    return num_envs, batch // num_envs


def make_train_cfg(env: GymVecEnv, algo: str, steps: int, num_steps_per_env: int) -> dict:
    """The runner config dict for ``algo`` in {"ppo37", "stock"}, from the preset for the env's action space."""
    continuous = isinstance(env.action_space, gym.spaces.Box)
    preset = project_agent_cfg(preset_for(env.action_space)[0])
    max_iterations = max(1, math.ceil(steps / (env.num_envs * num_steps_per_env)))
    distribution_cfg = env.distribution_cfg()
    model_cfg = {"class_name": "MLPModel", "hidden_dims": list(preset.actor.hidden_dims),
                 "activation": preset.actor.activation, "obs_normalization": False}
    if algo == "ppo37":
        algorithm = to_dict(preset.algorithm)
    elif algo == "stock":
        ppo37 = preset.algorithm
        algorithm = {
            "class_name": "PPO", "num_learning_epochs": ppo37.num_learning_epochs,
            "num_mini_batches": ppo37.num_mini_batches, "clip_param": ppo37.clip_param, "gamma": ppo37.gamma,
            "lam": ppo37.lam, "value_loss_coef": 1.0, "entropy_coef": ppo37.entropy_coef,
            "learning_rate": ppo37.learning_rate, "max_grad_norm": 1.0, "use_clipped_value_loss": True,
            "schedule": "adaptive", "desired_kl": 0.01,
        }
        model_cfg["obs_normalization"] = continuous
        if continuous:
            distribution_cfg = {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "scalar"}
    else:
        raise ValueError(f"--algo must be 'ppo37' or 'stock', got {algo!r}.")
    return {
        "num_steps_per_env": num_steps_per_env,
        "max_iterations": max_iterations,
        "save_interval": max_iterations + 1,
        "obs_groups": {"actor": ["policy"], "critic": ["policy"]},
        "actor": {**model_cfg, "distribution_cfg": distribution_cfg},
        "critic": dict(model_cfg),
        "algorithm": algorithm,
        "check_for_nan": True,
    }


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def evaluate(policy: torch.nn.Module, env_id: str, episodes: int, seed: int) -> list[float]:
    """Deterministic-policy returns of ``episodes`` episodes on a fresh env."""
    env = GymVecEnv(env_id, num_envs=1, seed=seed)
    returns: list[float] = []
    obs = env.get_observations()
    with torch.inference_mode():
        while len(returns) < episodes:
            obs, _, dones, _ = env.step(policy(obs))
            if bool(dones[0]):
                policy.reset(dones)
                returns.append(env.finished_episodes[-1][2])
    env.close()
    return returns


class _ProgressWriter(threading.Thread):
    """Saves the run's result so far every ``interval_s`` seconds, so a run cut short still leaves its curve."""

    def __init__(self, env: GymVecEnv, result: TrainResult, path: Path, start: float, interval_s: float) -> None:
        super().__init__(daemon=True)
        self.env, self.result, self.path, self.start_time, self.interval_s = env, result, path, start, interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            self.result.record_progress(self.env, self.start_time)
            self.result.save(self.path)


class ProgressLine(VecEnvWrapper):
    """Prints one line every ``every`` env steps: steps done, mean return of the last 10 episodes, steps/s, ETA."""

    def __init__(self, env: GymVecEnv, planned_steps: int, every: int, start: float) -> None:
        super().__init__(env)
        self.planned_steps, self.every, self.start = planned_steps, every, start
        self.printed = 0

    def step(self, actions: torch.Tensor):
        result = self.env.step(actions)
        steps = self.env.total_env_steps
        if steps // self.every > self.printed:
            self.printed = steps // self.every
            print(self.line(steps, time.perf_counter() - self.start), flush=True)
        return result

    def line(self, steps: int, seconds: float) -> str:
        """The progress line after ``steps`` env steps and ``seconds`` of training."""
        returns = [episode[2] for episode in self.env.finished_episodes[-10:]]
        mean_return = f"{statistics.fmean(returns):.1f}" if returns else "n/a"
        rate = steps / seconds
        eta = datetime.timedelta(seconds=round(max(0, self.planned_steps - steps) / rate))
        return (f"steps {steps}/{self.planned_steps} ({100.0 * steps / self.planned_steps:.0f}%) | return {mean_return}"
                f" (last 10 episodes) | {rate:.0f} steps/s | ETA {eta}")


def train(env_id: str, steps: int, seed: int, algo: str = "ppo37", eval_episodes: int = 5,
          log_dir: str | None = None, algorithm_overrides: dict | None = None,
          rollout: tuple[int, int] | None = None, progress_path: Path | None = None,
          progress_interval_s: float = 30.0, progress_steps: int | None = None) -> TrainResult:
    """Train ``algo`` on ``env_id`` for ``steps`` env steps (rounded up to whole rollouts) and evaluate it.

    ``rollout`` = (num_envs, num_steps_per_env) overrides the preset's rollout shape. With ``progress_path`` the
    result so far is saved there as JSON every ``progress_interval_s`` seconds and once more at the end. With
    ``progress_steps`` a :class:`ProgressLine` is printed every that many env steps.
    """
    seed_everything(seed)
    num_envs, num_steps_per_env = rollout or rollout_shape(env_id)
    env = GymVecEnv(env_id, num_envs=num_envs, seed=seed)
    cfg = make_train_cfg(env, algo, steps, num_steps_per_env)
    if algorithm_overrides:
        cfg["algorithm"].update(algorithm_overrides)
    planned = cfg["max_iterations"] * num_envs * num_steps_per_env
    result = TrainResult(env_id, algo, seed, 0, 0.0, planned_env_steps=planned)
    start = time.perf_counter()
    progress = _ProgressWriter(env, result, progress_path, start, progress_interval_s) if progress_path else None
    if progress:
        progress.start()
    learner_env = ProgressLine(env, planned, progress_steps, start) if progress_steps else env
    runner = PPO37Runner(learner_env, cfg, log_dir=log_dir, device="cpu")
    try:
        runner.learn(cfg["max_iterations"])
    finally:
        if progress:
            progress.stopped.set()
            progress.join()
    result.record_progress(env, start)
    policy = runner.get_inference_policy("cpu")
    env.close()
    if eval_episodes > 0:
        result.eval_returns = evaluate(policy, env_id, eval_episodes, seed + 10_000)
    if progress_path:
        result.save(progress_path)
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="Gymnasium env id, e.g. Hopper-v5 or CartPole-v1")
    parser.add_argument("--steps", type=int, default=1_000_000, help="training env steps")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--algo", choices=["ppo37", "stock"], default="ppo37")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--num-envs", type=int, default=None,
                        help="envs in parallel, keeping the preset's rollout batch (default: the preset's)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--log-dir", default=None, help="rsl_rl log dir (tensorboard, checkpoints); none by default")
    parser.add_argument("--progress-steps", type=int, default=20_480,
                        help="print a progress line every this many env steps (0: none)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = train(args.env, args.steps, args.seed, args.algo, args.eval_episodes, args.log_dir,
                   rollout=rollout_shape(args.env, args.num_envs), progress_steps=args.progress_steps)
    print("| env | algo | seed | env steps | wall s | steps/s | last-10 train return | eval return |")
    print("|---|---|---|---|---|---|---|---|")
    eval_mean = statistics.fmean(result.eval_returns) if result.eval_returns else math.nan
    print(f"| {result.env_id} | {result.algo} | {result.seed} | {result.env_steps} | {result.wall_time_s:.1f} |"
          f" {result.steps_per_s:.0f} | {result.final_train_return():.1f} | {eval_mean:.1f} |")


if __name__ == "__main__":
    main()
