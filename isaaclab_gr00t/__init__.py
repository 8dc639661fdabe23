"""isaaclab_gr00t: PPO with the 37 implementation details, a host-sync-free rsl_rl runner, and NVIDIA's GR00T N1.5
fine-tuned with them, for Isaac Lab 3.0.

- :mod:`isaaclab_gr00t.ppo`: PPO37, a drop-in rsl_rl algorithm; :mod:`isaaclab_gr00t.ppo.model_hooks` lists what a
  model may offer it.
- :mod:`isaaclab_gr00t.runner`: PPO37Runner, a drop-in rsl_rl on-policy runner.
- :mod:`isaaclab_gr00t.gr00t`: the GR00T N1.5 actor and critic and GR00TRunner, a plug-in on the two above.

Importing this package is cheap; the Isaac Lab task registration happens in
:mod:`isaaclab_gr00t.registration`, which the ``isaaclab.tasks`` entry point loads.
"""

__version__ = "0.1.0"
