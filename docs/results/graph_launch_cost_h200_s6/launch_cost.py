"""CUDA graph launch cost on the GPU machine, session 6 (run as: python launch_cost.py; torch only, CUDA needed)."""
import time, torch
torch.backends.cuda.matmul.allow_tf32 = True
dev = "cuda"
x = torch.randn(4096, 32, device=dev)
def make(nk):
    g = torch.cuda.CUDAGraph()
    y = x.clone()
    s = torch.cuda.Stream(); s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(nk): y.mul_(1.0001)
    torch.cuda.current_stream().wait_stream(s)
    with torch.cuda.graph(g):
        for _ in range(nk): y.mul_(1.0001)
    return g
for nk in (1, 10, 50, 200, 1000):
    g = make(nk)
    for _ in range(20): g.replay()
    torch.cuda.synchronize()
    n = 500
    t0 = time.perf_counter()
    for _ in range(n): g.replay()
    t1 = time.perf_counter()
    torch.cuda.synchronize()
    t2 = time.perf_counter()
    print(f"graph of {nk:5d} kernels: host {1e6*(t1-t0)/n:8.1f} us/launch, total {1e6*(t2-t0)/n:8.1f} us/replay ({1e3*(t2-t0)/n/nk:.2f} us/kernel)", flush=True)
# eager launch cost of the same kernel
y = x.clone(); torch.cuda.synchronize()
n = 5000; t0 = time.perf_counter()
for _ in range(n): y.mul_(1.0001)
t1 = time.perf_counter(); torch.cuda.synchronize(); t2 = time.perf_counter()
print(f"eager mul_: host {1e6*(t1-t0)/n:.1f} us/launch, total {1e6*(t2-t0)/n:.1f} us")
# small MLP train step kernel count estimate: 2 x (32x32 MLP) fwd+bwd+adam on 16384 rows
import torch.nn as nn
net = nn.Sequential(nn.Linear(4,32), nn.ELU(), nn.Linear(32,32), nn.ELU(), nn.Linear(32,1)).to(dev)
opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
inp = torch.randn(16384, 4, device=dev)
def step():
    loss = net(inp).square().mean(); opt.zero_grad(set_to_none=False); loss.backward(); opt.step()
for _ in range(5): step()
torch.cuda.synchronize(); n=200; t0=time.perf_counter()
for _ in range(n): step()
t1=time.perf_counter(); torch.cuda.synchronize(); t2=time.perf_counter()
print(f"eager mlp train step: host {1e6*(t1-t0)/n:.1f} us, total {1e6*(t2-t0)/n:.1f} us")
import subprocess
print(subprocess.run(["nvidia-smi","--query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,power.draw,pstate","--format=csv"],capture_output=True,text=True).stdout)
print(subprocess.run(["bash","-c","nproc; lscpu | grep -i 'model name\\|MHz'"],capture_output=True,text=True).stdout)
