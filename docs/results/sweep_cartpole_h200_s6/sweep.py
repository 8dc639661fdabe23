"""The session-6 cartpole config sweep, as it ran on the H200 at commit d556e27 (kept as the record of those runs;
the one change since: ``*_`` in the unpacking of ``open_task``, which now also yields the task's stock agent config).

    python sweep.py DEVICE NUM_ENVS ITERATIONS SEEDS [CHANGES ...]

SEEDS is a comma-separated list; each CHANGES argument is one config variant of the task's own agent, a space-separated
list of KEY=VALUE overrides (as the throughput benchmark's --agent_override takes them), "-" for none. Per seed it
trains stock rsl_rl, then PPO37Runner + PPO37 with each variant, and prints one JSON line a run: the iteration and
the wall time at which the mean return first reached 4.5. Stock here is the task's own config switched to stock PPO
(the benchmark's rule at d556e27): at later commits that config has 8 epochs, so a rerun there should pass the
task's stock agent config to learner_configs instead.
"""
import sys, json
from isaaclab_gr00t.bench import throughput as T
from isaaclab_rl.entrypoints.common import scoped_torch_backend_flags
device, num_envs, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seeds = [int(s) for s in sys.argv[4].split(",")]
configs = [c.split() if c != "-" else [] for c in sys.argv[5:]]
with scoped_torch_backend_flags(**T.TRAIN_BACKEND_FLAGS), T.open_task("GR00T-Cartpole-Direct", num_envs, device, 42) as (env, cfg, *_):
    learners = T.learner_configs(cfg)
    T.measure_learner("warm", learners[0][1], env, learners[0][2], 1, 42, device)
    for seed in seeds:
        for over in [None] + configs:
            if over is None:
                name, cls, c = learners[0]
            else:
                name, cls, c = learners[2]
                c = T.apply_agent_overrides(c, over)
            r = T.measure_learner(name, cls, env, c, iters, seed, device)
            rets = [v for _, v in r.curve]
            first = next((i + 1 for i, v in enumerate(rets) if v >= 4.5), None)
            print(json.dumps({"envs": num_envs, "seed": seed, "learner": name, "over": over, "iters_to_4.5": first,
                              "time_to_4.5": r.time_to(4.5), "sps": round(r.steps_per_second),
                              "last": round(rets[-1], 2), "returns": [round(v, 2) for v in rets]}), flush=True)
