"""isaaclab_gr00t: GR00T-class policies and a 37-detail PPO for Isaac Lab 3.0.

Importing this package is cheap; the Isaac Lab task registration happens in
:mod:`isaaclab_gr00t.registration`, which the ``isaaclab.tasks`` entry point loads.
"""

__version__ = "0.1.0"
