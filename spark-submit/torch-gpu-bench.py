#!/usr/bin/env python3
"""PyTorch's rows of the ResNet benchmark on a CUDA GPU, for spark-submit/gpu-check.

The same rows and options as ../shared/bench/torch_resnet_bench.py (which times the CPU), so that
ResNetBenchmark can run it with --torch-script and print DL4J/PyTorch ratios on the GPU: inference at
batch 32 (eval, no grad), full fine-tuning and feature extraction (backbone frozen, only fc trains) at
batch 16, SGD with momentum, float32. Prints one line per row, in that script's format with the device
and the peak GPU memory before the rate (ResNetBenchmark reads the number after img_per_s= to the end):
    torch <arch> <mode> size=<px> batch=<n> device=<name> peak_mib=<n> img_per_s=<median>
Each measurement is the median over --repeats timings of --steps steps each, after warm-up steps, with
the GPU synchronised at both ends (CUDA launches are asynchronous). PyTorch's defaults are kept, so
convolutions may use TF32 tensor cores (torch.backends.cudnn.allow_tf32), as cuDNN's default math does
for ND4J's cuDNN convolutions.
"""
import argparse
import os
import statistics
import time

import torch
import torchvision

p = argparse.ArgumentParser()
p.add_argument("--arch", default="resnet18", help="one or more, comma-separated")
p.add_argument("--size", default="224", help="one or more, comma-separated")
p.add_argument("--modes", default="infer,finetune,featextract")
p.add_argument("--infer-batch", type=int, default=32)
p.add_argument("--train-batch", type=int, default=16)
p.add_argument("--classes", type=int, default=4)
p.add_argument("--threads", type=int, default=2, help="CPU threads (the GPU rows hardly use them)")
p.add_argument("--steps", type=int, default=20)
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--device", default=os.environ.get("TORCH_BENCH_DEVICE", "cuda"),
               help="cuda (default; TORCH_BENCH_DEVICE overrides), or cpu to try the script without a GPU")
a = p.parse_args()

if a.device == "cuda" and not torch.cuda.is_available():
    raise SystemExit("torch-gpu-bench: torch %s sees no CUDA GPU" % torch.__version__)
dev = torch.device(a.device)
name = torch.cuda.get_device_name(dev).replace(" ", "_") if dev.type == "cuda" else "cpu"
torch.manual_seed(0)
torch.set_num_threads(a.threads)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def median_seconds_per_step(step):
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.repeats):
        sync()
        t = time.perf_counter()
        for _ in range(a.steps):
            step()
        sync()
        times.append((time.perf_counter() - t) / a.steps)
    return statistics.median(times)


def row(arch, mode, size, batch, step):
    if dev.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)
    secs = median_seconds_per_step(step)
    peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else 0
    print(f"torch {arch} {mode} size={size} batch={batch} device={name} peak_mib={peak:.0f} img_per_s={batch / secs:.2f}",
          flush=True)


print(f"# torch {torch.__version__} cuda {torch.version.cuda} cudnn {torch.backends.cudnn.version()} "
      f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32} device={name}", flush=True)
modes = a.modes.split(",")
for arch in a.arch.split(","):
    for size in (int(s) for s in a.size.split(",")):
        m = getattr(torchvision.models, arch)(weights=None)
        m.fc = torch.nn.Linear(m.fc.in_features, a.classes)
        m = m.to(dev)
        if "infer" in modes:
            x = torch.randn(a.infer_batch, 3, size, size, device=dev)
            m.eval()

            def infer():
                with torch.no_grad():
                    m(x)
            row(arch, "infer", size, a.infer_batch, infer)
        x = torch.randn(a.train_batch, 3, size, size, device=dev)
        y = torch.randint(0, a.classes, (a.train_batch,), device=dev)
        for mode in ("finetune", "featextract"):
            if mode not in modes:
                continue
            for n, prm in m.named_parameters():
                prm.requires_grad = mode == "finetune" or n.startswith("fc.")
            m.train()
            opt = torch.optim.SGD([q for q in m.parameters() if q.requires_grad], lr=0.01, momentum=0.9)

            def train_step():
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(m(x), y).backward()
                opt.step()
            row(arch, mode, size, a.train_batch, train_step)
        del m
