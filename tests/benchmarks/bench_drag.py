"""Time per drag event with ridge follow on: solve + redraw + paint (a script, not a test).

    python tests/benchmarks/bench_drag.py [--events 120]

Drags an elbow with real mouse events (pyqtgraph's rate limit off) at widths 20, 200 and 1000,
each move followed by the repaint it causes, and prints the time per event. Bar (issue 4):
<= 16 ms per event at width 1000.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as relu_studio.app sets it for the window
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gui"))

import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=120)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    import gui_mouse as mouse
    from relu_studio.ui.main_window import MainWindow

    win = MainWindow(ask_to_save=False, autosave=False)
    win.resize(1400, 900)
    win.show()
    c, cv = win.c, win.canvas
    mouse.prepare(cv)
    win.action("follow").setChecked(True)
    warmed = []
    c.bridge.worker.warmedUp.connect(warmed.append)
    t0 = time.perf_counter()
    while not warmed and time.perf_counter() - t0 < 60:  # the kernel warm-up would compete
        app.processEvents()
        time.sleep(0.01)
    print(f"{'width':>6} {'ms/event':>9} {'p95 ms':>7} {'solve ms':>9}   (ridge follow on, {args.events} events)")
    for width in (20, 200, 1000):
        c.reinitialise(width, 0)
        for _ in range(5):
            app.processEvents()
        net = c.network
        e = net.elbows
        j = int(np.nonzero((e > 0.3) & (e < 0.7))[0][0])
        start = mouse.to_pixel(cv, e[j], 0.0)
        mouse.press(cv, start)
        app.processEvents()
        times, solve = [], []
        for k in range(args.events):
            t0 = time.perf_counter()
            mouse.move(cv, start + QPointF(1 + (k % 60), 0))
            ts = time.perf_counter()
            app.processEvents()  # the repaint this event caused
            t1 = time.perf_counter()
            times.append(t1 - t0)
            solve.append(ts - t0)
        mouse.release(cv, start + QPointF(1, 0))
        app.processEvents()
        t = np.array(times) * 1000
        print(f"{width:>6} {np.median(t):9.2f} {np.percentile(t, 95):7.2f} {np.median(solve) * 1000:9.2f}")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
