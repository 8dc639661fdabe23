"""Benchmark commands: each prints a markdown table and can write a PNG plot.

- :mod:`isaaclab_gr00t.bench.learner_step`: what stock PPO's and PPO37's ``act`` + ``process_env_step`` add to a step.
- :mod:`isaaclab_gr00t.bench.learning_curves`: PPO37 against stock rsl_rl PPO, same task, seeds and budget.
- :mod:`isaaclab_gr00t.bench.throughput`: env-only, stock rsl_rl and PPO37Runner steps/s on Isaac Lab tasks.
"""
