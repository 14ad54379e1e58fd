"""Errors nobody expected: shown in a dialog with the details, and the session kept.

Qt calls ``sys.excepthook`` for an exception that escapes a slot and then goes on; without a hook
the user sees nothing (or a traceback in a terminal they do not have). The hook shows what went
wrong, with the traceback under *Show Details*, and suggests saving; the window and its work stay.
"""
from __future__ import annotations

import sys
import traceback

from PySide6.QtWidgets import QApplication, QMessageBox

__all__ = ["install_excepthook", "show_error"]

_showing = False


def show_error(exc_type, exc, tb, parent=None) -> None:
    """One dialog for one unexpected error (a second one while it is open is only printed)."""
    global _showing
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    print(details, file=sys.stderr, flush=True)
    if _showing or QApplication.instance() is None:
        return
    _showing = True
    try:
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("ReLU Studio: an unexpected error")
        box.setText(f"Something went wrong: {exc_type.__name__}: {exc}")
        box.setInformativeText("Your session is still open and nothing in it was changed by the "
                               "error. Saving it now (Ctrl+S) is a good idea; the details below "
                               "help to report the problem.")
        box.setDetailedText(details)
        box.exec()
    finally:
        _showing = False


def install_excepthook(parent_getter=lambda: None) -> None:
    """Route uncaught exceptions (except Ctrl+C) to :func:`show_error`."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            return previous(exc_type, exc, tb)
        show_error(exc_type, exc, tb, parent_getter())

    sys.excepthook = hook
