"""Elbow trajectories (a kymograph): every hidden unit's elbow ``-b/w`` against the step, for one
run, with the target's kinks as reference lines. With all layers trained the elbows migrate
toward the kinks; with only the output layer trained (or ridge) they stand still.
The trajectories are computed by the core (``elbow_trajectories``); this widget only draws them."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from . import style

#: Elbows are positions on the data's x axis; this is the default vertical view.
DEFAULT_Y = (-0.05, 1.05)


class ElbowKymograph(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        style.apply_plot_theme(self)
        self.setMenuEnabled(False)
        p = self.getPlotItem()
        p.hideButtons()
        p.setLabel("bottom", "step")
        p.setLabel("left", "elbow x = −b/w")
        p.getAxis("bottom").enableAutoSIPrefix(False)
        # One item for every unit: NaN-separated polylines (one pen, connect="finite").
        self.paths = pg.PlotDataItem(pen=style.pen("#7a7a7a", 1.2), connect="finite",
                                     skipFiniteCheck=True)
        self.paths.setZValue(5)
        p.addItem(self.paths)
        self.cursor = pg.InfiniteLine(angle=90, pen=style.pen(style.CURSOR, 1.0))
        self.cursor.setZValue(10)
        p.addItem(self.cursor)
        self.kinks: list[pg.InfiniteLine] = []
        self.steps = np.zeros(0, np.int64)
        self.elbows = np.zeros((0, 0))

    def set_trajectories(self, steps, elbows, kinks=None, x_max: float | None = None, title: str = ""):
        """Draw ``elbows[i, j]`` (unit j at ``steps[i]``). A run with a single time (ridge: no
        training) is drawn as flat lines over ``[0, x_max]``. ``kinks``: reference positions."""
        steps = np.asarray(steps, dtype=np.float64)
        e = np.asarray(elbows, dtype=np.float64)
        self.steps, self.elbows = steps, e
        if e.size == 0:
            self.paths.setData([], [])
        else:
            if steps.size and steps.max() == steps.min():
                xs = np.array([0.0, max(float(x_max or 1.0), 1.0)])
                e = np.vstack([e[-1], e[-1]])
            else:
                xs = steps
            e = np.where(np.isfinite(e), e, np.nan)
            n, h = e.shape
            x = np.empty((h, n + 1))
            x[:, :n] = xs
            x[:, n] = np.nan
            y = np.empty((h, n + 1))
            y[:, :n] = e.T
            y[:, n] = np.nan
            self.paths.setData(x.ravel(), y.ravel())
        p = self.getPlotItem()
        for line in self.kinks:
            p.removeItem(line)
        self.kinks = []
        for k in kinks or ():
            line = pg.InfiniteLine(pos=float(k), angle=0,
                                   pen=style.pen(style.TRUTH, 1.0, Qt.PenStyle.DashLine, alpha=170))
            line.setZValue(1)
            p.addItem(line)
            self.kinks.append(line)
        p.setTitle(title, size="9pt")
        right = x_max if x_max else (float(steps.max()) if steps.size else 1.0)
        p.vb.setRange(xRange=(0, max(right, 1.0)), yRange=DEFAULT_Y, padding=0.02)

    def set_cursor(self, step: float):
        self.cursor.setValue(step)
