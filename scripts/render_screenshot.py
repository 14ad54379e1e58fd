"""Render the README screenshot: the notebook's defaults after a full 150 000-step run.

    python scripts/render_screenshot.py [out.png]
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402


def main(out: str) -> int:
    app = QApplication.instance() or QApplication([])
    from relu_studio.core.pace import FULL_SPEED
    from relu_studio.ui.main_window import MainWindow

    win = MainWindow(ask_to_save=False, autosave=False)
    win.resize(1400, 900)
    win.show()
    c = win.c
    c.set_pace(FULL_SPEED)  # the finished run, whatever the user's pace preference
    c.start()
    t0 = time.time()
    while (c.state != "idle" or len(c.history) < 2) and time.time() - t0 < 120:
        app.processEvents()
        time.sleep(0.005)
    for _ in range(20):
        app.processEvents()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    win.grab().save(out)
    print(f"wrote {out}")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "resources/screenshot.png"))
