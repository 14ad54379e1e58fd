"""The theory lens's panel: the gradient features (singular values of the Jacobian and of its
hidden-feature block, the top singular vectors as functions of x, the residual's share in their
span), the convex case (the distance to the ridge optimum over steps) and a 2-D loss slice with
the SGD path drawn on it.

A plain view with setters and one signal (the slice's two parameters were chosen); the numbers
come from :mod:`relu_studio.core.lens` through :class:`~relu_studio.ui.lens_presenter.LensPresenter`.
"""
from __future__ import annotations

import contourpy
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.lens.loss_slice import PARAMETER_KINDS, parameter_label
from . import style
from .loss_pane import LogAxis

__all__ = ["LensPanel", "VECTOR_COLORS", "ISO_LEVELS"]

#: The top singular vectors' colours (first to fourth, then repeating).
VECTOR_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#17becf")
#: Contour lines drawn on the loss slice.
ISO_LEVELS = 6


def contour_lines(v1, v2, z, levels) -> tuple[np.ndarray, np.ndarray]:
    """The contour lines of ``z[i, j]`` (at ``(v1[i], v2[j])``) at ``levels``, as one polyline in
    data coordinates with NaN between the pieces (for a plot with ``connect="finite"``).
    contourpy (matplotlib's contouring, compiled): ~2 ms for six levels of a 200 x 200 grid, where
    pyqtgraph's IsocurveItem (marching squares in Python) takes ~60 ms per level."""
    gen = contourpy.contour_generator(np.asarray(v1, float), np.asarray(v2, float),
                                      np.asarray(z, float).T, line_type=contourpy.LineType.ChunkCombinedNan)
    pieces = [chunk for level in levels for chunk in gen.lines(float(level))[0] if chunk is not None]
    if not pieces:
        return np.empty(0), np.empty(0)
    xy = np.concatenate([np.vstack([c, [[np.nan, np.nan]]]) for c in pieces])
    return xy[:, 0], xy[:, 1]

KIND_TIPS = {
    "w2": "a unit's output weight: with the output bias, the loss is a convex bowl over it",
    "b2": "the output bias",
    "elbow": "a unit's elbow -b/w, moved with w kept (as dragging an elbow does): not convex",
    "slope": "a unit's slope w with its elbow kept (as dragging a slope handle does)",
    "w1": "a unit's w with b kept (torch's parameter)",
    "b1": "a unit's b with w kept (torch's parameter)",
}


def _plot(left: str, bottom: str, log_y: bool = False, decades: bool = True) -> pg.PlotWidget:
    """A themed plot; ``log_y`` with ``decades``: only 1, 2, 5 of each decade labelled (for
    spans of many decades), else pyqtgraph's log axis (which labels a short span finely)."""
    w = pg.PlotWidget(axisItems={"left": LogAxis("left")} if log_y and decades else None)
    style.apply_plot_theme(w)
    w.setMenuEnabled(False)
    p = w.getPlotItem()
    if log_y:
        p.setLogMode(x=False, y=True)
    p.setLabel("left", left)
    p.setLabel("bottom", bottom)
    p.hideButtons()
    for name in ("left", "bottom"):
        p.getAxis(name).enableAutoSIPrefix(False)  # "(x0.001)" beside a parameter's name misleads
    w.setMinimumHeight(120)
    return w


class ParameterPicker(QWidget):
    """A parameter of the slice: its kind and (for a unit's) the unit."""

    changed = Signal()

    def __init__(self, kind: str, unit: int, label: str):
        super().__init__()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel(label))
        self.kind = QComboBox()
        for k, text in PARAMETER_KINDS.items():
            self.kind.addItem(text, k)
            self.kind.setItemData(self.kind.count() - 1, KIND_TIPS[k], Qt.ItemDataRole.ToolTipRole)
        self.kind.setCurrentIndex(list(PARAMETER_KINDS).index(kind))
        self.kind.setToolTip("Which parameter varies along this axis")
        self.unit = QSpinBox()
        self.unit.setPrefix("unit ")
        self.unit.setRange(0, 0)
        self.unit.setValue(unit)
        self.unit.setToolTip("Which hidden unit (selecting a unit on the canvas sets it)")
        lay.addWidget(self.kind, 1)
        lay.addWidget(self.unit)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.unit.valueChanged.connect(lambda _v: self.changed.emit())
        self._kind_changed()

    def _kind_changed(self) -> None:
        self.unit.setEnabled(self.kind.currentData() != "b2")
        self.changed.emit()

    def parameter(self) -> tuple:
        k = self.kind.currentData()
        return ("b2",) if k == "b2" else (k, self.unit.value())


class LensPanel(QWidget):
    """The lens's plots in three tabs (gradient features, convex case, loss slice)."""

    sliceChanged = Signal(object, object)  # the two parameters, e.g. ("w2", 3), ("b2",)
    partChanged = Signal(str)  # the part on screen: "features", "ridge" or "slice"

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setToolTip("The Jacobian J = df/dθ of the output with respect to all 3H + 1 "
                                "parameters at the training inputs (HW1 P6: features from local "
                                "linearisation)")
        lay.addWidget(self.summary)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        lay.addWidget(self.tabs, 1)

        # ---- gradient features
        self.spectrum = _plot("singular value", "index", log_y=True)
        self.spectrum.setToolTip("Singular values of the Jacobian at the training inputs: all "
                                 "parameters (purple) and the output layer's block only, i.e. the "
                                 "hidden features the ridge solve uses (green). Training all layers "
                                 "adds directions. Only the numerical rank is drawn: values below "
                                 "round-off (size x machine epsilon x the largest) are not directions.")
        legend = style.add_legend(self.spectrum.getPlotItem(), (-5, 5), "8pt")
        # lines without symbols: a hundred symbols cost more to set than the SVD to compute
        self.sv_full = self.spectrum.plot(pen=style.pen(style.VELOCITY, 2.0), name="all parameters")
        self.sv_hidden = self.spectrum.plot(pen=style.pen(style.PREDICTION, 2.0),
                                            name="output layer (hidden features)")
        legend.setParentItem(self.spectrum.getPlotItem().vb)
        self.vectors = _plot("u_k(x)", "x")
        self.vectors.setToolTip("The top singular directions as functions of x: u_k(x) = J(x) v_k / s_k, "
                                "through the same Jacobian (they equal U's columns at the training inputs)")
        self.vector_legend = style.add_legend(self.vectors.getPlotItem(), (5, 2), "8pt")
        self.vector_legend.setColumnCount(4)
        self.vector_curves: list = []
        self.data_ticks = pg.ScatterPlotItem(symbol="|", size=6, pen=style.pen(style.DATA, 1.0), brush=None)
        self.vectors.addItem(self.data_ticks)
        features = QSplitter(Qt.Orientation.Vertical)
        features.addWidget(self.spectrum)
        features.addWidget(self.vectors)
        self.tabs.addTab(features, "Gradient features")
        self.tabs.setTabToolTip(0, "The Jacobian's singular values and vectors (NTK features)")

        # ---- the convex case
        convex = QWidget()
        cl = QVBoxLayout(convex)
        cl.setContentsMargins(0, 0, 0, 0)
        self.ridge_note = QLabel("")
        self.ridge_note.setWordWrap(True)
        cl.addWidget(self.ridge_note)
        self.ridge = _plot("RMS gap to ridge", "step", log_y=True, decades=False)
        self.ridge.setToolTip("Distance of the output layer from the ridge optimum on the same hidden "
                              "features: the RMS gap between their predictions on the training inputs "
                              "(its square is the excess training MSE). Output-only training is convex: "
                              "it goes to 0, as fast as the features' conditioning allows.")
        self.ridge_curve = self.ridge.plot(pen=style.pen(style.RIDGE_REF, 2.0))
        self.ridge_cursor = pg.InfiniteLine(angle=90, pen=style.pen(style.CURSOR, 1.0, Qt.PenStyle.DashLine))
        self.ridge.addItem(self.ridge_cursor)
        cl.addWidget(self.ridge, 1)
        self.tabs.addTab(convex, "Convex case")
        self.tabs.setTabToolTip(1, "Distance to the ridge optimum over steps")

        # ---- the loss slice
        sl = QWidget()
        sll = QVBoxLayout(sl)
        sll.setContentsMargins(0, 0, 0, 0)
        self.pick1 = ParameterPicker("w2", 0, "x:")
        self.pick2 = ParameterPicker("b2", 0, "y:")
        sll.addWidget(self.pick1)
        sll.addWidget(self.pick2)
        self.slice_note = QLabel("")
        self.slice_note.setWordWrap(True)
        sll.addWidget(self.slice_note)
        self.slice = _plot("", "")
        self.slice.setToolTip("Training MSE over the two parameters, all others as in the shown "
                              "network (log colour scale, contours), with the path SGD took in them "
                              "(others moved along it) and the shown point (ring)")
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.slice.addItem(self.image)
        self.contours = pg.PlotDataItem(pen=pg.mkPen(255, 255, 255, 150, width=1), connect="finite")
        self.contours.setZValue(5)
        self.slice.addItem(self.contours)
        self.path = pg.PlotDataItem(pen=style.pen("#ff5252", 1.6))
        self.current = pg.ScatterPlotItem(size=12, brush=None, pen=style.pen("#ffffff", 2.0))
        self.minimum = pg.ScatterPlotItem(symbol="x", size=11, pen=style.pen("#ffeb3b", 2.0))
        for item in (self.path, self.current, self.minimum):
            item.setZValue(10)
            self.slice.addItem(item)
        sll.addWidget(self.slice, 1)
        self.tabs.addTab(sl, "Loss slice")
        self.tabs.setTabToolTip(2, "The training loss over two parameters, with the SGD path")
        for p in (self.pick1, self.pick2):
            p.changed.connect(self._slice_changed)
        self.tabs.currentChanged.connect(lambda _i: self.partChanged.emit(self.shown_part()))

    # ------------------------------------------------------------------ intent
    #: The panel's parts, in tab order.
    PARTS = ("features", "ridge", "slice")

    def shown_part(self) -> str:
        """Which part is on screen: only that one needs drawing."""
        return self.PARTS[max(self.tabs.currentIndex(), 0)]

    def show_part(self, part: str) -> None:
        self.tabs.setCurrentIndex(self.PARTS.index(part))

    def slice_parameters(self) -> tuple[tuple, tuple]:
        return self.pick1.parameter(), self.pick2.parameter()

    def _slice_changed(self) -> None:
        self.sliceChanged.emit(*self.slice_parameters())

    def set_width(self, width: int) -> None:
        for p in (self.pick1, self.pick2):
            p.unit.blockSignals(True)
            p.unit.setMaximum(max(0, width - 1))
            p.unit.blockSignals(False)

    def follow_unit(self, j) -> None:
        """A unit was selected: the slice's unit parameters take it."""
        if j is None:
            return
        for p in (self.pick1, self.pick2):
            if p.unit.isEnabled() and p.unit.value() != j:
                p.unit.setValue(int(j))

    # ------------------------------------------------------------------ what is shown
    def set_summary(self, text: str) -> None:
        self.summary.setText(text)

    def set_spectrum(self, full, hidden) -> None:
        def positive(s):
            s = np.asarray(s, float)
            return np.arange(1, s.size + 1)[s > 0], s[s > 0]

        self.sv_full.setData(*positive(full))
        self.sv_hidden.setData(*positive(hidden))

    def set_vectors(self, grid, vectors, data_x=None) -> None:
        vectors = np.asarray(vectors, float)
        while len(self.vector_curves) < vectors.shape[0]:
            i = len(self.vector_curves)
            c = self.vectors.plot(pen=style.pen(VECTOR_COLORS[i % len(VECTOR_COLORS)], 1.8), name=f"u{i + 1}")
            self.vector_curves.append(c)
        for i, c in enumerate(self.vector_curves):
            if i < vectors.shape[0]:
                c.setData(grid, vectors[i])
            else:
                c.setData([], [])
        if data_x is not None:
            self.data_ticks.setData(np.asarray(data_x), np.zeros(len(data_x)))

    def set_ridge_distance(self, steps, distance, shown_step, note: str) -> None:
        d = np.asarray(distance, float)
        ok = d > 0
        self.ridge_curve.setData(np.asarray(steps, float)[ok], d[ok])
        self.ridge_cursor.setPos(float(shown_step))
        self.ridge_note.setText(note)

    def set_slice(self, s, path=None, note: str = "") -> None:
        """A :class:`~relu_studio.core.lens.loss_slice.LossSlice`, the SGD path ``(v1, v2)``."""
        self.slice_note.setText(note)
        if s is None:
            self.image.clear()
            for item in (self.contours, self.path, self.current, self.minimum):
                item.setData([], [])
            return
        z = np.log10(np.maximum(s.loss, 1e-12))
        self.image.setImage(z, autoLevels=True)
        x0, x1, y0, y1 = s.v1[0], s.v1[-1], s.v2[0], s.v2[-1]
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        lo, hi = float(z.min()), float(z.max())
        levels = lo + (hi - lo) * (np.arange(1, ISO_LEVELS + 1) / (ISO_LEVELS + 1)) ** 1.5
        self.contours.setData(*contour_lines(s.v1, s.v2, z, levels))
        if path is not None:
            self.path.setData(*path)
        else:
            self.path.setData([], [])
        self.current.setData([s.current[0]], [s.current[1]])
        self.minimum.setData([s.minimum[0]], [s.minimum[1]])
        p = self.slice.getPlotItem()
        p.setLabel("bottom", parameter_label(s.p1))
        p.setLabel("left", parameter_label(s.p2))
        p.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
