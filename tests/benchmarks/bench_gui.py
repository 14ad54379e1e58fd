"""GUI responsiveness while the worker trains at full speed (a script, not a test).

    python tests/benchmarks/bench_gui.py [--seconds 6] [--width 20]

Measures, in one process and one run:
- frames drawn per second (live refreshes of canvas + loss pane),
- UI latency: every 10 ms a zero-timeout timer is posted and the delay until it fires is recorded
  (p50 / p95 / max),
- training throughput in the GUI as a fraction of the same run headless (steps/s ratio).
Bars (issue 3): >= 30 frames/s, p95 latency <= 30 ms, GUI throughput >= 70 % of headless.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def headless_rate(net, data, width_steps: int) -> float:
    from relu_studio.core.training import Trainer

    tr = Trainer(net, data, mode="all", steps=width_steps, save_every=1000, seed=0)
    t0 = time.perf_counter()
    tr.advance()
    return width_steps / (time.perf_counter() - t0)


def frames_while_training(app, win, seconds: float, probe_timer=None) -> tuple[float, float, float]:
    """Train in ``win`` at full speed for ``seconds`` (after a second for the chunk size to
    settle): (canvas frames drawn per second, training steps per second, seconds measured).
    ``probe_timer`` runs while it measures."""
    c = win.c
    redraws = win.presenters["canvas"].redraw  # a frame: the canvas redrawn
    c.start()
    while c.last_snapshot is None:
        app.processEvents()
    t_settle = time.perf_counter()
    while time.perf_counter() - t_settle < 1.0:
        app.processEvents()
    frames0, step0 = redraws.count, c.last_snapshot.step
    if probe_timer is not None:
        probe_timer.start()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.0005)  # an idle event loop would block here; keep the probe honest
    elapsed = time.perf_counter() - t0
    if probe_timer is not None:
        probe_timer.stop()
    frames1, step1 = redraws.count, c.last_snapshot.step
    c.stop()
    while c.run_state != "idle":
        app.processEvents()
    return (frames1 - frames0) / elapsed, (step1 - step0) / elapsed, elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--width", type=int, default=20)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    from relu_studio.core.dataset import make_dataset
    from relu_studio.core.network import init_network
    from relu_studio.core.pace import FULL_SPEED
    from relu_studio.ui.main_window import MainWindow

    data = make_dataset()
    net = init_network(args.width, 0)
    headless_rate(net, data, 2000)  # compile / load the kernel
    win = MainWindow(ask_to_save=False, autosave=False)
    win.resize(1400, 900)
    win.show()
    c = win.c
    c.set_pace(FULL_SPEED)  # throughput at full speed, whatever the user's pace preference
    c.reinitialise(args.width, 0)

    delays: list[float] = []

    def probe():
        posted = time.perf_counter()
        QTimer.singleShot(0, lambda: delays.append(time.perf_counter() - posted))

    probe_timer = QTimer()
    probe_timer.setInterval(10)
    probe_timer.timeout.connect(probe)

    c.set_setting("steps", 500_000_000)
    c.set_setting("save_every", 1000)
    fps, gui_rate, elapsed = frames_while_training(app, win, args.seconds, probe_timer)
    win.close()

    head = headless_rate(net, data, max(50_000, int(gui_rate * 2)))
    d = np.array(delays) * 1000
    print(f"width {args.width}, {elapsed:.1f} s of training with the window open")
    print(f"frames drawn per second : {fps:7.1f}   (bar >= 30)")
    print(f"UI latency p50 / p95 / max: {np.percentile(d, 50):.2f} / {np.percentile(d, 95):.2f} / "
          f"{d.max():.2f} ms over {d.size} probes   (bar p95 <= 30 ms)")
    print(f"training steps/s in GUI : {gui_rate:12,.0f}")
    print(f"training steps/s headless: {head:12,.0f}")
    print(f"GUI / headless throughput: {gui_rate / head:7.1%}   (bar >= 70 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
