"""The main window: layout and wiring. Parameter panel and unit table (docks), canvas over loss
pane, timeline, the Compare tab, menus, toolbar and status bar.

The window computes nothing: the studio's controller holds the state, one presenter per view
redraws it (:mod:`.presenters`), the actions come from one table (:mod:`.actions`).
"""
from __future__ import annotations

import math

from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.pace import Pace
from ..core.settings import SettingsError
from ..training_worker import IDLE, PAUSED, RUNNING
from . import window_geometry as geometry
from .about import about_qt, show_about
from .actions import build_actions, build_menus, build_toolbar
from .canvas import Canvas
from .compare_controller import CompareController
from .compare_view import CompareView
from .sweep_controller import SweepController
from .sweep_view import SweepView
from .edit_tool import EditTool
from .file_actions import FileActions, app_settings
from .help_actions import HelpActions
from .lens_panel import LensPanel
from .lens_presenter import CanvasLensPresenter, LensPresenter
from .loss_pane import LossPane
from .pace_control import PaceControl, load_pace, load_playback, save_pace, save_playback
from .parameter_panel import ParameterPanel
from .presenters import (
    CanvasPresenter,
    LossPresenter,
    ReadoutPresenter,
    ReadoutStripPresenter,
    TimelinePresenter,
    UnitTablePresenter,
)
from .readout_strip import ReadoutStrip
from .run_start import RunStartChoice
from .studio_controller import StudioController
from .timeline import Timeline
from .unit_table import UnitTable

EDIT_BLOCKED = "Training… pause (Space) or stop to edit by hand"


class MainWindow(QMainWindow):
    """``available``: the screen area to size the window to (default: the available geometry of
    its screen). ``remember_geometry``: reopen where the last window closed, if that still fits
    (the application does; tests and the self-test do not)."""

    def __init__(self, controller: StudioController | None = None, ask_to_save: bool = True,
                 autosave: bool = True, remember_geometry: bool = False,
                 available: QRect | None = None):
        super().__init__()
        self.setWindowTitle("ReLU Studio")
        self.remember_geometry = remember_geometry
        self.c = c = controller or StudioController(parent=self)
        self.canvas = Canvas()
        self.loss = LossPane()
        self.readout_strip = ReadoutStrip()
        self.timeline = Timeline()
        self.pace_control = PaceControl()
        self.panel = ParameterPanel(c)
        self.units_table = UnitTable()
        self.lens_panel = LensPanel()
        self.edit_tool = EditTool(c, self.canvas, self)
        self.compare_controller = CompareController(lambda: self.c.data, self)
        self.compare = CompareView(self.compare_controller)
        self.sweep_controller = SweepController(self)
        self.sweep = SweepView(self.sweep_controller)
        self._selected_point = None

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.canvas)
        split.addWidget(self.loss)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        self.plots = split
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
        slay.addWidget(self.readout_strip)
        slay.addWidget(split, 1)
        slay.addWidget(self.timeline)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(studio, "Studio")
        compare_scroll = QScrollArea()  # never let the grid's minimum size widen the window
        compare_scroll.setWidget(self.compare)
        compare_scroll.setWidgetResizable(True)
        compare_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.tabs.addTab(compare_scroll, "Compare")
        sweep_scroll = QScrollArea()  # nor the Sweep view's row of controls
        sweep_scroll.setWidget(self.sweep)
        sweep_scroll.setWidgetResizable(True)
        sweep_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.tabs.addTab(sweep_scroll, "Sweep")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.tabs.setTabToolTip(0, "One network: train it, scrub it, shape it by hand")
        self.tabs.setTabToolTip(1, "The notebook's whole study: widths x modes x seeds side by side")
        self.tabs.setTabToolTip(2, "An error against width, lr, noise or λ over many seeds "
                                   "(relu-studio sweep, or a preset such as double descent)")
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.param_dock = self._dock("Parameters", "parameters", self.panel, Qt.DockWidgetArea.LeftDockWidgetArea, scroll=True)
        self.param_dock.setMinimumWidth(260)
        self.units_dock = self._dock("Hidden units", "units", self.units_table, Qt.DockWidgetArea.RightDockWidgetArea)
        self.units_dock.setMinimumWidth(200)  # narrower, the table scrolls (its values stay whole)
        self.lens_dock = self._dock("Theory lens", "lens", self.lens_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.lens_dock.setMinimumWidth(300)
        self.lens_dock.hide()  # off by default: the View menu's Theory lens (G) shows it

        # ---- actions, menus, toolbar: one table
        self.files = FileActions(self, ask_to_save=ask_to_save, autosave_enabled=autosave)
        self.run_start = RunStartChoice(self, c)  # where Train starts after a change of settings
        undo = c.undo_stack.createUndoAction(self, "Undo")
        undo.setShortcut("Ctrl+Z")
        undo.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowBack))
        redo = c.undo_stack.createRedoAction(self, "Redo")
        redo.setShortcuts(["Ctrl+Shift+Z", "Ctrl+Y"])
        redo.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowForward))
        self.help = HelpActions(self)
        self.actions_ = build_actions(self, {**self._handlers(), **self.files.handlers(), **self.help.handlers(),
                                             **self.run_start.handlers()},
                                      extra={"undo": undo, "redo": redo})
        self.run_start.bind(self.actions_)
        build_menus(self, self.actions_, {"recent": self.files.recent_menu,
                                          "docks": [self.param_dock.toggleViewAction(),
                                                    self.units_dock.toggleViewAction()]})
        self.toolbar = build_toolbar(self, self.actions_, widgets={"pace": self.pace_control})
        a = self.actions_
        self.panel.show_units.toggled.connect(a["units"].setChecked)
        self.panel.scaled.toggled.connect(a["scaled"].setChecked)
        a["units"].toggled.connect(self.panel.show_units.setChecked)
        a["scaled"].toggled.connect(self.panel.scaled.setChecked)
        self.pace_control.log.toggled.connect(a["pace_log"].setChecked)

        # The readouts are permanent (a message never hides them); messages go on the left.
        self.status_state = QLabel("idle")
        self.status_rate = QLabel("")
        self.status_loss = QLabel("")
        self.status_state.setToolTip("Idle, training or paused")
        self.status_loss.setToolTip("The shown snapshot: its step, minibatch, full-train and test "
                                    "MSE, and the best train MSE its hidden features allow (ridge)")
        self.status_rate.setToolTip("Training speed, while a run trains")
        sb = self.statusBar()
        for label in (self.status_state, self.status_loss, self.status_rate):
            sb.addPermanentWidget(label)

        # ---- one presenter per view
        self.presenters = {
            "canvas": CanvasPresenter(c, self.canvas),
            "loss": LossPresenter(c, self.loss),
            "units": UnitTablePresenter(c, self.units_table),
            "timeline": TimelinePresenter(c, self.timeline),
            "readout": ReadoutPresenter(c, self.status_loss, self.status_rate, sb),
            "readout_strip": ReadoutStripPresenter(c, self.readout_strip),
            "canvas_lens": CanvasLensPresenter(c, self.canvas),
            "lens": LensPresenter(c, self.lens_panel),
        }
        for p in self.presenters.values():
            p.redraw.request()

        # ---- wiring
        c.runStateChanged.connect(self._run_state_changed)
        c.message.connect(self._show_message)
        c.runRecorded.connect(lambda: self.files.autosave_now(force=True))
        self.compare_controller.openCell.connect(self._open_compare_cell)
        self.sweep_controller.openRun.connect(self._open_compare_cell)
        self.compare_controller.gridFinished.connect(lambda _r: self.files.autosave_now(force=True))
        self.panel.scaled.toggled.connect(self.canvas.set_scaled)
        self.panel.show_units.toggled.connect(self.canvas.set_units_visible)
        self.edit_tool.unitSelected.connect(self._select_unit)
        self.edit_tool.pointSelected.connect(self._select_point)
        self.units_table.unitSelected.connect(self.canvas.select_unit)
        self.units_table.unitSelected.connect(self.lens_panel.follow_unit)
        self.lens_dock.toggleViewAction().toggled.connect(self.action("lens").setChecked)
        self.units_table.model_.edited.connect(c.set_unit_value)
        # the pace and the playback: the user's preferences
        self.pace_control.paceChanged.connect(self._pace_changed)
        self.pace_control.set_pace(load_pace(app_settings()))
        self._pace_changed(self.pace_control.pace(), save=False)
        self.timeline.set_steps_source(lambda: self.c.history.curves()[0])
        self.timeline.set_playback(*load_playback(app_settings()))
        self.timeline.playbackChanged.connect(lambda rate, log: save_playback(app_settings(), rate, log))
        self._run_state_changed(IDLE)
        self._size_to_screen(available)

    # ------------------------------------------------------------------ size and place
    def _size_to_screen(self, available: QRect | None) -> None:
        """Open sized to the screen (see :mod:`.window_geometry`): the saved geometry if it
        fits, else filling a small screen (the docks share the left side) or 90 % of a large one."""
        self._available = QRect(available) if available is not None else geometry.available_geometry(self)
        saved = self._saved_geometry() if self.remember_geometry else None
        small = geometry.is_small(self._available)
        if small:
            self.tabifyDockWidget(self.param_dock, self.units_dock)
            self.param_dock.raise_()
        if saved is not None:
            frame, client, maximized, state = saved
            geometry.place(self, frame, QSize(frame.width() - client.width(),
                                              frame.height() - client.height()))
            if maximized:
                self.setWindowState(Qt.WindowState.WindowMaximized)
            if state is not None:
                self.restoreState(state)
        else:
            frame = geometry.default_frame(self._available)
            geometry.place(self, frame)
            panel = self.panel.sizeHint().width() + self.style().pixelMetric(
                QStyle.PixelMetric.PM_ScrollBarExtent, None, self) + 4
            units = self.units_table.full_width()
            if small:
                self.resizeDocks([self.param_dock], [max(panel, units)], Qt.Orientation.Horizontal)
            else:
                self.resizeDocks([self.param_dock, self.units_dock], [panel, units],
                                 Qt.Orientation.Horizontal)
        chrome = sum(w.sizeHint().height() for w in (self.menuBar(), self.toolbar, self.tabs.tabBar(),
                                                     self.timeline, self.statusBar()))
        self.plots.setSizes(list(geometry.plot_sizes(self.height() - chrome)))
        self._placed = False
        self._fill_screen = small and saved is None

    def showEvent(self, event):
        super().showEvent(event)
        if not self._placed:  # the window manager's frame is known once shown
            self._placed = True
            QTimer.singleShot(0, self, lambda: geometry.keep_on_screen(self, self._available,
                                                                       fill=self._fill_screen))

    def _saved_geometry(self):
        """The frame, client size, maximised flag and dock layout (``saveState``) saved at the
        last close, if that frame fits this screen."""
        from .file_actions import app_settings

        st = app_settings()
        frame, client = st.value("window/frame"), st.value("window/client")
        if not isinstance(frame, QRect) or not isinstance(client, QSize) \
                or not geometry.fits(frame, self._available) \
                or not (0 < client.width() <= frame.width() and 0 < client.height() <= frame.height()):
            return None
        maximized = str(st.value("window/maximized", "false")).lower() == "true"
        state = st.value("window/state")
        return frame, client, maximized, state if state else None

    def _save_geometry(self) -> None:
        from .file_actions import app_settings

        frame, client, normal = self.frameGeometry(), self.geometry(), self.normalGeometry()
        if self.isMaximized() and normal.isValid():  # remember the size it had before
            frame = normal.adjusted(frame.left() - client.left(), frame.top() - client.top(),
                                    frame.right() - client.right(), frame.bottom() - client.bottom())
            client = normal
        st = app_settings()
        st.setValue("window/frame", frame)
        st.setValue("window/client", client.size())
        st.setValue("window/maximized", self.isMaximized())
        if self.tabs.currentIndex() == 0:  # Compare hides the docks: keep the studio's layout
            st.setValue("window/state", self.saveState())

    def _handlers(self) -> dict:
        c, t = self.c, self.timeline
        return {
            "train": c.train_or_pause, "step": c.step_once, "stop": c.stop,
            "reset": c.reset_to_initial, "ridge": self._fit_ridge, "follow": c.set_ridge_follow,
            "edit_data": self._set_data_edit, "delete_point": self._delete_point,
            "regenerate": self.panel.regenerate_data, "reinit": self.panel.reinitialise_network,
            "fit_view": self.canvas.fit_view, "default_view": self.canvas.reset_view,
            "units": self.canvas.set_units_visible, "scaled": self.canvas.set_scaled,
            "play": t.toggle_play, "log_steps": self._set_log_steps,
            "pace_slower": lambda: self.pace_control.slower(),
            "pace_faster": lambda: self.pace_control.faster(),
            "pace_log": lambda on: self.pace_control.set_log_time(on),
            "kinks": self.canvas.set_kinks_visible, "initial_elbows": self.canvas.set_ghosts_visible,
            "trails": lambda on: self.presenters["canvas"].set_trails_visible(on),
            "lens": self._set_lens,
            "previous": lambda: c.show_snapshot(c.shown_index - 1),
            "next": lambda: c.show_snapshot(c.shown_index + 1),
            "newest": lambda: c.show_snapshot(len(c.history) - 1),
            "studio_tab": lambda: self.tabs.setCurrentIndex(0),
            "compare_tab": lambda: self.tabs.setCurrentIndex(1),
            "quit": self.close, "about": lambda: show_about(self), "about_qt": lambda: about_qt(self),
        }

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

    def flush_views(self) -> None:
        """Redraw now whatever view has a redraw pending (before an export, a screenshot, a test's
        look at what is drawn)."""
        for p in self.presenters.values():
            p.redraw.flush()
        self.presenters["loss"]._ridge.flush()

    def action(self, name: str):
        """The QAction called ``name`` in :data:`~relu_studio.ui.actions.ACTIONS`."""
        return self.actions_[name]

    # ------------------------------------------------------------------ intent
    def _fit_ridge(self):
        err = self.c.fit_ridge_now()
        if err:
            self._show_message(err, "warning")

    def _set_data_edit(self, on: bool):
        self.canvas.set_data_edit_mode(on)
        if on:
            self._show_message("Edit data: click adds a point, drag moves one, right-click or Delete "
                               "removes it; drag empty space to pan. Press D to leave this mode.", "info")

    def _pace_changed(self, pace: Pace, save: bool = True):
        self.c.set_pace(pace)
        self.action("pace_log").setChecked(pace.log_time)
        if save:
            save_pace(app_settings(), pace)

    def _set_log_steps(self, on: bool):
        self.timeline.set_log_steps(on)
        set_loss_axis = getattr(self.loss, "set_log_steps", None)
        if set_loss_axis is not None:
            set_loss_axis(on)

    def _set_lens(self, on: bool) -> None:
        """The theory lens on or off: its panel and the canvas's arrows (computed only while on)."""
        on = bool(on)
        self.presenters["canvas_lens"].set_enabled(on)
        self.presenters["lens"].set_enabled(on)
        if self.lens_dock.isHidden() == on:
            self.lens_dock.setVisible(on)
            if on and geometry.is_small(self._available):
                # a laptop: the panel beside the canvas takes what it needs, the canvas the rest
                self.resizeDocks([self.lens_dock], [360], Qt.Orientation.Horizontal)
            elif on and not self.units_dock.isHidden() and self.dockWidgetArea(self.units_dock) \
                    == self.dockWidgetArea(self.lens_dock):
                h = self.units_dock.height() + self.lens_dock.height()
                self.resizeDocks([self.units_dock, self.lens_dock], [int(h * 0.32), int(h * 0.68)],
                                 Qt.Orientation.Vertical)

    def _delete_point(self):
        self.edit_tool.delete_point(self._selected_point)

    def _select_unit(self, j):
        self.canvas.select_unit(j)
        self.units_table.select_unit(j)
        self.lens_panel.follow_unit(j)

    def _select_point(self, i):
        self._selected_point = i

    def _open_compare_cell(self, cell) -> None:
        """A Compare cell or a Sweep run opened in the studio: its data, initial network and run (undoable)."""
        width, mode, seed, run, initial, data = cell
        self.c.open_run(initial, run, mode, seed, data)
        self.tabs.setCurrentIndex(0)

    def _tab_changed(self, index: int) -> None:
        """The docks belong to the studio (Compare has its own controls): Compare gets the room."""
        docks = (self.param_dock, self.units_dock, self.lens_dock, self.toolbar)
        if index != 0:
            if getattr(self, "_docks_hidden", False):
                return
            self._docks_hidden = True
            self._docks_shown = [d for d in docks if d.isVisible()]
            # of docks tabbed together, the one in front (showing them again raises the first)
            self._docks_in_front = [d for d in self._docks_shown if not d.visibleRegion().isEmpty()]
            for d in docks:
                d.hide()
        else:
            self._docks_hidden = False
            for d in getattr(self, "_docks_shown", ()):
                d.show()
            for d in getattr(self, "_docks_in_front", ()):
                d.raise_()

    # ------------------------------------------------------------------ session view state
    def view_state(self) -> dict:
        """View toggles and positions saved with a session (plain JSON)."""
        (x0, x1), (y0, y1) = self.canvas.vb.viewRange()
        return {"scaled_units": self.canvas.scaled, "show_units": self.canvas.units_visible,
                "timeline_index": self.c.shown_index, "ridge_follow": self.c.ridge_follow,
                "view_range": [[x0, x1], [y0, y1]], "selected_unit": self.canvas.selected,
                "pace": self.c.pace.to_json(), "log_steps": self.timeline.log_steps,
                "show_kinks": self.canvas.kinks_visible, "show_initial_elbows": self.canvas.ghosts_visible,
                "show_trails": self.canvas.trails_visible, "show_lens": self.action("lens").isChecked()}

    def apply_view_state(self, view: dict) -> None:
        """Show a saved view; anything unusable in it (a NaN range, a unit that does not exist)
        falls back to the default instead of failing."""
        view = view if isinstance(view, dict) else {}
        self.panel.scaled.setChecked(view.get("scaled_units") is True)
        self.panel.show_units.setChecked(view.get("show_units") is not False)
        self.action("follow").setChecked(view.get("ridge_follow") is True)
        self.action("kinks").setChecked(view.get("show_kinks") is not False)
        self.action("initial_elbows").setChecked(view.get("show_initial_elbows") is not False)
        self.action("trails").setChecked(view.get("show_trails") is True)
        self.action("lens").setChecked(view.get("show_lens") is True)
        self.action("log_steps").setChecked(view.get("log_steps") is True)
        if "pace" in view:  # an older session has none: the user's pace stays
            try:
                self.pace_control.set_pace(Pace.from_json(view["pace"]))
            except (SettingsError, ValueError):
                pass  # unusable: the user's pace stays
        try:
            (x0, x1), (y0, y1) = view["view_range"]
            x0, x1, y0, y1 = (float(v) for v in (x0, x1, y0, y1))
            if not (all(map(math.isfinite, (x0, x1, y0, y1))) and x1 > x0 and y1 > y0):
                raise ValueError
            self.canvas.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        except (KeyError, TypeError, ValueError):
            self.canvas.reset_view()
        sel = view.get("selected_unit")
        width = self.c.network.width
        self._select_unit(sel if isinstance(sel, int) and not isinstance(sel, bool) and 0 <= sel < width else None)
        i = view.get("timeline_index")
        if isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(self.c.history):
            self.c.show_snapshot(i)

    # ------------------------------------------------------------------ what the controller says
    def _run_state_changed(self, state: str):
        running = state == RUNNING
        a = self.actions_
        a["train"].setText("Pause" if running else ("Resume" if state == PAUSED else "Train"))
        P = QStyle.StandardPixmap
        a["train"].setIcon(self.style().standardIcon(P.SP_MediaPause if running else P.SP_MediaPlay))
        a["stop"].setEnabled(state in (RUNNING, PAUSED))
        a["step"].setEnabled(not running)
        a["ridge"].setEnabled(not running)
        a["undo"].setEnabled(not running and self.c.undo_stack.canUndo())
        a["redo"].setEnabled(not running and self.c.undo_stack.canRedo())
        self.canvas.set_editable(not running, EDIT_BLOCKED)
        self.status_state.setText({RUNNING: "training…", PAUSED: "paused"}.get(state, "idle"))
        if running:
            self.banner.hide()

    def _show_message(self, text: str, level: str):
        """Info goes to the status bar (until it is stale: see :class:`ReadoutPresenter`);
        warnings and errors to a banner above the canvas, once."""
        if level in ("warning", "error"):
            self.statusBar().clearMessage()
            self.banner.setText(("⚠ " if level == "warning" else "✖ ") + text)
            self.banner.show()
        else:
            self.statusBar().showMessage(text, 8000)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event):
        if not self.files.maybe_save():
            event.ignore()
            return
        if self.remember_geometry:
            self._save_geometry()
        self.timeline.stop()
        self.compare_controller.shutdown()
        self.sweep_controller.shutdown()
        self.c.shutdown()
        self.files.finish(clean=True)
        super().closeEvent(event)
