"""The Help menu: keyboard shortcuts, a quick start and the notebook lessons' tour.

The shortcuts table is generated from the action table (:data:`~relu_studio.ui.actions.ACTIONS`,
plus the undo stack's actions), so it never goes stale; the quick start names its keys from the
same table. The lesson tour is a dock beside the canvas (:mod:`.lesson_tour`).
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from .actions import ACTIONS, MENUS, SUBMENUS, _keys

__all__ = ["HelpActions", "shortcut_rows", "ShortcutsDialog", "QuickStartDialog", "key_text"]

_NATIVE = QKeySequence.SequenceFormat.NativeText
#: The lesson dock's width while it points at Compare (which needs the room).
COMPARE_DOCK_WIDTH = 300


def _menu_of(name: str) -> str:
    """The menu (and submenu) an action is listed in, as the menu bar shows it."""
    for title, entries in MENUS.items():
        if name in entries:
            return title.replace("&", "")
        for entry in entries:
            if entry and entry.startswith("@") and entry[1:] in SUBMENUS:
                sub_title, items = SUBMENUS[entry[1:]]
                if name in items:
                    return f"{title.replace('&', '')} > {sub_title.replace('&', '')}"
    return "—"  # a shortcut only (e.g. the tabs' keys are also in View)


def _key_texts(keys) -> str:
    """Key sequences as the menus show them, joined ("" if none has a key on this platform: a
    standard key such as Quit may have none)."""
    return " or ".join(t for t in (k.toString(_NATIVE) for k in keys) if t)


def key_text(name: str) -> str:
    """The shortcut(s) of action ``name`` as the menus show them ("" if it has none)."""
    for spec in ACTIONS:
        if spec.name == name:
            return _key_texts(_keys(spec.shortcut))
    return ""


def shortcut_rows(extra: dict | None = None) -> list[tuple[str, str, str, str]]:
    """``(menu, action, shortcut, what it does)`` for every action with a shortcut: the rows of
    :data:`ACTIONS` in table order, then ``extra`` QActions (undo and redo, made by the undo stack)."""
    rows = []
    for spec in ACTIONS:
        keys = _key_texts(_keys(spec.shortcut))
        if keys:
            rows.append((_menu_of(spec.name), spec.text.replace("&", "").rstrip("…"), keys, spec.tip))
    for name, action in (extra or {}).items():
        keys = _key_texts(action.shortcuts())
        if keys:
            rows.append((_menu_of(name), action.text().replace("&", ""), keys, action.toolTip()))
    return rows


class ShortcutsDialog(QDialog):
    """Every keyboard shortcut, from the action table."""

    def __init__(self, rows, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts — ReLU Studio")
        self.table = QTableWidget(len(rows), 4)
        self.table.setHorizontalHeaderLabels(["Shortcut", "Action", "Menu", "What it does"])
        for i, (menu, text, keys, tip) in enumerate(rows):
            for j, value in enumerate((keys, text, menu, tip)):
                item = QTableWidgetItem(value)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.table.setItem(i, j, item)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        head = self.table.horizontalHeader()
        for j in range(3):
            head.setSectionResizeMode(j, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Every shortcut of the menus and the toolbar; the same keys are shown "
                             "next to each menu entry."))
        lay.addWidget(self.table, 1)
        lay.addWidget(buttons)
        self.resize(820, 560)

    def shown_rows(self) -> list[tuple[str, str]]:
        """``(shortcut, action)`` of every row, as shown."""
        return [(self.table.item(i, 0).text(), self.table.item(i, 1).text())
                for i in range(self.table.rowCount())]


def quick_start_html() -> str:
    """The quick start, with the keys of the action table."""
    def k(name):
        t = key_text(name)
        return f"<b>{html.escape(t)}</b>" if t else ""

    return f"""
<h2>Quick start</h2>
<p>ReLU Studio shows how a one-hidden-layer ReLU network fits a 1-D function: every hidden unit
is an <i>elbow</i> <code>max(0, w x + b)</code> bending at <code>x = −b/w</code>, and the
prediction is their weighted sum. It opens on the course notebook's setting.</p>
<ol>
<li><b>Train</b> ({k('train')}): SGD runs live; the canvas, the loss pane and the hidden units
table follow. {k('train')} again pauses and resumes; <b>Stop</b> ({k('stop')}) ends the run and
keeps its history; <b>Reset</b> ({k('reset')}) goes back to the initial network.</li>
<li><b>Choose what trains</b> in the parameter panel (left): <i>all layers</i> (lr 0.02),
<i>output layer only</i> (lr 0.2) or <i>ridge</i> (the output layer in closed form,
{k('ridge')}). Width, data and seeds are there too.</li>
<li><b>Scrub the timeline</b> under the canvas ({k('previous')} / {k('next')}, {k('play')} plays
back): everything on screen shows that snapshot; the trained network is not changed.</li>
<li><b>Shape the network by hand</b>: drag a grey elbow along x, or a unit's diamond handle up
and down; <b>Ridge follow</b> ({k('follow')}) re-solves the output layer on every drag.
{k('edit_data')} edits the data points. Every change is one undo step (Ctrl+Z).</li>
<li><b>Compare</b> ({k('compare_tab')}) runs the notebook's whole study — widths × modes ×
seeds from the same initial networks — with the elbows of both SGD modes side by side.
Double-click a cell to open it in the studio ({k('studio_tab')}).</li>
</ol>
<p><b>Help &gt; Notebook lessons</b> walks through the notes' three experiments step by step;
<b>Help &gt; Keyboard shortcuts</b> lists every key.</p>
"""


class QuickStartDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Quick start — ReLU Studio")
        self.text = QTextBrowser()
        self.text.setHtml(quick_start_html())
        self.text.setOpenExternalLinks(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text, 1)
        lay.addWidget(buttons)
        self.resize(640, 520)


class HelpActions:
    """The Help menu's handlers for a main window (the lesson dock is made when first asked for)."""

    def __init__(self, window):
        self.w = window
        self.dock: QDockWidget | None = None
        self.tour = None
        self.panel = None
        self.outline = None  # the Outline around the view a lesson step points at
        self._dialogs: dict[str, QDialog] = {}

    def handlers(self) -> dict:
        """Action name -> slot, for :func:`~relu_studio.ui.actions.build_actions`."""
        return {"shortcuts": self.show_shortcuts, "quick_start": self.show_quick_start,
                "lessons": self.show_lessons}

    def _dialog(self, key, make) -> QDialog:
        d = self._dialogs.get(key)
        if d is None:
            d = self._dialogs[key] = make()
        d.show()
        d.raise_()
        d.activateWindow()
        return d

    def show_shortcuts(self) -> ShortcutsDialog:
        extra = {n: a for n, a in self.w.actions_.items() if n not in {s.name for s in ACTIONS}}
        return self._dialog("shortcuts", lambda: ShortcutsDialog(shortcut_rows(extra), self.w))

    def show_quick_start(self) -> QuickStartDialog:
        return self._dialog("quick_start", lambda: QuickStartDialog(self.w))

    def show_lessons(self) -> QDockWidget:
        """The lesson tour, in a dock beside the canvas (below the hidden units)."""
        from .lesson_tour import LessonPanel, LessonTour

        w = self.w
        if self.dock is None:
            self.tour = LessonTour(w.c, w.compare_controller, self.point_at, parent=w)
            self.panel = LessonPanel(self.tour)
            dock = QDockWidget("Lesson", w)
            dock.setObjectName("lesson")
            dock.setWidget(self.panel)
            dock.setMinimumWidth(300)
            w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            if w.units_dock.isVisible():  # below the unit table, so that both stay in view
                w.splitDockWidget(w.units_dock, dock, Qt.Orientation.Vertical)
                w.resizeDocks([w.units_dock, dock], [2, 3], Qt.Orientation.Vertical)
            self.dock = dock
            dock.visibilityChanged.connect(lambda on: on or self.point_at(None))
        self.dock.show()
        self.dock.raise_()
        return self.dock

    # ------------------------------------------------------------------ pointing at a view
    def target(self, key: str | None) -> tuple[QWidget | None, int | None]:
        """The widget a lesson's ``look_at`` names and the tab it is on (None: either)."""
        w = self.w
        studio = {"canvas": w.canvas, "loss": w.loss, "timeline": w.timeline,
                  "units": w.units_table, "parameters": w.panel}
        compare = {"compare": w.compare.small, "kymographs": w.compare.kymos,
                   "compare_loss": w.compare.loss, "results": w.compare.table}
        if key in studio:
            return studio[key], 0
        if key in compare:
            return compare[key], 1
        return None, None

    def point_at(self, key: str | None) -> None:
        """Outline the view ``key`` (switching to its tab, showing its dock); None: no outline."""
        from .lesson_tour import Outline

        widget, tab = self.target(key)
        if self.outline is not None:
            self.outline.remove()
            self.outline = None
        if widget is None:
            return
        if tab is not None and self.w.tabs.currentIndex() != tab:
            self.w.tabs.setCurrentIndex(tab)
        if tab == 1 and self.dock is not None and not self.dock.isFloating():
            # Compare needs the width: the tour keeps to a narrow column beside it.
            self.w.resizeDocks([self.dock], [COMPARE_DOCK_WIDTH], Qt.Orientation.Horizontal)
        for dock in (self.w.param_dock, self.w.units_dock):
            if dock.widget() is widget or dock.isAncestorOf(widget):
                dock.show()
                dock.raise_()
        self.outline = Outline(widget)
