"""Benchmark: the notebook's torch training loop vs ReLU Studio's engine (not collected by pytest).

Run:  python tests/benchmarks/bench_engine.py [--notebook-steps 3000] [--steps 150000] [--quick]

1. The notebook's ``train_network`` loop, re-implemented faithfully (torch eager, float32, one
   thread, ``np.random.choice`` per step, a state-dict copy and a test loss every ``save_every``
   steps), timed at width 20, mode "all" -> notebook steps/s.
2. The engine, warmed up (JIT compiled), running the notebook's whole experiment
   ``run_experiment(widths=(10, 20, 40), modes=("output", "all"), seeds=1, steps=150000,
   save_every=1000)`` on all cores and on one worker thread -> model-steps/s = 6 * steps / wall.
3. The same grid with 10 seeds on all cores.
All in one process, so the machine state is the same for every measurement.
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import time

import numpy as np
import torch
import torch.nn as nn

import relu_studio as rs
from relu_studio.core.report import format_table


# --------------------------------------------------------------------------- the notebook
def to_torch(x):
    return torch.from_numpy(np.array(x)).float()


def to_numpy(x):
    return x.detach().numpy()


def notebook_net(width, seed):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1))
    np.random.seed(seed)
    elbows = np.sort(np.random.rand(width))
    weights_all = list(net.parameters())
    new_biases = -elbows * to_numpy(weights_all[0]).ravel()
    weights_all[1].data = to_torch(new_biases)
    return net


def train_network(X, y, X_test, y_test, net, optim, n_steps, save_every, initial_weights=None):
    """The notebook's loop (its printing removed)."""
    loss = torch.nn.MSELoss()
    y_torch = to_torch(y.reshape(-1, 1))
    X_torch = to_torch(X)
    if initial_weights is not None:
        net.load_state_dict(initial_weights)
    history = {}
    for s in range(n_steps):
        subsample = np.random.choice(y.size, y.size // 5)
        step_loss = loss(y_torch[subsample], net(X_torch[subsample, :]))
        optim.zero_grad()
        step_loss.backward()
        optim.step()
        if (s + 1) % save_every == 0 or s == 0:
            history[s + 1] = {}
            history[s + 1]["state"] = copy.deepcopy(net.state_dict())
            with torch.no_grad():
                test_loss = loss(to_torch(y_test.reshape(-1, 1)), net(to_torch(X_test)))
            history[s + 1]["train_error"] = to_numpy(step_loss).item()
            history[s + 1]["test_error"] = to_numpy(test_loss).item()
    return history


def time_notebook(data, width, mode, steps, save_every, seed=0):
    net = notebook_net(width, seed)
    params = list(net.parameters())
    optim = torch.optim.SGD(params if mode == "all" else params[2:], lr=rs.DEFAULT_LR[mode])
    X, y = data.x.reshape(-1, 1), data.y
    X_test, y_test = data.x_test.reshape(-1, 1), data.y_test
    np.random.seed(seed)
    train_network(X, y, X_test, y_test, net, optim, 50, save_every)  # warm-up (allocator, etc.)
    np.random.seed(seed)
    t0 = time.perf_counter()
    history = train_network(X, y, X_test, y_test, net, optim, steps, save_every)
    elapsed = time.perf_counter() - t0
    assert len(history) == steps // save_every + (save_every != 1)
    return steps / elapsed


# --------------------------------------------------------------------------- the engine
def time_grid(data, steps, seeds, jobs, widths=(10, 20, 40), modes=("output", "all")):
    t0 = time.perf_counter()
    res = rs.run_experiment(data, widths=widths, modes=modes, seeds=seeds, steps=steps,
                            save_every=1000, jobs=jobs)
    elapsed = time.perf_counter() - t0
    runs = len(widths) * len(modes) * (seeds if isinstance(seeds, int) else len(seeds))
    assert len(res.runs) == runs and not res.cancelled
    return elapsed, runs * steps / elapsed, res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebook-steps", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=150_000)
    ap.add_argument("--seeds-grid", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="small sizes, to check the script runs")
    args = ap.parse_args(argv)
    if args.quick:
        args.notebook_steps, args.steps, args.seeds_grid = 300, 5000, 2

    torch.set_num_threads(1)
    cores = os.cpu_count() or 1
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"relu_studio {rs.__version__}, {cores} cores ({platform.processor() or platform.machine()})")
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)

    # 1. the notebook
    nb_rate = time_notebook(data, 20, "all", args.notebook_steps, save_every=1000)
    print(f"notebook (torch eager, 1 thread), width 20, mode all: {nb_rate:,.0f} steps/s "
          f"({args.notebook_steps} steps)")
    nb_total = len((10, 20, 40)) * 2 * args.steps / nb_rate
    print(f"  -> the notebook's experiment (6 runs x {args.steps} steps) at that rate: "
          f"{nb_total / 60:.1f} min")

    # 2. the engine: warm up (compile or load the JIT cache), then the notebook's experiment
    t0 = time.perf_counter()
    rs.train(rs.init_network(20, 0), data, mode="all", steps=100, save_every=10)
    rs.train(rs.init_network(20, 0), data, mode="output", steps=100, save_every=10)
    print(f"engine warm-up (JIT compile / cache load): {time.perf_counter() - t0:.2f} s")

    wall_all, rate_all, res = time_grid(data, args.steps, 1, jobs=None)
    print(f"engine, whole experiment (widths 10/20/40 x output/all, 1 seed, {args.steps} steps, "
          f"{min(cores, 6)} worker threads): {wall_all:.2f} s wall, {rate_all:,.0f} model-steps/s")
    wall_one, rate_one, _ = time_grid(data, args.steps, 1, jobs=1)
    print(f"engine, same experiment on 1 worker thread: {wall_one:.2f} s wall, "
          f"{rate_one:,.0f} model-steps/s")
    print(f"speed-up vs the notebook: {rate_all / nb_rate:,.0f}x (all cores), "
          f"{rate_one / nb_rate:,.0f}x (1 thread); experiment {nb_total / wall_all:,.0f}x faster "
          f"({nb_total / 60:.1f} min -> {wall_all:.1f} s)")

    # 3. a 10-seed grid
    wall_10, rate_10, res10 = time_grid(data, args.steps, args.seeds_grid, jobs=None)
    print(f"engine, {args.seeds_grid}-seed grid ({6 * args.seeds_grid} runs x {args.steps} steps, "
          f"all cores): {wall_10:.2f} s wall, {rate_10:,.0f} model-steps/s")
    print()
    print("final errors, 1 seed:")
    print(format_table(rs.results_table(res)))
    print()
    print(f"final errors, {args.seeds_grid} seeds (median [q25, q75]):")
    print(format_table(rs.results_table(res10)))


if __name__ == "__main__":
    main()
