"""The GR00T memory benchmark runs at tiny size on CPU and prints a complete markdown table."""

from __future__ import annotations

import pytest

from isaaclab_gr00t.bench import gr00t_memory


def test_tiny_cpu_benchmark_prints_table(capsys):
    table = gr00t_memory.main(
        ["--size", "tiny", "--device", "cpu", "--batch", "8", "--micro-batches", "2", "--minibatches", "2",
         "--rollout-steps", "1", "--image-size", "16", "--action-dim", "2"]
    )  # fmt: skip
    assert table in capsys.readouterr().out
    header, _, row = table.splitlines()
    cells = dict(zip(header.strip("|").split("|"), row.strip("|").split("|")))
    cells = {k.strip(): v.strip() for k, v in cells.items()}
    total, trainable = float(cells["total params"].split()[0]), float(cells["trainable params"].split()[0])
    assert 0 < trainable < total
    assert float(cells["rollout samples/s"]) > 0 and float(cells["update samples/s"]) > 0
    assert cells["peak memory (GiB)"] == "n/a (CPU)"


def test_benchmark_rejects_indivisible_batch():
    with pytest.raises(ValueError, match="--batch"):
        gr00t_memory.main(["--size", "tiny", "--device", "cpu", "--batch", "10", "--micro-batches", "4"])
