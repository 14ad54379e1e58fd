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

#: metric -> (legend name, colour, line width, band alpha)
CURVES = {
    "train_error": ("minibatch train MSE", style.TRAIN, 1.0, 35),
    "full_train_error": ("full train MSE", style.FULL_TRAIN, 2.0, 60),
    "test_error": ("test MSE", style.TEST, 2.0, 60),
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
        self.median: dict[str, pg.PlotDataItem] = {}
        self.lo: dict[str, pg.PlotDataItem] = {}
        self.hi: dict[str, pg.PlotDataItem] = {}
        self.fill: dict[str, pg.FillBetweenItem] = {}
        for attr, (name, color, width, alpha) in CURVES.items():
            c = QColor(color)
            c.setAlpha(alpha)
            # The band's edges: invisible (a pen of None would leave FillBetweenItem no path).
            lo = pg.PlotDataItem(pen=pg.mkPen(0, 0, 0, 0), connect="finite")
            hi = pg.PlotDataItem(pen=pg.mkPen(0, 0, 0, 0), connect="finite")
            med = pg.PlotDataItem(pen=style.pen(color, width, alpha=200 if attr == "train_error" else 255),
                                  name=name, connect="finite")
            fill = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(c), pen=pg.mkPen(None))
            for item in (lo, hi, fill, med):
                p.addItem(item)
            self.median[attr], self.lo[attr], self.hi[attr], self.fill[attr] = med, lo, hi, fill
        self.ridge = pg.InfiniteLine(angle=0, pen=style.pen(style.RIDGE_REF, 1.4, Qt.PenStyle.DashDotLine),
                                     label="ridge test MSE (same width)",
                                     labelOpts={"position": 0.02, "color": style.RIDGE_REF,
                                                "anchors": [(0, 1), (0, 1)]})
        self.floor = pg.InfiniteLine(angle=0, pen=style.pen(style.NOISE_FLOOR, 1.2, Qt.PenStyle.DashLine),
                                     label="noise floor σ²",
                                     labelOpts={"position": 0.02, "color": style.NOISE_FLOOR,
                                                "anchors": [(0, 1), (0, 1)]})
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
        # Keep the two reference labels apart: the lower line's label goes below its line.
        ridge_low = ridge_v is not None and noise_floor is not None and ridge_v < noise_floor
        self._ref(self.ridge, ridge_v, below=ridge_low)
        self._ref(self.floor, noise_floor, below=not ridge_low and ridge_v is not None)
        p = self.getPlotItem()
        p.setTitle(title, size="9pt")
        self.legend.setVisible(bool(bands))
        p.vb.setXRange(0, x_max, padding=0.02)
        # The y range (in log10, as the view holds it) spans the bands and the reference lines,
        # with room under the lowest line for its label.
        vals = [np.asarray(b.q25) for b in bands.values()] + [np.asarray(b.q75) for b in bands.values()]
        vals += [np.array([v]) for v in (ridge_v, noise_floor) if v is not None]
        logs = np.concatenate([np.log10(_positive(v)) for v in vals]) if vals else np.zeros(0)
        logs = logs[np.isfinite(logs)]
        if logs.size:
            lo, hi = float(logs.min()), float(logs.max())
            span = max(hi - lo, 0.3)
            p.vb.setYRange(lo - 0.12 * span, hi + 0.05 * span, padding=0)
        else:
            p.vb.setYRange(-3, 0, padding=0.02)  # nothing yet: MSE 0.001 .. 1

    @staticmethod
    def _ref(line: pg.InfiniteLine, v, below: bool = False):
        if v is not None and np.isfinite(v) and v > 0:
            anchor = (0, 0) if below else (0, 1)
            line.label.anchors = [anchor, anchor]
            line.setValue(np.log10(v))  # the log axis places items at log10 of the value
            line.show()
            line.label.updatePosition()
        else:
            line.hide()

    def set_cursor(self, step: float):
        self.cursor.setValue(step)
