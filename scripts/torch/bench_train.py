"""Times full training steps (forward + backward + clip 1.0 + AdamW) of llama_ref.Llama on CPU and prints
one JSON object: {"torch": version, "threads": n, "stepMs": [...], "losses": [...]}.
Usage: /usr/bin/python3 scripts/torch/bench_train.py --config '<ModelConfig JSON>' --batch 8 --seq 256 --steps 3 --warmup 1 --threads 2
       /usr/bin/python3 scripts/torch/bench_train.py --probe   (only {"torch", "threads", "blas", "allocator"}: which BLAS
   and malloc torch runs on)"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from llama_ref import Llama, make_optimizer  # noqa: E402


def mapped_libraries(fragment):
    """Shared objects mapped in this process whose file name contains `fragment`."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if fragment in os.path.basename(path):
                libs.add(os.path.realpath(path))
    return sorted(libs)


def blas_libraries():
    """BLAS in this process (Debian's default libblas3 is the netlib reference)."""
    return mapped_libraries("blas")


def allocator_libraries():
    """A malloc replacement in this process (tcmalloc when the bench preloads it), else [] for glibc's."""
    return mapped_libraries("tcmalloc") + mapped_libraries("jemalloc")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", action="store_true")
    ap.add_argument("--config")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.probe:
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_libraries(),
                          "allocator": allocator_libraries()}))
        return
    if a.config is None:
        ap.error("--config is required")
    torch.manual_seed(a.seed)
    cfg = json.loads(a.config)
    model = Llama(cfg)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.02)
    opt = make_optimizer(model, 1e-3)
    g = torch.Generator().manual_seed(a.seed)
    step_ms, losses = [], []
    for i in range(a.warmup + a.steps):
        rows = torch.randint(0, cfg["vocabSize"], (a.batch, a.seq + 1), generator=g)
        ids, labels = rows[:, :-1].contiguous(), rows[:, 1:].contiguous()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(ids, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = (time.perf_counter() - t0) * 1000
        if i >= a.warmup:
            step_ms.append(dt)
            losses.append(loss.item())
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_libraries(),
                      "allocator": allocator_libraries(), "stepMs": step_ms, "losses": losses}))


if __name__ == "__main__":
    main()
