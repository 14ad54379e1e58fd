"""Small multiples: one light canvas per cell of the grid, rows widths, columns (mode, optimizer):
each SGD mode once per optimizer of the grid, ridge once. Cells are keyed ``(width, mode,
optimizer)`` (optimizer None for ridge), like the grid's runs without their seed.

Each cell shows the training data (orange), the noise-free truth (dashed blue), the prediction
(green) and the elbows (grey, on y = 0) of one run at the shared timeline's step. Drawing is kept
light so that scrubbing redraws every cell at once: the prediction is the exact polyline through
the elbows (core.geometry), every item has a single pen or brush, there is no grid. All cells
share one view (zooming one zooms all). A click selects a cell, a double click opens it.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont

from ..core.dataset import Dataset
from ..core.geometry import prediction_polyline
from ..core.settings import MODE_INFO
from ..core.training import Run
from ..core.truth_curve import truth_curve
from . import style
from .canvas import DEFAULT_VIEW

#: Rows are never squeezed below this height (the grid then scrolls).
MIN_ROW_HEIGHT = 95
TITLE_SIZE = "9pt"
MIN_TITLE_WIDTH = 60
TICK_FONT_PT = 8


class ColumnTitle(pg.LabelItem):
    """A column's title that never widens the grid: its minimum and preferred widths are capped
    (in a narrow view a long title is clipped, never drawn over its neighbour, rather than
    pushing the last column out of sight; every column gets the same share of the width)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setFlag(self.GraphicsItemFlag.ItemClipsChildrenToShape)

    def updateMin(self):
        super().updateMin()
        w = min(self.itemRect().width(), MIN_TITLE_WIDTH)
        self.setMinimumWidth(w)
        self._sizeHint[Qt.SizeHint.MinimumSize] = (w, self.itemRect().height())
        self._sizeHint[Qt.SizeHint.PreferredSize] = (w, self.itemRect().height())
        self.updateGeometry()

    def setText(self, text, **args):
        super().setText(text, **args)
        # the whole title on hover (a narrow column clips it)
        self.setToolTip(text.replace("<br>", " · ").replace("<b>", "").replace("</b>", ""))


class Cell:
    """The plot items of one (width, mode, optimizer) cell."""

    def __init__(self, plot: pg.PlotItem, width: int, mode: str, optimizer=None):
        self.plot, self.width, self.mode, self.optimizer = plot, width, mode, optimizer
        self.vb = plot.getViewBox()
        self.run: Run | None = None
        self.step_shown: int | None = None
        self.points = pg.ScatterPlotItem(size=4, brush=pg.mkBrush(style.DATA), pen=pg.mkPen(None))
        self.truth = pg.PlotDataItem(pen=style.pen(style.TRUTH, 1.4, Qt.PenStyle.DashLine))
        self.prediction = pg.PlotDataItem(pen=style.pen(style.PREDICTION, 2.0))
        self.elbows = pg.ScatterPlotItem(size=6, brush=pg.mkBrush(style.ELBOW),
                                         pen=pg.mkPen(QColor("#777777"), width=0.8))
        self.zero = pg.InfiniteLine(pos=0, angle=0, pen=style.pen(style.ELBOW, 1.0, alpha=120))
        self.points.setZValue(5)
        self.prediction.setZValue(6)
        self.elbows.setZValue(10)
        for item in (self.zero, self.truth, self.points, self.prediction, self.elbows):
            plot.addItem(item)
        # A readout fixed to the cell's top-left corner (parented to the view box, not the data).
        self.text = pg.TextItem("", color="#333333" if not style.is_dark() else "#dddddd", anchor=(0, 0))
        self.text.setParentItem(self.vb)
        self.text.setPos(3, 1)
        self.text.setZValue(20)

    def set_data(self, data: Dataset | None):
        if data is None:
            self.points.setData([], [])
            self.truth.setData([], [])
            return
        self.points.setData(data.x, data.y)
        if data.target is not None:  # through its one-sided limits, as the studio draws it
            curve = truth_curve(data.target, data.x_test, float(data.x_test.min()), float(data.x_test.max()))
            self.truth.setData(curve.x, curve.y)
        else:
            self.truth.setData([], [])

    def clear_network(self, text: str):
        self.run = None
        self.step_shown = None
        self.prediction.setData([], [])
        self.elbows.setData([], [])
        self.text.setText(text)


class SmallMultiples(pg.GraphicsLayoutWidget):
    """A widths x columns grid of cells; ``show_step`` redraws every cell at one step."""

    cellClicked = Signal(object)  # the cell's key (width, mode, optimizer)
    cellDoubleClicked = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("#1e1e1e" if style.is_dark() else "w")
        self.ci.layout.setSpacing(4)
        self.ci.setContentsMargins(2, 2, 6, 2)
        self.cells: dict[tuple, Cell] = {}
        self.widths: tuple = ()
        self.columns: tuple = ()  # (mode, optimizer) per column
        self.data: Dataset | None = None
        self.step: int = 0
        self.selected: tuple | None = None
        self._column_labels: list = []
        self._x_range = (0.0, 1.0)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    # ------------------------------------------------------------------ building
    def set_grid(self, widths, columns, data: Dataset | None, column_titles: dict | None = None):
        """Lay out one cell per width and column, each showing ``data``; no networks yet.
        ``columns`` are ``(mode, optimizer)`` pairs (a bare mode: the plain-SGD column);
        ``column_titles`` maps a column to its title (HTML; default: the mode's title).
        The same widths and columns as before reuse the cells (building plots is the slow part)."""
        fg = "#dddddd" if style.is_dark() else "#222222"
        columns = tuple(c if isinstance(c, tuple) else (c, None) for c in columns)
        given = column_titles or {}

        def title(col):
            m = col[0]
            return given.get(col, f"<b>{MODE_INFO[m].title if m in MODE_INFO else m}</b>")

        if tuple(widths) == self.widths and columns == self.columns and self.cells:
            for col, label in zip(self.columns, self._column_labels):
                label.setText(title(col), color=fg, size=TITLE_SIZE)
            if self.selected is not None:
                self.cells[self.selected].vb.setBorder(None)
            self.selected = None
            self.data = data
            for cell in self.cells.values():
                cell.set_data(data)
                cell.clear_network("not run yet")
            self._update_x_range()
            return
        self.ci.clear()
        self.cells.clear()
        self.widths, self.columns = tuple(widths), columns
        self.selected = None
        self.ci.addLabel("", row=0, col=0)
        self._column_labels = []
        for j, col in enumerate(self.columns):
            label = ColumnTitle(title(col), color=fg, size=TITLE_SIZE, justify="left")
            self.ci.addItem(label, row=0, col=j + 1)
            self._column_labels.append(label)
        font = QFont()
        font.setPointSize(TICK_FONT_PT)
        first = None
        for i, w in enumerate(self.widths):
            self.ci.addLabel(f"<b>H = {w}</b>", row=i + 1, col=0, angle=-90, color=fg, size="10pt")
            for j, (m, o) in enumerate(self.columns):
                p = self.ci.addPlot(row=i + 1, col=j + 1)
                p.setMenuEnabled(False)
                p.hideButtons()
                for name in ("left", "bottom"):
                    ax = p.getAxis(name)
                    ax.setStyle(tickFont=font, tickLength=-4,
                                showValues=(name == "left" and j == 0)
                                or (name == "bottom" and i == len(self.widths) - 1))
                    ax.setPen(QColor(fg))
                    ax.setTextPen(QColor(fg))
                p.getAxis("left").setWidth(26)
                vb = p.getViewBox()
                vb.setDefaultPadding(0.0)
                if first is None:
                    first = vb
                else:
                    vb.setXLink(first)
                    vb.setYLink(first)
                cell = Cell(p, w, m, o)
                cell.set_data(data)
                cell.clear_network("not run yet")
                self.cells[(w, m, o)] = cell
        self.ci.layout.setColumnStretchFactor(0, 0)
        for j in range(len(self.columns)):
            self.ci.layout.setColumnStretchFactor(j + 1, 1)
        self.data = data
        self._update_x_range()
        self.setMinimumHeight(30 + MIN_ROW_HEIGHT * max(1, len(self.widths)))
        self.reset_view()

    def column_titles(self) -> list[str]:
        """The column titles as shown (HTML)."""
        return [label.text for label in self._column_labels]

    def cell(self, width: int, mode: str, optimizer=None) -> Cell | None:
        """The cell of a width and column (``optimizer`` None: the mode's first column)."""
        if optimizer is None:
            for (w, m, _o), cell in self.cells.items():
                if w == width and m == mode:
                    return cell
            return None
        return self.cells.get((width, mode, optimizer))

    def set_dataset(self, data: Dataset | None):
        self.data = data
        for cell in self.cells.values():
            cell.set_data(data)
        self._update_x_range()

    def _update_x_range(self):
        """The prediction is drawn exactly over a generous span around the data."""
        if self.data is not None and self.data.x_test.size:
            x0, x1 = float(self.data.x_test.min()), float(self.data.x_test.max())
        else:
            x0, x1 = DEFAULT_VIEW[0]
        span = max(x1 - x0, 1e-9)
        self._x_range = (x0 - 3 * span, x1 + 3 * span)

    def reset_view(self):
        """The notebook's view, [0, 1] x [-2.5, 2.5], in every cell."""
        if not self.cells:
            return
        (x0, x1), (y0, y1) = DEFAULT_VIEW
        next(iter(self.cells.values())).vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    # ------------------------------------------------------------------ content
    def set_run(self, width: int, mode: str, run: Run | None, placeholder: str = "running…",
                optimizer=None):
        """The run a cell shows (None: nothing yet, with ``placeholder`` as its readout)."""
        cell = self.cell(width, mode, optimizer)
        if cell is None:
            return
        if run is None:
            cell.clear_network(placeholder)
            return
        cell.run = run
        cell.step_shown = None
        self._draw(cell, self.step)

    def show_step(self, step: int):
        """Every cell shows its run's network after ``step`` steps (its last snapshot at or
        before that step; the initial network at step 0)."""
        self.step = int(step)
        for cell in self.cells.values():
            if cell.run is not None:
                self._draw(cell, self.step)

    def _draw(self, cell: Cell, step: int):
        run = cell.run
        i = run.index_at(step)
        if cell.step_shown is not None and i == cell.step_shown:
            return  # same snapshot as drawn: nothing to do
        net = run.initial if i < 0 else run.snapshot(i)
        xs, ys = prediction_polyline(net, *self._x_range)
        cell.prediction.setData(xs, ys)
        e = net.elbows
        e = e[np.isfinite(e)]
        cell.elbows.setData(e, np.zeros(e.size))
        if i < 0:
            cell.text.setText("initial network")
        elif run.diverged and i == len(run) - 1:
            cell.text.setText(f"diverged at step {run.diverged_at:,}")
        else:
            cell.text.setText(f"full train {run.full_train_error[i]:.3g} · test {run.test_error[i]:.3g}")
        cell.step_shown = i

    # ------------------------------------------------------------------ selection
    def select(self, width: int, mode: str, optimizer=None):
        old = self.cells.get(self.selected) if self.selected else None
        if old is not None:
            old.vb.setBorder(None)
        cell = self.cell(width, mode, optimizer)
        self.selected = (cell.width, cell.mode, cell.optimizer) if cell is not None else None
        if cell is not None:
            cell.vb.setBorder(style.pen(style.SELECTED, 2.5))

    def cell_at(self, scene_pos: QPointF):
        for key, cell in self.cells.items():
            if cell.vb.sceneBoundingRect().contains(scene_pos):
                return key
        return None

    def _clicked(self, ev):
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        key = self.cell_at(ev.scenePos())
        if key is None:
            return
        if ev.double():
            self.cellDoubleClicked.emit(key)
        else:
            self.cellClicked.emit(key)
