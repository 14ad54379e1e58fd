"""Entry point of the desktop app: ``relu-studio [--self-test] [run ...]``."""
from __future__ import annotations

import argparse
import sys
import time

_T0 = time.perf_counter()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="relu-studio",
        description="ReLU Studio: watch and shape how a one-hidden-layer ReLU network fits a 1-D function. "
                    "'relu-studio run --help' runs experiments headless.")
    p.add_argument("--self-test", action="store_true",
                   help="open the window offscreen, train briefly, fit ridge, scrub; exit 0 on success")
    p.add_argument("--startup-report", action="store_true",
                   help="print how long the first window paint took, then quit")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "run":
        from .cli import main as cli_main

        return cli_main(argv[1:])
    args = _parser().parse_args(argv)
    if args.version:
        from . import __version__

        print(f"relu-studio {__version__}")
        return 0
    if args.self_test:
        from .self_test import run_self_test

        return run_self_test()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("ReLU Studio")
    app.setOrganizationName("ReLU Studio")
    from .ui.main_window import MainWindow

    win = MainWindow()
    win.show()
    if args.startup_report:
        def report():
            print(f"first window painted after {time.perf_counter() - _T0:.3f} s (from process start of app module)")
            win.close()
        QTimer.singleShot(0, report)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
