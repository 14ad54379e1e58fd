"""Speed of the Compare view's grid, headless and through the GUI worker (a script, not a test).

    python tests/benchmarks/bench_compare.py [--repeat 3] [--skip-gui]

Measures, on the notebook's data:
- the default grid (widths 10 20 40 x modes output/all/ridge x 1 seed x 150 000 steps) and the
  same grid with 10 seeds, headless (``run_experiment`` on all cores) and through the Compare
  view (Run grid -> every cell drawn, the GUI polling the worker at 10 Hz);
- the cost of moving the shared timeline with 5 widths x 3 modes of small multiples: updating
  every cell, and updating plus painting them.
Bars (the issue): default grid about a second; 10 seeds well under ten seconds.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def timed(fn, repeat):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def fmt(ts):
    return (f"median {statistics.median(ts):.3f} s  (min {min(ts):.3f}, max {max(ts):.3f}, "
            f"n={len(ts)})")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-gui", action="store_true")
    args = ap.parse_args()

    import relu_studio as rs
    from relu_studio.core.experiment import run_experiment

    data = rs.make_dataset()
    run_experiment(data, widths=(3,), modes=("all",), steps=100)  # load / compile the kernel
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores: os.cpu_count() = {os.cpu_count()}; load average {load:.2f}; "
          f"python {sys.version.split()[0]}")
    total_steps = 3 * 2 * 150_000
    res = {}
    for seeds in (1, 10):
        ts = timed(lambda: run_experiment(data, seeds=seeds), args.repeat if seeds == 1 else max(1, args.repeat - 1))
        res[("headless", seeds)] = ts
        rate = total_steps * seeds / statistics.median(ts)
        print(f"headless run_experiment, 3 widths x 3 modes x {seeds:>2} seed(s) x 150k steps: "
              f"{fmt(ts)}  [{rate / 1e6:.2f} M model-steps/s]")
    serial = timed(lambda: run_experiment(data, seeds=1, jobs=1), args.repeat)
    print(f"  for scale: the default grid on one thread (jobs=1): {fmt(serial)}  "
          f"[parallel speed-up {statistics.median(serial) / statistics.median(res[('headless', 1)]):.2f} x]")

    if args.skip_gui:
        return 0
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from relu_studio.ui.compare_controller import CompareController
    from relu_studio.ui.compare_view import CompareView

    view = CompareView(CompareController(lambda: data))
    view.resize(1400, 900)
    view.show()
    app.processEvents()

    def gui_grid(seeds, widths="10 20 40"):
        view.widths.editor.setText(widths)
        view.seeds.setValue(seeds)
        view.steps.setValue(150_000)
        done = []
        view.c.gridFinished.connect(done.append)
        t0 = time.perf_counter()
        assert view.run_grid() is None
        while not done:
            app.processEvents()
            time.sleep(0.002)
        app.processEvents()  # the last cells drawn
        dt = time.perf_counter() - t0
        view.c.gridFinished.disconnect(done.append)
        assert not view.c.result.cancelled
        return dt

    for seeds in (1, 10):
        ts = [gui_grid(seeds) for _ in range(args.repeat if seeds == 1 else max(1, args.repeat - 1))]
        h = statistics.median(res[("headless", seeds)])
        print(f"GUI worker (Run grid -> all cells drawn), {seeds:>2} seed(s): {fmt(ts)}  "
              f"[{statistics.median(ts) / h:.2f} x headless]")

    # Scrubbing: 5 widths x 3 modes of small multiples.
    gui_grid(1, widths="5 10 20 40 80")
    n = len(view.c.steps)
    order = list(range(n - 1, -1, -1))
    t0 = time.perf_counter()
    for i in order:
        view.c.set_step_index(i)
    update = (time.perf_counter() - t0) / n
    vp = view.small.viewport()
    t0 = time.perf_counter()
    for i in order:
        view.c.set_step_index(i)
        vp.repaint()  # paint now, synchronously
    painted = (time.perf_counter() - t0) / n
    print(f"scrubbing 5 widths x 3 modes ({n} snapshots): update every cell {1000 * update:.2f} ms, "
          f"update + paint {1000 * painted:.2f} ms per step  (~{1 / painted:.0f} steps/s)")
    view.c.shutdown()
    view.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
