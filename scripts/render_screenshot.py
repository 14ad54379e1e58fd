"""Render the README's pictures: the studio after the notebook's 150 000-step run, a short
animation of that run (elbows migrating to the target's kinks), and Compare after the notebook's
grid. Offscreen, on a 1920x1080 screen, in a 1400x900 window.

    python scripts/render_screenshot.py [--png resources/screenshot.png]
        [--gif resources/training.gif] [--compare resources/compare.png]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":  # a desktop-sized screen
    _fd, _config = tempfile.mkstemp(suffix=".json")
    with os.fdopen(_fd, "w") as f:
        json.dump({"screens": [{"name": "render", "x": 0, "y": 0, "width": 1920, "height": 1080,
                                "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}, f)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_config}"

from PySide6.QtWidgets import QApplication  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--png", default="resources/screenshot.png")
    ap.add_argument("--gif", default="resources/training.gif")
    ap.add_argument("--compare", default="resources/compare.png")
    ap.add_argument("--frames", type=int, default=36)
    ap.add_argument("--gif-width", type=int, default=560)
    args = ap.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    from relu_studio.core.pace import FULL_SPEED
    from relu_studio.ui.main_window import MainWindow

    win = MainWindow(ask_to_save=False, autosave=False)
    win.resize(1400, 900)
    win.show()
    c = win.c
    c.set_pace(FULL_SPEED)  # the finished run, whatever the user's pace preference
    assert c.start() is None
    t0 = time.time()
    while (c.run_state != "idle" or len(c.history) < 2) and time.time() - t0 < 120:
        app.processEvents()
        time.sleep(0.005)
    for _ in range(20):
        app.processEvents()
    win.flush_views()
    png = Path(args.png)
    png.parent.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(png))
    print(f"wrote {png}")

    def fill(opts):  # the export dialog, answered: the whole run, log spacing, small
        opts.frames.setValue(args.frames)
        opts.spacing.setCurrentIndex(opts.spacing.findData("log"))
        opts.width_px.setValue(args.gif_width)
        opts.fps.setValue(12)
        opts.with_loss.setChecked(True)
        return True

    win.files.export_animation(path=args.gif, accept=fill)
    print(f"wrote {args.gif}")

    win.tabs.setCurrentIndex(1)  # Compare: the notebook's grid, widths 10 20 40 x three modes
    done = []
    win.compare_controller.gridFinished.connect(done.append)
    assert win.compare.run_grid() is None
    t0 = time.time()
    while not done and time.time() - t0 < 300:
        app.processEvents()
        time.sleep(0.005)
    for _ in range(20):
        app.processEvents()
    win.grab().save(args.compare)
    print(f"wrote {args.compare}")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
