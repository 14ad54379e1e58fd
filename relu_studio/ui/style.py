"""Colours and pens: the course notes' palette (data orange, truth dashed blue, prediction green,
elbows grey), with a light and a dark variant chosen from the application palette."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

DATA = "#ff8c00"  # matplotlib 'darkorange'
TRUTH = "#4169e1"  # 'royalblue'
PREDICTION = "#228b22"  # 'forestgreen'
ELBOW = "#a9a9a9"  # 'darkgrey'
DEAD = "#d62728"
UNITS = "#9a7fc4"
SELECTED = "#e377c2"
TRAIN = "#ffb15c"
FULL_TRAIN = "#ff8c00"
TEST = "#4169e1"
NOISE_FLOOR = "#7f7f7f"
RIDGE_REF = "#228b22"
CURSOR = "#555555"
KINK = "#8fa8e8"  # light royal blue: the truth's kinks
GHOST = "#8c8c8c"  # the initial elbows' rings
TRAIL = "#b0b0b0"  # the elbows' trails
VELOCITY = "#8e24aa"  # the theory lens's arrows: where the gradient moves elbows and slopes
ACTIVE = (227, 119, 194, 28)  # the selected unit's active region (SELECTED, faint)


def is_dark() -> bool:
    app = QApplication.instance()
    if app is None:
        return False
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def apply_plot_theme(widget: pg.PlotWidget) -> None:
    """White plots (like the notes' figures) on a light desktop, near-black ones on a dark one."""
    dark = is_dark()
    widget.setBackground("#1e1e1e" if dark else "w")
    fg = QColor("#dddddd" if dark else "#333333")
    for name in ("left", "bottom"):
        ax = widget.getPlotItem().getAxis(name)
        ax.setPen(fg)
        ax.setTextPen(fg)


def pen(color, width=2.0, style=Qt.PenStyle.SolidLine, alpha=255):
    c = QColor(color)
    c.setAlpha(alpha)
    p = pg.mkPen(c, width=width, style=style)
    p.setCosmetic(True)
    return p


def add_legend(plot_item, offset, text_size: str = "9pt"):
    """A legend in the app's look: dark text on a translucent light box (or the reverse)."""
    dark = is_dark()
    legend = plot_item.addLegend(offset=offset, labelTextSize=text_size,
                                 labelTextColor="#dddddd" if dark else "#222222")
    legend.setBrush(pg.mkBrush(30, 30, 30, 200) if dark else pg.mkBrush(255, 255, 255, 205))
    return legend


def legend_item(text_size: str = "9pt") -> pg.LegendItem:
    """A legend in the app's look, placed by its owner (e.g. in a row outside the plot): no box."""
    legend = pg.LegendItem(offset=None, labelTextSize=text_size, verSpacing=-6,
                           labelTextColor="#dddddd" if is_dark() else "#222222")
    legend.layout.setContentsMargins(0, 0, 0, 0)
    return legend
