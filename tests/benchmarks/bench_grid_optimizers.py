"""Speed of a grid with the optimizer as an axis (a script, not a test).

    python tests/benchmarks/bench_grid_optimizers.py [--steps 150000] [--seeds 1] [--rounds 3]

On the notebook's data and widths (10 20 40 x output/all), in one process, interleaved rounds of:
- the notebook's grid, plain SGD only (the batched kernel's path, or one run per thread for a
  last block of few seeds, as today);
- the same grid with one more optimizer in the axis (momentum, Nesterov, Adam, AdamW, RMSprop),
  timed alone: that optimizer's 6 runs, one Trainer per run on the same thread pool.
Printed: seconds per grid and the model-steps/s of each optimizer as a ratio to plain SGD's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=150_000)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import relu_studio as rs

    data = rs.make_dataset()
    axis = {"SGD": rs.Optimizer(), "momentum 0.9": rs.Optimizer("momentum"),
            "Nesterov 0.9": rs.Optimizer("momentum", nesterov=True), "Adam": rs.Optimizer("adam"),
            "AdamW": rs.Optimizer("adamw"), "RMSprop": rs.Optimizer("rmsprop")}
    grid = dict(widths=(10, 20, 40), modes=("output", "all"), seeds=args.seeds, steps=args.steps)
    for opt in axis.values():  # compile / load every kernel first
        rs.run_experiment(data, widths=(3,), modes=("all",), steps=50, optimizers=(opt,))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores {os.cpu_count()}, load {load:.2f}; grid widths 10 20 40 x output/all x "
          f"{args.seeds} seed(s) x {args.steps:,} steps; {args.rounds} interleaved rounds")
    times: dict[str, list] = {k: [] for k in axis}
    for _ in range(args.rounds):
        for name, opt in axis.items():
            t0 = time.perf_counter()
            res = rs.run_experiment(data, optimizers=(opt,), **grid)
            times[name].append(time.perf_counter() - t0)
            assert res.complete
    model_steps = 6 * args.seeds * args.steps
    base = statistics.median(times["SGD"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:>13}: median {med:.3f} s (min {min(ts):.3f}, max {max(ts):.3f})  "
              f"{model_steps / med / 1e6:.2f} M model-steps/s  = {base / med:.2f}x plain SGD's")
    # The axis itself: all six optimizers in one grid vs the six grids one after the other.
    t0 = time.perf_counter()
    res = rs.run_experiment(data, optimizers=tuple(axis.values()), **grid)
    whole = time.perf_counter() - t0
    print(f"one grid of all {len(axis)} optimizers: {whole:.3f} s "
          f"({len(res.runs)} runs; the six grids apart: "
          f"{sum(statistics.median(t) for t in times.values()):.3f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
