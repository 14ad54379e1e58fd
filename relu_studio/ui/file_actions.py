"""The File menu: sessions (new, open, recent, save), autosave and recovery, imports and exports.

Everything that reads or writes goes through the core (session, torch_io, history_io,
animation_io); this module only asks the user, reports and keeps the window title honest.
A failed open or import says what is wrong and leaves the session untouched.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import shiboken6

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from ..core import autosave
from ..core.dataset import DataError, load_csv
from ..core.history_io import atomic_write_text, export_data_csv, export_history_csv
from ..core.session import SUFFIX, SessionFileError, load_session, save_session

MAX_RECENT = 8
SESSION_FILTER = f"ReLU Studio sessions (*{SUFFIX})"
PT_FILTER = "PyTorch state dicts (*.pt *.pth)"


def app_settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "relu-studio", "relu-studio")


class FileActions(QObject):
    """Owns the File menu's actions for one main window."""

    def __init__(self, window, ask_to_save: bool = True, autosave_enabled: bool = True):
        super().__init__(window)
        self.w = window
        self.c = window.c
        self.path: Path | None = None
        self.ask_to_save = ask_to_save
        self.autosave_enabled = autosave_enabled
        self._autosaved_index = None
        self._autosave_thread: threading.Thread | None = None
        self.last_autosave_time: float | None = None
        self._make_actions()
        self.c.undo_stack.cleanChanged.connect(self._stack_changed)
        self.c.undo_stack.indexChanged.connect(self._stack_changed)
        self._timer = QTimer(self)
        self._timer.setObjectName("relu-autosave-timer")
        self._timer.setInterval(int(autosave.AUTOSAVE_INTERVAL * 1000))
        self._timer.timeout.connect(self.autosave_now)
        if autosave_enabled:
            self._timer.start()
        self.update_title()

    # ------------------------------------------------------------------ menu
    def _make_actions(self):
        w = self.w

        def act(text, key, slot, tip=""):
            a = QAction(text, w)
            if key is not None:
                a.setShortcut(QKeySequence(key))
            if tip:
                a.setToolTip(tip)
                a.setStatusTip(tip)
            a.triggered.connect(slot)
            return a

        K = QKeySequence.StandardKey
        self.act_new = act("&New", K.New, self.new_session, "Start over with the notebook's defaults")
        self.act_open = act("&Open…", K.Open, self.open_dialog)
        self.act_save = act("&Save", K.Save, self.save)
        self.act_save_as = act("Save &As…", "Ctrl+Shift+S", self.save_as)
        self.recent_menu = QMenu("Open &Recent", w)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.import_menu = QMenu("&Import", w)
        self.import_menu.addAction(act("Network as initial (.pt)…", None, lambda: self.import_network(True),
                                       "A state dict of nn.Sequential(Linear(1,H), ReLU(), Linear(H,1))"))
        self.import_menu.addAction(act("Network as current (.pt)…", None, lambda: self.import_network(False)))
        self.import_menu.addAction(act("Notebook history (.pt)…", None, self.import_history,
                                       "A dict step -> {'state', 'train_error', 'test_error'} saved with torch.save"))
        self.import_menu.addAction(act("Data points (CSV)…", None, self.import_csv))
        self.export_menu = QMenu("&Export", w)
        for label, slot in (("Canvas as PNG…", lambda: self.export_figure(w.canvas, "png")),
                            ("Canvas as SVG…", lambda: self.export_figure(w.canvas, "svg")),
                            ("Loss pane as PNG…", lambda: self.export_figure(w.loss, "png")),
                            ("Loss pane as SVG…", lambda: self.export_figure(w.loss, "svg")),
                            (None, None),
                            ("Training animation (GIF/MP4)…", self.export_animation),
                            (None, None),
                            ("Data points (CSV)…", self.export_data_csv),
                            ("History (CSV)…", self.export_history_csv),
                            (None, None),
                            ("Current network (.pt)…", lambda: self.export_network(current=True)),
                            ("Shown snapshot's network (.pt)…", lambda: self.export_network(current=False))):
            if label is None:
                self.export_menu.addSeparator()
            else:
                self.export_menu.addAction(act(label, None, slot))
        m = w.menuBar().actions()[0].menu()  # the File menu made by the window
        first = m.actions()[0] if m.actions() else None
        for item in (self.act_new, self.act_open, self.recent_menu, None, self.act_save, self.act_save_as,
                     None, self.import_menu, self.export_menu, None):
            if item is None:
                m.insertSeparator(first)
            elif isinstance(item, QMenu):
                m.insertMenu(first, item)
            else:
                m.insertAction(first, item)
        for a in (self.act_new, self.act_open, self.act_save, self.act_save_as):
            w.addAction(a)

    # ------------------------------------------------------------------ title and state
    @property
    def modified(self) -> bool:
        return not self.c.undo_stack.isClean()

    def _stack_changed(self, *_):
        if shiboken6.isValid(self.w):  # the stack also reports while the window is being destroyed
            self.update_title()

    def update_title(self):
        name = self.path.name if self.path else "Untitled"
        self.w.setWindowTitle(f"{name}[*] — ReLU Studio")
        self.w.setWindowModified(self.modified)

    def session(self):
        return self.c.to_session(view=self.w.view_state(), compare=self.w.compare_state(),
                                 compare_runs=self.w.compare_runs())

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
        from ..core.session import Session

        self.c.load_session(Session.from_settings())
        self.w.apply_view_state({})
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
        """Open a session file; on failure say why and keep the current session."""
        try:
            session = load_session(path)
        except (SessionFileError, OSError) as exc:
            self._error(f"Could not open {Path(path).name}: {exc}")
            return False
        self.c.load_session(session)
        self.w.apply_view_state(session.view)
        self.w.restore_compare(session.compare, session.compare_runs)
        self.path = Path(path)
        self.c.undo_stack.setClean()
        if remember:
            self._remember(self.path)
        self.update_title()
        self.c.message.emit(f"Opened {self.path.name}.", "info")
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
            self._error(f"Could not save {Path(path).name}: {exc}")
            return False
        self.path = Path(path)
        self.c.undo_stack.setClean()
        self._remember(self.path)
        self.update_title()
        self.c.message.emit(f"Saved {self.path.name}.", "info")
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
    def autosave_now(self, force: bool = False) -> bool:
        """Write the session to the autosave file in a background thread, if anything changed."""
        if not self.autosave_enabled:
            return False
        key = (self.c.undo_stack.index(), self.c.last_snapshot.serial if self.c.busy and self.c.last_snapshot else None)
        if not force and key == self._autosaved_index:
            return False
        if self._autosave_thread is not None and self._autosave_thread.is_alive():
            return False
        session = self.session()  # immutable core objects: safe to write from another thread
        self._autosaved_index = key

        def write():
            try:
                autosave.write_autosave(session)
                self.last_autosave_time = time.time()
            except (OSError, ValueError, TypeError):
                pass  # autosave is best effort; the next interval tries again

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
        restored = False
        if answer == QMessageBox.StandardButton.Yes:
            try:
                session = load_session(path)
            except (SessionFileError, OSError) as exc:
                self._error(f"The autosaved session could not be restored: {exc}")
            else:
                self.c.load_session(session)
                self.w.apply_view_state(session.view)
                self.w.restore_compare(session.compare, session.compare_runs)
                self.path = None
                self.c.undo_stack.resetClean()  # restored work is not saved anywhere yet
                self.update_title()
                self.c.message.emit("Restored the autosaved session. Save it to keep it.", "info")
                restored = True
        autosave.discard_recovery(path)
        return restored

    # ------------------------------------------------------------------ imports
    def _open_name(self, title, filt):
        path, _ = QFileDialog.getOpenFileName(self.w, title, self._dir(), filt)
        return path

    def import_network(self, as_initial: bool, path=None):
        path = path or self._open_name("Import network", PT_FILTER)
        if not path:
            return
        from ..core.torch_io import TorchFileError, load_network_pt  # imports torch

        try:
            net = load_network_pt(path)
        except (TorchFileError, OSError) as exc:
            self._error(f"Could not import {Path(path).name}: {exc}")
            return
        self.c.import_network(net, as_initial)
        self.c.message.emit(f"Imported a width-{net.width} network from {Path(path).name}.", "info")

    def import_history(self, path=None):
        path = path or self._open_name("Import notebook history", PT_FILTER)
        if not path:
            return
        from ..core.torch_io import TorchFileError, load_notebook_history

        try:
            hist = load_notebook_history(path, data=self.c.data)
        except (TorchFileError, OSError) as exc:
            self._error(f"Could not import {Path(path).name}: {exc}")
            return
        self.c.import_history(hist)
        self.c.message.emit(f"Imported {len(hist)} snapshots from {Path(path).name}.", "info")

    def import_csv(self, path=None):
        path = path or self._open_name("Import data points", "CSV files (*.csv *.txt);;All files (*)")
        if not path:
            return
        try:
            data = load_csv(path)
        except DataError as exc:
            self._error(str(exc))
            return
        self.c.import_data(data, f"Import data from {Path(path).name}")

    # ------------------------------------------------------------------ exports
    def _save_name(self, title, suggested, filt):
        path, _ = QFileDialog.getSaveFileName(self.w, title, str(Path(self._dir()) / suggested), filt)
        return path

    def export_figure(self, plot, fmt: str, path=None, width=None, dpi=None):
        from .exporting import PngOptions, export_png, export_svg

        if fmt == "png" and (width is None or dpi is None):
            dlg = PngOptions(max(1200, plot.width() * 2), self.w)
            if not dlg.exec():
                return
            width, dpi = dlg.width_px.value(), dlg.dpi.currentData()
        name = "canvas" if plot is self.w.canvas else "loss"
        path = path or self._save_name("Export figure", f"{name}.{fmt}", f"{fmt.upper()} (*.{fmt})")
        if not path:
            return
        try:
            out = export_png(plot, path, width, dpi) if fmt == "png" else export_svg(plot, path)
        except OSError as exc:
            self._error(f"Could not export: {exc}")
            return
        self.c.message.emit(f"Exported {Path(out).name}.", "info")

    def export_animation(self):
        from ..core.animation_io import AnimationError
        from .exporting import AnimationOptions, export_animation

        hist = self.c.history
        opts = AnimationOptions(len(hist), self.w)
        if not opts.exec():
            return
        ext = opts.fmt.currentData()
        path = self._save_name("Export animation", f"training.{ext}", f"{ext.upper()} (*.{ext})")
        if not path:
            return
        try:
            out = export_animation(self.w, hist, self.c.data, opts, path, self.w.canvas.scaled,
                                   self.w.canvas.units_visible, self.w.canvas.vb.viewRange())
        except (AnimationError, OSError) as exc:
            self._error(str(exc))
            return
        self.c.message.emit("Animation export cancelled." if out is None else f"Exported {Path(out).name}.", "info")

    def export_data_csv(self, path=None):
        path = path or self._save_name("Export data points", "data.csv", "CSV (*.csv)")
        if path:
            self._write_text(path, export_data_csv(self.c.data))

    def export_history_csv(self, path=None):
        path = path or self._save_name("Export history", "history.csv", "CSV (*.csv)")
        if path:
            self._write_text(path, export_history_csv(self.c.history))

    def export_network(self, current: bool, path=None):
        net = self.c.network if current else self.w.displayed_network()
        path = path or self._save_name("Export network", "network.pt", PT_FILTER)
        if not path:
            return
        from ..core.torch_io import export_state_dict

        try:
            export_state_dict(net, path)
        except OSError as exc:
            self._error(f"Could not export: {exc}")
            return
        self.c.message.emit(f"Exported the network to {Path(path).name} (load it with "
                            "net.load_state_dict(torch.load(path, weights_only=True))).", "info")

    def _write_text(self, path, text):
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            self._error(f"Could not write {Path(path).name}: {exc.strerror or exc}")
            return
        self.c.message.emit(f"Exported {Path(path).name}.", "info")

    def _error(self, text: str):
        self.c.message.emit(text, "error")
