"""Every action of the main window, its menus and its toolbar, declared in one table.

A row says what an action is called, its shortcut, tooltip, icon and whether it is a toggle;
:func:`build_actions` makes the QActions and connects each to the handler of the same name that
the window (or its file actions) provides. The menus and the toolbar list actions by name.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QStyle, QToolBar, QWidget

__all__ = ["ActionSpec", "ACTIONS", "MENUS", "TOOLBAR", "build_actions", "build_menus",
           "build_toolbar"]

K = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    shortcut: object = None  # a key text, a Qt.Key, a StandardKey, or a tuple of them
    tip: str = ""
    icon: str | None = None  # a QStyle.StandardPixmap name
    checkable: bool = False
    checked: bool = False


ACTIONS = (
    # ---- training
    ActionSpec("train", "Train", Qt.Key.Key_Space, "Start training, pause or resume", "SP_MediaPlay"),
    ActionSpec("step", "Step", "S", "Train one snapshot interval, then pause", "SP_MediaSeekForward"),
    ActionSpec("stop", "Stop", "Ctrl+.", "End the run; its history is kept", "SP_MediaStop"),
    ActionSpec("pace_slower", "Slower pace", "[", "Train fewer steps per second (the results do not change)"),
    ActionSpec("pace_faster", "Faster pace", "]", "Train more steps per second, up to full speed"),
    ActionSpec("pace_log", "Log-time pace", None, "Early steps slow, later fast: every tenfold of steps "
               "takes the same time", checkable=True),
    ActionSpec("start_ask", "Ask", None, "When the mode, learning rate or width changed since the last run, "
               "ask whether Train starts from the initial network or continues", checkable=True, checked=True),
    ActionSpec("start_initial", "Start from the initial network", None,
               "After a change of mode, learning rate or width, Train starts from the initial network "
               "(the notebook's comparison: every mode from the same start)", checkable=True),
    ActionSpec("start_continue", "Continue from here", None,
               "After a change of mode, learning rate or width, Train continues from the network "
               "trained so far", checkable=True),
    # ---- edit
    ActionSpec("reset", "Reset", "Ctrl+R", "Back to the initial network (undoable)", "SP_MediaSkipBackward"),
    # No icon: the style's check mark read as a toggle; this is a one-shot command.
    ActionSpec("ridge", "Fit ridge now", "Ctrl+F", "Solve the output layer in closed form on the current features"),
    ActionSpec("follow", "Ridge follow", "Ctrl+Shift+F",
               "Re-solve the output layer by ridge on every hand edit", checkable=True),
    ActionSpec("edit_data", "Edit data", "D", "Click adds a point, drag moves one, right-click or Delete "
               "removes it (Ctrl+click adds in any mode)", checkable=True),
    ActionSpec("delete_point", "Delete point", K.Delete, "Delete the selected data point"),
    ActionSpec("regenerate", "Regenerate data", "Ctrl+G", "Draw new data from the panel's values (undoable)"),
    ActionSpec("reinit", "Re-initialise network", "Ctrl+I",
               "New initial network from the panel's width and seed (undoable)"),
    # ---- view
    ActionSpec("fit_view", "Fit view", "F", "Fit the view to the data and prediction"),
    ActionSpec("default_view", "Default view", "Home",
               "The notebook's view: [0, 1] x [-2.5, 2.5], with room at the sides for the slope handles"),
    ActionSpec("units", "Show hidden units", "U", "Draw every unit's max(0, w x + b)", checkable=True,
               checked=True),
    ActionSpec("scaled", "Scale units by output weight", "W", "Draw each unit's share of the prediction",
               checkable=True),
    ActionSpec("kinks", "Target's kinks", "K", "Dashed lines where the target bends: where the elbows "
               "should go when all layers train", checkable=True, checked=True),
    ActionSpec("initial_elbows", "Initial elbows", "I", "Hollow rings where the initial network's elbows "
               "were: how far each elbow has moved", checkable=True, checked=True),
    ActionSpec("trails", "Elbow trails", "T", "Each elbow's path up to the shown snapshot, below the x axis "
               "(step 0 at the bottom, log scale; broken where the slope w crosses zero)", checkable=True),
    ActionSpec("lens", "Theory lens", "G", "Why the elbows move: gradient arrows on the elbows and slope "
               "handles, the gradient features (Jacobian SVD), the distance to the ridge optimum and "
               "2-D loss slices, in a panel beside the canvas", checkable=True),
    ActionSpec("play", "Play back", "P", "Play back the snapshots"),
    ActionSpec("log_steps", "Log step axis", "L", "Timeline and loss pane on a log step scale: the "
               "early steps, where the elbows migrate, get most of the room", checkable=True),
    ActionSpec("previous", "Previous snapshot", Qt.Key.Key_Left, "Previous snapshot"),
    ActionSpec("next", "Next snapshot", Qt.Key.Key_Right, "Next snapshot"),
    ActionSpec("newest", "Newest snapshot", "End", "Newest snapshot"),
    ActionSpec("studio_tab", "Studio", "Ctrl+1", "The studio view"),
    ActionSpec("compare_tab", "Compare", "Ctrl+2", "The Compare view"),
    # ---- files
    ActionSpec("new", "&New", K.New, "Start over with the notebook's defaults"),
    ActionSpec("open", "&Open…", K.Open, "Open a session file"),
    ActionSpec("save", "&Save", K.Save, "Save the session"),
    ActionSpec("save_as", "Save &As…", "Ctrl+Shift+S", "Save the session under a new name"),
    ActionSpec("import_initial", "Network as initial (.pt)…", None,
               "A state dict of nn.Sequential(Linear(1,H), ReLU(), Linear(H,1))"),
    ActionSpec("import_current", "Network as current (.pt)…", None,
               "A state dict, appended to the timeline as the current network"),
    ActionSpec("import_history", "Notebook history (.pt)…", None,
               "A dict step -> {'state', 'train_error', 'test_error'} saved with torch.save"),
    ActionSpec("import_csv", "Data points (CSV)…", None, "x,y points: the new training data"),
    ActionSpec("export_canvas_png", "Canvas as PNG…"),
    ActionSpec("export_canvas_svg", "Canvas as SVG…"),
    ActionSpec("export_loss_png", "Loss pane as PNG…"),
    ActionSpec("export_loss_svg", "Loss pane as SVG…"),
    ActionSpec("export_figure_png", "Canvas and loss pane as PNG…", None,
               "One figure: the canvas above the loss pane, without editing handles or selection"),
    ActionSpec("export_figure_svg", "Canvas and loss pane as SVG…", None,
               "One figure: the canvas above the loss pane, without editing handles or selection"),
    ActionSpec("export_animation", "Training animation (GIF/MP4)…"),
    ActionSpec("export_data_csv", "Data points (CSV)…"),
    ActionSpec("export_history_csv", "History (CSV)…"),
    ActionSpec("export_current_pt", "Current network (.pt)…"),
    ActionSpec("export_shown_pt", "Shown snapshot's network (.pt)…"),
    ActionSpec("quit", "Quit", K.Quit, "Quit ReLU Studio"),
    # ---- help
    ActionSpec("quick_start", "Quick start", "F1", "What is on the screen and how to use it, in five steps"),
    ActionSpec("lessons", "Notebook lessons…", "Shift+F1",
               "A guided tour through the notes' three experiments, beside the canvas"),
    ActionSpec("shortcuts", "Keyboard shortcuts", "Ctrl+/", "Every keyboard shortcut, from the action table"),
    ActionSpec("about", "About ReLU Studio", None, "Version, licences and the components inside"),
    ActionSpec("about_qt", "About Qt", None, "Qt's version and licence"),
)

#: Menu title -> entries: an action's name, None for a separator, "@name" for a submenu (its
#: title and entries are in SUBMENUS, or it is filled at run time, e.g. the recent files).
MENUS = {
    "&File": ("new", "open", "@recent", None, "save", "save_as", None, "@import", "@export", None, "quit"),
    "&Edit": ("undo", "redo", None, "edit_data", "delete_point", None, "follow", "ridge", None,
              "regenerate", "reinit", "reset"),
    "&Training": ("train", "step", "stop", None, "pace_slower", "pace_faster", "pace_log", None,
                  "@start_choice"),
    "&View": ("units", "scaled", None, "kinks", "initial_elbows", "trails", "lens", None, "fit_view", "default_view", None, "play", "previous", "next",
              "newest", "log_steps", None, "@docks", None, "studio_tab", "compare_tab"),
    "&Help": ("quick_start", "lessons", "shortcuts", None, "about", "about_qt"),
}
SUBMENUS = {
    "start_choice": ("When settings &changed", ("start_ask", "start_initial", "start_continue")),
    "import": ("&Import", ("import_initial", "import_current", "import_history", "import_csv")),
    "export": ("&Export", ("export_canvas_png", "export_canvas_svg", "export_loss_png", "export_loss_svg",
                           "export_figure_png", "export_figure_svg", None, "export_animation", None, "export_data_csv", "export_history_csv", None,
                           "export_current_pt", "export_shown_pt")),
}
#: Toolbar entries: an action's name, None for a separator, "@name" for a widget made elsewhere.
TOOLBAR = ("train", "step", "stop", "@pace", None, "reset", "ridge", "follow", None, "undo", "redo", None,
           "edit_data", "fit_view", "default_view")


def _keys(shortcut) -> list[QKeySequence]:
    items = shortcut if isinstance(shortcut, tuple) else (shortcut,)
    return [QKeySequence(k) for k in items if k is not None]


def build_actions(window: QWidget, handlers: dict, extra: dict | None = None) -> dict[str, QAction]:
    """A QAction per row of :data:`ACTIONS`, owned by ``window`` (so its shortcut works anywhere
    in it), connected to ``handlers[name]`` (``toggled`` for a toggle). ``extra`` adds actions
    made elsewhere (undo and redo come from the undo stack)."""
    actions = dict(extra or {})
    style = window.style()
    for spec in ACTIONS:
        a = QAction(spec.text, window)
        a.setObjectName(f"action-{spec.name}")
        keys = _keys(spec.shortcut)
        tip = spec.tip or spec.text.replace("&", "").rstrip("…")
        if keys:
            a.setShortcuts(keys)
            tip = f"{tip} ({keys[0].toString(QKeySequence.SequenceFormat.NativeText)})"
        a.setToolTip(tip)
        a.setStatusTip(tip)
        if spec.icon:
            a.setIcon(style.standardIcon(getattr(QStyle.StandardPixmap, spec.icon)))
        a.setCheckable(spec.checkable)
        a.setChecked(spec.checked)
        handler = handlers.get(spec.name)
        if handler is not None:
            (a.toggled if spec.checkable else a.triggered).connect(handler)
        window.addAction(a)
        actions[spec.name] = a
    for a in (extra or {}).values():
        window.addAction(a)
    return actions


def _fill(menu: QMenu, entries, actions: dict, submenus: dict) -> None:
    for entry in entries:
        if entry is None:
            menu.addSeparator()
        elif entry.startswith("@"):
            key = entry[1:]
            if key in SUBMENUS:
                title, items = SUBMENUS[key]
                sub = menu.addMenu(title)
                _fill(sub, items, actions, submenus)
                submenus[key] = sub
            elif key in submenus:
                sub = submenus[key]
                if isinstance(sub, QMenu):
                    menu.addMenu(sub)
                else:  # a list of actions made elsewhere (e.g. the docks' toggles)
                    for a in sub:
                        menu.addAction(a)
        else:
            menu.addAction(actions[entry])


def build_menus(window, actions: dict, submenus: dict) -> dict:
    """The menu bar from :data:`MENUS`; ``submenus`` gives the run-time submenus ("recent") and
    action lists ("docks"). Returns every submenu by key."""
    bar = window.menuBar()
    for title, entries in MENUS.items():
        _fill(bar.addMenu(title), entries, actions, submenus)
    return submenus


def build_toolbar(window, actions: dict, icon_only=("undo", "redo"), widgets: dict | None = None) -> QToolBar:
    """The toolbar from :data:`TOOLBAR`; ``widgets`` gives its "@name" widgets (e.g. the pace)."""
    tb = QToolBar("Training")
    tb.setObjectName("training")
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    window.addToolBar(tb)
    for name in TOOLBAR:
        if name is None:
            tb.addSeparator()
        elif name.startswith("@"):
            widget = (widgets or {}).get(name[1:])
            if widget is not None:
                tb.addWidget(widget)
        else:
            tb.addAction(actions[name])
    for name in icon_only:  # their text names the step: a tooltip, not a label
        tb.widgetForAction(actions[name]).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    return tb
