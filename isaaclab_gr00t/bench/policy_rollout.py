"""Run a trained policy of a registered task, kit-less and offline: what ``record`` and ``evaluate`` share.

A checkpoint is a run folder of ``isaaclab train --rl_library rsl_rl`` (``logs/rsl_rl/<experiment>/<run>``, its
latest ``model_<N>.pt``), one ``model_<N>.pt``, or a GR00T N1.5 checkpoint folder (``config.json`` and
``experiment_cfg/metadata.json``), which the task's GR00T agent loads as its ``actor.checkpoint``. The runner named
by the agent config's ``class_name`` is built on the env, ``load``-s the file and hands out its deterministic
``get_inference_policy``, as ``isaaclab play`` does.

A policy may run in another task than the one it was trained on (``--policy_task``), e.g. a state expert in its
camera twin: ``--obs_map GROUP=TWIN_GROUP`` feeds the policy's group from the twin's (the camera cartpole keeps the
joint state in ``critic``); groups of the same name and rank 2 in both are taken as they are.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from tensordict import TensorDict

from isaaclab_gr00t.envs import VecEnvWrapper

from .success import SuccessRule, success_rule
from .throughput import open_task, silenced_stdout

DEFAULT_AGENT = "rsl_rl_cfg_entry_point"
GR00T_AGENT = "rsl_rl_gr00t_cfg_entry_point"
"""The entry point of a task's GR00T N1.5 agent."""
MODEL_FILE = re.compile(r"model_(\d+)\.pt")


@dataclass(frozen=True)
class Checkpoint:
    """A resolved ``--checkpoint``: an rsl_rl checkpoint file, or a GR00T N1.5 checkpoint folder."""

    path: str
    is_gr00t: bool


def resolve_checkpoint(path: str) -> Checkpoint:
    """The file or folder ``--checkpoint`` names; FileNotFoundError/ValueError naming it if it is not one."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"--checkpoint {path}: no such file or folder")
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "config.json")) and \
                os.path.isfile(os.path.join(path, "experiment_cfg", "metadata.json")):
            return Checkpoint(path, is_gr00t=True)
        models = [name for name in os.listdir(path) if MODEL_FILE.fullmatch(name)]
        if not models:
            raise FileNotFoundError(
                f"--checkpoint {path}: neither a run folder with model_<N>.pt files nor a GR00T N1.5 checkpoint "
                "folder (config.json and experiment_cfg/metadata.json)")
        path = os.path.join(path, max(models, key=lambda name: int(MODEL_FILE.fullmatch(name).group(1))))
    try:
        # memory-mapped: only the keys are checked here, the runner reads the tensors when it loads the file
        content = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:
        raise ValueError(f"--checkpoint {path}: not a torch checkpoint of tensors ({error})") from error
    if not isinstance(content, dict) or "actor_state_dict" not in content:
        raise ValueError(f"--checkpoint {path}: not an rsl_rl checkpoint (no 'actor_state_dict')")
    return Checkpoint(path, is_gr00t=False)


def choose_agent(task: str, checkpoint: Checkpoint, agent: str | None) -> str:
    """The agent entry point to load ``checkpoint`` into: ``agent`` if given; the GR00T agent for a GR00T folder;
    else the task's rsl_rl agent whose ``experiment_name`` is the run's experiment folder, or the default one."""
    if agent is not None:
        return agent
    if checkpoint.is_gr00t:
        return GR00T_AGENT
    import gymnasium as gym

    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    experiment = os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(checkpoint.path))))
    entry_points = [key for key in gym.spec(task).kwargs if key.startswith("rsl_rl") and key.endswith("entry_point")]
    matches = [key for key in entry_points if load_cfg_from_registry(task, key).experiment_name == experiment]
    return matches[0] if len(matches) == 1 else DEFAULT_AGENT


def parse_obs_map(items: list[str]) -> dict[str, str]:
    """``["policy=critic"]`` -> ``{"policy": "critic"}``; ValueError naming a malformed item."""
    mapping = {}
    for item in items:
        group, separator, twin_group = item.partition("=")
        if not separator or not group or not twin_group:
            raise ValueError(f"--obs_map {item!r}: expected POLICY_GROUP=TASK_GROUP, e.g. policy=critic")
        mapping[group] = twin_group
    return mapping


class RenamedObservations(VecEnvWrapper):
    """The env's observations under the group names the policy was trained with."""

    def __init__(self, env, groups: dict[str, str]) -> None:
        """``groups``: the policy's group -> the env's group it reads."""
        super().__init__(env)
        self.groups = groups

    def rename(self, obs: TensorDict) -> TensorDict:
        return TensorDict({group: obs[source] for group, source in self.groups.items()}, batch_size=obs.batch_size)

    def get_observations(self) -> TensorDict:
        return self.rename(self.env.get_observations())


def policy_groups(agent_cfg: dict, obs: TensorDict, obs_map: dict[str, str], task: str) -> dict[str, str]:
    """Each group the agent's actor and critic read -> the env group that feeds it; ValueError if one is missing."""
    needed = dict.fromkeys(group for groups in agent_cfg["obs_groups"].values() for group in groups)
    unknown = set(obs_map) - set(needed)
    if unknown:
        raise ValueError(f"--obs_map names {sorted(unknown)}, which the policy does not read ({list(needed)})")
    groups = {}
    for group in needed:
        source = obs_map.get(group, group)
        if source not in obs.keys():
            raise ValueError(f"the policy reads observation group '{group}', which task {task} lacks (its groups: "
                             f"{sorted(obs.keys())}); map one to it with --obs_map {group}=GROUP")
        groups[group] = source
    return groups


def load_policy(env, agent_cfg: dict, checkpoint: Checkpoint, device: str) -> Callable[[TensorDict], torch.Tensor]:
    """Build the agent's runner on ``env`` and return its inference policy with ``checkpoint`` loaded."""
    from rsl_rl.utils import resolve_callable

    cfg = copy.deepcopy(agent_cfg)
    if checkpoint.is_gr00t:
        if "checkpoint" not in cfg["actor"]:
            raise ValueError(f"--checkpoint {checkpoint.path} is a GR00T N1.5 folder, but the agent's actor "
                             f"({cfg['actor'].get('class_name')}) does not load one; pick the GR00T agent (--agent)")
        cfg["actor"]["checkpoint"] = checkpoint.path
    runner_class = resolve_callable(cfg["class_name"])
    with silenced_stdout():
        runner = runner_class(env, cfg, log_dir=None, device=device)
    if not checkpoint.is_gr00t:
        try:
            runner.load(checkpoint.path, map_location=device)
        except RuntimeError as error:
            raise ValueError(f"--checkpoint {checkpoint.path}: does not fit the agent's networks on this task "
                             f"(pick the agent it was trained with, --agent): {error}") from error
    return runner.get_inference_policy(device=device)


@dataclass
class PolicyRun:
    """An opened env with the policy loaded."""

    env: object
    """The rsl_rl VecEnv of the task (observations under the task's own group names)."""
    policy: Callable[[TensorDict], torch.Tensor]
    rename: RenamedObservations
    """Gives the policy its groups from the env's observations."""
    agent: str
    """The agent entry point the checkpoint was loaded into."""
    agent_cfg: dict
    success: SuccessRule
    """The task's success rule (:mod:`.success`)."""


@contextlib.contextmanager
def open_policy_run(args: argparse.Namespace) -> Iterator[PolicyRun]:
    """Check ``--task``/``--checkpoint``/``--obs_map`` (before any env is built), then open the env and policy."""
    import gymnasium as gym

    from isaaclab.cli import load_external_tasks

    obs_map = parse_obs_map(args.obs_map)
    checkpoint = resolve_checkpoint(args.checkpoint)
    load_external_tasks()
    policy_task = args.policy_task or args.task
    for option, task in (("--task", args.task), ("--policy_task", policy_task)):
        if task not in gym.registry:
            raise ValueError(f"{option} {task}: not a registered task (list them with `isaaclab list_envs`)")
    agent = choose_agent(policy_task, checkpoint, args.agent)
    if agent not in gym.spec(policy_task).kwargs:
        raise ValueError(f"--agent {agent}: task {policy_task} has no such agent entry point")
    torch.manual_seed(args.seed)
    task_env = open_task(args.task, args.num_envs, args.device, args.seed, agent=agent, agent_task=policy_task)
    with task_env as (env, agent_cfg, _):
        rename = RenamedObservations(env, policy_groups(agent_cfg, env.get_observations(), obs_map, args.task))
        policy = load_policy(rename, agent_cfg, checkpoint, args.device)
        yield PolicyRun(env, policy, rename, agent, agent_cfg, success_rule(env))


def add_policy_args(parser: argparse.ArgumentParser, num_envs: int) -> None:
    """The options that pick the task, the policy and the env: shared by ``record`` and ``evaluate``."""
    from isaaclab_gr00t.registration.register import default_device

    parser.add_argument("--task", required=True, help="Registered task ID the episodes run in.")
    parser.add_argument("--checkpoint", required=True,
                        help="Run folder (its latest model_<N>.pt), a model_<N>.pt, or a GR00T N1.5 folder.")
    parser.add_argument("--agent", default=None,
                        help="Agent entry point the checkpoint was trained with (default: the task's agent whose "
                             f"experiment_name is the run's experiment folder, else {DEFAULT_AGENT}; "
                             f"{GR00T_AGENT} for a GR00T folder).")
    parser.add_argument("--policy_task", default=None,
                        help="Task the policy was trained on, when it runs in another (e.g. a state expert in the "
                             "camera twin); default: --task.")
    parser.add_argument("--obs_map", nargs="+", default=[], metavar="POLICY_GROUP=TASK_GROUP",
                        help="Feed a policy observation group from another group of --task, e.g. policy=critic.")
    parser.add_argument("--num_envs", type=int, default=num_envs, help="Parallel environments.")
    parser.add_argument("--seed", type=int, default=42, help="Seed of the env and the policy.")
    parser.add_argument("--device", default=default_device(), help="Device of the simulation and the policy.")


@dataclass
class Transition:
    """One env step of every env."""

    captured: dict[str, torch.Tensor]
    """What the ``capture`` callback read from the env before the step (at the observation the action was chosen
    on)."""
    obs: TensorDict
    """The observation the action was chosen on."""
    actions: torch.Tensor
    """As the env received them (after the wrapper's clipping)."""
    rewards: torch.Tensor
    dones: torch.Tensor
    successes: torch.Tensor
    """Whether the episode that ended succeeded; meaningful where ``dones`` is set."""


def transitions(run: PolicyRun, capture: Callable[[], dict[str, torch.Tensor]] = dict) -> Iterator[Transition]:
    """Step every env with the policy, forever; the caller stops when it has the episodes it needs."""
    env = run.env
    clip = getattr(env, "clip_actions", None)
    obs = env.get_observations()
    while True:
        with torch.inference_mode():
            captured = capture()
            actions = run.policy(run.rename.rename(obs))
            if clip is not None:
                actions = actions.clamp(-clip, clip)
            run.success.before_step()
            next_obs, rewards, dones, extras = env.step(actions)
            dones = dones.bool()
            run.policy.reset(dones)
            successes = run.success.ended(dones, extras)
        yield Transition(captured, obs, actions, rewards, dones, successes)
        obs = next_obs


@dataclass
class EpisodeEnd:
    """One finished episode."""

    env_id: int
    ordinal: int
    """How many episodes this env finished before this one."""
    length: int
    episode_return: float
    success: bool


class EpisodeTally:
    """Per-env returns and lengths; :meth:`add` returns the episodes a transition finished."""

    def __init__(self, num_envs: int, device) -> None:
        self.returns = torch.zeros(num_envs, dtype=torch.float64, device=device)
        self.lengths = torch.zeros(num_envs, dtype=torch.long, device=device)
        self.finished = [0] * num_envs

    def add(self, step: Transition) -> list[EpisodeEnd]:
        self.returns += step.rewards
        self.lengths += 1
        ended = []
        for env_id in step.dones.nonzero().flatten().tolist():
            ended.append(EpisodeEnd(env_id, self.finished[env_id], int(self.lengths[env_id]),
                                    float(self.returns[env_id]), bool(step.successes[env_id])))
            self.finished[env_id] += 1
        self.returns[step.dones] = 0.0
        self.lengths[step.dones] = 0
        return ended


class CameraFrames:
    """The uint8 RGB frames of the cameras behind a task's image observation groups.

    Image observations are normalized (``pixel / 255`` minus the image's mean), which cannot be undone, so the
    frames come from the camera sensors: for a manager-based task, the sensor named by each group's image term
    (``sensor_cfg``); for a direct task with a single camera and a single image group, that camera.
    """

    def __init__(self, env, groups: list[str]) -> None:
        """``groups``: image observation groups of ``env`` (rank-4 observations)."""
        unwrapped = env.unwrapped
        self.sensors = {group: unwrapped.scene[self._sensor_name(unwrapped, group, groups)] for group in groups}

    @staticmethod
    def _sensor_name(unwrapped, group: str, groups: list[str]) -> str:
        group_cfg = getattr(getattr(unwrapped.cfg, "observations", None), group, None)
        if group_cfg is not None:
            for term in vars(group_cfg).values():
                params = getattr(term, "params", None)
                if isinstance(params, dict) and "sensor_cfg" in params:
                    return params["sensor_cfg"].name
        cameras = [name for name, sensor in unwrapped.scene.sensors.items() if "rgb" in sensor.cfg.data_types]
        if len(cameras) == 1 and len(groups) == 1:
            return cameras[0]
        raise ValueError(f"image observation group '{group}': cannot tell which RGB camera it shows (cameras: "
                         f"{cameras})")

    def __call__(self) -> dict[str, torch.Tensor]:
        """Group -> ``(num_envs, H, W, 3)`` uint8 frames, as the cameras show them now."""
        return {group: sensor.data.output["rgb"].torch[..., :3].to(torch.uint8)
                for group, sensor in self.sensors.items()}


def image_groups(obs: TensorDict, groups: list[str] | None = None) -> list[str]:
    """The rank-4 (image) groups among ``groups`` (default: all of ``obs``)."""
    return [group for group in (groups if groups is not None else list(obs.keys())) if obs[group].dim() == 4]
