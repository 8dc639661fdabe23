"""``isaaclab_gr00t.bench.franka_lift report``: learning curves from the TensorBoard logs of ``isaaclab train``."""

from __future__ import annotations

import yaml
from torch.utils.tensorboard import SummaryWriter

from isaaclab_gr00t.bench.franka_lift import main


def fake_run(folder, num_envs: int, steps_per_env: int, rewards: list[float], success: list[float]):
    """A run folder as ``isaaclab train`` leaves it: event files and the dumped env and agent configs."""
    (folder / "params").mkdir(parents=True)
    (folder / "params" / "env.yaml").write_text(yaml.safe_dump({"scene": {"num_envs": num_envs}}))
    (folder / "params" / "agent.yaml").write_text(yaml.safe_dump({"num_steps_per_env": steps_per_env}))
    writer = SummaryWriter(str(folder))
    for it, (reward, rate) in enumerate(zip(rewards, success)):
        writer.add_scalar("Train/mean_reward", reward, it)
        writer.add_scalar("Metrics/success_rate", rate, it)
        writer.add_scalar("Perf/total_fps", 1000.0, it)
    writer.close()
    return folder


def test_report_tables_and_plots_return_and_success_against_env_steps(tmp_path, capsys):
    ppo37 = fake_run(tmp_path / "ppo37", 64, 32, [1.0, 2.0, 5.0], [0.0, 0.1, 0.4])
    stock = fake_run(tmp_path / "stock", 64, 32, [1.0, 1.5, 2.0], [0.0, 0.05, 0.2])
    out = tmp_path / "results" / "learning"
    main(["report", "--run", f"ppo37={ppo37}", "--run", f"stock={stock}", "--out", str(out)])
    table = out.with_suffix(".md").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in table.splitlines()[2:]}
    # iterations, env steps (3 iterations x 64 envs x 32 steps), wall time, final return, final and best success
    assert rows["ppo37"][:2] == ["3", str(3 * 64 * 32)] and rows["ppo37"][3:6] == ["5.00", "0.400", "0.400"]
    assert rows["stock"][3:6] == ["2.00", "0.200", "0.200"]
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert table in capsys.readouterr().out
