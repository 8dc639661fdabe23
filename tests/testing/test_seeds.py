"""runs_until_decided stops as soon as a learning test's count of successes is reached or out of reach."""

import pytest

from isaaclab_gr00t.testing.seeds import runs_until_decided


@pytest.mark.parametrize("scores, runs, successes", [
    ([1, 1, 0], 2, 2),  # reached after two seeds
    ([1, 0, 1], 3, 2),
    ([0, 0, 1], 2, 0),  # out of reach after two failures
    ([0, 1, 0], 3, 1),
])
def test_stops_once_decided(scores, runs, successes):
    made = []

    def run(seed):
        made.append(seed)
        return scores[seed - 1]

    results = runs_until_decided(run, lambda score: score > 0, seeds=(1, 2, 3), needed=2)
    assert made == [1, 2, 3][:runs] and [seed for seed, _, _ in results] == made
    assert sum(ok for _, _, ok in results) == successes


def test_needed_must_fit_the_seeds():
    with pytest.raises(ValueError, match="needed"):
        runs_until_decided(lambda seed: seed, bool, seeds=(1, 2), needed=3)
