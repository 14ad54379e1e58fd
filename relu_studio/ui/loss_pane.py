"""The loss pane: minibatch, full-train and test MSE against steps on a log axis, with the noise
floor σ² and the best MSE the current hidden features allow (the ridge fit) as reference lines."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from . import style


class LogAxis(pg.AxisItem):
    """A log axis that labels 1, 2 and 5 times each decade only, so labels never overlap."""

    def logTickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            x = 10.0 ** (v * scale)
            if not np.isfinite(x) or x <= 0:
                out.append("")
                continue
            mantissa = x / 10.0 ** np.floor(np.log10(x) + 1e-9)
            out.append(f"{x:.3g}" if round(mantissa, 3) in (1.0, 2.0, 5.0) else "")
        return out


class LogLossPlot(pg.PlotWidget):
    """MSE against step on a log axis, themed, with a legend (the studio's and Compare's)."""

    def __init__(self, parent=None, legend_offset=(-10, 10), legend_text="9pt"):
        super().__init__(parent, axisItems={"left": LogAxis("left")})
        style.apply_plot_theme(self)
        self.setMenuEnabled(False)
        p = self.getPlotItem()
        p.setLogMode(x=False, y=True)
        p.setLabel("bottom", "step")
        p.setLabel("left", "MSE")
        p.getAxis("left").enableAutoSIPrefix(False)
        p.getAxis("bottom").enableAutoSIPrefix(False)
        self.legend = style.add_legend(p, legend_offset, legend_text)


class LossPane(LogLossPlot):
    def __init__(self, parent=None):
        super().__init__(parent)
        p = self.getPlotItem()
        self.train = pg.PlotDataItem(pen=style.pen(style.TRAIN, 1.0, alpha=170), name="minibatch train MSE",
                                     connect="finite")
        self.full = pg.PlotDataItem(pen=style.pen(style.FULL_TRAIN, 2.0), name="full train MSE", connect="finite")
        self.test = pg.PlotDataItem(pen=style.pen(style.TEST, 2.0), name="test MSE", connect="finite")
        self.floor = pg.InfiniteLine(angle=0, pen=style.pen(style.NOISE_FLOOR, 1.2, Qt.PenStyle.DashLine),
                                     label="noise floor σ²", labelOpts={"position": 0.08, "color": style.NOISE_FLOOR})
        self.ridge = pg.InfiniteLine(angle=0, pen=style.pen(style.RIDGE_REF, 1.2, Qt.PenStyle.DashDotLine),
                                     label="ridge on these features", labelOpts={"position": 0.3, "color": style.RIDGE_REF})
        self.cursor = pg.InfiniteLine(angle=90, pen=style.pen(style.CURSOR, 1.0))
        for item in (self.train, self.full, self.test, self.floor, self.ridge, self.cursor):
            p.addItem(item)

    def set_curves(self, steps, train, full, test):
        """Curves over all snapshots; non-positive values cannot be shown on a log axis."""
        def pos(a):
            a = np.asarray(a, dtype=np.float64)
            return np.where(a > 0, a, np.nan)
        x = np.asarray(steps, dtype=np.float64)
        self.train.setData(x, pos(train))
        self.full.setData(x, pos(full))
        self.test.setData(x, pos(test))

    def curves(self) -> dict:
        """name -> (steps, MSE) of the curves drawn ("train", "full", "test"), in data units (the
        plot shows them on a log axis)."""
        return {name: (item.xData, item.yData) for name, item in
                (("train", self.train), ("full", self.full), ("test", self.test))}

    def set_references(self, noise_floor: float | None, ridge: float | None):
        for line, v in ((self.floor, noise_floor), (self.ridge, ridge)):
            if v is not None and v > 0 and np.isfinite(v):
                line.setValue(np.log10(v))
                line.show()
            else:
                line.hide()

    def set_cursor(self, step: float):
        self.cursor.setValue(step)
