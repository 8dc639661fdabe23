"""The camera task's actor CNN: fwd+bwd at the update's minibatch and fwd at the rollout's batch, by memory format."""
import torch, time
from rsl_rl.modules import CNN
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
torch.backends.cudnn.benchmark = True
dev = "cuda:0"

def make(fmt):
    torch.manual_seed(0)
    cnn = CNN(input_dim=(96, 96), input_channels=6, output_channels=[8, 16, 16], kernel_size=[5, 3, 3], stride=[2, 2, 2],
              activation="relu").to(dev)
    head = torch.nn.Sequential(torch.nn.Linear(cnn.output_dim, 64), torch.nn.ELU(), torch.nn.Linear(64, 1)).to(dev)
    if fmt == "channels_last":
        cnn = cnn.to(memory_format=torch.channels_last)
    return cnn, head

def timed(fn, n=20):
    for _ in range(3): fn()
    torch.cuda.synchronize(); s = time.perf_counter()
    for _ in range(n): fn()
    torch.cuda.synchronize(); return (time.perf_counter() - s) / n * 1e3

x_update = torch.rand(4096, 6, 96, 96, device=dev)
x_act = torch.rand(1024, 6, 96, 96, device=dev)
ref = None
for fmt in ("contiguous", "channels_last"):
    cnn, head = make(fmt)
    def prep(x):
        return x.contiguous(memory_format=torch.channels_last) if fmt == "channels_last" else x
    def step():
        out = head(cnn(prep(x_update))).sum()
        out.backward()
    with torch.no_grad():
        fwd = lambda: head(cnn(prep(x_act)))
        y = head(cnn(prep(x_act)))
    if ref is None: ref = y
    print(f"{fmt:14s} update fwd+bwd 4096: {timed(step):7.2f} ms   act fwd 1024: {timed(fwd):6.2f} ms   "
          f"max |diff| vs contiguous: {(y - ref).abs().max().item():.2e}")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        print(f"{fmt:14s} +bf16 autocast update: {timed(step):7.2f} ms   act: {timed(fwd):6.2f} ms")
