"""The canvas: data, ground truth, prediction, every hidden unit and its elbow (pyqtgraph)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ..core.dataset import Dataset
from ..core.geometry import prediction_polyline, unit_polylines
from ..core.network import Network
from . import style

DEFAULT_VIEW = ((0.0, 1.0), (-2.5, 2.5))


class Canvas(pg.PlotWidget):
    """Shows one network on one data set; recomputes the exact polylines when the view pans."""

    def __init__(self, parent=None):
        super().__init__(parent)
        style.apply_plot_theme(self)
        self.setMenuEnabled(False)
        p = self.getPlotItem()
        # No grid: pyqtgraph's grid costs more to paint than everything else together, and the
        # notes' figures have none. The x axis (y = 0), where the elbows sit, is drawn instead.
        self.zero = pg.InfiniteLine(pos=0, angle=0, pen=style.pen(style.ELBOW, 1.0, alpha=140))
        p.addItem(self.zero)
        p.setLabel("bottom", "x")
        p.setLabel("left", "y")
        self.legend = p.addLegend(offset=(10, 10), labelTextSize="9pt",
                                  labelTextColor="#dddddd" if style.is_dark() else "#222222")
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 200) if not style.is_dark() else pg.mkBrush(30, 30, 30, 200))
        # A 1-px opaque dotted pen: wider or translucent dotted pens cost 4x more to paint.
        self.units = pg.PlotDataItem(pen=style.pen(style.UNITS, 1.0, Qt.PenStyle.DotLine),
                                     connect="finite", name="hidden units", skipFiniteCheck=True)
        self.truth = pg.PlotDataItem(pen=style.pen(style.TRUTH, 2.0, Qt.PenStyle.DashLine), name="ground truth")
        self.points = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(style.DATA), pen=pg.mkPen(None),
                                         name="training data")
        self.prediction = pg.PlotDataItem(pen=style.pen(style.PREDICTION, 2.6), name="prediction")
        self.elbows = pg.ScatterPlotItem(size=9, hoverable=True, tip=self._tip, name="elbows",
                                         brush=pg.mkBrush(style.ELBOW), pen=pg.mkPen(None),
                                         hoverSize=13, hoverPen=pg.mkPen("k", width=1.5))
        self.dead_elbows = pg.ScatterPlotItem(size=9, hoverable=True, tip=self._tip,
                                              brush=pg.mkBrush(None), pen=style.pen(style.DEAD, 1.5),
                                              hoverSize=13, hoverPen=pg.mkPen("k", width=1.5))
        self.elbows.setZValue(10)
        self.dead_elbows.setZValue(10)
        self.points.setZValue(5)
        self.prediction.setZValue(6)
        for item in (self.units, self.truth, self.points, self.prediction, self.elbows, self.dead_elbows):
            p.addItem(item)
        self.dead_sample = pg.ScatterPlotItem(symbol="o", size=9, pen=style.pen(style.DEAD, 1.5),
                                              brush=pg.mkBrush(None))
        self.legend.addItem(self.dead_sample, "dead unit (never active on the data)")
        self.net: Network | None = None
        self.data: Dataset | None = None
        self.dead = np.zeros(0, bool)
        self.scaled = False
        self.units_visible = True
        p.vb.sigXRangeChanged.connect(lambda *_: self._redraw_network())
        self.reset_view()

    # ------------------------------------------------------------------ view
    def reset_view(self):
        (x0, x1), (y0, y1) = DEFAULT_VIEW
        self.getPlotItem().vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

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
        y0, y1 = float(np.min(y)), float(np.max(y))
        x0, x1 = float(self.data.x_test.min()), float(self.data.x_test.max())
        self.getPlotItem().vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.06)

    def set_scaled(self, on: bool):
        self.scaled = bool(on)
        self._redraw_network()

    def set_units_visible(self, on: bool):
        self.units_visible = bool(on)
        self.units.setVisible(self.units_visible)
        self._redraw_network()

    # ------------------------------------------------------------------ content
    def set_dataset(self, data: Dataset):
        self.data = data
        self.points.setData(data.x, data.y)
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
        self._redraw_network()

    def _redraw_network(self):
        net = self.net
        if net is None:
            return
        (x0, x1), _ = self.getPlotItem().vb.viewRange()
        span = x1 - x0
        lo, hi = x0 - 0.05 * span, x1 + 0.05 * span
        xp, yp = prediction_polyline(net, lo, hi)
        self.prediction.setData(xp, yp)
        if self.units_visible:
            xu, yu = unit_polylines(net, lo, hi, scaled=self.scaled)
            self.units.setData(xu, yu)
        e = net.elbows
        dead = self.dead if self.dead.shape == e.shape else np.zeros(e.shape, bool)
        for item, mask in ((self.elbows, ~dead), (self.dead_elbows, dead)):
            idx = np.nonzero(mask & np.isfinite(e))[0]
            item.setData(x=e[idx], y=np.zeros(idx.size), data=idx)

    def _tip(self, x, y, data):
        net = self.net
        j = int(data)
        if net is None or j >= net.width:
            return ""
        state = "dead (never active on the data)" if j < self.dead.size and self.dead[j] else "alive"
        return (f"unit {j}\nelbow {x:.4g}\nw = {net.w1[j]:.4g}\nb = {net.b1[j]:.4g}\n"
                f"output weight = {net.w2[j]:.4g}\n{state}")
