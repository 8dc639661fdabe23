"""Two gloo processes: gradients, normalizer and reward statistics are synchronized, parameters stay identical."""

from __future__ import annotations

import os
import sys

import torch
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(__file__))  # spawn pickles _dist_worker.run by module name
import _dist_worker  # noqa: E402


def test_two_gloo_ranks_end_an_update_with_identical_state(tmp_path):
    mp.spawn(_dist_worker.run, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for a, b in zip(rank0["initial"], rank1["initial"]):
        assert torch.equal(a, b)  # broadcast_parameters
    changed = False
    for a, b, start in zip(rank0["params"], rank1["params"], rank0["initial"]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
        changed |= not torch.equal(a, start)
    assert changed
    torch.testing.assert_close(rank0["obs_mean"], rank1["obs_mean"])
    assert float(rank0["obs_count"]) == 2 * 4 * 8 + 1e-4  # statistics of both ranks' rollouts
    torch.testing.assert_close(rank0["return_var"], rank1["return_var"])
