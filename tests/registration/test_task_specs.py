"""Tasks declared in YAML specs: the project's own, user specs, and every kind of bad spec."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import gymnasium as gym
import pytest

from isaaclab_gr00t.registration import REGISTRATION_ERRORS, SpecError, register_spec_files
from isaaclab_gr00t.registration.overrides import CONFIG_KINDS, config_class
from isaaclab_gr00t.registration.register import build_env_cfg
from isaaclab_gr00t.registration.task_spec import parse_task_spec

PROJECT_TASKS = ["GR00T-Cartpole-Direct", "GR00T-Cartpole-Camera-Direct", "GR00T-Ant-Direct", "GR00T-Humanoid-Direct"]


def write_spec(folder: Path, body: str, name: str | None = None) -> Path:
    path = folder / f"{name or uuid.uuid4().hex}.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def cartpole_spec(
    task_id: str, env: str = "", agent_overrides: str = "{}", base: str = "GR00T-Cartpole-Direct",
    env_class: str = "", warp_env_class: str = "",
) -> str:
    return f"""
        id: {task_id}
        base: {base}
        {f"env_class: '{env_class}'" if env_class else ""}
        {f"warp_env_class: '{warp_env_class}'" if warp_env_class else ""}
        env: {{{env}}}
        agents:
          rsl_rl_cfg_entry_point: {{preset: stock_ppo, overrides: {agent_overrides}}}
        """


def new_id() -> str:
    return f"Test-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("task_id", PROJECT_TASKS)
def test_project_tasks_are_registered_with_rsl_rl_agents(task_id):
    assert not REGISTRATION_ERRORS
    spec = gym.spec(task_id)
    assert spec.kwargs["default_agent"] == "rsl_rl"
    assert spec.kwargs["rsl_rl_cfg_entry_point"].startswith("isaaclab_gr00t.")
    assert spec.kwargs["task_spec_file"].endswith(".yaml")


@pytest.mark.parametrize("task_id", PROJECT_TASKS)
def test_project_tasks_use_only_local_assets(task_id):
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    cfg = load_cfg_from_registry(task_id, "env_cfg_entry_point")
    paths = []

    def collect(node, depth=0):
        if depth > 8 or not hasattr(node, "__dataclass_fields__"):
            return
        for name in node.__dataclass_fields__:
            value = getattr(node, name, None)
            if name == "usd_path" and isinstance(value, str):
                paths.append(value)
            collect(value, depth + 1)

    collect(getattr(cfg, "default", cfg))
    assert paths, "the task spawns at least one USD file"
    for path in paths:
        assert Path(path).is_file(), f"{task_id} points at a file that is not on disk: {path}"


def test_env_and_agent_defaults_follow_the_machine(monkeypatch):
    import torch

    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    env_cfg = load_cfg_from_registry("GR00T-Cartpole-Direct", "env_cfg_entry_point")
    agent_cfg = load_cfg_from_registry("GR00T-Cartpole-Direct", "rsl_rl_cfg_entry_point")
    assert (env_cfg.sim.device, agent_cfg.device, env_cfg.scene.num_envs) == ("cpu", "cpu", 256)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    env_cfg = load_cfg_from_registry("GR00T-Cartpole-Direct", "env_cfg_entry_point")
    agent_cfg = load_cfg_from_registry("GR00T-Cartpole-Direct", "rsl_rl_cfg_entry_point")
    assert (env_cfg.sim.device, agent_cfg.device, env_cfg.scene.num_envs) == ("cuda:0", "cuda:0", 4096)


def test_an_agent_can_name_a_preset_per_device_kind(monkeypatch):
    import torch

    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    tiny = load_cfg_from_registry("GR00T-Cartpole-Camera-Direct", "rsl_rl_gr00t_cfg_entry_point")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    full = load_cfg_from_registry("GR00T-Cartpole-Camera-Direct", "rsl_rl_gr00t_cfg_entry_point")
    assert (tiny.actor.size, tiny.actor.dtype, tiny.device) == ("tiny", "float32", "cpu")
    assert (full.actor.size, full.actor.dtype, full.device) == ("full", "bfloat16", "cuda:0")
    # the task's overrides apply to both presets
    assert tiny.experiment_name == full.experiment_name == "gr00t_cartpole_camera_direct_gr00t"


def test_a_user_spec_overrides_env_and_agent_fields(tmp_path):
    task_id = new_id()
    spec_file = write_spec(
        tmp_path,
        f"""
        id: {task_id}
        base: GR00T-Cartpole-Direct
        num_envs: {{cpu: 12, cuda: 34}}
        env:
          rew_scale_alive: 2.5
          scene: {{env_spacing: 7.0}}
        agents:
          rsl_rl_cfg_entry_point:
            preset: stock_ppo
            overrides:
              max_iterations: 7
              algorithm: {{gamma: 0.9}}
              actor: {{hidden_dims: [8, 8], distribution_cfg: {{kind: multi_categorical, nvec: [3, 2]}}}}
        """,
    )
    assert register_spec_files([spec_file]) == {}
    env_cfg = build_env_cfg(parse_task_spec(spec_file))
    assert env_cfg.rew_scale_alive == 2.5 and env_cfg.scene.env_spacing == 7.0
    assert env_cfg.scene.num_envs in (12, 34)
    assert env_cfg.scene.cartpole.spawn.usd_path.endswith("cartpole.usda")  # inherited from the base spec
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    agent_cfg = load_cfg_from_registry(task_id, "rsl_rl_cfg_entry_point")
    assert (agent_cfg.max_iterations, agent_cfg.algorithm.gamma, agent_cfg.actor.hidden_dims) == (7, 0.9, [8, 8])
    # a nested config by kind: the discrete distributions' config classes
    distribution = agent_cfg.actor.distribution_cfg.to_dict()
    assert distribution == {"class_name": "isaaclab_gr00t.models:MultiCategoricalDistribution", "nvec": [3, 2]}


def test_specs_built_on_each_other_register_in_any_file_order(tmp_path):
    parent, child = new_id(), new_id()
    files = [
        write_spec(tmp_path, cartpole_spec(child, base=parent), "a_child"),
        write_spec(tmp_path, cartpole_spec(parent), "b_parent"),
    ]
    assert register_spec_files(files) == {}
    assert gym.spec(child).entry_point == gym.spec("GR00T-Cartpole-Direct").entry_point


BAD_SPECS = {
    "unknown base task": (lambda i, m: cartpole_spec(i, base="Isaac-No-Such-Task"), "base"),
    "unknown env field": (lambda i, m: cartpole_spec(i, env="rew_scale_nothing: 1.0"), "env.rew_scale_nothing"),
    "unknown nested env field": (
        lambda i, m: cartpole_spec(i, env="scene.no_such_thing: 3"), "env.scene.no_such_thing"
    ),
    "wrong env type": (lambda i, m: cartpole_spec(i, env="rew_scale_alive: fast"), "env.rew_scale_alive"),
    "missing asset file": (
        lambda i, m: cartpole_spec(i, env="scene.cartpole.spawn.usd_path: /no/such/robot.usda"),
        "env.scene.cartpole.spawn.usd_path",
    ),
    "unknown bundled asset": (
        lambda i, m: cartpole_spec(i, env="scene.cartpole.spawn.usd_path: 'asset:unicorn'"),
        "env.scene.cartpole.spawn.usd_path",
    ),
    "unknown agent field": (
        lambda i, m: cartpole_spec(i, agent_overrides="{algorithm: {gama: 0.9}}"),
        "agent.algorithm.gama",
    ),
    "wrong agent type": (
        lambda i, m: cartpole_spec(i, agent_overrides="{max_iterations: many}"), "agent.max_iterations"
    ),
    "duplicate task id": (lambda i, m: cartpole_spec("GR00T-Cartpole-Direct"), "id"),
    "unknown top-level field": (
        lambda i, m: f"id: {i}\nbase: GR00T-Cartpole-Direct\nagents: {{}}\ncolour: blue\n", "colour"
    ),
    "missing id": (lambda i, m: "base: GR00T-Cartpole-Direct\nagents: {}\n", "id"),
    "unknown preset": (
        lambda i, m: f"id: {i}\nbase: GR00T-Cartpole-Direct\nagents:\n  rsl_rl_cfg_entry_point: {{preset: nope}}\n",
        "preset",
    ),
    "unknown preset of one device kind": (
        lambda i, m: f"id: {i}\nbase: GR00T-Cartpole-Direct\nagents:\n  rsl_rl_cfg_entry_point:"
                     " {preset: {cpu: stock_ppo, cuda: nope}}\n",
        "preset",
    ),
    "preset mapping without a device kind": (
        lambda i, m: (f"id: {i}\nbase: GR00T-Cartpole-Direct\nagents:\n"
                      "  rsl_rl_cfg_entry_point: {preset: {cpu: stock_ppo}}\n"),
        "agents.rsl_rl_cfg_entry_point.preset",
    ),
    "env_class not module:Class": (lambda i, m: cartpole_spec(i, env_class="MaskResetCartpoleEnv"), "env_class"),
    "env_class not importable": (lambda i, m: cartpole_spec(i, env_class="no_such_module:Env"), "env_class"),
    "env_class not a subclass of the base env": (
        lambda i, m: cartpole_spec(i, env_class="isaaclab_gr00t.envs:VecEnvWrapper"), "env_class"
    ),
    "warp_env_class not module:Class": (
        lambda i, m: cartpole_spec(i, warp_env_class="CartpoleWarpEnv"), "warp_env_class"
    ),
    "warp_env_class not importable": (
        lambda i, m: cartpole_spec(i, warp_env_class="no_such_module:WarpEnv"), "warp_env_class"
    ),
    "warp_env_class not a class": (
        lambda i, m: cartpole_spec(i, warp_env_class="isaaclab_gr00t.envs.mask_reset:torch"), "warp_env_class"
    ),
    "code in yaml": (lambda i, m: f"id: !!python/object/apply:os.system ['touch {m}']\nbase: x\n", None),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_a_bad_spec_names_file_and_field_and_spares_the_others(case, tmp_path):
    body, field = BAD_SPECS[case]
    bad_id, good_id = new_id(), new_id()
    marker = tmp_path / "executed"
    bad = write_spec(tmp_path, body(bad_id, marker), "bad")
    good = write_spec(tmp_path, cartpole_spec(good_id), "good")

    errors = register_spec_files([bad, good])

    assert list(errors) == [str(bad)]
    error = errors[str(bad)]
    assert isinstance(error, SpecError) and str(bad) in str(error)
    assert error.field == field, str(error)
    assert bad_id not in gym.registry
    assert good_id in gym.registry
    assert not marker.exists(), "the YAML loader must not run code"


def test_env_class_replaces_the_base_env_and_is_inherited(tmp_path):
    mask_reset = "isaaclab_gr00t.envs.cartpole:MaskResetCartpoleEnv"
    assert gym.spec("GR00T-Cartpole-Direct").entry_point == mask_reset
    own, inherited = new_id(), new_id()
    files = [
        write_spec(tmp_path, cartpole_spec(own, base="Isaac-Cartpole-Direct", env_class=mask_reset)),
        write_spec(tmp_path, cartpole_spec(inherited)),
    ]
    assert register_spec_files(files) == {}
    assert gym.spec(own).entry_point == mask_reset
    assert gym.spec(inherited).entry_point == mask_reset


WARP_TWINS = {
    "GR00T-Cartpole-Direct": "isaaclab_tasks_experimental.core.cartpole.cartpole_warp_env:CartpoleWarpEnv",
    "GR00T-Ant-Direct": "isaaclab_tasks_experimental.core.locomotion.ant.ant_warp_env:AntWarpEnv",
    "GR00T-Humanoid-Direct": "isaaclab_tasks_experimental.core.locomotion.humanoid.humanoid_warp_env:HumanoidWarpEnv",
}


@pytest.mark.parametrize("task_id", sorted(WARP_TWINS))
def test_project_tasks_name_the_warp_twin_that_isaac_labs_warp_frontend_builds(task_id):
    from isaaclab_experimental.envs.frontend import WarpFrontend

    assert gym.spec(task_id).kwargs["warp_entry_point"] == WARP_TWINS[task_id]
    # the same twin Isaac Lab's name mirror finds for the base task (the project's own env_class hides it)
    base = parse_task_spec(Path(gym.spec(task_id).kwargs["task_spec_file"])).base
    mirrored = WarpFrontend._mirror_direct_warp_class(gym.spec(base).entry_point)
    assert f"{mirrored.__module__}:{mirrored.__name__}" == WARP_TWINS[task_id]
    assert WarpFrontend._resolve_direct_warp_class(task_id) is mirrored


def test_warp_env_class_is_registered_and_inherited(tmp_path):
    twin = WARP_TWINS["GR00T-Cartpole-Direct"]
    own, inherited = new_id(), new_id()
    mask_reset = "isaaclab_gr00t.envs.cartpole:MaskResetCartpoleEnv"
    files = [
        write_spec(
            tmp_path, cartpole_spec(own, base="Isaac-Cartpole-Direct", env_class=mask_reset, warp_env_class=twin)
        ),
        write_spec(tmp_path, cartpole_spec(inherited)),
    ]
    assert register_spec_files(files) == {}
    assert gym.spec(own).kwargs["warp_entry_point"] == twin
    assert gym.spec(inherited).kwargs["warp_entry_point"] == twin
    # a spec on a stock task without its own env class leaves the twin to Isaac Lab's name mirror, and one with
    # its own env class but no twin inherits none (its env may differ from what the base's twin runs)
    plain, own_env_only = new_id(), new_id()
    files = [
        write_spec(tmp_path, cartpole_spec(plain, base="Isaac-Cartpole-Direct")),
        write_spec(tmp_path, cartpole_spec(own_env_only, env_class=mask_reset)),
    ]
    assert register_spec_files(files) == {}
    assert "warp_entry_point" not in gym.spec(plain).kwargs
    assert "warp_entry_point" not in gym.spec(own_env_only).kwargs


def test_a_missing_asset_in_nested_form_is_caught_at_registration(tmp_path):
    task_id = new_id()
    spec = write_spec(
        tmp_path,
        f"""
        id: {task_id}
        base: GR00T-Cartpole-Direct
        env: {{scene: {{cartpole: {{spawn: {{usd_path: missing_robot.usda}}}}}}}}
        agents:
          rsl_rl_cfg_entry_point: {{preset: stock_ppo}}
        """,
    )
    errors = register_spec_files([spec])
    assert errors[str(spec)].field == "env.scene.cartpole.spawn.usd_path"
    assert "missing_robot.usda" in str(errors[str(spec)])
    assert task_id not in gym.registry


@pytest.mark.parametrize("kind", sorted(CONFIG_KINDS))
def test_every_config_kind_names_an_importable_config_class(kind):
    cls = config_class(kind, "test", "kind")
    assert isinstance(cls, type) and hasattr(cls(), "to_dict")

