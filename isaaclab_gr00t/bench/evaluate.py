"""Evaluate a trained policy of a registered task: success rate with its 95 % interval, mean return and length.

    python -m isaaclab_gr00t.bench.evaluate --task GR00T-Cartpole-Direct \\
        --checkpoint logs/rsl_rl/gr00t_cartpole_direct/<run> --episodes 100 --num_envs 16
    python -m isaaclab_gr00t.bench.evaluate --task GR00T-Cartpole-Camera-Direct --checkpoint <GR00T N1.5 folder> \\
        --episodes 50 --video cartpole.gif

The policy runs deterministically (the runner's ``get_inference_policy``): a run folder or ``model_<N>.pt`` in the
agent it was trained with, a GR00T N1.5 folder in the task's GR00T agent (:mod:`.policy_rollout`). Success is
defined per task in :mod:`.success`. Each env contributes its first ``ceil(episodes / num_envs)`` episodes and the
first ``--episodes`` of those, by episode ordinal, are counted, so short (often failed) episodes are not
over-represented. ``--video`` writes env 0's camera (the first image group) as a GIF or an MP4; a state task has no
camera, so evaluate its expert in the camera twin (``--policy_task``, ``--obs_map``) for a video.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from dataclasses import dataclass

import numpy as np

from .policy_rollout import CameraFrames, EpisodeEnd, EpisodeTally, add_policy_args, image_groups, open_policy_run, \
    transitions

WILSON_Z = 1.959964
"""The normal quantile of a two-sided 95 % interval."""
VIDEO_SUFFIXES = (".gif", ".mp4")


def wilson_interval(successes: int, trials: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson's score interval of a binomial proportion (Wilson 1927), which stays inside [0, 1]."""
    rate = successes / trials
    denominator = 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Evaluation:
    """The counted episodes of one evaluation."""

    episodes: list[EpisodeEnd]

    @property
    def success_rate(self) -> float:
        return sum(e.success for e in self.episodes) / len(self.episodes)

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(sum(e.success for e in self.episodes), len(self.episodes))

    @property
    def mean_return(self) -> float:
        return statistics.fmean(e.episode_return for e in self.episodes)

    @property
    def mean_length(self) -> float:
        return statistics.fmean(e.length for e in self.episodes)

    def table(self, task: str, checkpoint: str, success: str) -> str:
        low, high = self.interval
        returns = [e.episode_return for e in self.episodes]
        spread = statistics.stdev(returns) if len(returns) > 1 else 0.0
        return "\n".join([
            "| task | checkpoint | episodes | success rate (95% Wilson interval) | mean return (std) | mean length |",
            "|---|---|---:|---|---:|---:|",
            f"| {task} | {checkpoint} | {len(self.episodes)} | {self.success_rate:.3f} ({low:.3f}-{high:.3f}) | "
            f"{self.mean_return:.2f} ({spread:.2f}) | {self.mean_length:.1f} |",
            "",
            f"Success: {success}.",
        ])


def evaluate(args: argparse.Namespace) -> tuple[Evaluation, str]:
    """Run the episodes; returns the evaluation and the success rule's description."""
    with open_policy_run(args) as run:
        per_env = math.ceil(args.episodes / run.env.num_envs)
        capture = dict
        if args.video:
            groups = image_groups(run.env.get_observations())
            if not groups:
                raise ValueError(f"--video: task {args.task} has no camera image group to film; evaluate the policy "
                                 "in the task's camera twin (--task TWIN --policy_task TASK --obs_map ...)")
            capture = CameraFrames(run.env, groups[:1])
        frames, ended = [], []
        tally = EpisodeTally(run.env.num_envs, run.env.device)
        for step in transitions(run, capture):
            if args.video and tally.finished[0] < per_env:
                frames.extend(image[0].cpu().numpy() for image in step.captured.values())
            ended += tally.add(step)
            if min(tally.finished) >= per_env:
                break
        description = run.success.description
        fps = 1.0 / run.env.unwrapped.step_dt
    counted = sorted(ended, key=lambda e: (e.ordinal, e.env_id))[: args.episodes]
    if args.video:
        write_video(args.video, np.stack(frames), fps)
    return Evaluation(counted), description


def write_video(path: str, frames: np.ndarray, fps: float) -> None:
    """A GIF (imageio) or an H.264 MP4 (PyAV) of ``(T, H, W, 3)`` uint8 frames."""
    if path.endswith(".gif"):
        import imageio.v2 as imageio

        imageio.mimsave(path, list(frames), duration=1000.0 / fps, loop=0)
    else:
        from isaaclab_gr00t.gr00t.dataset.video import encode_video

        encode_video(path, frames, fps)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_policy_args(parser, num_envs=16)
    parser.add_argument("--episodes", type=int, required=True, help="Episodes counted.")
    parser.add_argument("--video", default=None, help="Write env 0's camera to this .gif or .mp4 file.")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.num_envs < 1:
        parser.error("--episodes and --num_envs must be >= 1")
    if args.video and not args.video.endswith(VIDEO_SUFFIXES):
        parser.error(f"--video {args.video}: expected a file ending in {' or '.join(VIDEO_SUFFIXES)}")
    return args


def main(argv: list[str] | None = None) -> Evaluation:
    args = parse_args(argv)
    evaluation, success = evaluate(args)
    print(evaluation.table(args.task, args.checkpoint, success))
    if args.video:
        print(f"Wrote {args.video} (env 0)")
    return evaluation


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"evaluate: {error}")
