"""Shared fixtures of the runner tests.

``ISAACLAB_GR00T_RUNNER_TEST_ALGORITHM=pkg.module:AlgorithmCfgClass`` re-runs the tests with another
algorithm (e.g. ``isaaclab_gr00t.ppo:PPO37AlgorithmCfg``); by default they use stock rsl_rl ``PPO``.
"""

import os

import pytest
from rsl_rl.utils import resolve_callable

from isaaclab_gr00t.testing.point_mass import point_mass_train_cfg


def _algorithm_cfg(cfg_class_name: str | None = None, **hyperparameters) -> dict:
    """The algorithm section under test (``cfg_class_name``, else the environment's choice, else stock PPO), with
    the given hyperparameters set where the algorithm has them."""
    cfg = point_mass_train_cfg()["algorithm"]
    cfg_class_name = cfg_class_name or os.environ.get("ISAACLAB_GR00T_RUNNER_TEST_ALGORITHM")
    if cfg_class_name:
        from isaaclab.utils import to_dict

        cfg = to_dict(resolve_callable(cfg_class_name)())
    cfg.update({key: value for key, value in hyperparameters.items() if key in cfg})
    return cfg


@pytest.fixture(scope="session")
def algorithm_cfg():
    """Factory of the algorithm section under test: ``algorithm_cfg(num_mini_batches=1, ...)``."""
    return _algorithm_cfg


@pytest.fixture(scope="session")
def train_cfg():
    """Factory of small point-mass training configs using the algorithm under test."""

    def make(algorithm: dict | None = None, **runner_overrides) -> dict:
        return point_mass_train_cfg(algorithm or _algorithm_cfg(), **runner_overrides)

    return make
