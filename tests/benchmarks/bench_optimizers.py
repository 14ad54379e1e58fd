"""Benchmark: the engine's optimizers vs its SGD kernel vs the notebook's torch loop with that
optimizer (not collected by pytest).

Run:  python tests/benchmarks/bench_optimizers.py [--steps 30000] [--torch-steps 2000] [--width 20]

For each optimizer (torch.optim's defaults; the notebook's lr for SGD/momentum), in one process:

1. the engine, warmed up (JIT compiled), one run of ``--steps`` steps at ``--width``, mode "all",
   the notebook's data (n = 200, batch 40), snapshot every 1000 steps -> steps/s;
2. the notebook's loop (torch eager, float32, one thread, ``np.random.choice`` per step, a
   state-dict copy and a test loss every 1000 steps) with ``torch.optim.<Opt>`` -> steps/s.

Printed: steps/s of both, the engine's speed relative to its own SGD kernel, and the engine's
speed-up over torch. Each measurement is the best of ``--repeat`` runs, taken alternately.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import relu_studio as rs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import notebook_net, train_network  # noqa: E402  the notebook's loop, verbatim

OPTIMIZERS = {
    "sgd (kernel)": (None, lambda p: torch.optim.SGD(p, lr=0.02)),
    "momentum 0.9": (rs.Optimizer("momentum", lr=0.02), lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9)),
    "nesterov 0.9": (rs.Optimizer("momentum", lr=0.02, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True)),
    "adam": (rs.Optimizer("adam"), lambda p: torch.optim.Adam(p, foreach=False)),
    "adamw": (rs.Optimizer("adamw"), lambda p: torch.optim.AdamW(p, foreach=False)),
    "rmsprop": (rs.Optimizer("rmsprop"), lambda p: torch.optim.RMSprop(p, foreach=False)),
}


def engine_rate(data, width, steps, optimizer) -> float:
    net = rs.init_network(width, 0)
    t0 = time.perf_counter()
    rs.train(net, data, mode="all", steps=steps, save_every=1000, seed=0, optimizer=optimizer)
    return steps / (time.perf_counter() - t0)


def torch_rate(data, width, steps, make) -> float:
    net = notebook_net(width, 0)
    optim = make(list(net.parameters()))
    np.random.seed(0)
    t0 = time.perf_counter()
    train_network(data.x.reshape(-1, 1), data.y, data.x_test.reshape(-1, 1), data.y_test, net,
                  optim, steps, 1000)
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30_000)
    ap.add_argument("--torch-steps", type=int, default=2000)
    ap.add_argument("--width", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
    for opt, _ in OPTIMIZERS.values():  # warm-up: compile (or load the cache)
        rs.train(rs.init_network(2, 0), data, mode="all", steps=3, optimizer=opt)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}; width {args.width}, mode all, batch 40, engine {args.steps:,} "
          f"steps, torch {args.torch_steps:,} steps, best of {args.repeat}")
    rates = {}
    for name, (opt, make) in OPTIMIZERS.items():
        eng = max(engine_rate(data, args.width, args.steps, opt) for _ in range(args.repeat))
        tch = max(torch_rate(data, args.width, args.torch_steps, make) for _ in range(args.repeat))
        rates[name] = (eng, tch)
    sgd = rates["sgd (kernel)"][0]
    print(f"{'optimizer':<14} {'engine steps/s':>15} {'vs SGD kernel':>14} {'torch steps/s':>14} "
          f"{'engine/torch':>13}")
    for name, (eng, tch) in rates.items():
        print(f"{name:<14} {eng:>15,.0f} {eng / sgd:>13.2f}x {tch:>14,.0f} {eng / tch:>12.1f}x")


if __name__ == "__main__":
    main()
