"""The main window: parameter panel and unit table (docks), canvas over loss pane, timeline,
menus, toolbar and status bar."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QScrollArea,
                               QSplitter, QStyle, QTabWidget, QToolBar, QVBoxLayout, QWidget)

from ..core.experiment import experiment_from_runs
from ..core.network import Network
from ..worker import IDLE, PAUSED, RUNNING
from .about import about_qt, show_about
from .canvas import Canvas
from .compare_view import CompareView
from .controller import StudioController
from .edit_tool import EditTool
from .file_actions import FileActions
from .loss_pane import LossPane
from .parameter_panel import ParameterPanel
from .timeline import Timeline
from .unit_table import UnitTable

#: During training the ridge reference line is recomputed at most this often (seconds).
RIDGE_REFRESH_S = 0.25
#: During training the loss pane and unit table are redrawn at most this often (seconds).
SLOW_REFRESH_S = 0.1
EDIT_BLOCKED = "Training… pause (Space) or stop to edit by hand"


class MainWindow(QMainWindow):
    def __init__(self, controller: StudioController | None = None, ask_to_save: bool = True,
                 autosave: bool = True):
        super().__init__()
        self.setWindowTitle("ReLU Studio")
        self.resize(1360, 860)
        self.c = controller or StudioController(parent=self)
        self.canvas = Canvas()
        self.loss = LossPane()
        self.timeline = Timeline()
        self.panel = ParameterPanel(self.c)
        self.units_table = UnitTable()
        self.edit_tool = EditTool(self.c, self.canvas, self.displayed_network, self)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.canvas)
        split.addWidget(self.loss)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([540, 200])
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fdecea; color: #611a15; padding: 6px 10px;"
                                  "border-bottom: 1px solid #f5c6cb;")
        self.banner.setToolTip("Click to dismiss")
        self.banner.mousePressEvent = lambda _e: self.banner.hide()
        self.banner.hide()
        studio = QWidget()
        slay = QVBoxLayout(studio)
        slay.setContentsMargins(0, 0, 0, 0)
        slay.setSpacing(0)
        slay.addWidget(split, 1)
        slay.addWidget(self.timeline)
        self.compare = CompareView(lambda: self.c.data)
        self.compare.openCell.connect(self._open_compare_cell)
        self.compare.gridFinished.connect(lambda _r: self.files.autosave_now(force=True))
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(studio, "Studio")
        compare_scroll = QScrollArea()  # never let the grid's minimum size widen the window
        compare_scroll.setWidget(self.compare)
        compare_scroll.setWidgetResizable(True)
        compare_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.tabs.addTab(compare_scroll, "Compare")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.tabs.setTabToolTip(0, "One network: train it, scrub it, shape it by hand")
        self.tabs.setTabToolTip(1, "The notebook's whole study: widths x modes x seeds side by side")
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.param_dock = self._dock("Parameters", "parameters", self.panel, Qt.DockWidgetArea.LeftDockWidgetArea, scroll=True)
        self.param_dock.setMinimumWidth(260)
        self.units_dock = self._dock("Hidden units", "units", self.units_table, Qt.DockWidgetArea.RightDockWidgetArea)
        self.units_dock.setMinimumWidth(380)

        self._make_actions()
        self.files = FileActions(self, ask_to_save=ask_to_save, autosave_enabled=autosave)
        self.c.runRecorded.connect(lambda: self.files.autosave_now(force=True))
        self.c.settingsChanged.connect(lambda: self.panel.sync(self.c.settings))
        self.status_state = QLabel("idle")
        self.status_rate = QLabel("")
        self.status_loss = QLabel("")
        sb = self.statusBar()
        sb.addWidget(self.status_state)
        sb.addWidget(self.status_loss, 1)
        sb.addPermanentWidget(self.status_rate)

        self._ridge_time = 0.0
        self._ridge_value = None
        self._slow_time = 0.0
        self._preview_test = float("nan")
        self._selected_point = None
        c = self.c
        c.frame.connect(lambda: self._refresh(live=True))
        c.networkChanged.connect(lambda: self._refresh(live=False, follow=True))
        c.previewChanged.connect(self._preview_changed)
        c.dataChanged.connect(self._data_changed)
        c.stateChanged.connect(self._state_changed)
        c.message.connect(self._show_message)
        c.settingsChanged.connect(lambda: self._refresh(live=False))
        self.timeline.indexChanged.connect(lambda _i: self._refresh(live=False, follow=False))
        self.panel.scaled.toggled.connect(self.canvas.set_scaled)
        self.panel.show_units.toggled.connect(self.canvas.set_units_visible)
        self.edit_tool.unitSelected.connect(self._select_unit)
        self.edit_tool.pointSelected.connect(self._select_point)
        self.units_table.unitSelected.connect(self.canvas.select_unit)
        self.units_table.model_.edited.connect(self._unit_typed)
        self._data_changed()
        self._state_changed(IDLE)

    def _dock(self, title, name, widget, area, scroll=False):
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        if scroll:
            sa = QScrollArea()
            sa.setWidget(widget)
            sa.setWidgetResizable(True)
            sa.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            widget = sa
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # ------------------------------------------------------------------ actions and menus
    def _make_actions(self):
        sp = self.style().standardIcon
        P = QStyle.StandardPixmap

        def act(text, key, tip, slot, icon=None, checkable=False):
            a = QAction(text, self)
            if icon is not None:
                a.setIcon(sp(icon))
            if key:
                a.setShortcut(QKeySequence(key))
                tip = f"{tip} ({QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)})"
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.setCheckable(checkable)
            (a.toggled if checkable else a.triggered).connect(slot)
            self.addAction(a)
            return a

        self.act_train = act("Train", Qt.Key.Key_Space, "Start training, pause or resume", self.c.train_or_pause, P.SP_MediaPlay)
        self.act_step = act("Step", "S", "Train one snapshot interval, then pause", self.c.step_once, P.SP_MediaSeekForward)
        self.act_stop = act("Stop", "Ctrl+.", "End the run; its history is kept", self.c.stop, P.SP_MediaStop)
        self.act_reset = act("Reset", "Ctrl+R", "Back to the initial network (undoable)", self.c.reset_to_initial, P.SP_MediaSkipBackward)
        self.act_ridge = act("Fit ridge now", "Ctrl+F", "Solve the output layer in closed form on the current features", self._fit_ridge, P.SP_DialogApplyButton)
        self.act_follow = act("Ridge follow", "Ctrl+Shift+F", "Re-solve the output layer by ridge on every hand edit", self.c.set_ridge_follow, checkable=True)
        self.act_edit_data = act("Edit data", "D", "Click adds a point, drag moves one, right-click or Delete removes it (Ctrl+click adds in any mode)", self._set_data_edit, checkable=True)
        self.act_delete_point = act("Delete point", QKeySequence.StandardKey.Delete, "Delete the selected data point", self._delete_point)
        self.act_fit_view = act("Fit view", "F", "Fit the view to the data and prediction", self.canvas.fit_view)
        self.act_default_view = act("Default view", "Home", "The notebook's view: [0, 1] x [-2.5, 2.5]", self.canvas.reset_view)
        self.act_play = act("Play back", "P", "Play back the snapshots", self.timeline.toggle_play)
        self.act_regenerate = act("Regenerate data", "Ctrl+G", "Draw new data from the panel's values (undoable)", self.panel._regenerate)
        self.act_reinit = act("Re-initialise network", "Ctrl+I", "New initial network from the panel's width and seed (undoable)", self.panel._reinit)
        self.act_units = act("Show hidden units", "U", "Draw every unit's max(0, w x + b)", self.panel.show_units.setChecked, checkable=True)
        self.act_scaled = act("Scale units by output weight", "W", "Draw each unit's share of the prediction", self.panel.scaled.setChecked, checkable=True)
        self.act_units.setChecked(True)
        self.panel.show_units.toggled.connect(self.act_units.setChecked)
        self.panel.scaled.toggled.connect(self.act_scaled.setChecked)
        prev = act("Previous snapshot", Qt.Key.Key_Left, "Previous snapshot", lambda: self.timeline.set_index(self.timeline.index - 1))
        nxt = act("Next snapshot", Qt.Key.Key_Right, "Next snapshot", lambda: self.timeline.set_index(self.timeline.index + 1))
        last = act("Newest snapshot", "End", "Newest snapshot", lambda: self.timeline.set_index(len(self.c.history) - 1))
        quit_ = act("Quit", QKeySequence.StandardKey.Quit, "Quit ReLU Studio", self.close)

        self.act_undo = self.c.undo_stack.createUndoAction(self, "Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_undo.setIcon(sp(P.SP_ArrowBack))
        self.act_redo = self.c.undo_stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence.StandardKey.Redo])
        self.act_redo.setIcon(sp(P.SP_ArrowForward))
        for a in (self.act_undo, self.act_redo):
            self.addAction(a)

        tb = self.toolbar = QToolBar("Training")
        tb.setObjectName("training")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(tb)
        for a in (self.act_train, self.act_step, self.act_stop, None, self.act_reset, self.act_ridge,
                  self.act_follow, None, self.act_undo, self.act_redo, None, self.act_edit_data,
                  self.act_fit_view, self.act_default_view):
            tb.addSeparator() if a is None else tb.addAction(a)
        for a in (self.act_undo, self.act_redo):  # their text names the step: a tooltip, not a label
            tb.widgetForAction(a).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(quit_)
        m = mb.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo, None, self.act_edit_data, self.act_delete_point, None,
                  self.act_follow, self.act_ridge, None, self.act_regenerate, self.act_reinit, self.act_reset):
            m.addSeparator() if a is None else m.addAction(a)
        m = mb.addMenu("&Training")
        for a in (self.act_train, self.act_step, self.act_stop):
            m.addAction(a)
        m = mb.addMenu("&View")
        for a in (self.act_units, self.act_scaled, None, self.act_fit_view, self.act_default_view, None,
                  self.act_play, prev, nxt, last, None, self.param_dock.toggleViewAction(),
                  self.units_dock.toggleViewAction()):
            m.addSeparator() if a is None else m.addAction(a)
        m.addSeparator()
        m.addAction(act("Studio", "Ctrl+1", "The studio view", lambda: self.tabs.setCurrentIndex(0)))
        m.addAction(act("Compare", "Ctrl+2", "The Compare view", lambda: self.tabs.setCurrentIndex(1)))
        m = mb.addMenu("&Help")
        m.addAction(act("About ReLU Studio", None, "About", self._about))
        m.addAction(act("About Qt", None, "About the Qt toolkit and its licence", lambda: about_qt(self)))

    def _about(self):
        show_about(self)

    def _fit_ridge(self):
        err = self.c.fit_ridge_now()
        if err:
            self._show_message(err, "warning")

    def _set_data_edit(self, on: bool):
        self.canvas.set_data_edit_mode(on)
        if on:
            self._show_message("Edit data: click adds a point, drag moves one, right-click or Delete "
                               "removes it; drag empty space to pan. Press D to leave this mode.", "info")

    def _delete_point(self):
        self.edit_tool.delete_point(self._selected_point)

    def _select_unit(self, j):
        self.canvas.select_unit(j)
        self.units_table.select_unit(j)

    def _select_point(self, i):
        self._selected_point = i

    def _unit_typed(self, j: int, field: str, value: float):
        net = self.displayed_network()
        try:
            if field == "elbow":
                new = net.with_elbow(j, value)
            elif field == "w":
                new = net.with_unit(j, w1=value)
            elif field == "b":
                new = net.with_unit(j, b1=value)
            else:
                new = net.with_unit(j, w2=value)
        except ValueError as exc:
            self._show_message(str(exc), "warning")
            return
        label = {"elbow": "elbow", "w": "slope w", "b": "bias b", "out": "output weight"}[field]
        self.c.apply_edit(f"Set {label} of unit {j}", network=new, data=self.c.data)

    # ------------------------------------------------------------------ session view state
    def view_state(self) -> dict:
        """View toggles and positions saved with a session (plain JSON)."""
        (x0, x1), (y0, y1) = self.canvas.vb.viewRange()
        return {"scaled_units": self.canvas.scaled, "show_units": self.canvas.units_visible,
                "timeline_index": self.timeline.index, "ridge_follow": self.c.ridge_follow,
                "view_range": [[x0, x1], [y0, y1]],
                "selected_unit": self.canvas.selected}

    def apply_view_state(self, view: dict) -> None:
        view = view or {}
        self.panel.scaled.setChecked(bool(view.get("scaled_units", False)))
        self.panel.show_units.setChecked(bool(view.get("show_units", True)))
        self.act_follow.setChecked(bool(view.get("ridge_follow", False)))
        rng = view.get("view_range")
        try:
            (x0, x1), (y0, y1) = rng
            self.canvas.vb.setRange(xRange=(float(x0), float(x1)), yRange=(float(y0), float(y1)), padding=0)
        except (TypeError, ValueError):
            self.canvas.reset_view()
        sel = view.get("selected_unit")
        self._select_unit(sel if isinstance(sel, int) and 0 <= sel < self.c.network.width else None)
        i = view.get("timeline_index")
        if isinstance(i, int) and 0 <= i < len(self.c.history):
            self.timeline.set_index(i)

    def compare_state(self):
        return self.compare.state()

    def compare_runs(self) -> dict:
        result = self.compare.result
        return dict(result.runs) if result is not None else {}

    def restore_compare(self, state, runs) -> None:
        """Put a saved grid back: its finished runs, then its settings and position."""
        if runs:
            self.compare.set_result(experiment_from_runs(self.c.data, runs))
        else:
            self.compare.set_result(None)
        if isinstance(state, dict):
            try:
                self.compare.set_state(state)
            except (KeyError, TypeError, ValueError) as exc:
                self._show_message(f"The saved Compare settings could not be restored: {exc}", "warning")

    def _tab_changed(self, index: int) -> None:
        """The docks belong to the studio (Compare has its own controls): Compare gets the room."""
        docks = (self.param_dock, self.units_dock, self.toolbar)
        if index == 1:
            self._docks_shown = [d for d in docks if d.isVisible()]
            for d in docks:
                d.hide()
        else:
            for d in getattr(self, "_docks_shown", ()):
                d.show()

    def _open_compare_cell(self, cell) -> None:
        """A Compare cell opened in the studio: its initial network and its run (undoable)."""
        width, mode, seed, run, initial = cell
        self.c.open_run(initial, run, mode, seed, self.compare.result.data if self.compare.result else self.c.data)
        self.tabs.setCurrentIndex(0)

    # ------------------------------------------------------------------ what is shown
    def displayed_network(self) -> Network:
        """The network on screen: a drag in progress, else the timeline's snapshot."""
        if self.c.preview is not None:
            return self.c.preview.network
        hist = self.c.history
        return hist.network(min(self.timeline.index, len(hist) - 1))

    def _data_changed(self):
        self.canvas.set_dataset(self.c.data)
        self._refresh(live=False, follow=True)

    def _preview_changed(self):
        p = self.c.preview
        if p is None:  # the drag ended or was cancelled
            if self.canvas.data is not self.c.data:
                self.canvas.set_dataset(self.c.data, points_only=True)
            self._refresh(live=False)
            return
        if p.data is not self.canvas.data:
            self.canvas.set_dataset(p.data, points_only=True)
        self.canvas.show_network(p.network, p.dead)
        now = time.perf_counter()
        if self.c.ridge_follow:
            ridge = p.full_train_error  # the preview *is* the ridge fit: no second solve
        elif now - self._ridge_time > RIDGE_REFRESH_S:
            ridge = self._ridge_value = self.c.ridge_reference(p.network, p.data)
            self._ridge_time = now
        else:
            ridge = self._ridge_value
        if now - self._slow_time > SLOW_REFRESH_S:  # readouts that need not follow every event
            self._preview_test = p.test_error
            self.loss.set_references(p.data.noise_floor if p.data.target is not None else None, ridge)
            self._slow_time = now
        self.status_loss.setText(f"editing   train {p.full_train_error:.4g}   test {self._preview_test:.4g}"
                                 + (f"   ridge best {ridge:.4g}" if ridge is not None else ""))
        # The unit table catches up when the drag ends (networkChanged).

    def _refresh(self, live: bool, follow: bool | None = None):
        c = self.c
        if c.preview is not None and not live:
            return self._preview_changed()
        hist = c.history
        count = len(hist)
        self.timeline.set_count(count, follow=follow)
        i = min(self.timeline.index, count - 1)
        net = hist.network(i)
        step = hist.step(i)
        dead = net.dead_units(c.data.x)
        self.canvas.show_network(net, dead)
        steps, train, full, test = hist.curves()
        now = time.perf_counter()
        if not live or now - self._slow_time > SLOW_REFRESH_S:
            self.loss.set_curves(steps, train, full, test)
            self.loss.set_cursor(step)
            self.units_table.model_.set_network(net, dead)
            self._slow_time = now
        if not live or now - self._ridge_time > RIDGE_REFRESH_S:
            self._ridge_value = c.ridge_reference(net)
            self._ridge_time = now
        self.loss.set_references(c.data.noise_floor if c.data.target is not None else None, self._ridge_value)
        total = hist.step(count - 1)
        snap = c.last_snapshot
        if c.busy and snap is not None:
            total = hist.base.last_step + snap.total
        self.timeline.set_label(step, total, i, count)
        tr = train[i] if i < len(train) else float("nan")
        parts = [f"step {step:,}"]
        if tr == tr:
            parts.append(f"minibatch {tr:.4g}")
        parts += [f"train {full[i]:.4g}", f"test {test[i]:.4g}"]
        if self._ridge_value is not None:
            parts.append(f"ridge best {self._ridge_value:.4g}")
        self.status_loss.setText("   ".join(parts))
        self.status_rate.setText(f"{c.steps_per_second:,.0f} steps/s" if c.busy else "")

    def _state_changed(self, state: str):
        running = state == RUNNING
        self.act_train.setText("Pause" if running else ("Resume" if state == PAUSED else "Train"))
        P = QStyle.StandardPixmap
        self.act_train.setIcon(self.style().standardIcon(P.SP_MediaPause if running else P.SP_MediaPlay))
        self.act_stop.setEnabled(state in (RUNNING, PAUSED))
        self.act_step.setEnabled(not running)
        self.act_ridge.setEnabled(not running)
        self.act_undo.setEnabled(not running and self.c.undo_stack.canUndo())
        self.act_redo.setEnabled(not running and self.c.undo_stack.canRedo())
        self.canvas.set_editable(not running, EDIT_BLOCKED)
        self.units_table.model_.editable = not running
        self.status_state.setText({RUNNING: "training…", PAUSED: "paused"}.get(state, "idle"))
        if running:
            self.banner.hide()
        if state == IDLE:
            self.status_rate.setText("")

    def _show_message(self, text: str, level: str):
        """Info goes to the status bar; warnings and errors also to a banner above the canvas."""
        self.statusBar().showMessage(text, 8000 if level == "info" else 20000)
        if level in ("warning", "error"):
            self.banner.setText(("⚠ " if level == "warning" else "✖ ") + text)
            self.banner.show()

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event):
        if not self.files.maybe_save():
            event.ignore()
            return
        self.timeline.stop()
        self.compare.shutdown()
        self.c.shutdown()
        self.files.finish(clean=True)
        super().closeEvent(event)
