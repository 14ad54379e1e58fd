"""``relu-studio --self-test``: the window, offscreen, through one short lesson; exit 0 if all is well."""
from __future__ import annotations

import os
import sys
import time

import numpy as np


def _wait(app, cond, timeout):
    t0 = time.perf_counter()
    while not cond():
        if time.perf_counter() - t0 > timeout:
            return False
        app.processEvents()
        time.sleep(0.002)
    return True


def run_self_test(timeout: float = 120.0) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    from .core.pace import FULL_SPEED
    from .core.ridge import fit_ridge
    from .ui.main_window import MainWindow

    checks: list[tuple[str, bool, str]] = []

    def check(name, ok, detail=""):
        checks.append((name, bool(ok), detail))
        print(f"[{'ok' if ok else 'FAIL'}] {name}{': ' + detail if detail else ''}", flush=True)
        return ok

    win = MainWindow(ask_to_save=False, autosave=False)
    c = win.c
    c.set_pace(FULL_SPEED)  # the user's pace preference is for watching, not for checking
    # The worker prepares the kernel once the window is up and reports either signal; a failure
    # (e.g. the kernel cannot be compiled) ends the self-test at once, with the worker's reason.
    ready: list[float] = []
    failed: list[str] = []
    c.bridge.worker.warmedUp.connect(ready.append)
    c.bridge.worker.failed.connect(failed.append)
    win.show()
    try:
        check("window opened", _wait(app, lambda: win.isVisible(), 10))
        _wait(app, lambda: ready or failed, timeout)
        if not check("training kernel ready", ready and not failed, _kernel_detail(ready, failed)):
            return _finish(app, win, checks)
        recorded = []
        c.runRecorded.connect(lambda: recorded.append(1))
        c.set_setting("steps", 20_000)
        c.set_setting("save_every", 1000)
        c.start()
        ok = _wait(app, lambda: (recorded and c.run_state == "idle") or failed, timeout)
        check("trained 20,000 steps", ok and not failed and c.history.step(len(c.history) - 1) == 20_000,
              "; ".join(failed) or f"{len(c.history)} snapshots")
        before = c.network
        err = c.fit_ridge_now()
        want = fit_ridge(before, c.data, c.settings.lam)
        check("ridge fit equals the core's", err is None and c.network.equals(want))
        mid = len(c.history) // 2
        win.flush_views()
        win.timeline.set_index(mid)  # what a drag of the slider does
        win.flush_views()
        net = c.history.network(mid)
        xs, ys = win.canvas.prediction_data()
        check("scrubbing shows that snapshot", c.shown_index == mid and np.allclose(ys, net.predict(xs), rtol=0, atol=1e-6)
              and c.network.equals(want), f"snapshot {mid}, step {c.history.step(mid):,}")
        import tempfile

        from .core.io.animation import write_gif
        from .ui.exporting import render_frames

        with tempfile.TemporaryDirectory() as tmp:
            frames = list(render_frames(c.history, c.data, [0, mid, len(c.history) - 1], 320, False,
                                        True, ((0, 1), (-2.5, 2.5))))
            out = write_gif(frames, os.path.join(tmp, "playback.gif"), fps=5)
            from PIL import Image

            with Image.open(out) as gif:
                check("animation export writes a GIF", gif.n_frames == 3, f"{gif.size[0]}x{gif.size[1]}, 3 frames")
    except Exception as exc:  # report, never hang
        check("no exception", False, repr(exc))
    return _finish(app, win, checks)


def _kernel_detail(ready: list[float], failed: list[str]) -> str:
    if failed:
        return failed[0]
    if not ready:
        return "no answer from the training worker"
    from .core import jit_cache

    choice = jit_cache.current()
    return f"{ready[0]:.1f} s; " + (choice.describe() if choice else "JIT cache: unknown")


def _finish(app, win, checks) -> int:
    from .core.kernel_preparation import KERNELS

    win.close()
    app.processEvents()
    KERNELS.finish(60.0)  # the grid's kernels compile after the studio's: into the cache too
    failed = [n for n, ok, _d in checks if not ok]
    print("self-test " + ("passed" if not failed else "FAILED: " + ", ".join(failed)), flush=True)
    return 0 if not failed else 1
