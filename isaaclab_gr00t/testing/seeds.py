"""Judging a learning run over several seeds.

One seeded run passes or fails on its seed: a numerically neutral change (another kernel order, another summation)
moves it onto another trajectory. A learning test therefore asks for a count of successes over several seeds, and
stops as soon as the count is reached or can no longer be.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Outcome = TypeVar("Outcome")


def runs_until_decided(run: Callable[[int], Outcome], passed: Callable[[Outcome], bool], seeds: Sequence[int],
                       needed: int) -> list[tuple[int, Outcome, bool]]:
    """``run(seed)`` for the seeds in order until ``needed`` runs passed or too few seeds are left for that.

    Returns:
        ``(seed, outcome, passed)`` of every run made; the test asserts that ``needed`` of them passed.
    """
    if not 1 <= needed <= len(seeds):
        raise ValueError(f"needed = {needed} must be between 1 and the number of seeds ({len(seeds)}).")
    results = []
    for index, seed in enumerate(seeds):
        outcome = run(seed)
        results.append((seed, outcome, passed(outcome)))
        successes = sum(ok for _, _, ok in results)
        if successes >= needed or successes + len(seeds) - index - 1 < needed:
            break
    return results
