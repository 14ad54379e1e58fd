"""The loss pane: minibatch, full-train and test MSE against steps on a log axis, with the noise
floor σ² and the best MSE the current hidden features allow (the ridge fit) as reference lines.

Nothing is drawn over the curves but the curves' own marks:

- the step axis runs from 0 to the planned end of the run (the curves grow into a fixed frame),
  linear or (:meth:`LossPane.set_log_steps`) ``log10(1 + step)`` with step 0 at the axis start;
- each run's start is a vertical marker, labelled with its mode and learning rate in a strip
  above the plot; each hand edit, ridge fit or import is a mark of its own on the full-train curve;
- a single snapshot (step 0, after Reset) is a dot;
- the legend sits in a row under the plot, the reference lines' labels in a strip at the right
  edge, each at its line's height;
- a run replaced by "start from the initial network" stays as faint, labelled curves.

The pane is a plain view with setters: :class:`~relu_studio.ui.presenters.LossPresenter` feeds it
(the layout's numbers come from :mod:`relu_studio.core.loss_layout`).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QGraphicsWidget

from ..core.loss_layout import log_step_position, log_step_ticks, short_step, spread_labels
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
    """MSE against step on a log axis, themed, with a legend (the studio's and Compare's).

    ``legend_offset=None`` makes no legend in the plot (the studio's pane puts its own under it);
    ``bottom`` replaces the step axis."""

    def __init__(self, parent=None, legend_offset=(-10, 10), legend_text="9pt", bottom=None):
        axes = {"left": LogAxis("left")}
        if bottom is not None:
            axes["bottom"] = bottom
        super().__init__(parent, axisItems=axes)
        style.apply_plot_theme(self)
        self.setMenuEnabled(False)
        p = self.getPlotItem()
        p.setLogMode(x=False, y=True)
        p.setLabel("bottom", "step")
        p.setLabel("left", "MSE")
        p.getAxis("left").enableAutoSIPrefix(False)
        p.getAxis("bottom").enableAutoSIPrefix(False)
        self.legend = style.add_legend(p, legend_offset, legend_text) if legend_offset is not None else None


class StepAxis(pg.AxisItem):
    """The step axis: steps as they are, or ``ln(1 + step/knee)`` labelled 0, 1k, 2k, 5k, ...
    (ticks from :func:`~relu_studio.core.loss_layout.log_step_ticks`)."""

    def __init__(self):
        super().__init__("bottom")
        self.log_steps = False
        self.span = 1
        self.knee = 1.0

    def tickValues(self, minVal, maxVal, size):
        if not self.log_steps:
            return super().tickValues(minVal, maxVal, size)
        major, minor = log_step_ticks(self.span, self.knee)
        return [(1.0, [p for p, _ in major]), (0.5, [p for p, _ in minor])]

    def tickStrings(self, values, scale, spacing):
        if self.log_steps:
            labels = dict(log_step_ticks(self.span, self.knee)[0])
            return [labels.get(v, "") for v in values]
        out = []
        for v in values:
            s = v * scale
            out.append(short_step(int(round(s))) if s >= 0 and abs(s - round(s)) < 1e-6 else "")
        return out


#: The marks of one-snapshot changes: kind -> (legend name, symbol, colour).
MARKS = {
    "edit": ("hand edit", "d", style.SELECTED),
    "ridge": ("ridge fit", "t", style.RIDGE_REF),
    "import": ("import", "s", style.CURSOR),
}
#: A run's marker colour by mode (others: grey).
RUN_COLOURS = {"all": "#6a3d9a", "output": "#1b7f6a"}
#: Strip heights and widths (pixels): run labels above, the legend row below, reference labels right.
HEADER_HEIGHT = 16
LABEL_POINT_SIZE = 8.0
STEP_TITLE = "step"


def _font() -> QFont:
    f = QFont()
    f.setPointSizeF(LABEL_POINT_SIZE)
    return f


def _positive(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return np.where(a > 0, a, np.nan)


class _Strip(QGraphicsWidget):
    """An empty cell of the plot's layout that holds labels."""


class FlowLegend(QGraphicsWidget):
    """A legend laid out in rows like text (entries wrap at the width given), for a strip
    outside the plot. Entries are pooled and hidden when unused (nothing is deleted while Qt
    may still paint it)."""

    ROW = 16  # pixels per row
    GAP = 16  # pixels between entries

    def __init__(self, parent, colour: QColor):
        super().__init__(parent)
        self._colour = colour
        self._pool: list[tuple[pg.ItemSample, QGraphicsSimpleTextItem]] = []
        self._shown: list[tuple[object, str]] = []
        self._height = self.ROW

    def set_entries(self, entries) -> None:
        """``[(plot item, name, short name), ...]``: each drawn as its item's line (and symbol) and
        name; the short names are used when they save a row."""
        entries = list(entries)
        while len(self._pool) < len(entries):
            sample = pg.ItemSample(entries[len(self._pool)][0])
            sample.setParentItem(self)
            sample.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # no click-to-hide
            text = QGraphicsSimpleTextItem("", self)
            text.setFont(_font())
            text.setBrush(QBrush(self._colour))
            self._pool.append((sample, text))
        for i, (sample, text) in enumerate(self._pool):
            used = i < len(entries)
            sample.setVisible(used)
            text.setVisible(used)
            if used:
                sample.item = entries[i][0]
                text.setText(entries[i][1])
                sample.update()
        self._shown = entries

    def update_samples(self) -> None:
        for sample, _text in self._pool:
            sample.update()

    def names(self) -> list[str]:
        """The entries' (full) names."""
        return [entry[1] for entry in self._shown]

    def shown_names(self) -> list[str]:
        """The names as drawn (short ones where they save a row)."""
        return [text.text() for _s, text in self._pool[:len(self._shown)]]

    def _rows(self, widths, width: float) -> int:
        rows, x = 1, 0.0
        for w in widths:
            if x > 0 and x + w > width:
                rows, x = rows + 1, 0.0
            x += w + self.GAP
        return rows

    def flow(self, width: float) -> float:
        """Place the entries in rows no wider than ``width`` (with the short names if that takes
        fewer rows); returns the height they take."""
        fm = QFontMetricsF(_font())
        full = [22 + fm.horizontalAdvance(e[1]) for e in self._shown]
        short = [22 + fm.horizontalAdvance(e[2]) for e in self._shown]
        use_short = self._rows(short, width) < self._rows(full, width)
        x = y = 0.0
        for (sample, text), entry in zip(self._pool, self._shown):
            text.setText(entry[2] if use_short else entry[1])
            w = 22 + text.boundingRect().width()
            if x > 0 and x + w > width:
                x, y = 0.0, y + self.ROW
            sample.setPos(x, y - 2)  # the sample's line is at 11 of its 20 pixels
            text.setPos(x + 22, y + (self.ROW - text.boundingRect().height()) / 2)
            x += w + self.GAP
        self._height = y + self.ROW + 2  # the last row's samples reach 2 pixels lower
        self.update()
        return self._height

    def row_centre(self) -> float:
        """The middle of the first row (local y)."""
        return self.ROW / 2

    def boundingRect(self):
        return self.childrenBoundingRect()

    def paint(self, *args):
        pass


class LossPane(LogLossPlot):
    """The studio's loss pane (see the module docstring); :class:`LossPresenter` feeds it."""

    def __init__(self, parent=None):
        self.step_axis = StepAxis()
        super().__init__(parent, legend_offset=None, bottom=self.step_axis)
        p = self.getPlotItem()
        self.vb = p.vb
        self._log_steps = False
        self._span = 1
        self._knee = 1000.0  # the log step axis's knee: the snapshot interval
        self._zoomed = False  # the user zoomed or panned: keep their range
        self._steps = np.zeros(0)
        self._prev_steps = np.zeros(0)
        self._mark_steps: dict[str, np.ndarray] = {k: np.zeros(0) for k in MARKS}
        self._runs: list[tuple[int, str, str]] = []  # (step, label, mode)
        self._refs: dict[str, float | None] = {"floor": None, "ridge": None}
        self._cursor_step = 0.0
        self._values = {k: np.zeros(0) for k in ("train", "full", "test")}
        self._prev_values = {k: np.zeros(0) for k in ("full", "test")}
        self._mark_values = {k: np.zeros(0) for k in MARKS}
        dark = style.is_dark()
        self._fg = QColor("#dddddd" if dark else "#333333")

        # ---- curves, previous run, marks, reference lines, cursor
        self.train = pg.PlotDataItem(pen=style.pen(style.TRAIN, 1.0, alpha=170), name="minibatch train MSE",
                                     connect="finite")
        self.full = pg.PlotDataItem(pen=style.pen(style.FULL_TRAIN, 2.0), name="full train MSE", connect="finite")
        self.test = pg.PlotDataItem(pen=style.pen(style.TEST, 2.0), name="test MSE", connect="finite")
        self.previous_full = pg.PlotDataItem(pen=style.pen(style.FULL_TRAIN, 1.5, Qt.PenStyle.DashLine, alpha=90),
                                             connect="finite")
        self.previous_test = pg.PlotDataItem(pen=style.pen(style.TEST, 1.5, Qt.PenStyle.DashLine, alpha=90),
                                             connect="finite")
        self.previous_label = ""
        self.marks: dict[str, pg.PlotDataItem] = {}
        for kind, (_name, symbol, colour) in MARKS.items():
            self.marks[kind] = pg.PlotDataItem(pen=None, symbol=symbol, symbolSize=9,
                                               symbolBrush=pg.mkBrush(colour), symbolPen=pg.mkPen("w", width=1))
        self.floor = pg.InfiniteLine(angle=0, pen=style.pen(style.NOISE_FLOOR, 1.2, Qt.PenStyle.DashLine))
        self.ridge = pg.InfiniteLine(angle=0, pen=style.pen(style.RIDGE_REF, 1.2, Qt.PenStyle.DashDotLine))
        self.cursor = _StepLine(self, pen=style.pen(style.CURSOR, 1.0))
        for item in (self.previous_full, self.previous_test, self.floor, self.ridge, self.train, self.full,
                     self.test, *self.marks.values(), self.cursor):
            p.addItem(item)
        self.floor.hide()
        self.ridge.hide()
        self.run_lines: list[pg.InfiniteLine] = []
        self.run_labels: list[QGraphicsSimpleTextItem] = []

        # ---- the strips around the plot: run labels above, legend and "step" below, references right
        p.layout.removeItem(p.titleLabel)
        p.titleLabel.hide()
        self.header = _Strip(p)
        p.layout.addItem(self.header, 0, 1)
        p.layout.setRowFixedHeight(0, HEADER_HEIGHT)
        self.footer = _Strip(p)
        p.layout.addItem(self.footer, 4, 1)
        p.setLabel("bottom", None)
        p.showLabel("bottom", False)
        self.step_title = QGraphicsSimpleTextItem(STEP_TITLE, self.footer)
        self.step_title.setFont(_font())
        self.step_title.setBrush(QBrush(self._fg))
        self.legend = FlowLegend(self.footer, self._fg)
        self._legend_entries: tuple = ()
        p.showAxis("right")
        self.ref_axis = p.getAxis("right")
        self.ref_axis.setStyle(showValues=False, tickLength=0)
        self.ref_axis.setTicks([[]])  # only the plot's right edge and the labels
        self.ref_axis.setPen(self._fg)
        self.ref_labels = {
            "floor": self._text("noise floor σ²", style.NOISE_FLOOR, self.ref_axis),
            "ridge": self._text("ridge on these\nfeatures", style.RIDGE_REF, self.ref_axis),
        }
        width = max(t.boundingRect().width() for t in self.ref_labels.values())
        self.ref_axis.setWidth(int(np.ceil(width)) + 8)
        for t in self.ref_labels.values():
            t.hide()
        self._update_legend()
        self.vb.sigRangeChangedManually.connect(self._user_zoomed)
        p.autoBtn.clicked.connect(self._auto_range)
        self.vb.sigResized.connect(self._place)
        self.vb.sigRangeChanged.connect(self._place)
        self.footer.geometryChanged.connect(self._place_footer)
        self._apply()

    # ------------------------------------------------------------------ setters
    def set_curves(self, steps, train, full, test):
        """Curves over all snapshots; non-positive values cannot be shown on a log axis. A curve
        of a single step (the start, after Reset) is drawn as a dot."""
        self._steps = np.asarray(steps, dtype=np.float64)
        self._values = {"train": _positive(train), "full": _positive(full), "test": _positive(test)}
        self._draw_curves()

    def set_span(self, last_step: int, knee: float | None = None) -> None:
        """The step axis runs from 0 to ``last_step`` (the planned end of the run); a new span
        (a new run, a reset) ends a zoom of the user's. ``knee``: the snapshot interval, where
        the log step axis turns from linear to logarithmic (as the timeline's)."""
        span = max(int(last_step), 1)
        if span != self._span:
            self._zoomed = False
        self._span = span
        if knee is not None and knee > 0 and float(knee) != self._knee:
            self._knee = float(knee)
            if self._log_steps:  # every position moves
                self._redraw_x()
        self._apply()

    def _user_zoomed(self, *_):
        self._zoomed = True

    def _auto_range(self):
        """The plot's "A" button: back to the whole frame."""
        self._zoomed = False
        self._apply()

    def set_runs(self, starts) -> None:
        """Each run's start: ``(step, label, mode)``; a vertical marker and its label above."""
        self._runs = [(int(s), str(label), str(mode)) for s, label, mode in starts]
        while len(self.run_lines) < len(self._runs):
            line = pg.InfiniteLine(angle=90, movable=False)
            self.getPlotItem().addItem(line)
            self.run_lines.append(line)
            text = self._text("", style.CURSOR, self.header)
            self.run_labels.append(text)
        for i, (line, text) in enumerate(zip(self.run_lines, self.run_labels)):
            shown = i < len(self._runs)
            line.setVisible(shown)
            text.setVisible(shown)
            if shown:
                step, label, mode = self._runs[i]
                colour = RUN_COLOURS.get(mode, style.CURSOR)
                line.setPen(style.pen(colour, 1.2, Qt.PenStyle.DotLine))
                text.setText(label)
                text.setBrush(QBrush(QColor(colour)))
                text.setToolTip(f"A run from step {step:,}: {label}")
        self._apply()

    def set_marks(self, marks: dict) -> None:
        """kind ("edit", "ridge", "import") -> (steps, MSE): one mark per snapshot."""
        for kind in MARKS:
            steps, values = marks.get(kind, ((), ()))
            self._mark_steps[kind] = np.asarray(steps, dtype=np.float64)
            self._mark_values[kind] = _positive(values)
        self._draw_marks()
        self._update_legend()
        self._apply_y()

    def set_previous(self, steps, full, test, label: str | None) -> None:
        """A replaced run's curves, faint, named in the legend by ``label`` (None: none)."""
        if label is None:
            steps = full = test = ()
        self._prev_steps = np.asarray(steps, dtype=np.float64)
        self._prev_values = {"full": _positive(full), "test": _positive(test)}
        self.previous_label = label or ""
        self._draw_previous()
        self._update_legend()
        self._apply_y()

    def set_references(self, noise_floor: float | None, ridge: float | None):
        for name, line, v in (("floor", self.floor, noise_floor), ("ridge", self.ridge, ridge)):
            ok = bool(v is not None and v > 0 and np.isfinite(v))
            self._refs[name] = float(v) if ok else None
            if ok:
                line.setValue(np.log10(v))
            line.setVisible(ok)
            self.ref_labels[name].setVisible(ok)
            if ok:
                what = "the noise floor σ²" if name == "floor" else \
                    "the best train MSE of a ridge fit on the shown network's hidden features"
                self.ref_labels[name].setToolTip(f"{what}: {v:.4g}")
        self._apply_y()

    def set_cursor(self, step: float):
        self._cursor_step = float(step)
        self.cursor.set_step(step)

    def set_log_steps(self, on: bool) -> None:
        """A log step axis (``log10(1 + step)``: step 0 at the axis start) or a linear one."""
        on = bool(on)
        if on == self._log_steps:
            return
        self._log_steps = self.step_axis.log_steps = on
        self._zoomed = False  # a zoom in the other axis's coordinates means nothing here
        self._redraw_x()

    def _redraw_x(self) -> None:
        """Everything placed by step, placed again (the step axis changed)."""
        self.step_axis.picture = None
        self._draw_curves()
        self._draw_previous()
        self._draw_marks()
        self.set_runs(self._runs)
        self.cursor.set_step(self._cursor_step)
        self.step_axis.update()

    # ------------------------------------------------------------------ what is drawn (tests)
    @property
    def log_steps(self) -> bool:
        return self._log_steps

    def x_of(self, steps) -> np.ndarray:
        """Where steps sit on the x axis (view coordinates)."""
        s = np.asarray(steps, dtype=np.float64)
        return log_step_position(s, self._knee) if self._log_steps else s

    def curves(self) -> dict:
        """name -> (steps, MSE) of the curves drawn ("train", "full", "test"), in data units (the
        plot shows them on a log axis, and the steps on a log axis if asked)."""
        return {name: (self._steps, item.yData) for name, item in
                (("train", self.train), ("full", self.full), ("test", self.test))}

    def run_markers(self) -> list[tuple[int, str, pg.InfiniteLine, QGraphicsSimpleTextItem]]:
        """(step, label, marker line, label item) of each run start shown."""
        return [(s, label, self.run_lines[i], self.run_labels[i]) for i, (s, label, _m) in enumerate(self._runs)]

    def mark_points(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, MSE) of the marks of one kind ("edit", "ridge", "import")."""
        return self._mark_steps[kind], self.marks[kind].yData if self.marks[kind].yData is not None else np.zeros(0)

    def points_in_scene(self) -> np.ndarray:
        """Every drawn point of every curve (and mark) in scene coordinates: an (n, 2) array."""
        pts = []
        for item in (self.train, self.full, self.test, self.previous_full, self.previous_test,
                     *self.marks.values()):
            x, y = item.getData()  # the log y axis: view coordinates are log10 of the values
            if x is None or len(x) == 0:
                continue
            for xi, yi in zip(x, y):
                if np.isfinite(xi) and np.isfinite(yi):
                    q = self.vb.mapViewToScene(QPointF(float(xi), float(yi)))
                    pts.append((q.x(), q.y()))
        return np.array(pts).reshape(-1, 2)

    # ------------------------------------------------------------------ drawing
    def _text(self, text, colour, parent) -> QGraphicsSimpleTextItem:
        t = QGraphicsSimpleTextItem(text, parent)
        t.setFont(_font())
        t.setBrush(QBrush(QColor(colour)))
        return t

    def _draw_curves(self):
        x = self.x_of(self._steps)
        st = self._steps
        one_step = st.size == 0 or st[0] == st[-1]  # a history's steps never decrease
        for name, item in (("train", self.train), ("full", self.full), ("test", self.test)):
            y = self._values[name]
            if one_step and np.isfinite(y).any():
                colour = item.opts["pen"].color()
                item.setData(x, y, symbol="o", symbolSize=7, symbolBrush=pg.mkBrush(colour),
                             symbolPen=pg.mkPen(colour))
            else:
                item.setData(x, y, symbol=None)
        self.legend.update_samples()  # the samples show the dot, or not
        self._apply_y()

    def _draw_previous(self):
        x = self.x_of(self._prev_steps)
        self.previous_full.setData(x, self._prev_values["full"])
        self.previous_test.setData(x, self._prev_values["test"])

    def _draw_marks(self):
        for kind, item in self.marks.items():
            item.setData(self.x_of(self._mark_steps[kind]), self._mark_values[kind])

    def _update_legend(self):
        entries = [(self.train, "minibatch train MSE", "minibatch"), (self.full, "full train MSE", "full train"),
                   (self.test, "test MSE", "test")]
        if self.previous_label:
            entries.append((self.previous_full, self.previous_label, self.previous_label))
        for kind, (name, _s, _c) in MARKS.items():
            if self._mark_steps[kind].size:
                entries.append((self.marks[kind], name, name))
        key = tuple((id(e[0]), e[1]) for e in entries)
        if key == self._legend_entries:
            return
        self._legend_entries = key
        self.legend.set_entries(entries)
        self._place_footer()

    def _apply(self):
        self._apply_x()
        self._apply_y()
        self._place()

    def _apply_x(self):
        self.step_axis.span = self._span
        self.step_axis.knee = self._knee
        self.step_axis.picture = None
        for (step, _label, _mode), line in zip(self._runs, self.run_lines):
            line.setValue(float(self.x_of(step)))
        if self._zoomed:  # the user's zoom holds until a new span or the "A" button
            return
        x0, x1 = 0.0, float(self.x_of(self._span))
        self.vb.setXRange(x0, x1, padding=0.02)

    def _apply_y(self):
        """The y range spans every curve, mark and reference line (log10 of the values)."""
        vals = [*self._values.values(), *self._prev_values.values(), *self._mark_values.values()]
        vals += [np.array([v]) for v in self._refs.values() if v is not None]
        logs = np.concatenate([np.log10(np.asarray(v, dtype=np.float64)) for v in vals]) if vals else np.zeros(0)
        logs = logs[np.isfinite(logs)]
        if self._zoomed:
            pass
        elif logs.size:
            lo, hi = float(logs.min()), float(logs.max())
            pad = 0.09 * max(hi - lo, 0.3)  # room for a dot at either end
            self.vb.setYRange(lo - pad, hi + pad, padding=0)
        else:
            self.vb.setYRange(-3, 0, padding=0.02)
        self._place()

    def _place(self, *_):
        """Put the labels of the strips where their lines are (after a resize or a new range)."""
        self._place_run_labels()
        self._place_ref_labels()

    def _scene_x(self, x: float) -> float:
        return self.vb.mapViewToScene(QPointF(x, 0.0)).x()

    def _place_run_labels(self):
        """Each run's label starts at its marker; it is cut short (…) where the next one starts,
        and the last one moves left when it would run past the reference strip."""
        if not self._runs:
            return
        fm = QFontMetricsF(_font())
        right = self.vb.sceneBoundingRect().right() + self.ref_axis.width()
        limit_right = self.header.mapFromScene(QPointF(right, 0)).x()
        xs = [self.header.mapFromScene(QPointF(self._scene_x(float(self.x_of(s))), 0)).x() + 3
              for s, _l, _m in self._runs]
        y = (HEADER_HEIGHT - fm.height()) / 2
        prev_end = -1e9
        for k, text in enumerate(self.run_labels[:len(self._runs)]):
            full = self._runs[k][1]
            last = k + 1 == len(self._runs)
            limit = limit_right if last else xs[k + 1] - 6
            width = fm.horizontalAdvance(full)
            x = xs[k]
            if last and x + width > limit:
                x = max(prev_end + 6, limit - width)
            shown = full if x + width <= limit else fm.elidedText(full, Qt.TextElideMode.ElideRight, max(limit - x, 0))
            text.setText(shown)
            text.setPos(x, y)
            prev_end = x + fm.horizontalAdvance(shown)

    def _place_ref_labels(self):
        names = [n for n in ("floor", "ridge") if self._refs[n] is not None]
        if not names:
            return
        ys = [self.ref_axis.mapFromScene(self.vb.mapViewToScene(QPointF(0, np.log10(self._refs[n])))).y()
              for n in names]
        heights = [self.ref_labels[n].boundingRect().height() for n in names]
        top = self.ref_axis.mapFromScene(self.vb.sceneBoundingRect().topLeft()).y()
        bottom = self.ref_axis.mapFromScene(self.vb.sceneBoundingRect().bottomLeft()).y()
        centres = spread_labels(ys, heights, top, bottom)
        for n, c, h in zip(names, centres, heights):
            self.ref_labels[n].setPos(4, c - h / 2)

    def _place_footer(self, *_):
        """The legend on the left of the row under the plot (wrapping into rows as needed),
        "step" on its right; the row is as tall as the legend."""
        w = self.footer.geometry().width()
        title_w = self.step_title.boundingRect().width()
        h = self.legend.flow(max(w - title_w - 16, 80))
        self.getPlotItem().layout.setRowFixedHeight(4, h + 2)
        self.legend.setPos(0, 2)
        self.step_title.setPos(w - title_w - 4,
                               2 + self.legend.row_centre() - self.step_title.boundingRect().height() / 2)


class _StepLine(pg.InfiniteLine):
    """The cursor: a vertical line at a step, wherever the step axis puts it."""

    def __init__(self, pane: LossPane, **kw):
        super().__init__(angle=90, **kw)
        self._pane = pane
        self._step = 0.0

    def set_step(self, step: float) -> None:
        self._step = float(step)
        self.setValue(float(self._pane.x_of(step)))

    def step(self) -> float:
        return self._step
