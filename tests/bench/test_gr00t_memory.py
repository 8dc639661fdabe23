"""The GR00T benchmark runs both variants at tiny size on CPU and prints its speed table and part times."""

from __future__ import annotations

import pytest
import torch

from isaaclab_gr00t.bench import gr00t_memory


@pytest.mark.parametrize("policy", ["gaussian", "flow_sde"])
def test_tiny_cpu_benchmark_prints_table(capsys, policy):
    table = gr00t_memory.main(
        ["--size", "tiny", "--device", "cpu", "--batch", "8", "--micro-batches", "2", "--minibatches", "2",
         "--rollout-steps", "1", "--image-size", "32", "--views", "2", "--action-dim", "2", "--policy", policy]
    )  # fmt: skip
    assert table in capsys.readouterr().out
    lines = table.splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:4]:
        cells = dict(zip(header, (cell.strip() for cell in line.strip("|").split("|"))))
        rows[cells["variant"]] = cells
    assert set(rows) == {"optimized", "plain"}
    assert rows["optimized"]["weights"] == "bfloat16" and rows["plain"]["weights"] == "float32"
    for cells in rows.values():
        assert float(cells["rollout samples/s"]) > 0 and float(cells["update samples/s"]) > 0
        assert float(cells["update TFLOP/s (% of peak)"].split()[0]) > 0
        assert cells["compiled"] == "no"
        for phase in ("memory after construction (GiB)", "rollout peak (GiB)", "update peak (GiB)"):
            assert cells[phase] == "n/a (CPU)"
    parts = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in lines if line.startswith("| ") and
             "ms" not in line and line.count("|") == 4}
    assert {"vision (tower + mlp1)", "language model", "vl_self_attention", "DiT (all Euler steps)", "value head",
            "DiT per Euler step"} <= set(parts)
    assert all(float(ms) > 0 for ms in parts.values())


def test_benchmark_rejects_indivisible_batch():
    with pytest.raises(ValueError, match="--batch"):
        gr00t_memory.main(["--size", "tiny", "--device", "cpu", "--batch", "10", "--micro-batches", "4"])


def test_benchmark_checkpoints_and_profiles_the_optimized_variant(tmp_path):
    profile = tmp_path / "kernels.txt"
    table = gr00t_memory.main(
        ["--size", "tiny", "--device", "cpu", "--batch", "4", "--micro-batches", "2", "--rollout-steps", "1",
         "--image-size", "32", "--action-dim", "2", "--gradient-checkpointing", "--profile", str(profile)]
    )  # fmt: skip
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:4]}
    assert "| yes |" in rows["optimized"] and "| no |" in rows["plain"]
    text = profile.read_text()
    assert "## one rollout forward" in text and "## one update epoch" in text and "aten::linear" in text


def test_memory_cells_show_gib_per_phase_and_the_phase_that_ran_out():
    memory = {"construction": 6.641, "Perf/peak_memory_rollout_gib": 12.125}  # the update ran out of memory
    assert gr00t_memory._memory_cells(memory, torch.device("cuda")) == "6.64 | 12.12 | out of memory"
    assert gr00t_memory._memory_cells({}, torch.device("cpu")) == "n/a (CPU) | n/a (CPU) | n/a (CPU)"
