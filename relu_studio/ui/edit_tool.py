"""Turns the canvas's mouse gestures into hand edits: Qt events in, the core's gestures out.

Which network a drag makes at each pointer position is decided by the core's Qt-free
:class:`~relu_studio.core.editing.Drag`; what a click means by
:func:`~relu_studio.core.editing.click_action`. This module only maps Qt's events onto them and
hands the results to the controller: previews while the button is down, one undo step when it
is released, nothing when a right click cancels the drag.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal

from ..core.editing import Drag, click_action


class EditTool(QObject):
    unitSelected = Signal(object)  # unit index or None
    pointSelected = Signal(object)  # data index or None

    def __init__(self, controller, canvas, parent=None):
        super().__init__(parent)
        self.c = controller
        self.canvas = canvas
        self.drag: Drag | None = None
        canvas.editStarted.connect(self._started)
        canvas.editMoved.connect(self._moved)
        canvas.editFinished.connect(self._finished)
        canvas.editCancelled.connect(self._cancelled)
        canvas.clicked.connect(self._clicked)

    # ------------------------------------------------------------------ drags
    def _started(self, target):
        kind, j = target
        # A slope handle keeps the x where the canvas draws it (in its gutter, in its lane).
        anchor = float(self.canvas.handle_positions()[0][j]) if kind == "handle" else None
        self.drag = Drag(kind, j, self.c.shown_network, self.c.data, self.canvas.scaled, anchor)
        if self.drag.unit is not None:
            self.unitSelected.emit(j)
        else:
            self.pointSelected.emit(j)

    def _moved(self, target, x, y, modifiers):
        if self.drag is None:
            return
        try:
            network, data = self.drag.move(x, y, snap=bool(modifiers & Qt.KeyboardModifier.ShiftModifier))
            err = self.c.preview_edit(network, data)
        except ValueError as exc:
            err = str(exc)
        if err:
            self.c.say(err, "warning")

    def _finished(self, _target):
        if self.drag is not None:
            self.c.commit_edit(self.drag.text)
        self.drag = None

    def _cancelled(self):
        self.drag = None
        self.c.cancel_edit()
        self.c.say("Drag cancelled.")

    # ------------------------------------------------------------------ clicks
    def _clicked(self, target, x, y, button, modifiers):
        kind, j = target if target is not None else (None, None)
        name = {Qt.MouseButton.LeftButton: "left", Qt.MouseButton.RightButton: "right"}.get(button)
        action = click_action(kind, name, bool(modifiers & Qt.KeyboardModifier.ControlModifier),
                              self.canvas.data_edit_mode) if name else None
        if action == "select_unit":
            self.unitSelected.emit(j)
        elif action == "delete_point":
            self.delete_point(j)
        elif action == "select_point":
            self.pointSelected.emit(j)
        elif action == "add_point":
            self.add_point(x, y)
        elif action == "clear_selection":
            self.unitSelected.emit(None)
            self.pointSelected.emit(None)

    def add_point(self, x: float, y: float):
        d = self.c.data
        self.c.apply_edit("Add data point", data=d.with_points(np.append(d.x, x), np.append(d.y, y)))

    def delete_point(self, i: int | None):
        d = self.c.data
        if i is None or not 0 <= i < d.n:
            return
        if d.n <= 1:
            self.c.say("The last data point cannot be deleted.", "warning")
            return
        self.c.apply_edit("Delete data point", data=d.with_points(np.delete(d.x, i), np.delete(d.y, i)))
        self.pointSelected.emit(None)
