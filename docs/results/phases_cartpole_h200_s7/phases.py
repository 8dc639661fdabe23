"""Where PPO37Runner's cartpole iteration goes on the GPU: host time per phase, GPU time per graph."""
import sys, time, copy, torch
from isaaclab_gr00t.bench import throughput as tp
from isaaclab_gr00t.runner import PPO37Runner
from isaaclab_rl.entrypoints.common import scoped_torch_backend_flags

task = sys.argv[1] if len(sys.argv) > 1 else "GR00T-Cartpole-Direct"
num_envs = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
dev = "cuda:0"

def gpu_ms(fn, n=50):
    torch.cuda.synchronize(); s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(n): fn()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / n

def host_us(fn, n=50):
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(n): fn()
    h = (time.perf_counter() - t) / n * 1e6; torch.cuda.synchronize(); return h

with scoped_torch_backend_flags(**tp.TRAIN_BACKEND_FLAGS), tp.open_task(task, num_envs, dev, 42) as (env, cfg, stock):
    probe = tp.EpisodeReturnProbe(env)
    cfg = copy.deepcopy(cfg) | {"class_name": "isaaclab_gr00t.runner:PPO37Runner"}
    with tp.silenced_stdout():
        runner = PPO37Runner(probe, cfg, log_dir=None, device=dev)
        runner.learn(3)
    T = {}
    def timed(name, fn):
        def w(*a, **k):
            t = time.perf_counter(); r = fn(*a, **k); T[name] = T.get(name, 0.0) + time.perf_counter() - t; return r
        return w
    ro = runner.rollout
    ro.act = timed("act", ro.act); ro.store = timed("store", ro.store); ro.finish = timed("finish", ro.finish)
    inner = probe.env.step
    probe.env.step = timed("env.step (inner)", inner)
    probe.statistics.record = timed("probe.record", probe.statistics.record)
    probe.step = timed("probe.step (env + probe)", probe.step)
    upd = runner.alg.update
    runner.alg.update = timed("alg.update", upd)
    read = runner.statistics.read
    runner.statistics.read = timed("statistics.read (sync)", read)
    torch.cuda.synchronize(); t0 = time.perf_counter()
    iters = 20
    with tp.silenced_stdout():
        runner.learn(iters)
    torch.cuda.synchronize(); wall = time.perf_counter() - t0
    steps = iters * cfg["num_steps_per_env"]
    print(f"{task} {num_envs}: {iters} iterations, {wall / iters * 1e3:.1f} ms/iteration, "
          f"{iters * cfg['num_steps_per_env'] * num_envs / wall:,.0f} steps/s")
    for k, v in T.items():
        print(f"  host {k:32s} {v / iters * 1e3:8.2f} ms/it  {v / steps * 1e6:8.1f} us/step")
    # GPU time of each graph alone
    with torch.inference_mode():
        print(f"  act graph:   GPU {gpu_ms(lambda: ro.act_graphs[3].replay()):.3f} ms, host {host_us(lambda: ro.act_graphs[3].replay()):.1f} us")
        print(f"  store graph: GPU {gpu_ms(lambda: ro.store_graphs[3].replay()):.3f} ms, host {host_us(lambda: ro.store_graphs[3].replay()):.1f} us")
        print(f"  returns graph: GPU {gpu_ms(lambda: ro.returns_graph.replay()):.3f} ms")
        acts = torch.rand(num_envs, env.num_actions, device=dev) * 2 - 1
        print(f"  env.step alone: GPU-inclusive {gpu_ms(lambda: env.step(acts), 30):.3f} ms, host {host_us(lambda: env.step(acts), 30):.1f} us")
        probe_obs = env.get_observations(); r = torch.zeros(num_envs, device=dev); d = torch.zeros(num_envs, dtype=torch.long, device=dev)
        print(f"  probe.record: host {host_us(lambda: probe.statistics.__class__.record(probe.statistics, probe_obs, r, d, {})):.1f} us")
    g = runner.alg._captured_step
    print(f"  minibatch graph: GPU {gpu_ms(lambda: g.graph.replay(), 100):.3f} ms, host {host_us(lambda: g.graph.replay(), 100):.1f} us")
    print(f"  minibatches per update: {runner.alg.num_learning_epochs * runner.alg.num_mini_batches}")
    torch.cuda.synchronize(); t = time.perf_counter(); upd(); print(f"  one update wall (incl. host read): {(time.perf_counter() - t) * 1e3:.2f} ms")
