"""The Compare view's results table: final or best MSE per width x mode x optimizer, median [q25, q75] over
seeds, sortable by the numbers (not the text), Ctrl+C copies the selection as tab-separated text.

The rows and the cell texts come from the core (``results_table``, ``table_headers``,
``table_cells``): the same code that prints the CLI's table.
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from ..core.report import table_cells, table_headers
from ..core.summary import METRICS

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: Columns before the metrics: width, mode, optimizer, seeds.
FIXED = 4

HEADER_TIPS = {
    "train": "minibatch MSE of the step (as the notebook records it)",
    "full train": "MSE on all training points",
    "test": "MSE on the noise-free test set (training inputs plus 1000 grid points)",
}


class ResultsModel(QAbstractTableModel):
    """Plain Python rows of (text, sort key, tooltip) cells. (A model of our own rather than
    QStandardItemModel: no C++-owned items whose Python wrappers could outlive them.)"""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.heads: list[str] = []
        self.head_tips: list[str] = []
        self.cells: list[list[tuple]] = []

    def reset(self, heads, head_tips, cells):
        self.beginResetModel()
        self.heads, self.head_tips, self.cells = list(heads), list(head_tips), [list(r) for r in cells]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.cells)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.heads)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        text, key, tip = self.cells[index.row()][index.column()]
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == SORT_ROLE:
            return key
        if role == Qt.ItemDataRole.ToolTipRole:
            return tip or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            h = (Qt.AlignmentFlag.AlignLeft if c in (1, 2) else
                 Qt.AlignmentFlag.AlignRight if c < FIXED else Qt.AlignmentFlag.AlignHCenter)
            return int(h | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.heads):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.heads[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.head_tips[section] or None
        return None


class ResultsTableView(QTableView):
    """Shows the rows of :func:`~relu_studio.core.experiment.results_table`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model_ = ResultsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model_)
        self.proxy.setSortRole(SORT_ROLE)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the core's order
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        self.horizontalHeader().setStretchLastSection(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setMinimumSectionSize(60)
        self.setToolTip("Median [25 %, 75 %] over seeds. Click a header to sort; "
                        "Ctrl+C copies the selected cells as tab-separated text.")
        self.rows: list[dict] = []
        self.kind = "final"
        self._sorted = False
        self.horizontalHeader().sortIndicatorChanged.connect(lambda *_: setattr(self, "_sorted", True))

    def set_rows(self, rows: list[dict], kind: str = "final", modes_order=()):
        """Show ``rows`` summarised by ``kind`` ("final" or "best"); the sort order is kept."""
        self.rows, self.kind = list(rows), kind
        heads = table_headers(kind)
        tips = ["", "", "the optimizer and the learning rate it trained with", "seeds summarised"]
        tips += [f"{kind} {label} MSE: {HEADER_TIPS[label]}" for _attr, label in METRICS]
        order = {mode: i for i, mode in enumerate(modes_order)}
        cells = []
        for r in rows:
            texts = table_cells(r, kind)
            # the optimizer sorts in the grid's order (ridge, which has none, first)
            opt = r.get("optimizer_index")
            keys = [r["width"], order.get(r["mode"], len(order)), -1 if opt is None else opt, r["seeds"]]
            keys += [r[f"{kind}_{attr}"]["median"] for attr, _label in METRICS]
            row = []
            for j, (text, key) in enumerate(zip(texts, keys)):
                tip = ""
                if j >= FIXED:
                    s = r[f"{kind}_{METRICS[j - FIXED][0]}"]
                    tip = (f"median {s['median']:.6g}\n25 %: {s['q25']:.6g}\n75 %: {s['q75']:.6g}"
                           f"\nover {r['seeds']} seed{'s' if r['seeds'] != 1 else ''}")
                row.append((text, key, tip))
            cells.append(row)
        self.model_.reset(heads, tips, cells)
        if self._sorted:
            hh = self.horizontalHeader()
            self.proxy.sort(hh.sortIndicatorSection(), hh.sortIndicatorOrder())
        else:
            self.proxy.sort(-1)  # the table's own order: widths, then modes
        hh = self.horizontalHeader()
        for j in range(len(heads)):
            # Numbers get the room; width, mode, optimizer and seeds fit their contents.
            hh.setSectionResizeMode(j, QHeaderView.ResizeMode.ResizeToContents if j < FIXED
                                    else QHeaderView.ResizeMode.Stretch)

    def selection_tsv(self, with_header: bool = True) -> str:
        """The selected cells (or the whole table if none) as tab-separated text, in view order."""
        idx = self.selectionModel().selectedIndexes() if self.selectionModel() else []
        if idx:
            rows = sorted({i.row() for i in idx})
            cols = sorted({i.column() for i in idx})
            chosen = {(i.row(), i.column()) for i in idx}
        else:
            rows = list(range(self.proxy.rowCount()))
            cols = list(range(self.proxy.columnCount()))
            chosen = {(r, c) for r in rows for c in cols}
        lines = []
        if with_header:
            lines.append("\t".join(str(self.proxy.headerData(c, Qt.Orientation.Horizontal)) for c in cols))
        for r in rows:
            lines.append("\t".join(
                str(self.proxy.index(r, c).data()) if (r, c) in chosen else "" for c in cols))
        return "\n".join(lines) + "\n"

    def copy_selection(self) -> str:
        text = self.selection_tsv()
        QGuiApplication.clipboard().setText(text)
        return text

    def keyPressEvent(self, event):
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_selection()
            event.accept()
            return
        super().keyPressEvent(event)
