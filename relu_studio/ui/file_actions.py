"""The File menu's work: sessions (new, open, recent, save), autosave and recovery, imports and
exports.

Everything that reads or writes goes through the core (``core.io``); this module only asks the
user, reports and keeps the window title honest. An open or import is read and checked whole
before anything changes, so a failed one says what is wrong and leaves the session as it was.
The actions themselves are declared in :mod:`.actions`; :meth:`FileActions.handlers` connects them.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from ..core.dataset import DataError
from ..core.io import autosave
from ..core.io.atomic import atomic_write_text
from ..core.io.data_csv import data_to_csv, load_csv
from ..core.io.run_files import export_history_csv
from ..core.io.session import (
    SUFFIX,
    Session,
    SessionFileError,
    load_session,
    save_session,
)

MAX_RECENT = 8
#: Seconds between autosaves while a run trains.
RUN_AUTOSAVE_INTERVAL = 1.0
SESSION_FILTER = f"ReLU Studio sessions (*{SUFFIX})"
PT_FILTER = "PyTorch state dicts (*.pt *.pth)"


def reason(exc: BaseException) -> str:
    """An error as a user reads it: an OS error's words and the file, without its errno."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
    return str(exc)


def app_settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "relu-studio", "relu-studio")


class FileActions(QObject):
    """The file work of one main window (see the module docstring)."""

    def __init__(self, window, ask_to_save: bool = True, autosave_enabled: bool = True):
        super().__init__(window)
        self.w = window
        self.c = window.c
        self.path: Path | None = None
        self.ask_to_save = ask_to_save
        self.autosave_enabled = autosave_enabled
        self._autosaved_index = None
        self._autosave_thread: threading.Thread | None = None
        self._autosave_error: str | None = None  # set by the writer thread
        self._reported_error: str | None = None
        self._write_seconds = 0.0  # how long the last autosave took
        self._compare_unsaved = False  # a Compare grid finished since the last save
        self.recent_menu = QMenu("Open &Recent", window)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.c.undo_stack.cleanChanged.connect(self._stack_changed)
        self.c.undo_stack.indexChanged.connect(self._stack_changed)
        self._timer = QTimer(self)
        self._timer.setObjectName("relu-autosave-timer")
        self._timer.setInterval(int(autosave.AUTOSAVE_INTERVAL * 1000))
        self._timer.timeout.connect(self.autosave_now)
        if autosave_enabled:
            self._timer.start()
        self.c.runStateChanged.connect(self._run_state_changed)
        window.compare_controller.gridFinished.connect(self._grid_finished)
        self.update_title()

    def handlers(self) -> dict:
        """Action name -> slot, for :func:`~relu_studio.ui.actions.build_actions`."""
        w = self.w
        return {
            "new": self.new_session, "open": self.open_dialog, "save": self.save,
            "save_as": self.save_as,
            "import_initial": lambda: self.import_network(True),
            "import_current": lambda: self.import_network(False),
            "import_history": self.import_history, "import_csv": self.import_csv,
            "export_canvas_png": lambda: self.export_figure(w.canvas, "png"),
            "export_canvas_svg": lambda: self.export_figure(w.canvas, "svg"),
            "export_loss_png": lambda: self.export_figure(w.loss, "png"),
            "export_loss_svg": lambda: self.export_figure(w.loss, "svg"),
            "export_figure_png": lambda: self.export_figure(None, "png"),
            "export_figure_svg": lambda: self.export_figure(None, "svg"),
            "export_animation": self.export_animation,
            "export_data_csv": self.export_data_csv, "export_history_csv": self.export_history_csv,
            "export_current_pt": lambda: self.export_network(current=True),
            "export_shown_pt": lambda: self.export_network(current=False),
        }

    # ------------------------------------------------------------------ title and state
    @property
    def modified(self) -> bool:
        """Unsaved work: an undo step since the last save, a run in progress or paused (not yet
        an undo step), or a Compare grid run since the last save."""
        return not self.c.undo_stack.isClean() or self.c.busy or self._compare_unsaved

    def _grid_finished(self, result):
        if result is not None and result.runs:
            self._compare_unsaved = True
            self.update_title()

    def _run_state_changed(self, state: str):
        self.update_title()
        # While a run trains, autosave every second (a crash loses at most about that much),
        # unless writing takes long: then at most a tenth of the time goes to it.
        fast = max(RUN_AUTOSAVE_INTERVAL, 10 * self._write_seconds)
        self.set_autosave_interval(fast if state == "running" else autosave.AUTOSAVE_INTERVAL)

    def _stack_changed(self, *_):
        if shiboken6.isValid(self.w):  # the stack also reports while the window is being destroyed
            self.update_title()

    def update_title(self):
        name = self.path.name if self.path else "Untitled"
        self.w.setWindowTitle(f"{name}[*] — ReLU Studio")
        self.w.setWindowModified(self.modified)

    def session(self) -> Session:
        """The whole session as core objects (a run in progress is included so far)."""
        st = self.c.state
        cmp = self.w.compare_controller
        result = cmp.result
        history, resume = self.c.saved_run()
        return Session(settings=st.settings, data=st.data, initial=st.initial,
                       history=history, resume=resume, view=self.w.view_state(),
                       grid=cmp.settings, compare_view=cmp.view_state(),
                       compare_runs=dict(result.runs) if result is not None else {},
                       compare_data=result.data if result is not None and result.data is not st.data else None)

    def apply_session(self, session: Session) -> None:
        """Put a (fully read and checked) session in place: the studio, its view and Compare."""
        self.c.load(session.settings, session.data, session.initial, session.history, session.resume)
        self.w.apply_view_state(session.view)
        self.w.compare_controller.restore(session.grid, session.compare_view, session.compare_runs,
                                          session.compare_data or session.data)

    # ------------------------------------------------------------------ new / open / save
    def maybe_save(self) -> bool:
        """Before discarding changes: True to go on, False to stay (the user cancelled)."""
        if not self.modified or not self.ask_to_save:
            return True
        name = self.path.name if self.path else "this session"
        answer = QMessageBox.question(
            self.w, "Unsaved changes", f"Save the changes to {name}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_session(self):
        if not self.maybe_save():
            return
        self.apply_session(Session.from_settings())
        self._compare_unsaved = False
        self.path = None
        self.c.undo_stack.setClean()
        self.update_title()

    def open_dialog(self):
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self.w, "Open session", self._dir(), SESSION_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path, remember: bool = True) -> bool:
        """Open a session file; on failure say why and keep the current session as it was."""
        try:
            session = load_session(path)
        except (SessionFileError, OSError) as exc:
            self._error(f"Could not open the session: {reason(exc)}")
            return False
        self.apply_session(session)
        self._compare_unsaved = False
        self.path = Path(path)
        self.c.undo_stack.setClean()
        if remember:
            self._remember(self.path)
        self.update_title()
        self.c.say(f"Opened {self.path.name}.")
        return True

    def save(self) -> bool:
        return self.save_to(self.path) if self.path else self.save_as()

    def save_as(self) -> bool:
        start = str(self.path) if self.path else str(Path(self._dir()) / f"session{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.w, "Save session", start, SESSION_FILTER)
        if not path:
            return False
        if not path.endswith(SUFFIX):
            path += SUFFIX
        return self.save_to(path)

    def save_to(self, path) -> bool:
        try:
            save_session(self.session(), path)
        except (OSError, ValueError, TypeError) as exc:
            self._error(f"Could not save {Path(path).name}: {reason(exc)}")
            return False
        self.path = Path(path)
        self._compare_unsaved = False
        self.c.undo_stack.setClean()
        self._remember(self.path)
        self.update_title()
        self.c.say(f"Saved {self.path.name}.")
        return True

    # ------------------------------------------------------------------ recent files
    def recent(self) -> list[str]:
        v = app_settings().value("recent", [])
        if isinstance(v, str):
            v = [v]
        return [p for p in (v or []) if isinstance(p, str)]

    def _remember(self, path: Path):
        items = [str(path)] + [p for p in self.recent() if p != str(path)]
        app_settings().setValue("recent", items[:MAX_RECENT])
        app_settings().setValue("last_dir", str(path.parent))

    def _dir(self) -> str:
        return str(app_settings().value("last_dir", str(Path.home())))

    def _fill_recent(self):
        self.recent_menu.clear()
        items = self.recent()
        if not items:
            a = self.recent_menu.addAction("(none)")
            a.setEnabled(False)
            return
        for i, p in enumerate(items, 1):
            a = self.recent_menu.addAction(f"&{i} {Path(p).name}")
            a.setToolTip(p)
            a.setEnabled(Path(p).exists())
            a.triggered.connect(lambda _=False, p=p: self.maybe_save() and self.open_path(p))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear list", lambda: app_settings().setValue("recent", []))

    # ------------------------------------------------------------------ autosave
    def set_autosave_interval(self, seconds: float) -> None:
        self._timer.setInterval(max(100, int(seconds * 1000)))

    def autosave_now(self, force: bool = False) -> bool:
        """Write the session to the autosave file in a background thread, if anything changed.
        A write that failed is reported once (the reason, and what to do)."""
        if not self.autosave_enabled:
            return False
        err = self._autosave_error
        if err is not None and err != self._reported_error:
            self._reported_error = err
            self.c.say(f"Autosave failed: {err}. Your work is not being saved automatically: "
                       "save it yourself (Ctrl+S).", "warning")
        snap = self.c.last_snapshot
        key = (self.c.undo_stack.index(), snap.serial if self.c.busy and snap else None)
        if not force and key == self._autosaved_index:
            return False
        if self._autosave_thread is not None and self._autosave_thread.is_alive():
            return False
        session = self.session()  # immutable core objects: safe to write from another thread
        self._autosaved_index = key

        def write():
            t0 = time.perf_counter()
            try:
                autosave.write_autosave(session)
            except OSError as exc:  # the next interval tries again; the GUI says so once
                self._autosave_error = f"{exc.strerror or exc} ({autosave.autosave_dir()})"
            except (ValueError, TypeError) as exc:
                self._autosave_error = str(exc)
            else:
                self._autosave_error = self._reported_error = None
            self._write_seconds = time.perf_counter() - t0

        self._autosave_thread = threading.Thread(target=write, name="relu-autosave", daemon=True)
        self._autosave_thread.start()
        return True

    def finish(self, clean: bool = True):
        """Window closing: stop the timer, wait for a write in progress, drop the autosave."""
        self._timer.stop()
        self.c.undo_stack.cleanChanged.disconnect(self._stack_changed)
        self.c.undo_stack.indexChanged.disconnect(self._stack_changed)
        if self._autosave_thread is not None:
            self._autosave_thread.join(timeout=10)
        if clean and self.autosave_enabled:
            autosave.mark_clean_exit()

    def offer_recovery(self) -> bool:
        """At start-up: if an earlier instance died with unsaved work, offer to restore it."""
        path = autosave.find_recovery()
        if path is None:
            return False
        when = datetime.fromtimestamp(path.stat().st_mtime)
        answer = QMessageBox.question(
            self.w, "Restore the last session?",
            "ReLU Studio did not close properly last time. Restore the session autosaved at "
            f"{when:%H:%M:%S} on {when:%d %b %Y}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            autosave.discard_recovery(path)  # declined: an explicit discard
            return False
        try:
            session = load_session(path)
        except (SessionFileError, OSError) as exc:
            try:  # never deleted: a newer version (or a repair) may still read it
                kept = autosave.set_aside(path)
                where = f" It is kept as {kept}."
            except (OSError, ValueError):
                where = f" It is still at {path}."
            self._error(f"The autosaved session could not be restored: {exc}.{where}")
            return False
        autosave.discard_recovery(path)
        self.apply_session(session)
        self.path = None
        self.c.undo_stack.resetClean()  # restored work is not saved anywhere yet
        self.update_title()
        self.c.say("Restored the autosaved session. Save it to keep it.")
        return True

    # ------------------------------------------------------------------ imports
    def _open_name(self, title, filt):
        path, _ = QFileDialog.getOpenFileName(self.w, title, self._dir(), filt)
        return path

    def import_network(self, as_initial: bool, path=None):
        path = path or self._open_name("Import network", PT_FILTER)
        if not path:
            return
        from ..core.io.torch_files import TorchFileError, load_network_pt

        try:
            net = load_network_pt(path)
        except (TorchFileError, OSError) as exc:
            self._error(f"Could not import the network: {reason(exc)}")
            return
        self.c.import_network(net, as_initial)
        self.c.say(f"Imported a width-{net.width} network from {Path(path).name}.")

    def import_history(self, path=None):
        path = path or self._open_name("Import notebook history", PT_FILTER)
        if not path:
            return
        from ..core.io.torch_files import TorchFileError, load_notebook_history

        try:
            hist = load_notebook_history(path, data=self.c.data)
        except (TorchFileError, OSError) as exc:
            self._error(f"Could not import the history: {reason(exc)}")
            return
        self.c.import_history(hist)
        self.c.say(f"Imported {len(hist)} snapshots from {Path(path).name}.")

    def import_csv(self, path=None):
        path = path or self._open_name("Import data points", "CSV files (*.csv *.txt);;All files (*)")
        if not path:
            return
        try:
            data = load_csv(path)
        except DataError as exc:  # the message names the file (and the line) once
            self._error(f"Could not import the data points: {exc}")
            return
        self.c.import_data(data, f"Import data from {Path(path).name}")

    # ------------------------------------------------------------------ exports
    def _save_name(self, title, suggested, filt):
        path, _ = QFileDialog.getSaveFileName(self.w, title, str(Path(self._dir()) / suggested), filt)
        return path

    def export_figure(self, plot, fmt: str, path=None, width=None, dpi=None):
        """Export ``plot`` (the canvas or the loss pane; None: both, the canvas above the loss
        pane) as a figure: the canvas without editing handles, selection or hover."""
        from .exporting import (
            PngOptions,
            export_figure_png,
            export_figure_svg,
            export_png,
            export_svg,
        )

        w = self.w
        w.flush_views()  # what the views show is up to date
        if fmt == "png" and (width is None or dpi is None):
            dlg = PngOptions(max(1200, (plot or w.canvas).width() * 2), self.w)
            if not dlg.exec():
                return
            width, dpi = dlg.width_px.value(), dlg.dpi.currentData()
        name = {id(w.canvas): "canvas", id(w.loss): "loss"}.get(id(plot), "figure")
        path = path or self._save_name("Export figure", f"{name}.{fmt}", f"{fmt.upper()} (*.{fmt})")
        if not path:
            return
        try:
            if plot is None:
                out = (export_figure_png(w.canvas, w.loss, path, width, dpi) if fmt == "png"
                       else export_figure_svg(w.canvas, w.loss, path))
            else:
                out = export_png(plot, path, width, dpi) if fmt == "png" else export_svg(plot, path)
        except OSError as exc:
            self._error(f"Could not export {Path(path).name}: {reason(exc)}")
            return
        self.c.say(f"Exported {Path(out).name}.")

    def export_animation(self, path=None, accept=None):
        """Ask for the range (in steps), frames and format, then render and write the animation.
        ``accept(dialog)`` (tests) fills in the dialog instead of showing it."""
        from ..core.io.animation import AnimationError
        from .exporting import AnimationOptions, export_animation

        self.w.flush_views()
        hist = self.c.history
        steps = hist.curves()[0]
        opts = AnimationOptions(steps, self.w)
        if not (accept(opts) if accept is not None else opts.exec()):
            return
        ext = opts.fmt.currentData()
        path = path or self._save_name("Export animation", f"training.{ext}", f"{ext.upper()} (*.{ext})")
        if not path:
            return
        canvas = self.w.canvas
        try:
            out = export_animation(self.w, hist, self.c.data, opts, path, canvas.scaled,
                                   canvas.units_visible, canvas.vb.viewRange(), like=canvas,
                                   lam=self.c.settings.lam)
        except (AnimationError, OSError) as exc:
            self._error(str(exc))
            return
        self.c.say("Animation export cancelled." if out is None else f"Exported {Path(out).name}.")

    def export_data_csv(self, path=None):
        path = path or self._save_name("Export data points", "data.csv", "CSV (*.csv)")
        if path:
            self._write_text(path, data_to_csv(self.c.data))

    def export_history_csv(self, path=None):
        path = path or self._save_name("Export history", "history.csv", "CSV (*.csv)")
        if path:
            self._write_text(path, export_history_csv(self.c.history))

    def export_network(self, current: bool, path=None):
        net = self.c.network if current else self.c.shown_network
        path = path or self._save_name("Export network", "network.pt", PT_FILTER)
        if not path:
            return
        from ..core.io.torch_files import export_message, export_state_dict

        try:
            export_state_dict(net, path)
        except OSError as exc:
            self._error(f"Could not export {Path(path).name}: {reason(exc)}")
            return
        self.c.say(export_message(net, Path(path).name))

    def _write_text(self, path, text):
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            self._error(f"Could not write {Path(path).name}: {reason(exc)}")
            return
        self.c.say(f"Exported {Path(path).name}.")

    def _error(self, text: str):
        self.c.say(text, "error")
