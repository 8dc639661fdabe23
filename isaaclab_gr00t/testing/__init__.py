"""Helpers of the tests and of the learner-only benchmarks (no physics engine needed).

- :mod:`isaaclab_gr00t.testing.point_mass`: :class:`~isaaclab_gr00t.testing.point_mass.PointMassVecEnv`, point masses
  steered to the origin, and :func:`~isaaclab_gr00t.testing.point_mass.point_mass_train_cfg`, its training config.
- :mod:`isaaclab_gr00t.testing.gr00t_numerics`: the optimized GR00T path against the plain float32 one on the same
  weights.
- :mod:`isaaclab_gr00t.testing.seeds`: :func:`~isaaclab_gr00t.testing.seeds.runs_until_decided`, learning tests
  judged by a count of successes over several seeds.
"""
