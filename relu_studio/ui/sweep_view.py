"""The Sweep view: a sweep's error against a swept axis, median and 25-75 % band over seeds, one
line per combination of the other swept settings; click a point to open that run in the studio.

It presents a :class:`~relu_studio.ui.sweep_controller.SweepController` and forwards intent:
*Open results…* (a sweep's ``results.csv``, or ``results.parquet`` when pyarrow is installed),
a preset run in the app's worker (*Double descent*), the x axis and the error shown; the axes
are logarithmic where the values span more than a factor of 20.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QVBoxLayout, QWidget)

from ..core.sweep_run import parquet_available
from ..core.sweep_summary import METRIC_LABELS
from . import style
from .loss_pane import LogAxis
from .sweep_controller import SWEEP_PRESETS, SweepController

__all__ = ["SweepView", "LINE_COLORS"]

#: Colours of the lines, in order (a qualitative palette readable on light and dark).
LINE_COLORS = ("#4169e1", "#ff8c00", "#228b22", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#17becf", "#7f7f7f", "#bcbd22")
AXIS_LABELS = {"width": "width H", "lr": "learning rate", "steps": "steps", "n": "training points n",
               "noise": "noise σ", "lam": "ridge λ"}


class SweepView(QWidget):
    def __init__(self, controller: SweepController, parent=None):
        super().__init__(parent)
        self.c = controller
        self.open_button = QPushButton("Open results…")
        self.open_button.setToolTip("Open a sweep's results.csv (relu-studio sweep --out FOLDER)"
                                    + (" or results.parquet" if parquet_available() else ""))
        self.preset = QComboBox()
        self.preset.addItems(list(SWEEP_PRESETS))
        self.run_button = QPushButton("Run preset")
        self.run_button.setToolTip("Run the chosen preset here, on all cores")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.x_combo = QComboBox()
        self.x_combo.setToolTip("The swept setting along the x axis")
        self.metric_combo = QComboBox()
        for key, label in METRIC_LABELS.items():
            self.metric_combo.addItem(label, key)
        self.log_x = QCheckBox("Log x")
        self.log_y = QCheckBox("Log y")
        self.log_y.setChecked(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.status = QLabel("Open a sweep's results, or run a preset.")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        for w in (self.open_button, QLabel("Preset:"), self.preset, self.run_button,
                  self.cancel_button, self.progress):
            top.addWidget(w)
        top.addSpacing(16)
        for w in (QLabel("x:"), self.x_combo, QLabel("error:"), self.metric_combo, self.log_x,
                  self.log_y):
            top.addWidget(w)
        top.addStretch(1)

        # 1, 2 and 5 times each decade labelled on log axes (pyqtgraph's own labels every minor
        # tick, which overlap: "6·10¹7·10¹8·10¹")
        self.plot = pg.PlotWidget(axisItems={"left": LogAxis("left"), "bottom": LogAxis("bottom")})
        style.apply_plot_theme(self.plot)
        p = self.plot.getPlotItem()
        for side in ("left", "bottom"):
            p.getAxis(side).enableAutoSIPrefix(False)
        p.showGrid(x=True, y=True, alpha=0.2)
        self.legend = style.add_legend(p, (-10, 10), "8pt")
        self.hint = QLabel("Click a point to open the run nearest its median in the studio "
                           "(trained now if the sweep kept no history).")
        self.hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.hint)
        lay.addWidget(self.status)

        self._items: list = []
        self.n_mark = None  # the dashed line at width = n, on a width axis with one n
        self.points: list[pg.ScatterPlotItem] = []
        self.open_button.clicked.connect(self._open_dialog)
        self.run_button.clicked.connect(lambda: self.c.run_preset(self.preset.currentText()))
        self.cancel_button.clicked.connect(self.c.cancel)
        self.x_combo.currentTextChanged.connect(lambda t: t and self.c.set_x_axis(t))
        self.metric_combo.currentIndexChanged.connect(
            lambda _i: self.c.set_metric(self.metric_combo.currentData()))
        self.log_x.toggled.connect(lambda _on: self.redraw())
        self.log_y.toggled.connect(lambda _on: self.redraw())
        self.c.rowsChanged.connect(self._rows_changed)
        self.c.progressChanged.connect(self._progress)
        self.c.runningChanged.connect(self._running)
        self.c.message.connect(lambda text, _level: self.status.setText(text))

    # ------------------------------------------------------------------ intent
    def _open_dialog(self):
        filters = "Sweep results (results.csv *.csv" + (" *.parquet" if parquet_available() else "") + ")"
        path, _ = QFileDialog.getOpenFileName(self, "Open sweep results", "", filters)
        if path:
            self.c.open_file(path)

    def _clicked(self, line_index: int, points):
        if len(points):
            self.c.open_point(line_index, int(points[0].data()))

    # ------------------------------------------------------------------ presenting
    def _running(self, on: bool):
        self.run_button.setEnabled(not on)
        self.open_button.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        self.progress.setVisible(on)

    def _progress(self, permille: int, text: str):
        self.progress.setValue(permille)
        self.progress.setFormat(text)

    def _rows_changed(self):
        with QSignalBlocker(self.x_combo):
            self.x_combo.clear()
            self.x_combo.addItems(list(self.c.axes))
            self.x_combo.setCurrentText(self.c.x_axis)
        with QSignalBlocker(self.log_x):
            self.log_x.setChecked(self.c.log_x)
        self.redraw()

    def redraw(self):
        p = self.plot.getPlotItem()
        for item in self._items:
            p.removeItem(item)
        self._items, self.points = [], []
        self.legend.clear()
        lines = self.c.lines
        logx, logy = self.log_x.isChecked(), self.log_y.isChecked()
        p.setLabel("bottom", AXIS_LABELS.get(self.c.x_axis, self.c.x_axis))
        p.setLabel("left", METRIC_LABELS.get(self.c.metric, self.c.metric)
                   + " (median, 25–75 % over seeds)")
        for i, line in enumerate(lines[:len(LINE_COLORS)]):
            color = LINE_COLORS[i % len(LINE_COLORS)]
            ok = np.ones(line.x.shape, bool)
            if logx:
                ok &= line.x > 0
            if logy:
                ok &= (line.q25 > 0) & (line.median > 0)
            x, med, lo, hi = line.x[ok], line.median[ok], line.q25[ok], line.q75[ok]
            index = np.flatnonzero(ok)
            band = QColor(color)
            band.setAlpha(60)
            # The band's edges are plain curves in view coordinates (log10 on a log axis): a
            # FillBetweenItem over log-mode PlotDataItems is drawn untransformed.
            vx = np.log10(x) if logx else x
            vlo, vhi = (np.log10(lo), np.log10(hi)) if logy else (lo, hi)
            lo_item = pg.PlotCurveItem(vx, vlo, pen=pg.mkPen(0, 0, 0, 0))
            hi_item = pg.PlotCurveItem(vx, vhi, pen=pg.mkPen(0, 0, 0, 0))
            fill = pg.FillBetweenItem(lo_item, hi_item, brush=pg.mkBrush(band), pen=pg.mkPen(None))
            med_item = pg.PlotDataItem(x, med, pen=style.pen(color, 2.0), name=line.label)
            dots = pg.PlotDataItem(x, med, data=index, pen=None, symbol="o", symbolSize=7,
                                   symbolPen=pg.mkPen(color), symbolBrush=pg.mkBrush(color))
            dots.sigPointsClicked.connect(lambda _item, pts, _ev=None, k=i: self._clicked(k, pts))
            for item in (lo_item, hi_item, fill, med_item, dots):
                p.addItem(item)
                self._items.append(item)
            self.points.append(dots)
        n = self.c.training_points
        if lines and self.c.x_axis == "width" and n:
            # where the features could first interpolate the training data (double descent)
            mark = pg.InfiniteLine(np.log10(n) if logx else n, angle=90,  # (view coordinates)
                                   pen=style.pen(style.CURSOR, 1.0, Qt.PenStyle.DashLine),
                                   label=f"width = n = {n}", labelOpts={"position": 0.95, "color": "#555"})
            mark.setToolTip(f"width = n = {n} training points: from here on the hidden features can "
                            "interpolate the data (on 1-D data a unit adds a direction only when its "
                            "elbow falls in a gap not yet split, so that takes several times n)")
            p.addItem(mark)
            self._items.append(mark)
            self.n_mark = mark
        else:
            self.n_mark = None
        p.setLogMode(x=logx, y=logy)  # after adding: it transforms every item's data, bands too
        if len(lines) > len(LINE_COLORS):
            self.status.setText(f"{len(lines)} lines: the first {len(LINE_COLORS)} are drawn; "
                                "plot against another axis to see the rest")
        p.enableAutoRange()
