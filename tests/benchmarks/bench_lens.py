"""What the theory lens costs (a script, not a test).

    python tests/benchmarks/bench_lens.py [--seconds 5] [--width 40]

Measures, side by side in one process:
- the lens's cost per frame at the given width: the canvas frame (presenter draw + paint) with
  the lens's arrows vs without, and the lens panel's redraw, which runs at most every 100 ms
  while training (so its share of a 60 Hz frame is a sixth of its time);
- frames drawn per second while training at full speed, lens off vs on with each of the panel's
  parts on screen (as bench_gui.py counts them: canvas redraws; alternated, two rounds), and the
  training rate reached in each;
- a 200 x 200 loss slice at that width (a pair of one unit, and a separable pair).
Bars (issue 15): the lens adds under 2 ms per frame, the GUI keeps >= 30 fps with it on, a
200 x 200 slice takes well under 100 ms.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # as the app sets it (relu_studio.app), before numpy loads

import numpy as np  # noqa: E402
from bench_gui import frames_while_training  # noqa: E402  (how bench_gui.py counts frames)
from PySide6.QtWidgets import QApplication  # noqa: E402


def best_ms(fn, repeat: int = 30) -> tuple[float, float]:
    """(median, min) of ``repeat`` timings of ``fn()`` in ms."""
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1000)
    return float(np.median(t)), float(np.min(t))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--width", type=int, default=40)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    import relu_studio as rs
    from relu_studio.core.pace import FULL_SPEED
    from relu_studio.ui.lens_presenter import LENS_LIVE_MS
    from relu_studio.ui.main_window import MainWindow

    data = rs.make_dataset()
    net = rs.init_network(args.width, 0)
    run = rs.train(net, data, mode="all", steps=20_000, save_every=1000)
    nets = [run.snapshot(i) for i in range(len(run))]

    # ---- core: the pieces
    print(f"width {args.width}, n = {data.n}")
    for name, fn in (
        ("elbow velocity (every frame)", lambda: rs.elbow_velocity(nets[-1], data)),
        ("gradient features, k = 4", lambda: rs.gradient_features(nets[-1], data, k=4)),
        ("ridge distances, 21 snapshots", lambda: rs.ridge_distances(run, data)),
        ("200x200 slice elbow x slope (one unit)", lambda: rs.loss_slice(nets[-1], data, ("elbow", 5), ("slope", 5))),
        ("200x200 slice w2 x b2 (separable)", lambda: rs.loss_slice(nets[-1], data, ("w2", 5), "b2")),
        ("200x200 slice, given ranges (no coarse pass)",
         lambda: rs.loss_slice(nets[-1], data, ("elbow", 5), ("slope", 5), (0, 1), (-2, 2))),
    ):
        med, low = best_ms(fn)
        print(f"  {name:46s}: {med:7.2f} ms median, {low:6.2f} ms best")

    # ---- the window: a frame with and without the lens
    win = MainWindow(ask_to_save=False, autosave=False)
    win.resize(1600, 950)
    win.show()
    c = win.c
    c.set_pace(FULL_SPEED)
    c.reinitialise(args.width, 0)
    app.processEvents()
    lens_p = win.presenters["lens"]
    i = [0]

    def frame(with_lens: bool):
        # a new network on screen, as a live frame brings: the canvas presenter's draw (and the
        # lens's arrows), then the canvas painted
        net_i = nets[i[0] % len(nets)]
        i[0] += 1
        win.canvas.show_network(net_i, net_i.dead_units(data.x))
        if with_lens:
            v = rs.elbow_velocity(net_i, data, lr=c.settings.current_lr, mode="all")
            win.canvas.set_lens(v, "")
        win.canvas.viewport().repaint()

    win.action("lens").setChecked(False)
    app.processEvents()
    off = best_ms(lambda: frame(False), 60)
    win.action("lens").setChecked(True)
    app.processEvents()
    on = best_ms(lambda: frame(True), 60)
    panel = best_ms(lambda: (lens_p.draw(), win.lens_panel.repaint()), 20)
    extra = on[0] - off[0]
    print(f"canvas frame without the lens          : {off[0]:7.2f} ms median")
    print(f"canvas frame with the lens's arrows    : {on[0]:7.2f} ms median  (+{extra:.2f} ms, "
          f"ratio {on[0] / off[0]:.2f})")
    share = panel[0] * (1000 / 60) / LENS_LIVE_MS
    print(f"lens panel redraw (<= every {LENS_LIVE_MS} ms)    : {panel[0]:7.2f} ms median; per 60 Hz frame "
          f"{share:.2f} ms")
    print(f"lens cost per frame (arrows + panel share): {max(extra, 0) + share:.2f} ms   (bar < 2 ms)")

    # ---- frames per second while training at full speed, lens off vs on
    # alternated (off, on, off, on ...): the history grows during the whole measurement, and a
    # busy machine drifts, so neither setting gets the later, heavier rounds
    c.set_setting("steps", 500_000_000)
    results = {False: [], True: [], "ridge": [], "slice": []}
    for _round in range(2):
        for key in (False, True, "ridge", "slice"):
            win.action("lens").setChecked(key is not False)
            win.lens_panel.show_part(key if isinstance(key, str) else "features")
            results[key].append(frames_while_training(app, win, args.seconds)[:2])
    off = np.median([f for f, _r in results[False]])
    for key, label in ((False, "lens off"), (True, "lens on, gradient features"),
                       ("ridge", "lens on, distance to ridge"), ("slice", "lens on, loss slice")):
        fps = [f for f, _r in results[key]]
        rate = np.median([r for _f, r in results[key]])
        print(f"frames/s training at full speed, {label:27s}: {' '.join(f'{f:5.1f}' for f in fps)}"
              f"   ({rate:,.0f} steps/s)   ratio to off {np.median(fps) / off:.2f}")
    print("(bar: >= 30 frames/s with the lens on)")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
