"""Record demonstrations of a trained policy as a GR00T N1.5 post-training dataset (LeRobot v2 + modality.json).

    python -m isaaclab_gr00t.gr00t.record --task GR00T-Franka-Lift-Camera --policy_task GR00T-Franka-Lift \\
        --checkpoint logs/rsl_rl/gr00t_franka_lift/<run> --episodes 200 --successful-only --out data/lift

rolls the policy out (deterministically) in ``--task`` and writes, for every step of every kept episode:

- ``observation.state``: the 1-D observation groups the task's GR00T agent (``rsl_rl_gr00t_cfg_entry_point``)
  reads, concatenated in its order, one ``modality.json`` state key a group; without a GR00T agent, the 1-D groups
  the policy reads;
- one video a camera image group the GR00T agent reads (or, without one, every image group of the task), named
  after the group, from the camera's uint8 RGB output;
- ``action``: the action as the env received it (one key per action term of a manager-based task);
- the instruction (the GR00T agent's ``actor.instruction``, or ``--instruction``), reward, done and success
  (:mod:`isaaclab_gr00t.bench.success`).

Episodes of parallel envs are buffered per env and written whole when they end. The policy may come from another
task (``--policy_task``, with ``--obs_map``): see :mod:`isaaclab_gr00t.bench.policy_rollout`.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from isaaclab_gr00t.bench.policy_rollout import (
    GR00T_AGENT, CameraFrames, EpisodeTally, PolicyRun, add_policy_args, image_groups, open_policy_run, transitions,
)
from isaaclab_gr00t.gr00t.dataset.layout import Episode
from isaaclab_gr00t.gr00t.dataset.writer import DatasetWriter, check_output_folder


class EpisodeBuffer:
    """The steps of one env's running episode."""

    def __init__(self) -> None:
        self.states, self.actions, self.rewards, self.images = [], [], [], []

    def append(self, state: np.ndarray, action: np.ndarray, reward: float, images: dict[str, np.ndarray]) -> None:
        self.states.append(state)
        self.actions.append(action)
        self.rewards.append(reward)
        self.images.append(images)

    def take(self, instruction: str, success: bool) -> Episode:
        """The finished episode; the buffer starts the next one."""
        episode = Episode(
            states=np.stack(self.states).astype(np.float32),
            actions=np.stack(self.actions).astype(np.float32),
            instruction=instruction,
            images={key: np.stack([frame[key] for frame in self.images]) for key in (self.images[0] or {})},
            rewards=np.asarray(self.rewards, np.float32),
            success=success,
        )
        self.__init__()
        return episode


def gr00t_inputs(run: PolicyRun, task: str, obs) -> tuple[list[str], list[str], str | None]:
    """(state groups, image groups, instruction) the task's GR00T agent reads; the policy's, without one."""
    import gymnasium as gym

    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    if GR00T_AGENT in gym.spec(task).kwargs:
        cfg = load_cfg_from_registry(task, GR00T_AGENT)
        groups = list(cfg.obs_groups["actor"])
        return [g for g in groups if obs[g].dim() == 2], image_groups(obs, groups), cfg.actor.instruction
    groups = [run.rename.groups[group] for group in run.agent_cfg["obs_groups"]["actor"]]
    return [g for g in groups if obs[g].dim() == 2], image_groups(obs), None


def action_keys(env) -> dict[str, int]:
    """One key per action term of a manager-based task (e.g. ``arm_action``, ``gripper_action``), else ``action``."""
    manager = getattr(env.unwrapped, "action_manager", None)
    if manager is None:
        return {"action": env.num_actions}
    return dict(zip(manager.active_terms, manager.action_term_dim))


def record(args: argparse.Namespace) -> tuple[int, int]:
    """Write ``args.episodes`` episodes to ``args.out``; returns (episodes written, episodes rolled out)."""
    from tqdm import tqdm

    with open_policy_run(args) as run:
        obs = run.env.get_observations()
        state_groups, video_groups, instruction = gr00t_inputs(run, args.task, obs)
        instruction = args.instruction or instruction
        if instruction is None:
            raise ValueError(f"task {args.task} has no GR00T agent to take the instruction from: give --instruction")
        capture = CameraFrames(run.env, video_groups)
        writer = DatasetWriter(
            args.out, fps=1.0 / run.env.unwrapped.step_dt, robot_type=args.task,
            state_keys={group: obs[group].shape[1] for group in state_groups}, action_keys=action_keys(run.env),
            video_keys=video_groups, overwrite=args.overwrite,
        )
        print(f"[record] {args.task}: policy {run.agent} from {args.checkpoint}; state {state_groups}, "
              f"videos {video_groups}, instruction {instruction!r}", flush=True)
        buffers = [EpisodeBuffer() for _ in range(run.env.num_envs)]
        tally = EpisodeTally(run.env.num_envs, run.env.device)
        written = rolled_out = 0
        progress = tqdm(total=args.episodes, desc="episodes", unit="ep", file=sys.stdout, mininterval=2.0)
        for step in transitions(run, capture):
            states = torch.cat([step.obs[group] for group in state_groups], dim=1) if state_groups \
                else step.actions.new_zeros((len(buffers), 0))
            states, actions, rewards = (t.float().cpu().numpy() for t in (states, step.actions, step.rewards))
            frames = {group: image.cpu().numpy() for group, image in step.captured.items()}
            for env_id, buffer in enumerate(buffers):
                buffer.append(states[env_id], actions[env_id], rewards[env_id],
                              {group: image[env_id] for group, image in frames.items()})
            for end in tally.add(step):
                episode = buffers[end.env_id].take(instruction, end.success)
                rolled_out += 1
                progress.set_postfix(rolled_out=rolled_out, refresh=False)
                if written < args.episodes and (end.success or not args.successful_only):
                    writer.add_episode(episode)
                    written += 1
                    progress.update()
            if written == args.episodes or rolled_out >= args.max_episodes:
                break
        progress.close()
        if written:
            writer.close()
    return written, rolled_out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_policy_args(parser, num_envs=16)
    parser.add_argument("--episodes", type=int, required=True, help="Episodes to write.")
    parser.add_argument("--out", required=True, help="Dataset folder to create (must be empty or absent).")
    parser.add_argument("--overwrite", action="store_true", help="Replace what --out holds.")
    parser.add_argument("--successful-only", "--successful_only", dest="successful_only", action="store_true",
                        help="Write only the episodes that succeeded.")
    parser.add_argument("--max_episodes", type=int, default=None,
                        help="Stop after this many episodes were rolled out (default: 10 x --episodes).")
    parser.add_argument("--instruction", default=None,
                        help="Language instruction (default: the task's GR00T agent's actor.instruction).")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.num_envs < 1:
        parser.error("--episodes and --num_envs must be >= 1")
    args.max_episodes = args.max_episodes or 10 * args.episodes
    try:
        check_output_folder(args.out, args.overwrite)
    except FileExistsError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> tuple[int, int]:
    args = parse_args(argv)
    written, rolled_out = record(args)
    kept = f" ({written} of {rolled_out} rolled out succeeded)" if args.successful_only else ""
    if written < args.episodes:
        print(f"[record] only {written} of {args.episodes} episodes after {rolled_out} rolled out{kept}"
              + ("" if written else "; nothing written"), file=sys.stderr)
    else:
        print(f"[record] wrote {written} episodes to {args.out}{kept}")
    return written, rolled_out


if __name__ == "__main__":
    try:
        sys.exit(0 if main()[0] else 1)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"record: {error}")
