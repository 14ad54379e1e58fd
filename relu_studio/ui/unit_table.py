"""The unit readout: one row per hidden unit (elbow, w, b, output weight, dead/alive), editable."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from ..core.network import Network
from . import style

COLUMNS = ("unit", "elbow", "w", "b", "out w", "state")
HEADER_TIPS = ("unit index", "elbow position -b/w", "slope w (first layer)", "bias b (first layer)",
               "output weight (second layer)", "dead: never active on the training data")
EDITABLE = {1: "elbow", 2: "w", 3: "b", 4: "out"}


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
            self.net, self.dead = net, np.asarray(dead, bool)
            self.dataChanged.emit(self.index(0, 1), self.index(net.width - 1, len(COLUMNS) - 1))

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() or self.net is None else self.net.width

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return HEADER_TIPS[section]
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
            return f"{v:.4g}" if role == Qt.ItemDataRole.DisplayRole else repr(v)
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
        for col, width in enumerate((38, 70, 70, 70, 70, 44)):
            hh.resizeSection(col, width)
        hh.setStretchLastSection(True)
        self.verticalHeader().setDefaultSectionSize(22)
        self.setAlternatingRowColors(True)
        self.setToolTip("Hidden units: select one to highlight it; double-click a value to type a new one")
        self.selectionModel().selectionChanged.connect(self._selection_changed)
        self._syncing = False

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
