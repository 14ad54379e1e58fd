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
                    "'relu-studio run --help' runs experiments headless, 'relu-studio sweep --help' sweeps.")
    p.add_argument("--self-test", action="store_true",
                   help="open the window offscreen, train briefly, fit ridge, scrub; exit 0 on success")
    p.add_argument("--startup-report", action="store_true",
                   help="print the time from process start to the main window's first paint, then quit")
    p.add_argument("--check-pt", action="store_true",
                   help="write and read back .pt files (zip and legacy formats, a network and a history) "
                        "and refuse one that holds an object; exit 0 on success")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("--install-desktop-entry", action="store_true",
                   help="add ReLU Studio to the application menu and let it open .relustudio files "
                        "(writes under $XDG_DATA_HOME, default ~/.local/share), then exit")
    p.add_argument("--uninstall-desktop-entry", action="store_true",
                   help="remove what --install-desktop-entry wrote, then exit")
    p.add_argument("file", nargs="?", metavar="FILE.relustudio", help="a session to open")
    return p


def check_pt() -> int:
    """Exercise what .pt import and export use, without torch: a network exported (zip format,
    with its checksum) and imported back, a state dict and a notebook-style history written in
    torch's zip and legacy formats and read back, and the refusal of a file that holds an object
    other than tensors. torch must not be imported on the way."""
    import pickle
    import tempfile
    import zipfile
    from collections import OrderedDict

    from .core.io.pt_format import write_pt
    from .core.io.torch_files import TorchFileError, export_state_dict, load_network_pt, load_notebook_history
    from .core.network import init_network

    t0 = time.perf_counter()
    net = init_network(3, 0)
    sd = OrderedDict(net.to_state_dict())
    history = {1: {"state": sd, "train_error": 0.5, "test_error": 0.25},
               1000: {"state": sd, "train_error": 0.125, "test_error": 0.0625}}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "exported.pt")
        export_state_dict(net, path)
        results["export"] = load_network_pt(path, expected_width=3).equals(net)
        for legacy in (False, True):
            fmt = "legacy" if legacy else "zip"
            for name, obj in (("state dict", sd), ("history", history)):
                path = os.path.join(tmp, f"{fmt}_{name.replace(' ', '_')}.pt")
                with open(path, "wb") as f:
                    f.write(write_pt(obj, legacy=legacy))
                if name == "history":
                    h = load_notebook_history(path, expected_width=3)
                    results[f"{fmt} {name}"] = h.steps.tolist() == [1, 1000] and h.network(1).equals(net)
                else:
                    results[f"{fmt} {name}"] = load_network_pt(path).equals(net)
        unsafe = os.path.join(tmp, "unsafe.pt")
        with zipfile.ZipFile(unsafe, "w") as zf:
            zf.writestr("unsafe/data.pkl", pickle.dumps({"0.weight": argparse.Namespace(code="not a tensor")},
                                                       protocol=2))
        try:
            load_network_pt(unsafe)
            refused = False
        except TorchFileError as exc:
            refused = "refused" in str(exc) and "argparse.Namespace" in str(exc)
    no_torch = "torch" not in sys.modules
    ok = all(results.values()) and refused and no_torch
    failed = [k for k, v in results.items() if not v]
    print(f"pt check: {'ok' if ok else 'FAILED'}: network export, zip and legacy state dicts and histories "
          f"{'round-trip' if not failed else 'FAIL: ' + ', '.join(failed)}, non-tensor file "
          f"{'refused' if refused else 'LOADED'}, torch {'not imported' if no_torch else 'IMPORTED'}, "
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
    if argv and argv[0] == "sweep":
        from .sweep_cli import main as sweep_main

        return sweep_main(argv[1:], prog="relu-studio sweep")
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
    if args.check_pt:
        return check_pt()
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
    from .core.kernel_preparation import KERNELS
    from .training_worker import finish_stray_threads

    finish_stray_threads(30.0)
    KERNELS.finish(60.0)
    return code


if __name__ == "__main__":
    sys.exit(main())
