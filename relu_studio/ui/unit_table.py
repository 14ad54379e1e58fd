"""The unit readout: one row per hidden unit (elbow, w, b, output weight, dead/alive), editable."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableView

from ..core.network import Network
from . import style

COLUMNS = ("unit", "elbow", "w", "b", "out w", "state")
HEADER_TIPS = ("unit index", "elbow position -b/w", "slope w (first layer)", "bias b (first layer)",
               "output weight (second layer)", "dead: never active on the training data")
EDITABLE = {1: "elbow", 2: "w", 3: "b", 4: "out"}
#: How a value is shown (four significant digits: at most 10 characters, e.g. -0.0001234).
VALUE_FORMAT = "{:.4g}"
#: The widest texts each column can show: its width is measured on them, so nothing is elided.
WIDEST = (("99999",),  # units are numbered below MAX_WIDTH = 100 000
          *((("-0.0008888", "-8.888e-05", "-8.888e+05", "-8888.8"),) * 4),
          ("alive", "dead"))
#: Room beside a cell's text beyond the style's own margins (pixels).
CELL_SLACK = 3


def format_value(v: float) -> str:
    return VALUE_FORMAT.format(v)


class UnitTableModel(QAbstractTableModel):
    """Reads the shown network; a typed value is forwarded as ``edited(unit, field, value)``."""

    edited = Signal(int, str, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.net: Network | None = None
        self.dead = np.zeros(0, bool)
        self.editable = True

    def set_network(self, net: Network, dead) -> None:
        old = self.net.width if self.net is not None else -1
        if net.width != old:
            self.beginResetModel()
            self.net, self.dead = net, np.asarray(dead, bool)
            self.endResetModel()
        else:
            renamed = self.net.activation.landmark != net.activation.landmark
            self.net, self.dead = net, np.asarray(dead, bool)
            self.dataChanged.emit(self.index(0, 1), self.index(net.width - 1, len(COLUMNS) - 1))
            if renamed:  # "elbow" <-> "centre"
                self.headerDataChanged.emit(Qt.Orientation.Horizontal, 1, 1)

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() or self.net is None else self.net.width

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            mark = "elbow" if self.net is None else self.net.activation.landmark
            if role == Qt.ItemDataRole.DisplayRole:
                return mark if section == 1 else COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                if section == 5 and self.net is not None and not self.net.activation.can_die:
                    return f"{self.net.activation.describe()} units cannot die (only ReLU's can)"
                return HEADER_TIPS[section].replace("elbow", mark)
        return None

    def _value(self, j, col):
        n = self.net
        return {1: float(n.elbows[j]), 2: float(n.w1[j]), 3: float(n.b1[j]), 4: float(n.w2[j])}[col]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.net is None:
            return None
        j, col = index.row(), index.column()
        dead = j < self.dead.size and bool(self.dead[j])
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == 0:
                return str(j)
            if col == 5:
                return "dead" if dead else "alive"
            v = self._value(j, col)
            return format_value(v) if role == Qt.ItemDataRole.DisplayRole else repr(v)
        if role == Qt.ItemDataRole.ForegroundRole and col == 5 and dead:
            return QBrush(QColor(style.DEAD))
        if role == Qt.ItemDataRole.TextAlignmentRole and 0 < col < 5:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col in EDITABLE:
            return f"{self._value(j, col)!r}\nDouble-click to type a new value; undo with Ctrl+Z."
        return None

    def flags(self, index):
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() in EDITABLE and self.editable:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):
        if role != Qt.ItemDataRole.EditRole or index.column() not in EDITABLE:
            return False
        try:
            v = float(str(value).strip())
        except ValueError:
            return False
        if not math.isfinite(v):
            return False
        self.edited.emit(index.row(), EDITABLE[index.column()], v)
        return True


class UnitTable(QTableView):
    unitSelected = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model_ = UnitTableModel(self)
        self.setModel(self.model_)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # fixed widths: no per-row scan
        hh.setStretchLastSection(True)
        self.fit_columns()
        self.verticalHeader().setDefaultSectionSize(22)
        self.setAlternatingRowColors(True)
        self.setToolTip("Hidden units: select one to highlight it; double-click a value to type a new one")
        self.selectionModel().selectionChanged.connect(self._selection_changed)
        self._syncing = False

    def cell_margin(self) -> int:
        """Pixels of a cell that its text cannot use: the style's margin on both sides and the
        grid line."""
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1
        return 2 * margin + (1 if self.showGrid() else 0)

    def fit_columns(self) -> None:
        """Every column as wide as the widest text it can show (measured in the table's font;
        fixed widths, so a new network never rescans its rows), and never narrower than its
        title."""
        fm, hh = self.fontMetrics(), self.horizontalHeader()
        for col, samples in enumerate(WIDEST):
            text = max(fm.horizontalAdvance(t) for t in samples)
            title = hh.fontMetrics().horizontalAdvance(COLUMNS[col]) + 2 * (
                hh.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, hh) + CELL_SLACK)
            hh.resizeSection(col, max(text + self.cell_margin() + CELL_SLACK, title))

    def full_width(self) -> int:
        """The width that shows every column whole, with the vertical scroll bar."""
        hh = self.horizontalHeader()
        return (sum(hh.sectionSize(c) for c in range(hh.count())) + 2 * self.frameWidth()
                + self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self))

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.fit_columns()

    def select_unit(self, j):
        self._syncing = True
        try:
            if j is None:
                self.clearSelection()
            else:
                self.selectRow(int(j))
                self.scrollTo(self.model_.index(int(j), 0))
        finally:
            self._syncing = False

    def _selection_changed(self, *_):
        if self._syncing:
            return
        rows = self.selectionModel().selectedRows()
        self.unitSelected.emit(rows[0].row() if rows else None)
