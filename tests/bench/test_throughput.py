"""The throughput benchmark runs end to end on CPU at tiny size (torch-only and Isaac Lab tasks)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from isaaclab_gr00t.bench import throughput


def test_benchmark_writes_table_and_plot(tmp_path):
    out = tmp_path / "results" / "throughput"
    results = throughput.main(
        ["--task", "PointMass-Synthetic", "--num_envs", "16", "--iterations", "2", "--device", "cpu",
         "--env_steps", "20", "--reward_threshold", "-100", "--out", str(out)]
    )
    names = [result.name for result in results["PointMass-Synthetic"]]
    assert names == ["env only (random actions)", "rsl_rl OnPolicyRunner + PPO", "PPO37Runner + PPO"]
    for result in results["PointMass-Synthetic"]:
        assert result.steps_per_second > 0
    for learner in results["PointMass-Synthetic"][1:]:
        assert len(learner.curve) == 2 and learner.time_to(-100.0) == learner.curve[0][0]
        assert len(learner.iteration_seconds) == 2 and all(seconds > 0 for seconds in learner.iteration_seconds)
        # the mean of the logged iterations is what the table's collect + learn columns show
        mean_iteration = learner.collect_seconds + learner.learn_seconds
        assert sum(learner.iteration_seconds) / 2 == pytest.approx(mean_iteration)
    table = (tmp_path / "results" / "throughput.md").read_text()
    assert table.count("| PointMass-Synthetic |") == 3 and "s to return >= -100.0" in table
    assert (tmp_path / "results" / "throughput.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_learner_counts_the_episodes_that_ended_in_its_timed_iterations(monkeypatch):
    from isaaclab_gr00t.testing.point_mass import PointMassVecEnv

    dones_seen, measure, step = {}, throughput.measure_learner, PointMassVecEnv.step

    def counting_step(self, actions):
        obs, rewards, dones, extras = step(self, actions)
        dones_seen[current] = dones_seen.get(current, 0) + int(dones.sum())
        return obs, rewards, dones, extras

    def naming_measure(name, *args, **kwargs):
        nonlocal current
        current = name
        return measure(name, *args, **kwargs)

    current = None
    monkeypatch.setattr(PointMassVecEnv, "step", counting_step)
    monkeypatch.setattr(throughput, "measure_learner", naming_measure)
    results = throughput.main(["--task", "PointMass-Synthetic", "--num_envs", "16", "--iterations", "3",
                               "--device", "cpu", "--env_steps", "2"])
    for learner in results["PointMass-Synthetic"][1:]:
        # 3 rollouts of 16 steps in 32-step episodes (or shorter, when the point leaves the arena)
        assert learner.episodes == dones_seen[learner.name] >= 16
    assert "| episodes ended |" in throughput.markdown_table(throughput.parse_args(
        ["--task", "x", "--num_envs", "1", "--iterations", "1", "--device", "cpu"]), results)


def test_the_time_inside_env_step_is_split_from_the_learners_collect_time(monkeypatch):
    import time

    from isaaclab_gr00t.testing.point_mass import PointMassVecEnv

    step = PointMassVecEnv.step

    def slow_step(self, actions):
        time.sleep(0.004)
        return step(self, actions)

    monkeypatch.setattr(PointMassVecEnv, "step", slow_step)
    results = throughput.main(["--task", "PointMass-Synthetic", "--num_envs", "16", "--iterations", "2",
                               "--device", "cpu", "--env_steps", "2"])
    for learner in results["PointMass-Synthetic"][1:]:
        # 16 steps an iteration, each at least 4 ms inside step(); the learner's work is the rest of collect
        assert 16 * 0.004 <= learner.env_step_seconds < learner.collect_seconds
    table = throughput.markdown_table(throughput.parse_args(
        ["--task", "x", "--num_envs", "1", "--iterations", "1", "--device", "cpu"]), results)
    stock_row = next(line for line in table.splitlines() if "| rsl_rl OnPolicyRunner + PPO |" in line)
    assert f"| {results['PointMass-Synthetic'][1].env_step_seconds:.3f} |" in stock_row


def test_profile_writes_op_tables_per_learner(tmp_path):
    out = tmp_path / "not_yet_made" / "throughput"
    throughput.main(["--task", "PointMass-Synthetic", "--num_envs", "16", "--iterations", "1", "--device", "cpu",
                     "--env_steps", "5", "--out", str(out), "--profile"])
    for index in (0, 1):
        profile = (out.parent / f"throughput_profile_{index}.txt").read_text()
        assert "## by host time (self)" in profile and "aten::" in profile
    assert "PPO37Runner + PPO: 2 iterations" in (out.parent / "throughput_profile_1.txt").read_text()


def test_learners_run_under_the_backend_flags_of_isaaclab_train(monkeypatch):
    import torch

    seen = []
    measure = throughput.measure_learner

    def recording_measure(*args, **kwargs):
        seen.append((torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark))
        return measure(*args, **kwargs)

    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark)
    monkeypatch.setattr(throughput, "measure_learner", recording_measure)
    throughput.main(["--task", "PointMass-Synthetic", "--num_envs", "8", "--iterations", "1", "--device", "cpu",
                     "--env_steps", "2"])
    assert seen and all(flags == (True, True) for flags in seen)
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark) == before


def test_stock_switch_keeps_only_what_ppo_accepts():
    own = {"class_name": "isaaclab_gr00t.ppo:PPO37", "learning_rate": 3e-4, "anneal_lr": True, "gamma": 0.98}
    task_cfg = {"class_name": "isaaclab_gr00t.runner:PPO37Runner", "algorithm": own}
    learners = throughput.learner_configs(task_cfg)
    assert [name for name, _, _ in learners] == [
        "rsl_rl OnPolicyRunner + PPO", "PPO37Runner + PPO", "PPO37Runner + PPO37"
    ]
    assert learners[0][2]["algorithm"] == {"class_name": "PPO", "learning_rate": 3e-4, "gamma": 0.98}
    assert learners[0][2]["class_name"] == "OnPolicyRunner" and learners[2][2]["algorithm"] == own


def test_a_tasks_stock_agent_config_runs_both_ppo_learners():
    own = {"class_name": "isaaclab_gr00t.ppo:PPO37", "num_learning_epochs": 8}
    task_cfg = {"class_name": "isaaclab_gr00t.runner:PPO37Runner", "algorithm": own}
    stock_cfg = {"class_name": "OnPolicyRunner", "algorithm": {"class_name": "PPO", "num_learning_epochs": 5}}
    stock, runner_only, own_learner = (cfg for _, _, cfg in throughput.learner_configs(task_cfg, stock_cfg=stock_cfg))
    assert stock == stock_cfg and runner_only == stock_cfg | {"class_name": "isaaclab_gr00t.runner:PPO37Runner"}
    assert own_learner["algorithm"] == own and stock_cfg["class_name"] == "OnPolicyRunner"


def test_agent_overrides_change_only_the_learner_of_the_tasks_own_config():
    own = {"class_name": "isaaclab_gr00t.ppo:PPO37", "learning_rate": 3e-4, "update_mode": "auto"}
    task_cfg = {"class_name": "isaaclab_gr00t.runner:PPO37Runner", "torch_compile_mode": None, "algorithm": own}
    learners = throughput.learner_configs(
        task_cfg, ["algorithm.update_mode=eager", "torch_compile_mode=default", "algorithm.learning_rate=1e-3"]
    )
    changed = learners[-1][2]
    assert changed["algorithm"]["update_mode"] == "eager" and changed["torch_compile_mode"] == "default"
    assert changed["algorithm"]["learning_rate"] == pytest.approx(1e-3)  # YAML reads the value as a number
    for _, _, cfg in learners[:-1]:
        assert cfg["torch_compile_mode"] is None and cfg["algorithm"]["learning_rate"] == 3e-4
    assert own["update_mode"] == "auto" and task_cfg["torch_compile_mode"] is None  # the task's config is untouched


@pytest.mark.parametrize(("override", "message"), [
    ("algorithm.update_mod=eager", "field 'algorithm.update_mod': unknown key; known keys: class_name, learning_rate"),
    ("learning_rate.value=1", "field 'learning_rate': is not a section"),
    ("algorithm.learning_rate=fast", "field 'algorithm.learning_rate': expected float, got str"),
    ("torch_compile_mode", "expected KEY=VALUE"),
])
def test_bad_agent_overrides_name_what_is_wrong(override, message):
    task_cfg = {"torch_compile_mode": None, "algorithm": {"class_name": "PPO", "learning_rate": 3e-4},
                "learning_rate": 1}
    with pytest.raises(ValueError, match=re.escape(message)):
        throughput.learner_configs(task_cfg, [override])


def test_agent_override_reaches_the_run_and_its_table(tmp_path, monkeypatch, capsys):
    rollout_lengths = {}
    measure = throughput.measure_learner

    def recording_measure(name, runner_class, env, cfg, *args, **kwargs):
        rollout_lengths[name] = cfg["num_steps_per_env"]
        return measure(name, runner_class, env, cfg, *args, **kwargs)

    monkeypatch.setattr(throughput, "measure_learner", recording_measure)
    out = tmp_path / "overridden"
    throughput.main(["--task", "PointMass-Synthetic", "--num_envs", "8", "--iterations", "1", "--device", "cpu",
                     "--env_steps", "2", "--agent_override", "num_steps_per_env=8", "--out", str(out)])
    # every learner gets an untimed warm-up iteration with its own config, then its timed run
    assert rollout_lengths == {"warm-up: rsl_rl OnPolicyRunner + PPO": 16, "warm-up: PPO37Runner + PPO": 8,
                               "rsl_rl OnPolicyRunner + PPO": 16, "PPO37Runner + PPO": 8}
    assert "the last learner with num_steps_per_env=8" in (tmp_path / "overridden.md").read_text()
    assert "seconds per iteration: " in capsys.readouterr().out


@pytest.mark.parametrize("override", ["learning_rate", "=3", "algorithm..lr=1", " =1"])
def test_the_cli_refuses_an_override_that_is_not_key_value(override, capsys):
    with pytest.raises(SystemExit):
        throughput.parse_args(["--task", "PointMass-Synthetic", "--num_envs", "8", "--iterations", "1",
                               "--agent_override", override])
    assert f"--agent_override {override!r}: expected KEY=VALUE" in capsys.readouterr().err


def test_repeats_go_round_the_learners_and_report_the_median_run_with_its_range(tmp_path, capsys):
    out = tmp_path / "repeated"
    results = throughput.main(
        ["--task", "PointMass-Synthetic", "--num_envs", "16", "--iterations", "1", "--device", "cpu",
         "--env_steps", "5", "--repeats", "3", "--out", str(out)]
    )
    lines = capsys.readouterr().out.splitlines()
    printed = [line.split(": ")[0] for line in lines if line.startswith("[PointMass") and "steps/s" in line]
    # learners measured in turns: every learner once per run
    assert printed == [f"[PointMass-Synthetic] run {run}" for run in (1, 1, 2, 2, 3, 3)]
    for result in results["PointMass-Synthetic"]:
        slowest, fastest = result.steps_per_second_range
        assert slowest <= result.steps_per_second <= fastest
    table = (tmp_path / "repeated.md").read_text()
    assert "the median of 3 runs each" in table
    rows = [line for line in table.splitlines() if line.startswith("| PointMass-Synthetic |")]
    assert len(rows) == 3 and all(re.search(r"\| [\d,]+ \([\d,]+-[\d,]+\) \|", row) for row in rows)


def test_the_median_run_is_a_whole_run():
    def run(speed: float) -> throughput.LearnerResult:
        return throughput.LearnerResult("x", speed, collect_seconds=speed / 10, learn_seconds=1.0,
                                        peak_memory_mib=None, curve=[(1.0, speed)])

    median = throughput.median_run([run(5.0), run(9.0), run(7.0)])
    assert (median.steps_per_second, median.collect_seconds, median.curve) == (7.0, 0.7, [(1.0, 7.0)])
    assert median.steps_per_second_range == (5.0, 9.0)
    assert throughput.median_run([run(4.0), run(1.0), run(3.0), run(2.0)]).steps_per_second == 2.0
    single = run(3.0)
    assert throughput.median_run([single]) is single and single.steps_per_second_range is None


@pytest.mark.parametrize("flag", ["--num_envs", "--iterations", "--repeats"])
def test_bad_sizes_are_rejected(flag, capsys):
    argv = ["--task", "PointMass-Synthetic", "--num_envs", "4", "--iterations", "1", "--repeats", "1"]
    argv[argv.index(flag) + 1] = "0"
    with pytest.raises(SystemExit):
        throughput.parse_args(argv)
    assert f"{flag} must be >= 1" in capsys.readouterr().err


FRONTENDS = ("torch", "warp")


@pytest.fixture(scope="module")
def isaac_lab_runs(tmp_path_factory) -> dict[str, tuple[subprocess.Popen, Path]]:
    """One tiny benchmark per frontend on GR00T-Cartpole-Direct, both started at once (each process spends most of
    its time importing and building the env on one core of the 2-core CI machine); output goes to files, so
    neither waits on a full pipe."""
    runs = {}
    for frontend in FRONTENDS:
        folder = tmp_path_factory.mktemp(f"throughput_{frontend}")
        command = [
            sys.executable, "-m", "isaaclab_gr00t.bench.throughput", "--task", "GR00T-Cartpole-Direct",
            "--num_envs", "8", "--iterations", "1", "--env_steps", "3", "--device", "cpu",
            "--out", str(folder / "cartpole"), "--frontend", frontend,
        ]
        with open(folder / "stdout.txt", "w") as stdout, open(folder / "stderr.txt", "w") as stderr:
            runs[frontend] = (subprocess.Popen(command, stdout=stdout, stderr=stderr), folder)
    yield runs
    for process, _ in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_benchmark_on_an_isaac_lab_task_offline(isaac_lab_runs, frontend):
    """The kit-less Isaac Lab path: resolve the task config, launch_simulation, the env of ``isaaclab train
    --frontend <frontend>`` (the task's Warp twin for "warp"), RslRlVecEnvWrapper."""
    process, tmp_path = isaac_lab_runs[frontend]
    process.wait(timeout=300)
    stdout, stderr = (tmp_path / "stdout.txt").read_text(), (tmp_path / "stderr.txt").read_text()
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    rows = [line for line in (tmp_path / "cartpole.md").read_text().splitlines() if line.startswith("| GR00T-")]
    assert [row.split(" | ")[1] for row in rows] == [
        "env only (random actions)", "rsl_rl OnPolicyRunner + PPO", "PPO37Runner + PPO", "PPO37Runner + PPO37"
    ]
    assert all(float(row.split(" | ")[2].replace(",", "")) > 0 for row in rows)
    assert (tmp_path / "cartpole.png").exists()
    assert f"; {frontend} frontend;" in (tmp_path / "cartpole.md").read_text()
    assert ("InteractiveSceneWarp" in stdout + stderr) == (frontend == "warp")
    # stock rsl_rl runs the task's stock agent, as `isaaclab train --agent rsl_rl_stock_cfg_entry_point` would
    assert "[GR00T-Cartpole-Direct] stock rsl_rl agent config: rsl_rl_stock_cfg_entry_point" in stdout
