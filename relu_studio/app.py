"""Entry point of the desktop app: ``relu-studio [--self-test] [run ...]``."""
from __future__ import annotations

import argparse
import os
import sys
import time

from .core.process import seconds_since_start
from .resources import resource_path

_SINCE_START = seconds_since_start()
#: perf_counter() reading at process creation (at this module's import where /proc is unavailable).
_T0 = time.perf_counter() - (_SINCE_START or 0.0)
_T0_ORIGIN = "process start" if _SINCE_START is not None else "app module import"


def _app_icon():
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for size in (16, 32, 48, 64, 128, 256):
        path = resource_path("icons", "hicolor", f"{size}x{size}", "apps", "relu-studio.png")
        if os.path.exists(path):
            icon.addFile(path)
    return icon


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="relu-studio",
        description="ReLU Studio: watch and shape how a one-hidden-layer ReLU network fits a 1-D function. "
                    "'relu-studio run --help' runs experiments headless.")
    p.add_argument("--self-test", action="store_true",
                   help="open the window offscreen, train briefly, fit ridge, scrub; exit 0 on success")
    p.add_argument("--startup-report", action="store_true",
                   help="print the time from process start to the main window's first paint, then quit")
    p.add_argument("--check-torch", action="store_true",
                   help="save and load a small state dict with torch (weights_only=True); exit 0 on success")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("--install-desktop-entry", action="store_true",
                   help="add ReLU Studio to the application menu and let it open .relustudio files "
                        "(writes under $XDG_DATA_HOME, default ~/.local/share), then exit")
    p.add_argument("--uninstall-desktop-entry", action="store_true",
                   help="remove what --install-desktop-entry wrote, then exit")
    p.add_argument("file", nargs="?", metavar="FILE.relustudio", help="a session to open")
    return p


def check_torch() -> int:
    """Exercise the torch calls that .pt import/export uses: a state dict saved (zip and legacy
    formats) and loaded back with ``torch.load(..., map_location="cpu", weights_only=True)``, a
    notebook-style history, and the refusal of a file that holds anything but tensors."""
    import pickle
    import tempfile
    from collections import OrderedDict

    t0 = time.perf_counter()
    import torch

    from .core.network import Network, init_network

    net = init_network(3, 0)
    sd = OrderedDict((k, torch.tensor(v)) for k, v in net.to_state_dict().items())
    history = [(1, 0.5, 0.25, sd), (1000, 0.125, 0.0625, sd)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, obj, zipped in (("state dict", sd, True), ("legacy state dict", sd, False),
                                  ("history", history, True)):
            path = os.path.join(tmp, name.replace(" ", "_") + ".pt")
            torch.save(obj, path, _use_new_zipfile_serialization=zipped)
            with open(path, "rb") as f:
                results[name] = torch.load(f, map_location="cpu", weights_only=True)
        unsafe = os.path.join(tmp, "unsafe.pt")
        torch.save({"0.weight": argparse.Namespace(code="not a tensor")}, unsafe)
        try:
            torch.load(unsafe, map_location="cpu", weights_only=True)
            refused = False
        except pickle.UnpicklingError:
            refused = True
    loaded = results["state dict"]
    plain = all(v.layout == torch.strided and not v.is_quantized and not v.is_complex()
                and v.dtype == torch.float32 for v in loaded.values())
    ok = (plain and refused and Network.from_state_dict(loaded).equals(net)
          and Network.from_state_dict(results["legacy state dict"]).equals(net)
          and Network.from_state_dict(results["history"][-1][3]).equals(net))
    print(f"torch check: {'ok' if ok else 'FAILED'}: torch {torch.__version__}, keys {', '.join(loaded)}, "
          f"zip, legacy and history files round-trip, non-tensor file {'refused' if refused else 'LOADED'}, "
          f"{time.perf_counter() - t0:.2f} s", flush=True)
    return 0 if ok else 1


def _report_first_paint(app, win) -> None:
    """Print ``startup: first paint X.XXX s`` once the window's first frame is painted, then quit."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint:
                win.removeEventFilter(self)
                QTimer.singleShot(0, report)  # after this paint and its flush have finished
            return False

    def report():
        t = time.perf_counter() - _T0
        loaded = " ".join(f"{m}={'yes' if m in sys.modules else 'no'}" for m in ("torch", "numba"))
        icon = ", ".join(str(z.width()) for z in app.windowIcon().availableSizes())
        try:
            print(f"startup: first paint {t:.3f} s (since {_T0_ORIGIN})\n"
                  f"startup: modules loaded at first paint: {loaded}\n"
                  f"startup: window icon sizes: {icon}\n"
                  f"startup: platform {app.platformName()}, BLAS threads: {_blas_threads()}\n"
                  f"startup: window title: {win.windowTitle()}", flush=True)
        finally:  # quit even if stdout is gone (e.g. piped into head)
            win.close()
            app.quit()

    win._first_paint_filter = FirstPaint(win)
    win.installEventFilter(win._first_paint_filter)


def _blas_threads() -> str:
    """The BLAS libraries numpy loaded and their thread counts ("unknown" without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in pools) or "none"


def _small_blas_for_the_gui() -> None:
    """One BLAS thread for the window's small solves (a ridge fit per drag event is a 200 x 200
    system). With OpenBLAS's default of one thread per core they wait on each other and on the
    training thread: 16 ms instead of 0.5 ms per solve here. Must run before numpy is imported;
    a value the user set is kept."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def main(argv=None) -> int:
    """``relu-studio``: the window (or ``run ...``, ``--self-test``, ...); returns the exit status."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl+C while starting up: no traceback
        print("\nrelu-studio: interrupted", file=sys.stderr)
        return 130


def _main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "run":
        from .cli import main as cli_main

        return cli_main(argv[1:], prog="relu-studio run")
    _small_blas_for_the_gui()
    args = _parser().parse_args(argv)
    if args.version:
        from . import __version__

        print(f"relu-studio {__version__}")
        return 0
    if args.install_desktop_entry or args.uninstall_desktop_entry:
        from . import desktop_entry

        try:
            desktop_entry.install() if args.install_desktop_entry else desktop_entry.uninstall()
        except (OSError, ValueError) as exc:
            print(f"relu-studio: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.check_torch:
        return check_torch()
    from .display_check import check_display, has_display

    if (args.self_test or args.startup_report) and not os.environ.get("QT_QPA_PLATFORM") \
            and not has_display(os.environ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # they need no screen: draw offscreen
    if args.self_test:
        from .self_test import run_self_test

        return run_self_test()
    problem = check_display()
    if problem is not None:  # Qt would abort the process (SIGABRT) with a misleading message
        print(f"relu-studio: {problem}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("ReLU Studio")
    app.setOrganizationName("ReLU Studio")
    app.setDesktopFileName("relu-studio")
    app.setWindowIcon(_app_icon())
    from .ui.main_window import MainWindow

    win = MainWindow(remember_geometry=True)
    from .ui.error_dialog import install_excepthook

    install_excepthook(lambda: win)
    if args.file:  # e.g. from the desktop entry's %f; a file that cannot be opened is reported in the window
        win.files.open_path(os.path.abspath(args.file))
    if args.startup_report:
        _report_first_paint(app, win)
    win.show()
    if not args.startup_report:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, win, win.files.offer_recovery)  # after the window is up
    code = app.exec()
    # The window is gone. A worker thread that did not end within its close bound, or the first
    # kernel compile, may still be finishing: let them, briefly, rather than end the process
    # under them (a QThread destroyed while it runs aborts it).
    from .core.training import KERNELS
    from .training_worker import finish_stray_threads

    finish_stray_threads(30.0)
    KERNELS.finish(60.0)
    return code


if __name__ == "__main__":
    sys.exit(main())
