"""Real mouse events for pyqtgraph views, as pyqtgraph's own tests send them."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NONE = Qt.KeyboardModifier.NoModifier


def prepare(plot_widget):
    """No mouse-move rate limit and no minimum drag time, so drags register at test speed."""
    pg.setConfigOption("mouseRateLimit", 0)
    plot_widget.scene().minDragTime = 0


def to_pixel(plot_widget, x, y) -> QPointF:
    """Viewport pixel position of view coordinates (x, y)."""
    scene = plot_widget.plotItem.vb.mapViewToScene(QPointF(x, y))
    return QPointF(plot_widget.mapFromScene(scene))


def _send(widget, kind, pos, button, buttons, modifiers):
    # A user's next press or release comes after the event loop has turned: what the last one
    # changed has been redrawn (the views redraw once per turn of the loop).
    if kind != QEvent.Type.MouseMove:
        QApplication.processEvents()
    vp = widget.viewport()
    ev = QMouseEvent(kind, pos, QPointF(vp.mapToGlobal(pos.toPoint())), button, buttons, modifiers)
    QApplication.sendEvent(vp, ev)


def press(w, pos, button=LEFT, modifiers=NONE):
    _send(w, QEvent.Type.MouseButtonPress, pos, button, button, modifiers)


def move(w, pos, buttons=LEFT, modifiers=NONE):
    _send(w, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, buttons, modifiers)


def release(w, pos, button=LEFT, modifiers=NONE, buttons=Qt.MouseButton.NoButton):
    _send(w, QEvent.Type.MouseButtonRelease, pos, button, buttons, modifiers)


def drag(w, start: QPointF, end: QPointF, steps: int = 6, modifiers=NONE):
    """Press at ``start``, move in ``steps`` to ``end``, release there (left button)."""
    press(w, start, LEFT, modifiers)
    for k in range(1, steps + 1):
        t = k / steps
        move(w, QPointF(start.x() + t * (end.x() - start.x()), start.y() + t * (end.y() - start.y())),
             LEFT, modifiers)
    release(w, end, LEFT, modifiers)


def click(w, pos, button=LEFT, modifiers=NONE):
    press(w, pos, button, modifiers)
    release(w, pos, button, modifiers)
