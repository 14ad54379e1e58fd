"""Benchmark: the engine with every activation and loss vs the notebook's torch loop with the same
activation module, loss and optimizer (not collected by pytest).

Run:  python tests/benchmarks/bench_activations.py [--steps 20000] [--torch-steps 1000] [--width 20]
      [--optimizers sgd adam ...] [--repeat 2]

In one process, for each optimizer x activation (MSE) and for each loss (ReLU, plain SGD):

1. the engine, warmed up (JIT compiled), one run of ``--steps`` steps at ``--width``, mode "all",
   the notebook's data (n = 200, batch 40), a snapshot every 1000 steps -> steps/s;
2. the notebook's loop (torch eager, float32, one thread, ``np.random.choice`` per step, a
   state-dict copy and a test loss every 1000 steps) with that activation module (|x|: a module
   calling ``torch.abs``), loss and ``torch.optim.<Opt>`` -> steps/s.

Printed: steps/s of both, the engine's speed relative to its own ReLU/MSE run with the same
optimizer, and the engine's speed-up over torch. Each figure is the best of ``--repeat`` runs.
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
import torch.nn as nn

import relu_studio as rs
from relu_studio.core.activations import ACTIVATIONS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_optimizers  # noqa: E402
from bench_engine import notebook_net, to_numpy, to_torch  # noqa: E402  the notebook's helpers

#: bench_optimizers' optimizers (the notebook's lr for SGD and momentum, torch's defaults else)
OPTIMIZERS = dict(zip(("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"),
                      bench_optimizers.OPTIMIZERS.values()))
LOSSES = {"mse": rs.Loss("mse"), "mae": rs.Loss("mae"), "huber": rs.Loss("huber")}


class Abs(nn.Module):
    def forward(self, x):
        return torch.abs(x)


def torch_module(act):
    spec = act.torch_module()
    return Abs() if spec is None else getattr(nn, spec[0])(**spec[1])


def engine_rate(data, width, steps, act, loss, optimizer) -> float:
    net = rs.init_network(width, 0).replace(activation=act)
    t0 = time.perf_counter()
    rs.train(net, data, mode="all", steps=steps, save_every=1000, seed=0, optimizer=optimizer,
             loss=None if loss.is_mse else loss)
    return steps / (time.perf_counter() - t0)


def torch_rate(data, width, steps, act, loss, make) -> float:
    """The notebook's train_network loop (bench_engine's, with the loss module as a parameter)."""
    net = notebook_net(width, 0)
    net[1] = torch_module(act)
    optim = make(list(net.parameters()))
    cls, kwargs = loss.torch_module()
    loss_fn = getattr(nn, cls)(**kwargs)
    x, y = to_torch(data.x.reshape(-1, 1)), to_torch(data.y.reshape(-1, 1))
    xt, yt = to_torch(data.x_test.reshape(-1, 1)), to_torch(data.y_test.reshape(-1, 1))
    np.random.seed(0)
    history = {}
    t0 = time.perf_counter()
    for s in range(steps):
        sub = np.random.choice(data.n, data.n // 5)
        step_loss = loss_fn(net(x[sub, :]), y[sub])
        optim.zero_grad()
        step_loss.backward()
        optim.step()
        if (s + 1) % 1000 == 0 or s == 0:
            with torch.no_grad():
                test = nn.MSELoss()(net(xt), yt)
            history[s + 1] = {"state": {k: v.clone() for k, v in net.state_dict().items()},
                              "train_error": to_numpy(step_loss).item(), "test_error": test.item()}
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--torch-steps", type=int, default=1000)
    ap.add_argument("--width", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--optimizers", nargs="+", choices=OPTIMIZERS, default=list(OPTIMIZERS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
    for name in args.optimizers:  # warm-up: compile (or load the cache)
        rs.train(rs.init_network(2, 0).replace(activation=rs.Activation("gelu")), data, steps=3,
                 optimizer=OPTIMIZERS[name][0], loss=rs.Loss("mae"))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}; width {args.width}, mode all, batch 40, engine {args.steps:,} "
          f"steps, torch {args.torch_steps:,} steps, best of {args.repeat}")
    header = (f"{'optimizer':<9} {'activation':<11} {'loss':<6} {'engine steps/s':>15} "
              f"{'vs ReLU/MSE':>12} {'torch steps/s':>14} {'engine/torch':>13}")

    def row(opt_name, act, loss, base=None):
        opt, make = OPTIMIZERS[opt_name]
        eng = max(engine_rate(data, args.width, args.steps, act, loss, opt) for _ in range(args.repeat))
        tch = max(torch_rate(data, args.width, args.torch_steps, act, loss, make)
                  for _ in range(args.repeat))
        rel = 1.0 if base is None else eng / base
        print(f"{opt_name:<9} {act.name:<11} {loss.name:<6} {eng:>15,.0f} {rel:>11.2f}x "
              f"{tch:>14,.0f} {eng / tch:>12.1f}x", flush=True)
        return eng

    print(header)
    for opt_name in args.optimizers:
        base = None
        for name in ACTIVATIONS:
            eng = row(opt_name, rs.Activation(name), LOSSES["mse"], base)
            base = eng if base is None else base
    print()
    print(header)
    base = None
    for loss in LOSSES.values():
        eng = row("sgd", rs.Activation(), loss, base)
        base = eng if base is None else base


if __name__ == "__main__":
    main()
