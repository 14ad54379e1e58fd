"""Turns the canvas's gestures into hand edits of the displayed network and data.

Every drag is computed from the state at its start (so a drag is exact and one undo step), shown
live through the controller's preview (ridge follow re-solves the output layer on every event),
and committed when the button is released; a right click mid-drag cancels it.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal

from ..core.editing import output_weight_from_handle, slope_from_handle, snap_to_data


class EditTool(QObject):
    unitSelected = Signal(object)  # unit index or None
    pointSelected = Signal(object)  # data index or None

    def __init__(self, controller, canvas, displayed_network, parent=None):
        super().__init__(parent)
        self.c = controller
        self.canvas = canvas
        self._displayed = displayed_network  # callable: the network the user sees
        self._base = None
        self._base_data = None
        self._anchor = None
        self._text = ""
        canvas.editStarted.connect(self._started)
        canvas.editMoved.connect(self._moved)
        canvas.editFinished.connect(self._finished)
        canvas.editCancelled.connect(self._cancelled)
        canvas.clicked.connect(self._clicked)

    # ------------------------------------------------------------------ drags
    def _started(self, target):
        kind, j = target
        self._base = self._displayed()
        self._base_data = self.c.data
        if kind in ("elbow", "handle", "unitline"):
            self.unitSelected.emit(j)
            self._anchor = (self.canvas._handle_xy[0][j] if kind == "handle" else None)
        else:
            self.pointSelected.emit(j)
        self._text = {
            "elbow": f"Move elbow {j}",
            "handle": f"Change {'output weight' if self.canvas.scaled else 'slope'} of unit {j}",
            "unitline": f"Change output weight of unit {j}",
            "point": "Move data point",
        }[kind]

    def _moved(self, target, x, y, modifiers):
        if self._base is None:
            return
        kind, j = target
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        try:
            if kind == "elbow":
                e = snap_to_data(x, self._base_data) if shift else x
                err = self.c.preview_edit(network=self._base.with_elbow(j, e), data=self._base_data)
            elif kind == "handle" and not self.canvas.scaled:
                err = self.c.preview_edit(network=slope_from_handle(self._base, j, self._anchor, y),
                                          data=self._base_data)
            elif kind in ("handle", "unitline"):
                if self._anchor is None:
                    self._anchor = x
                net = output_weight_from_handle(self._base, j, self._anchor, y)
                err = self.c.preview_edit(network=net, data=self._base_data)
            else:  # a data point
                xs, ys = np.array(self._base_data.x), np.array(self._base_data.y)
                xs[j], ys[j] = x, y
                err = self.c.preview_edit(network=self._base, data=self._base_data.with_points(xs, ys))
        except ValueError as exc:
            err = str(exc)
        if err:
            self.c.message.emit(err, "warning")

    def _finished(self, _target):
        if self._base is not None:
            self.c.commit_edit(self._text)
        self._base = None

    def _cancelled(self):
        self._base = None
        self.c.cancel_edit()
        self.c.message.emit("Drag cancelled.", "info")

    # ------------------------------------------------------------------ clicks
    def _clicked(self, target, x, y, button, modifiers):
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        left = button == Qt.MouseButton.LeftButton
        right = button == Qt.MouseButton.RightButton
        kind, j = target if target is not None else (None, None)
        if kind in ("elbow", "handle", "unitline") and left:
            self.unitSelected.emit(j)
            return
        if kind == "point" and right and self.canvas.data_edit_mode:
            self.delete_point(j)
            return
        if kind == "point" and left:
            self.pointSelected.emit(j)
            return
        if left and (ctrl or self.canvas.data_edit_mode) and kind is None:
            self.add_point(x, y)
            return
        if left and kind is None:
            self.unitSelected.emit(None)
            self.pointSelected.emit(None)

    def add_point(self, x: float, y: float):
        d = self.c.data
        self.c.apply_edit("Add data point", network=self._displayed(),
                          data=d.with_points(np.append(d.x, x), np.append(d.y, y)))

    def delete_point(self, i: int | None):
        d = self.c.data
        if i is None or not 0 <= i < d.n:
            return
        if d.n <= 1:
            self.c.message.emit("The last data point cannot be deleted.", "warning")
            return
        self.c.apply_edit("Delete data point", network=self._displayed(),
                          data=d.with_points(np.delete(d.x, i), np.delete(d.y, i)))
        self.pointSelected.emit(None)
