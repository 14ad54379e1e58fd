"""The canvas: data, ground truth, prediction, every hidden unit, its elbow and slope handle.

It also turns mouse gestures into edit *intents* (signals): which elbow, handle, unit line or data
point was grabbed, and where it is being dragged, in data coordinates. What an intent means for
the network is decided elsewhere (``edit_tool``); the canvas only draws and hit-tests.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGraphicsItem, QLabel

from ..core.dataset import Dataset
from ..core.editing import data_range, handle_positions
from ..core.geometry import prediction_polyline, unit_polylines
from ..core.network import Network
from . import style

DEFAULT_VIEW = ((0.0, 1.0), (-2.5, 2.5))
#: How close (in screen pixels) the pointer must be to grab something.
GRAB_PX = {"elbow": 8.0, "handle": 8.0, "point": 7.0, "unitline": 5.0}
#: Above this width, only the selected unit's slope handle is drawn (hundreds would be clutter).
MAX_HANDLES_SHOWN = 60


class Markers(pg.ScatterPlotItem):
    """Scatter markers that leave clicks to the view box, which hit-tests everything in one place."""

    def mouseClickEvent(self, ev):
        ev.ignore()


class EditViewBox(pg.ViewBox):
    """A ViewBox that offers presses to the canvas first: grabbed items are dragged, else it pans.

    A right click during a drag cancels it (pyqtgraph's convention for draggable items).
    """

    def __init__(self, canvas: "Canvas"):
        super().__init__()
        self._canvas = canvas
        self._drag = None
        self._swallow = False  # after a cancel, ignore the rest of that drag

    def mouseDragEvent(self, ev, axis=None):
        c = self._canvas
        if ev.button() == Qt.MouseButton.LeftButton:
            if ev.isStart():
                self._swallow = False
                target = c.hit_test(self.mapToView(ev.buttonDownPos()), ev.modifiers())
                if target is not None:
                    self._drag = target
                    ev.accept()
                    c.editStarted.emit(target)
                    p = self.mapToView(ev.pos())
                    c.editMoved.emit(target, p.x(), p.y(), ev.modifiers())
                    return
            if self._swallow:
                ev.accept()
                if ev.isFinish():
                    self._swallow = False
                return
            if self._drag is not None:
                ev.accept()
                p = self.mapToView(ev.pos())
                if ev.isFinish():
                    target, self._drag = self._drag, None
                    c.editMoved.emit(target, p.x(), p.y(), ev.modifiers())
                    c.editFinished.emit(target)
                else:
                    c.editMoved.emit(self._drag, p.x(), p.y(), ev.modifiers())
                return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):
        c = self._canvas
        if ev.button() == Qt.MouseButton.RightButton and self._drag is not None:
            ev.accept()
            self._drag = None
            self._swallow = True
            c.editCancelled.emit()
            return
        p = self.mapToView(ev.pos())
        target = c.hit_test(p, ev.modifiers(), for_click=True)
        c.clicked.emit(target, p.x(), p.y(), ev.button(), ev.modifiers())
        ev.accept()


class Canvas(pg.PlotWidget):
    """Shows one network on one data set; recomputes the exact polylines when the view pans."""

    editStarted = Signal(object)  # target: ("elbow"|"handle"|"unitline", unit) or ("point", index)
    editMoved = Signal(object, float, float, object)  # target, x, y, keyboard modifiers
    editFinished = Signal(object)
    editCancelled = Signal()
    clicked = Signal(object, float, float, object, object)  # target or None, x, y, button, modifiers

    def __init__(self, parent=None):
        self.vb = EditViewBox(self)
        super().__init__(parent, viewBox=self.vb)
        style.apply_plot_theme(self)
        self.setMenuEnabled(False)
        p = self.getPlotItem()
        # No grid: pyqtgraph's grid costs more to paint than everything else together, and the
        # notes' figures have none. The x axis (y = 0), where the elbows sit, is drawn instead.
        self.zero = pg.InfiniteLine(pos=0, angle=0, pen=style.pen(style.ELBOW, 1.0, alpha=140))
        p.addItem(self.zero)
        p.setLabel("bottom", "x")
        p.setLabel("left", "y")
        self.legend = style.add_legend(p, (10, 6))
        # A fixed legend: a draggable one would catch drags meant for the points and elbows under it.
        self.legend.hoverEvent = lambda ev: None
        self.legend.mouseDragEvent = lambda ev: ev.ignore()
        # A 1-px opaque dotted pen: wider or translucent dotted pens cost 4x more to paint.
        self.units = pg.PlotDataItem(pen=style.pen(style.UNITS, 1.0, Qt.PenStyle.DotLine),
                                     connect="finite", name="hidden units", skipFiniteCheck=True)
        self.selected_unit = pg.PlotDataItem(pen=style.pen(style.SELECTED, 2.5), connect="finite")
        self.truth = pg.PlotDataItem(pen=style.pen(style.TRUTH, 2.0, Qt.PenStyle.DashLine), name="ground truth")
        self.points = Markers(size=7, brush=pg.mkBrush(style.DATA), pen=pg.mkPen(None),
                                         name="training data")
        self.prediction = pg.PlotDataItem(pen=style.pen(style.PREDICTION, 2.6), name="prediction")
        self.elbows = Markers(size=9, hoverable=True, tip=self._tip, name="elbows",
                                         brush=pg.mkBrush(style.ELBOW), pen=pg.mkPen(None),
                                         hoverSize=13, hoverPen=pg.mkPen("k", width=1.5))
        self.dead_elbows = Markers(size=9, hoverable=True, tip=self._tip,
                                              brush=pg.mkBrush(None), pen=style.pen(style.DEAD, 1.5),
                                              hoverSize=13, hoverPen=pg.mkPen("k", width=1.5))
        self.handles = Markers(symbol="d", size=9, hoverable=True, tip=self._handle_tip,
                                          brush=pg.mkBrush(style.UNITS), pen=pg.mkPen(None),
                                          hoverSize=13, name="slope handles")
        # The selected unit's elbow: drawn by its own item (filled grey, or hollow red when dead,
        # inside a pink ring), so the other elbows' item stays unchanged while it is dragged.
        self.selected_marker = Markers(size=15, brush=pg.mkBrush(None),
                                                  pen=style.pen(style.SELECTED, 2.0))
        self.selected_elbow = Markers(size=9, brush=pg.mkBrush(style.ELBOW), pen=pg.mkPen(None))
        z = {self.units: 1, self.selected_unit: 2, self.truth: 3, self.points: 5, self.prediction: 6,
             self.handles: 9, self.elbows: 10, self.dead_elbows: 10, self.selected_elbow: 10,
             self.selected_marker: 11}
        for item, zv in z.items():
            item.setZValue(zv)
            p.addItem(item)
        # Items that stay put while one unit is dragged are painted from a cached pixmap; the
        # dotted lines of a thousand units cost far more to stroke than to blit.
        for item in (self.units, self.truth, self.points, self.elbows, self.dead_elbows,
                     p.getAxis("left"), p.getAxis("bottom")):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.dead_sample = pg.ScatterPlotItem(symbol="o", size=9, pen=style.pen(style.DEAD, 1.5),
                                              brush=pg.mkBrush(None))
        self.legend.addItem(self.dead_sample, "dead unit (never active on the data)")
        self.legend.setColumnCount(2)  # two short columns cover less of the data than one tall one
        self.hint = QLabel(self)
        self.hint.setStyleSheet("background: rgba(255,248,220,230); color: #5c4400; padding: 4px 8px;"
                                "border: 1px solid #e0c060; border-radius: 4px;")
        self.hint.hide()
        self.net: Network | None = None
        self.data: Dataset | None = None
        self.dead = np.zeros(0, bool)
        self.scaled = False
        self.units_visible = True
        self.editable = True
        self.data_edit_mode = False
        self.selected: int | None = None
        self._handle_xy = (np.zeros(0), np.zeros(0))
        p.vb.sigXRangeChanged.connect(lambda *_: self._redraw_network())
        self.reset_view()

    # ------------------------------------------------------------------ view
    def reset_view(self):
        (x0, x1), (y0, y1) = DEFAULT_VIEW
        self.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    def fit_view(self):
        """Fit the data, the truth and the prediction (units and elbows may lie outside)."""
        if self.data is None:
            return
        ys = [self.data.y]
        if self.data.target is not None:
            ys.append(self.data.y_test)
        if self.net is not None:
            ys.append(self.net.predict(self.data.x_test))
        y = np.concatenate(ys)
        x0, x1 = float(self.data.x_test.min()), float(self.data.x_test.max())
        self.vb.setRange(xRange=(x0, x1), yRange=(float(np.min(y)), float(np.max(y))), padding=0.06)

    def set_scaled(self, on: bool):
        self.scaled = bool(on)
        self._redraw_network()

    def set_units_visible(self, on: bool):
        self.units_visible = bool(on)
        self.units.setVisible(self.units_visible)
        self._redraw_network()

    def set_editable(self, on: bool, reason: str = ""):
        """Whether elbows, handles and points can be grabbed; ``reason`` is shown when not."""
        self.editable = bool(on)
        self.hint.setText(reason)
        self.hint.setVisible(bool(reason) and not on)
        self.hint.adjustSize()
        self._place_hint()

    def set_data_edit_mode(self, on: bool):
        self.data_edit_mode = bool(on)
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    def select_unit(self, j: int | None):
        self.selected = j
        self._redraw_network()

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        self._place_hint()

    def _place_hint(self):
        hint = self.__dict__.get("hint")  # resize events arrive before __init__ has made it
        if hint is not None:
            hint.move(max(0, self.width() - hint.width() - 16), 8)

    # ------------------------------------------------------------------ content
    def set_dataset(self, data: Dataset, points_only: bool = False):
        self.data = data
        self.points.setData(data.x, data.y, data=np.arange(data.n))
        if not points_only:
            if data.target is not None:
                self.truth.setData(data.x_test, data.y_test)
                self.truth.show()
            else:
                self.truth.setData([], [])
                self.truth.hide()
        self._redraw_network()

    def show_network(self, net: Network, dead: np.ndarray):
        self.net = net
        self.dead = np.asarray(dead, bool)
        if self.selected is not None and self.selected >= net.width:
            self.selected = None
        self._redraw_network()

    def _redraw_network(self):
        net = self.net
        if net is None:
            return
        # Exactly the visible x range: lines reaching past it would dirty the axes on every redraw.
        (lo, hi), _ = self.vb.viewRange()
        xp, yp = prediction_polyline(net, lo, hi)
        self.prediction.setData(xp, yp)
        if self.units_visible:
            # The selected unit is drawn by its own item on top, so the others' item stays the
            # same while it is dragged (unscaled view) and is then painted from its cache.
            others = net
            j = self.selected
            if j is not None and j < net.width and net.width > 1:
                keep = np.arange(net.width) != j
                others = net.replace(w1=net.w1[keep], b1=net.b1[keep], w2=net.w2[keep])
            xu, yu = unit_polylines(others, lo, hi, scaled=self.scaled)
            old_x, old_y = self.units.xData, self.units.yData
            if not (old_x is not None and old_x.shape == xu.shape and np.array_equal(old_x, xu, equal_nan=True)
                    and np.array_equal(old_y, yu, equal_nan=True)):
                self.units.setData(xu, yu)
        e = net.elbows
        dead = self.dead if self.dead.shape == e.shape else np.zeros(e.shape, bool)
        j = self.selected if self.selected is not None and self.selected < net.width else None
        others = np.isfinite(e)
        if j is not None:
            others[j] = False
        for item, mask in ((self.elbows, ~dead & others), (self.dead_elbows, dead & others)):
            idx = np.nonzero(mask)[0]
            x = e[idx]
            old = item.data
            if len(old) == idx.size and np.array_equal(old["x"], x) and np.array_equal(old["data"].astype(int), idx):
                continue  # unchanged (e.g. the others while one elbow is dragged): keep its cache
            item.setData(x=x, y=np.zeros(idx.size), data=idx)
        d_lo, d_hi = data_range(self.data)
        hx, hy = handle_positions(net, d_lo, d_hi, scaled=self.scaled)
        self._handle_xy = (hx, hy)
        shown = np.arange(net.width) if net.width <= MAX_HANDLES_SHOWN else (
            np.array([self.selected]) if self.selected is not None else np.zeros(0, int))
        self.handles.setData(x=hx[shown], y=hy[shown], data=shown)
        j = self.selected
        if j is not None and j < net.width:
            one = net.replace(w1=net.w1[j:j + 1], b1=net.b1[j:j + 1], w2=net.w2[j:j + 1])
            xs, ys = unit_polylines(one, lo, hi, scaled=self.scaled)
            self.selected_unit.setData(xs, ys)
            at = ([e[j]], [0.0]) if np.isfinite(e[j]) else ([], [])
            self.selected_marker.setData(*at)
            self.selected_elbow.setData(*at, data=[j] * len(at[0]),
                                        brush=pg.mkBrush(None) if dead[j] else pg.mkBrush(style.ELBOW),
                                        pen=style.pen(style.DEAD, 1.5) if dead[j] else pg.mkPen(None))
        else:
            self.selected_unit.setData([], [])
            self.selected_marker.setData([], [])
            self.selected_elbow.setData([], [])

    # ------------------------------------------------------------------ what is drawn (public)
    def handle_positions(self):
        """(xs, ys) of every unit's slope handle as drawn (data coordinates)."""
        return self._handle_xy

    def point_positions(self):
        """(xs, ys) of the data points as drawn."""
        return self.points.getData()

    def prediction_data(self):
        """(xs, ys) of the prediction polyline as drawn."""
        return self.prediction.getData()

    def dead_units_drawn(self) -> np.ndarray:
        """The indices of the units drawn as dead (hollow red elbows), sorted."""
        return np.sort(np.asarray(self.dead_elbows.data["data"], dtype=int))

    def unit_lines(self):
        """(xs, ys) of the hidden units' polyline as drawn (NaN-separated, the selected one apart)."""
        return self.units.getData()

    def elbow_positions(self) -> np.ndarray:
        """The x of every drawn elbow (alive, dead and the selected one)."""
        xs = [self.elbows.getData()[0], self.dead_elbows.getData()[0], self.selected_elbow.getData()[0]]
        return np.sort(np.concatenate([np.asarray(x, float) for x in xs]))

    # ------------------------------------------------------------------ hit testing
    def hit_test(self, pos, modifiers=None, for_click: bool = False):
        """What lies under ``pos`` (view coordinates), in priority order, or None."""
        net = self.net
        if net is None:
            return None
        px, py = self.vb.viewPixelSize()
        x, y = float(pos.x()), float(pos.y())

        def nearest(xs, ys, limit):
            if len(xs) == 0:
                return None
            d = np.hypot((np.asarray(xs) - x) / px, (np.asarray(ys) - y) / py)
            i = int(np.argmin(d))
            return i if d[i] <= limit else None

        if self.editable or for_click:
            e = net.elbows
            ok = np.nonzero(np.isfinite(e))[0]
            i = nearest(e[ok], np.zeros(ok.size), GRAB_PX["elbow"])
            if i is not None:
                return ("elbow", int(ok[i]))
            hx, hy = self._handle_xy
            shown = self.handles.data["data"].astype(int) if len(self.handles.data) else np.zeros(0, int)
            i = nearest(hx[shown], hy[shown], GRAB_PX["handle"])
            if i is not None:
                return ("handle", int(shown[i]))
        if self.data is not None and (self.data_edit_mode or for_click):
            i = nearest(self.data.x, self.data.y, GRAB_PX["point"])
            if i is not None:
                return ("point", i)
        if self.scaled and (self.editable or for_click):
            contrib = net.unit_outputs(np.array([x]), scaled=True)[:, 0]
            active = net.unit_outputs(np.array([x]))[:, 0] > 0
            if active.any():
                d = np.where(active, np.abs(contrib - y) / py, np.inf)
                j = int(np.argmin(d))
                if d[j] <= GRAB_PX["unitline"]:
                    return ("unitline", j)
        return None

    # ------------------------------------------------------------------ tooltips
    def _tip(self, x, y, data):
        net = self.net
        j = int(data)
        if net is None or j >= net.width:
            return ""
        state = "dead (never active on the data)" if j < self.dead.size and self.dead[j] else "alive"
        return (f"unit {j}\nelbow {x:.4g}\nw = {net.w1[j]:.4g}\nb = {net.b1[j]:.4g}\n"
                f"output weight = {net.w2[j]:.4g}\n{state}\n(drag to move the elbow; Shift snaps to data)")

    def _handle_tip(self, x, y, data):
        j = int(data)
        what = "output weight" if self.scaled else "slope (the elbow stays)"
        return f"unit {j}: drag vertically to change its {what}"
