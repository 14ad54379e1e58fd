"""Sweeps: runs/s on the local pool vs a Dask LocalCluster, and Dask's scheduling cost per run.

1 000 short runs (width 8, mode all, 200 SGD steps, n = 40; 1 000 seeds), measured side by side:
- local: LocalExecutor (threads, both cores)
- Dask: a LocalCluster of 2 worker processes (started before timing), batched tasks
- Dask unbatched: one run per task, for the per-task overhead
The overhead per run is (Dask wall - local wall) / runs for each batching. Run:
    python tests/benchmarks/bench_sweep.py
"""
from __future__ import annotations

import os
import tempfile
import time

from relu_studio.core.sweep_dask import DaskExecutor
from relu_studio.core.sweep_run import LocalExecutor, make_batches, run_sweep
from relu_studio.core.sweep_spec import SweepSpec, expand

RUNS = 1000


def timed(executor, runs, **kw):
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        out = run_sweep(runs, d, executor, parquet=False, **kw)
        wall = time.perf_counter() - t
    assert out.ran == len(runs)
    return wall


def main():
    spec = SweepSpec.from_values({"width": 8, "mode": "all", "steps": 200, "n": 40, "seed": f"0:{RUNS - 1}"},
                                 {"save_every": 100})
    runs = expand(spec)
    timed(LocalExecutor(2), runs[:20])  # compile / load the kernel
    local = timed(LocalExecutor(2), runs)
    with DaskExecutor(local_workers=2) as ex:
        timed(ex, runs[:20])  # the workers load the kernel
        batches = len(make_batches(runs, ex.workers))
        dask = timed(ex, runs)
        import relu_studio.core.sweep_run as sr
        keep = sr.make_batches
        sr.make_batches = lambda todo, workers: [[r] for r in todo]  # one run per task
        try:
            single = timed(ex, runs)
        finally:
            sr.make_batches = keep
    print(f"{RUNS} runs (width 8, all layers, 200 steps, n 40) on {os.cpu_count()} cores")
    print(f"local pool (2 threads):          {local:6.2f} s  {RUNS / local:8.1f} runs/s")
    print(f"Dask LocalCluster(2), {batches:3d} tasks: {dask:6.2f} s  {RUNS / dask:8.1f} runs/s  "
          f"ratio local/Dask {dask / local:.2f}")
    print(f"Dask LocalCluster(2), 1 run/task: {single:6.2f} s  {RUNS / single:8.1f} runs/s")
    print(f"scheduling overhead per run: batched {1e3 * (dask - local) / RUNS:.2f} ms, "
          f"unbatched {1e3 * (single - local) / RUNS:.2f} ms")


if __name__ == "__main__":
    main()
