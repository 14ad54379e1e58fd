"""The main window: parameter panel (dock), canvas over loss pane, timeline, toolbar, status bar."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QScrollArea,
                               QSplitter, QStyle, QToolBar, QVBoxLayout, QWidget)

from ..worker import IDLE, PAUSED, RUNNING
from .canvas import Canvas
from .controller import StudioController
from .loss_pane import LossPane
from .parameter_panel import ParameterPanel
from .timeline import Timeline

#: During training the ridge reference line is recomputed at most this often (seconds).
RIDGE_REFRESH_S = 0.25
#: During training the loss pane is redrawn at most this often (seconds); the canvas every frame.
LOSS_REFRESH_S = 0.1


class MainWindow(QMainWindow):
    def __init__(self, controller: StudioController | None = None):
        super().__init__()
        self.setWindowTitle("ReLU Studio")
        self.resize(1280, 820)
        self.c = controller or StudioController(parent=self)
        self.canvas = Canvas()
        self.loss = LossPane()
        self.timeline = Timeline()
        self.panel = ParameterPanel(self.c)

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
        lay.addWidget(self.banner)
        lay.addWidget(split, 1)
        lay.addWidget(self.timeline)
        self.setCentralWidget(central)

        dock = QDockWidget("Parameters", self)
        dock.setObjectName("parameters")
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        dock.setWidget(scroll)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        dock.setMinimumWidth(260)

        self._make_actions()
        self.status_state = QLabel("idle")
        self.status_rate = QLabel("")
        self.status_loss = QLabel("")
        sb = self.statusBar()
        sb.addWidget(self.status_state)
        sb.addWidget(self.status_loss, 1)
        sb.addPermanentWidget(self.status_rate)

        self._following = True
        self._ridge_time = 0.0
        self._loss_time = 0.0
        self._ridge_value = None
        c = self.c
        c.frame.connect(lambda: self._refresh(live=True))
        c.networkChanged.connect(lambda: self._refresh(live=False, follow=True))
        c.dataChanged.connect(self._data_changed)
        c.stateChanged.connect(self._state_changed)
        c.message.connect(self._show_message)
        c.settingsChanged.connect(lambda: self._refresh(live=False))
        self.timeline.indexChanged.connect(lambda _i: self._refresh(live=False, follow=False))
        self.panel.scaled.toggled.connect(self.canvas.set_scaled)
        self.panel.show_units.toggled.connect(self.canvas.set_units_visible)
        self._data_changed()
        self._state_changed(IDLE)

    # ------------------------------------------------------------------ actions
    def _make_actions(self):
        tb = QToolBar("Training")
        tb.setObjectName("training")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(tb)
        sp = self.style().standardIcon

        def act(text, key, tip, slot, icon=None):
            a = QAction(text, self)
            if icon is not None:
                a.setIcon(sp(icon))
            if key:
                a.setShortcut(QKeySequence(key))
                tip = f"{tip} ({QKeySequence(key).toString()})"
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        P = QStyle.StandardPixmap
        self.act_train = act("Train", Qt.Key.Key_Space, "Start training, pause or resume", self.c.train_or_pause, P.SP_MediaPlay)
        self.act_step = act("Step", "S", "Train one snapshot interval, then pause", self.c.step_once, P.SP_MediaSeekForward)
        self.act_stop = act("Stop", "Ctrl+.", "End the run; its history is kept", self.c.stop, P.SP_MediaStop)
        self.act_reset = act("Reset", "Ctrl+R", "Back to the initial network (the history restarts)", self.c.reset_to_initial, P.SP_MediaSkipBackward)
        self.act_ridge = act("Fit ridge now", "Ctrl+F", "Solve the output layer in closed form on the current features", self._fit_ridge, P.SP_DialogApplyButton)
        self.act_fit_view = act("Fit view", "F", "Fit the view to the data and prediction", self.canvas.fit_view)
        self.act_default_view = act("Default view", "Home", "The notebook's view: [0, 1] x [-2.5, 2.5]", self.canvas.reset_view)
        self.act_play = act("Play back", "P", "Play back the snapshots", self.timeline.toggle_play)
        for a in (self.act_train, self.act_step, self.act_stop, None, self.act_reset, self.act_ridge,
                  None, self.act_fit_view, self.act_default_view):
            tb.addSeparator() if a is None else tb.addAction(a)
        act("", "Ctrl+G", "Regenerate data", self.panel._regenerate)
        act("", "Ctrl+I", "Re-initialise", self.panel._reinit)
        act("", "U", "Toggle units", self.panel.show_units.toggle)
        act("", "W", "Toggle scaled units", self.panel.scaled.toggle)
        act("", Qt.Key.Key_Left, "Previous snapshot", lambda: self.timeline.set_index(self.timeline.index - 1))
        act("", Qt.Key.Key_Right, "Next snapshot", lambda: self.timeline.set_index(self.timeline.index + 1))
        act("", "End", "Newest snapshot", lambda: self.timeline.set_index(len(self.c.history) - 1))
        act("", "Ctrl+Q", "Quit", self.close)

    def _fit_ridge(self):
        err = self.c.fit_ridge_now()
        if err:
            self._show_message(err, "warning")

    # ------------------------------------------------------------------ refresh
    def _data_changed(self):
        self.canvas.set_dataset(self.c.data)
        self._refresh(live=False, follow=True)

    def _refresh(self, live: bool, follow: bool | None = None):
        c = self.c
        hist = c.history
        count = len(hist)
        self.timeline.set_count(count, follow=follow)
        i = min(self.timeline.index, count - 1)
        net = hist.network(i)
        step = hist.step(i)
        self.canvas.show_network(net, net.dead_units(c.data.x))
        steps, train, full, test = hist.curves()
        now = time.perf_counter()
        if not live or now - self._loss_time > LOSS_REFRESH_S:
            self.loss.set_curves(steps, train, full, test)
            self.loss.set_cursor(step)
            self._loss_time = now
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
        self.act_step.setEnabled(state != RUNNING)
        self.act_ridge.setEnabled(state == IDLE)
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
        self.timeline.stop()
        self.c.shutdown()
        super().closeEvent(event)
