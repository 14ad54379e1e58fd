"""Loss curves of one grid cell across seeds: minibatch, full-train and test MSE on a log axis,
each as the median over seeds with its 25-75 % band. A cell without training (ridge) is drawn as
horizontal lines; in a trained cell the ridge fit of the same width is a horizontal reference.
The bands are computed by the core (``loss_bands``); this widget only draws them."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ..core.summary import Band
from . import style
from .loss_pane import LogLossPlot

#: metric -> (legend name, colour, line width, band alpha, band edge alpha). The bands are
#: opaque enough to read on a light or dark background and over each other; the full-train and
#: test bands also get thin edges (the minibatch band is too ragged for edges to help).
CURVES = {
    "train_error": ("minibatch train MSE", style.TRAIN, 1.0, 55, 0),
    "full_train_error": ("full train MSE", style.FULL_TRAIN, 2.0, 95, 150),
    "test_error": ("test MSE", style.TEST, 2.0, 95, 150),
}


def _positive(a) -> np.ndarray:
    """Values a log axis can show (others become gaps)."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(a > 0, a, np.nan)


class BandLossPlot(LogLossPlot):
    def __init__(self, parent=None):
        super().__init__(parent, legend_offset=(-8, 8), legend_text="8pt")
        p = self.getPlotItem()
        p.hideButtons()
        # Three columns, two rows, in the headroom above the curves (see set_bands' y range):
        # a tall one-column legend covered the curves' ends.
        self.legend.setColumnCount(3)
        self.median: dict[str, pg.PlotDataItem] = {}
        self.lo: dict[str, pg.PlotDataItem] = {}
        self.hi: dict[str, pg.PlotDataItem] = {}
        self.fill: dict[str, pg.FillBetweenItem] = {}
        for attr, (name, color, width, alpha, edge) in CURVES.items():
            c = QColor(color)
            c.setAlpha(alpha)
            # The band's edges: thin, or invisible (a pen of None would leave FillBetweenItem no path).
            edge_pen = style.pen(color, 0.8, alpha=edge) if edge else pg.mkPen(0, 0, 0, 0)
            lo = pg.PlotDataItem(pen=edge_pen, connect="finite")
            hi = pg.PlotDataItem(pen=edge_pen, connect="finite")
            med = pg.PlotDataItem(pen=style.pen(color, width, alpha=200 if attr == "train_error" else 255),
                                  name=name, connect="finite")
            fill = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(c), pen=pg.mkPen(None))
            for item in (lo, hi, fill, med):
                p.addItem(item)
            self.median[attr], self.lo[attr], self.hi[attr], self.fill[attr] = med, lo, hi, fill
        # The reference lines are named in the legend, not by labels printed across the curves.
        ridge_pen = style.pen(style.RIDGE_REF, 1.4, Qt.PenStyle.DashDotLine)
        floor_pen = style.pen(style.NOISE_FLOOR, 1.2, Qt.PenStyle.DashLine)
        self.ridge = pg.InfiniteLine(angle=0, pen=ridge_pen)
        self.floor = pg.InfiniteLine(angle=0, pen=floor_pen)
        self._keys = {self.ridge: ("ridge test MSE (same H)", pg.PlotDataItem(pen=ridge_pen)),
                      self.floor: ("noise floor σ²", pg.PlotDataItem(pen=floor_pen))}
        self.cursor = pg.InfiniteLine(angle=90, pen=style.pen(style.CURSOR, 1.0))
        for item in (self.ridge, self.floor, self.cursor):
            p.addItem(item)
        self.ridge.hide()
        self.floor.hide()
        self.bands: dict[str, Band] = {}

    def set_bands(self, bands: dict, x_max: float, ridge_test: float | None = None,
                  noise_floor: float | None = None, title: str = ""):
        """Show ``{metric: Band}`` of one cell (empty: nothing yet). A constant band (ridge) is
        drawn as a horizontal line over ``[0, x_max]``; ``ridge_test`` adds the ridge reference."""
        self.bands = dict(bands)
        x_max = max(float(x_max), 1.0)
        constant = any(b.constant for b in bands.values())
        for attr in CURVES:
            b = bands.get(attr)
            show = b is not None and not (constant and attr == "train_error")  # ridge: = full train
            items = (self.median[attr], self.lo[attr], self.hi[attr])
            if not show:  # emptied, not hidden: the legend keeps its plain entries
                for item in items:
                    item.setData([], [])
                self.fill[attr].hide()
                continue
            if b.constant:
                x = np.array([0.0, x_max])
                ys = [np.repeat(v[:1], 2) for v in (b.median, b.q25, b.q75)]
            else:
                x = b.steps.astype(np.float64)
                ys = [b.median, b.q25, b.q75]
            for item, y in zip(items, ys):
                item.setData(x, _positive(y))
            # A band over one seed is the median itself: nothing to fill.
            self.fill[attr].setVisible(b.seeds > 1)
        ridge_v = None if constant else ridge_test
        self._ref(self.ridge, ridge_v)
        self._ref(self.floor, noise_floor)
        p = self.getPlotItem()
        p.setTitle(title, size="9pt")
        self.legend.setVisible(bool(bands))
        p.vb.setXRange(0, x_max, padding=0.02)
        # The y range (in log10, as the view holds it) spans the bands and the reference lines.
        vals = [np.asarray(b.q25) for b in bands.values()] + [np.asarray(b.q75) for b in bands.values()]
        vals += [np.array([v]) for v in (ridge_v, noise_floor) if v is not None]
        logs = np.concatenate([np.log10(_positive(v)) for v in vals]) if vals else np.zeros(0)
        logs = logs[np.isfinite(logs)]
        if logs.size:
            lo, hi = float(logs.min()), float(logs.max())
            span = max(hi - lo, 0.3)
            # Headroom above the curves for the legend: the losses fall from their first value,
            # so the top right of the plot is empty except for the legend.
            p.vb.setYRange(lo - 0.08 * span, hi + 0.45 * span, padding=0)
        else:
            p.vb.setYRange(-3, 0, padding=0.02)  # nothing yet: MSE 0.001 .. 1

    def _ref(self, line: pg.InfiniteLine, v):
        """Show a reference line at MSE ``v`` (and its legend entry), or hide both."""
        name, key = self._keys[line]
        self.legend.removeItem(key)
        if v is not None and np.isfinite(v) and v > 0:
            line.setValue(np.log10(v))  # the log axis places items at log10 of the value
            line.show()
            self.legend.addItem(key, name)
        else:
            line.hide()

    def legend_names(self) -> list[str]:
        """The legend's entries, top to bottom."""
        return [label.text for _sample, label in self.legend.items]

    def set_cursor(self, step: float):
        self.cursor.setValue(step)
