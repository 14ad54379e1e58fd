"""Benchmark: the notebook's grid over 10 and 30 seeds, batched vs one run per thread (not collected by pytest).

Run:  python tests/benchmarks/bench_batch.py [--rounds 3] [--steps 150000] [--quick]

The grid is what ``run_experiment`` trains for the Compare tab and the CLI: widths 10/20/40 x
modes output/all (+ ridge) x N seeds, 150 000 steps, a snapshot every 1 000 steps. Two paths give
the same bits (tests/core/test_batch_training.py):

* batched - the runs of one (width, mode) advance as the SIMD lanes of one kernel
  (core.batch_training), the minibatches drawn once per seed block for all six cells (and, when
  two threads train blocks of the same seeds, each draws half of the lanes);
* per run - the path every grid took before: one Trainer per run on a pool of threads
  (experiment.BATCH_MIN_SEEDS and LANES raised so that run_experiment takes it for every run).

Each is timed on all cores (jobs = cores) and on one (jobs = 1), interleaved over several rounds
in one process (the machine is shared: min and median are printed, and the process's CPU time over
the wall time of the fastest round, the cores it actually got: near 1 on "all cores" means other
programs held the other cores, and the wall time says little). Also printed:

* the ratio of each to the notebook's torch loop (bench_engine.time_notebook: steps/s at width 20,
  mode all, extrapolated to the grid's run-steps);
* achieved GFLOP/s against the machine's peak. Flops counted are the useful float32 operations of
  an SGD step on a minibatch of B points and H units: all layers ~10 H B (forward x w1 + b1 and
  w2 h + acc: 4; backward w2's gradient 2, t = g w2: 1, w1's 2, b1's 1), output layer only ~6 H B
  (forward 4, w2's gradient 2); ReLUs, gates, recomputation, losses and snapshots not counted.
  Peak = cores x GHz (/proc/cpuinfo "cpu MHz") x float32 lanes of the widest FMA (16 with
  AVX-512, 8 with AVX2) x 2 (an FMA is 2 flops). The kernels use no FMA (the documented rounding
  of x w1 + b1 and a fixed summation order), so half the peak is the practical ceiling;
* the share of one thread's CPU time that minibatch draws and snapshots take in the batched path
  (draws timed apart from the kernels; snapshots by the difference to a run that keeps none);
* each thread's CPU time in its draws and kernels in one more batched run on all cores: their
  balance, and (their maximum) about the wall time when the cores are free for it - the figure to
  read when "cores used" says the machine was busy.
"""
from __future__ import annotations

import argparse
import collections
import os
import threading
import platform
import statistics
import time

import numpy as np

import relu_studio as rs
from relu_studio.core import experiment
from relu_studio.core.batch_training import LANES, RunRequest, _Block, _Stream
from relu_studio.core.training import divergence_bound

WIDTHS, MODES = (10, 20, 40), ("output", "all", "ridge")
FLOPS_PER_UNIT_POINT = {"all": 10, "output": 6}


def cpu_peak() -> tuple[float, str]:
    """(peak GFLOP/s, how it was computed) from /proc/cpuinfo."""
    cores = os.cpu_count() or 1
    mhz, flags = 0.0, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz") and not mhz:
                    mhz = float(line.split(":")[1])
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":")[1].split())
    except OSError:
        pass
    lanes = 16 if "avx512f" in flags else 8 if "fma" in flags else 4
    ghz = mhz / 1000 or float("nan")
    peak = cores * ghz * lanes * 2
    return peak, f"{cores} cores x {ghz:.2f} GHz x {lanes} float32 FMA lanes x 2 = {peak:.0f} GFLOP/s"


def grid_flops(seeds: int, steps: int, batch: int) -> float:
    return sum(FLOPS_PER_UNIT_POINT[m] * w * batch * steps * seeds
               for w in WIDTHS for m in ("output", "all"))


def time_grid(data, seeds, steps, jobs, batched: bool) -> float:
    old = experiment.BATCH_MIN_SEEDS, experiment.LANES
    if not batched:  # no block is ever full or big enough: every run alone
        experiment.BATCH_MIN_SEEDS, experiment.LANES = 10**9, 10**9
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        res = rs.run_experiment(data, widths=WIDTHS, modes=MODES, seeds=seeds, steps=steps,
                                save_every=1000, jobs=jobs)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        experiment.BATCH_MIN_SEEDS, experiment.LANES = old
    assert res.complete and not res.cancelled
    return wall, cpu


def shares(data, seeds: int, steps: int) -> dict:
    """One thread's CPU time in the batched path: draws, kernels, and kernels without snapshots."""
    x32, y32 = data.x.astype(np.float32), data.y.astype(np.float32)
    arrays = (x32, y32, data.x_test.astype(np.float32), data.y_test.astype(np.float32))
    bound = divergence_bound(y32)
    out = {}
    for label, save_every in (("snapshots every 1000", 1000), ("no snapshots", 10**9)):
        draw = kern = 0.0
        for first in range(0, seeds, LANES):
            block_seeds = list(range(first, min(seeds, first + LANES)))
            stream = _Stream(block_seeds, x32, y32, data.n // 5)
            blocks = [_Block([RunRequest(s, rs.init_network(w, s), m, rs.DEFAULT_LR[m], s)
                              for s in block_seeds], arrays, steps, data.n // 5, save_every, bound)
                      for w in WIDTHS for m in ("output", "all")]
            done = 0
            while done < steps:
                k = min(1000, steps - done)
                t = time.thread_time()
                xb, yb = stream.draw(k)
                draw += time.thread_time() - t
                t = time.thread_time()
                for b in blocks:
                    b.advance(xb, yb)
                kern += time.thread_time() - t
                done += k
        out[label] = (draw, kern)
    return out


def per_thread_cpu(data, seeds: int, steps: int, jobs: int) -> tuple[list[float], float]:
    """One batched grid on ``jobs`` threads: each thread's CPU time in draws and kernels (the
    time it waits for the other's half of a shared draw is not CPU time), and the wall time."""
    from relu_studio.core import batch_training as bt

    cpu: dict = collections.defaultdict(float)
    advance, draw = bt._Block.advance, bt._Stream.draw

    def timed(f):
        def run(*a, **k):
            t = time.thread_time()
            try:
                return f(*a, **k)
            finally:
                cpu[threading.get_ident()] += time.thread_time() - t
        return run

    bt._Block.advance, bt._Stream.draw = timed(advance), timed(draw)
    try:
        wall = time_grid(data, seeds, steps, jobs, True)[0]
    finally:
        bt._Block.advance, bt._Stream.draw = advance, draw
    return sorted(cpu.values(), reverse=True), wall


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=150_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[10, 30])
    ap.add_argument("--notebook-steps", type=int, default=3000)
    ap.add_argument("--quick", action="store_true", help="small sizes, to check the script runs")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.steps, args.seeds, args.notebook_steps = 1, 3000, [3], 300
    cores = os.cpu_count() or 1
    peak, peak_how = cpu_peak()
    print(f"python {platform.python_version()}, numpy {np.__version__}, relu_studio {rs.__version__}, "
          f"{cores} cores; lanes per block {LANES}")
    print(f"peak: {peak_how}")
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
    batch = data.n // 5

    try:
        import torch

        from bench_engine import time_notebook

        torch.set_num_threads(1)
        nb_rate = time_notebook(data, 20, "all", args.notebook_steps, save_every=1000)
        print(f"notebook (torch eager, 1 thread), width 20, mode all: {nb_rate:,.0f} steps/s")
    except ImportError:
        nb_rate = None
        print("notebook: torch not installed, ratios to the notebook left out")

    rs.run_experiment(data, widths=(3,), modes=("output", "all"), seeds=2, steps=50)  # JIT / cache
    rs.run_experiment(data, widths=(3,), modes=("output", "all"), seeds=1, steps=50)

    cases = [(s, j, b) for s in args.seeds for j in (cores, 1) for b in (True, False)]
    times = {c: [] for c in cases}
    cpu = {}  # the CPU time of each case's fastest round
    for r in range(args.rounds):
        for c in cases:
            wall, used = time_grid(data, c[0], args.steps, c[1], c[2])
            if not times[c] or wall < min(times[c]):
                cpu[c] = used
            times[c].append(wall)
        print(f"round {r + 1}/{args.rounds} done", flush=True)

    print()
    print(f"grid: widths {WIDTHS} x output/all (+ ridge) x seeds, {args.steps:,} steps, batch {batch}, "
          f"a snapshot every 1000 steps; {args.rounds} rounds, interleaved; min / median wall")
    for seeds in args.seeds:
        runs = 6 * seeds
        gflop = grid_flops(seeds, args.steps, batch) / 1e9
        for jobs in (cores, 1):
            b = times[(seeds, jobs, True)]
            o = times[(seeds, jobs, False)]
            bmin, bmed, omin, omed = min(b), statistics.median(b), min(o), statistics.median(o)
            where = f"{jobs} thread{'s' if jobs != 1 else ''}"
            line = (f"{seeds:>2} seeds ({runs} runs, {gflop:.0f} GFLOP), {where}: batched {bmin:.2f} / "
                    f"{bmed:.2f} s, per run {omin:.2f} / {omed:.2f} s -> {omin / bmin:.1f}x faster (min), "
                    f"{omed / bmed:.1f}x (median); {gflop / bmin:.1f} GFLOP/s = "
                    f"{100 * gflop / bmin / (peak * jobs / cores):.1f} % of {jobs}-core peak; "
                    f"cores used (CPU / wall) {cpu[(seeds, jobs, True)] / bmin:.2f} batched, "
                    f"{cpu[(seeds, jobs, False)] / omin:.2f} per run")
            if nb_rate:
                nb = runs * args.steps / nb_rate
                line += f"; vs the notebook's loop ({nb / 60:.0f} min): {nb / bmin:,.0f}x"
            print(line)

    seeds = args.seeds[0]
    print()
    print(f"where one thread's CPU time goes in the batched path ({seeds} seeds, {args.steps:,} steps):")
    sh = shares(data, seeds, args.steps)
    draw, kern = sh["snapshots every 1000"]
    _d0, kern0 = sh["no snapshots"]
    total = draw + kern
    snap = kern - kern0
    print(f"  total {total:.2f} s: minibatch draws {draw:.2f} s ({100 * draw / total:.1f} %), kernels "
          f"{kern:.2f} s ({kern0:.2f} s when they keep no snapshot: snapshots, 151 per run with the "
          f"train/full/test MSE, {snap:+.2f} s = {100 * snap / total:+.1f} %, i.e. within the noise "
          f"when near 0)")


    print()
    print(f"each thread's CPU time in draws and kernels, one batched run on {cores} threads "
          f"(about the wall time when the cores are free):")
    for seeds in args.seeds:
        per, wall = per_thread_cpu(data, seeds, args.steps, cores)
        print(f"  {seeds:>2} seeds: " + (", ".join(f"{t:.2f} s" for t in per) or "no batched block")
              + f" (wall {wall:.2f} s in this run)")


if __name__ == "__main__":
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
