"""Each agent preset is written once, in ``agents/``: the task CLI, the Gymnasium command and the benchmarks read it.

For every path the algorithm section the runner receives is compared with the preset's, field by field.
"""

from __future__ import annotations

import importlib.metadata

import pytest
from isaaclab.utils import to_dict

from isaaclab_gr00t.bench import learner_step, learning_curves, throughput
from isaaclab_gr00t.gym import GymVecEnv, cli
from isaaclab_gr00t.ppo import PPO37AlgorithmCfg
from isaaclab_gr00t.registration import find_spec_files, parse_task_spec, project_agent_cfg, project_agent_presets
from isaaclab_gr00t.registration.register import _project_folder, default_device
from isaaclab_gr00t.testing.point_mass import POINT_MASS_UPDATE, point_mass_train_cfg


def preset_algorithm(name: str) -> dict:
    return to_dict(project_agent_cfg(name).algorithm)


def test_every_preset_builds_and_the_python_presets_are_gone():
    names = project_agent_presets()
    assert {"ppo37_mujoco", "ppo37_classic_control", "ppo37_gpu", "stock_ppo"} <= set(names)
    for name in names:
        cfg = project_agent_cfg(name)
        assert cfg.num_steps_per_env >= 1 and cfg.algorithm.class_name
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("isaaclab_gr00t.ppo.presets")
    assert preset_algorithm("ppo37_gpu")["value_loss_coef"] == 1.0  # the value the GPU preset has always had in YAML
    assert to_dict(PPO37AlgorithmCfg()) == preset_algorithm("ppo37_mujoco")  # the blog's values are the defaults


def _task_agents():
    for spec in map(parse_task_spec, find_spec_files([_project_folder("tasks")])):
        for entry_point, choice in spec.agents.items():
            yield spec.id, entry_point, choice


@pytest.mark.parametrize("task_id, entry_point, choice", list(_task_agents()),
                         ids=lambda value: value if isinstance(value, str) else "")
def test_the_task_cli_gets_the_preset_and_the_tasks_overrides(task_id, entry_point, choice):
    from isaaclab_rl.rsl_rl import handle_deprecated_rsl_rl_cfg
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    # what `isaaclab train --task <id> --agent <entry point>` hands the runner
    agent_cfg = load_cfg_from_registry(task_id, entry_point)
    received = to_dict(handle_deprecated_rsl_rl_cfg(agent_cfg, importlib.metadata.version("rsl-rl-lib")))
    preset = choice.presets[default_device().split(":")[0]]  # the preset of this machine's device kind
    expected = preset_algorithm(preset) | dict(choice.overrides.get("algorithm", {}))
    assert received["algorithm"] == expected
    assert received["num_steps_per_env"] == choice.overrides.get(
        "num_steps_per_env", project_agent_cfg(preset).num_steps_per_env)


@pytest.mark.parametrize("env_id, preset", [("InvertedPendulum-v5", "ppo37_mujoco"),
                                            ("CartPole-v1", "ppo37_classic_control")])
def test_the_gymnasium_command_trains_the_preset(env_id, preset):
    expected = project_agent_cfg(preset)
    num_envs, num_steps = cli.rollout_shape(env_id)
    assert num_steps == expected.num_steps_per_env
    env = GymVecEnv(env_id, num_envs=num_envs)
    train_cfg = cli.make_train_cfg(env, "ppo37", 10_000, num_steps)
    env.close()
    assert train_cfg["algorithm"] == preset_algorithm(preset)
    for model in ("actor", "critic"):
        assert train_cfg[model]["hidden_dims"] == list(getattr(expected, model).hidden_dims)
        assert train_cfg[model]["activation"] == getattr(expected, model).activation
    # the learning-curve benchmark trains through the same function
    assert learning_curves.train is cli.train


def test_the_benchmarks_and_the_synthetic_task_take_the_presets():
    every_detail = learner_step.algorithm_cfg(learner_step.VARIANTS["PPO37, every detail on"])
    assert every_detail == preset_algorithm("ppo37_mujoco") | {"num_mini_batches": 4}
    stock = preset_algorithm("stock_ppo") | POINT_MASS_UPDATE
    assert point_mass_train_cfg()["algorithm"] == stock
    with throughput.open_task(throughput.SYNTHETIC_TASK, num_envs=4, device="cpu", seed=0) as (_, agent_cfg, _):
        assert agent_cfg["algorithm"] == stock
