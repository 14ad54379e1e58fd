"""Elbow trajectories (kymographs): every hidden unit's elbow ``-b/w`` against the step, with the
target's kinks as dashed reference lines. With all layers trained the elbows migrate toward the
kinks; with only the output layer trained they stand still.

:class:`KymographRow` puts one :class:`ElbowKymograph` per SGD mode of the selected width side by
side (same axes, linked), so the lesson's comparison is on one screen. The paths come from the
core (:func:`~relu_studio.core.elbow_paths.elbow_paths`: broken where a unit's slope changes sign);
these widgets only draw them and forward the log-axis toggle.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from . import style

__all__ = ["ElbowKymograph", "KymographRow", "DEFAULT_Y"]

#: Elbows are positions on the data's x axis; this is the default vertical view.
DEFAULT_Y = (-0.05, 1.05)


class ElbowKymograph(pg.PlotWidget):
    """One run's elbow paths against the step (linear or log step axis)."""

    def __init__(self, parent=None, y_label: bool = True):
        super().__init__(parent)
        style.apply_plot_theme(self)
        self.setMenuEnabled(False)
        p = self.getPlotItem()
        p.hideButtons()
        p.setLabel("bottom", "step")
        if y_label:
            p.setLabel("left", "elbow x = −b/w")
        p.getAxis("bottom").enableAutoSIPrefix(False)
        # One item for every unit: NaN-separated polylines (one pen, connect="finite").
        self.paths = pg.PlotDataItem(pen=style.pen("#5f5f5f", 1.2), connect="finite")
        self.paths.setZValue(5)
        p.addItem(self.paths)
        self.cursor = pg.InfiniteLine(angle=90, pen=style.pen(style.CURSOR, 1.0))
        self.cursor.setZValue(10)
        p.addItem(self.cursor)
        self.kinks: list[pg.InfiniteLine] = []
        self.log_steps = False
        self._x_lo = 1.0  # the smallest step a log axis shows (the cursor's floor)
        self._kink_values: tuple = ()

    def set_paths(self, x, y, kinks=(), x_range=(0.0, 1.0), log_steps: bool = False, title: str = ""):
        """Draw the NaN-separated paths ``(x steps, y elbows)``; ``kinks``: reference positions;
        ``x_range``: the steps to show (positive on a log axis)."""
        p = self.getPlotItem()
        self.log_steps = bool(log_steps)
        p.setLogMode(x=self.log_steps, y=False)
        p.setLabel("bottom", "step (log scale)" if self.log_steps else "step")
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        self.paths.setData(x, y) if x.size else self.paths.setData([], [])
        self._set_kinks(tuple(float(k) for k in kinks or ()))
        p.setTitle(title, size="9pt")
        lo, hi = (float(v) for v in x_range)
        if self.log_steps:
            lo = max(lo, 1e-9)
            hi = max(hi, lo * 10)
            self._x_lo = lo
            p.vb.setRange(xRange=(math.log10(lo), math.log10(hi)), yRange=DEFAULT_Y, padding=0.02)
        else:
            p.vb.setRange(xRange=(lo, max(hi, lo + 1.0)), yRange=DEFAULT_Y, padding=0.02)

    def _set_kinks(self, kinks: tuple):
        if kinks == self._kink_values:
            return
        p = self.getPlotItem()
        for line in self.kinks:
            p.removeItem(line)
        self.kinks = []
        for k in kinks:
            line = pg.InfiniteLine(pos=k, angle=0,
                                   pen=style.pen(style.TRUTH, 1.0, Qt.PenStyle.DashLine, alpha=170))
            line.setZValue(1)
            p.addItem(line)
            self.kinks.append(line)
        self._kink_values = kinks

    def kink_values(self) -> list[float]:
        return [line.value() for line in self.kinks]

    def plotted(self) -> tuple[np.ndarray, np.ndarray]:
        """The paths as given (steps, elbows); a log axis transforms only what it displays."""
        x, y = self.paths.xData, self.paths.yData
        if x is None:
            return np.zeros(0), np.zeros(0)
        return x, y

    def set_cursor(self, step: float):
        if self.log_steps:
            self.cursor.setValue(math.log10(max(float(step), self._x_lo)))
        else:
            self.cursor.setValue(step)


class KymographRow(QWidget):
    """The kymographs of the selected width's SGD modes side by side, with one title and the
    log step axis toggle. ``set_modes`` lays out one plot per mode; the view fills them."""

    logToggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.log_box = QCheckBox("Log step axis")
        self.log_box.setChecked(True)
        self.log_box.setToolTip("Steps on a log scale: the elbows migrate in the first tenth of the "
                                "run, which a linear axis squeezes against its left edge")
        self.log_box.toggled.connect(self.logToggled)
        head = QHBoxLayout()
        head.setContentsMargins(6, 2, 6, 0)
        head.addWidget(self.title, 1)
        head.addWidget(self.log_box, 0, Qt.AlignmentFlag.AlignTop)
        self.plot_row = QHBoxLayout()
        self.plot_row.setContentsMargins(0, 0, 0, 0)
        self.plot_row.setSpacing(2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(head)
        lay.addLayout(self.plot_row, 1)
        self.plots: dict[str, ElbowKymograph] = {}
        self.set_modes(("output", "all"))

    def set_modes(self, modes) -> None:
        """One kymograph per mode, left to right (the same modes as before keep their plots)."""
        modes = tuple(modes)
        if modes == tuple(self.plots):
            return
        for plot in self.plots.values():
            self.plot_row.removeWidget(plot)
            plot.deleteLater()
        self.plots = {}
        # Not linked views: pyqtgraph aligns linked views by pixel, which side by side with
        # different axis widths shows different ranges. The view sets the same range in each.
        for i, m in enumerate(modes):
            plot = ElbowKymograph(y_label=(i == 0))
            plot.setMinimumSize(160, 140)
            self.plot_row.addWidget(plot, 1)
            self.plots[m] = plot

    def set_log(self, on: bool) -> None:
        if self.log_box.isChecked() != bool(on):
            self.log_box.blockSignals(True)
            self.log_box.setChecked(bool(on))
            self.log_box.blockSignals(False)

    def set_cursor(self, step: float) -> None:
        for plot in self.plots.values():
            plot.set_cursor(step)
