"""The current numbers, large: train and test MSE and the ridge optimum, read at a glance.

A strip above the canvas, as TensorFlow Playground shows its losses: each number in the colour of
its curve in the loss pane, with a small caption. It only presents what
:class:`~relu_studio.ui.presenters.ReadoutStripPresenter` sets: the shown snapshot's numbers (or
those of a drag in progress).
"""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from . import style

__all__ = ["ReadoutStrip"]

#: name -> (caption, colour, tooltip)
FIELDS = {
    "step": ("step", None, "The training step of the snapshot on screen"),
    "train": ("train MSE", style.FULL_TRAIN,
              "Mean squared error on all training points, of the network on screen"),
    "test": ("test MSE", style.TEST,
             "Mean squared error on the noise-free test set (the notebook's test error), of the "
             "network on screen"),
    "ridge": ("ridge optimum", style.RIDGE_REF,
              "The lowest train MSE the network's current hidden features allow: its output layer "
              "solved by ridge regression (what training the output layer alone converges to)"),
}


def format_value(name: str, value) -> str:
    """A number as the strip shows it: steps with thousands separators, MSEs to 4 digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if name == "step":
        return f"{int(value):,}"
    return f"{float(value):.4g}"


class ReadoutStrip(QWidget):
    """Big numbers in a row: step, train MSE, test MSE, ridge optimum."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("readout-strip")
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(10, 2, 10, 2)
        self.grid.setHorizontalSpacing(6)
        self.grid.setVerticalSpacing(0)
        self.values: dict[str, QLabel] = {}
        self.captions: dict[str, QLabel] = {}
        font = self.font()
        big = font.pointSizeF() * 1.45 if font.pointSizeF() > 0 else 13.0
        for name, (caption, colour, tip) in FIELDS.items():
            cap = QLabel(caption)
            cap.setToolTip(tip)
            cap.setStyleSheet("" if colour is None else f"color: {colour};")
            val = QLabel("–")
            val.setObjectName(f"readout-{name}")
            val.setToolTip(tip)
            f = val.font()
            f.setPointSizeF(big)
            f.setBold(name != "step")
            val.setFont(f)
            if colour is not None:
                val.setStyleSheet(f"color: {colour};")
            val.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[name] = val
            self.captions[name] = cap
        self.note = QLabel("")
        self.note.setStyleSheet("color: palette(mid);")
        # Its size never follows the numbers: a new value must not move the canvas below it
        # (nor widen the window), so the plots stay put while training and under the pointer.
        for name, val in self.values.items():
            sample = "000,000" if name == "step" else "0.00000"
            val.setMinimumWidth(val.fontMetrics().horizontalAdvance(sample))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.stacked = None
        self._arrange(stacked=False)
        #: the width one row needs; narrower, each caption goes above its number
        self.row_width = self.sizeHint().width()

    def _arrange(self, stacked: bool) -> None:
        """One row (caption, number, caption, number, ...) or, on a narrow canvas, captions
        above their numbers, so nothing ever overlaps."""
        if stacked == self.stacked:
            return
        self.stacked = stacked
        for w in (*self.captions.values(), *self.values.values(), self.note):
            self.grid.removeWidget(w)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 0)
            self.grid.setColumnMinimumWidth(c, 0)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
        col = 0
        for name in FIELDS:
            cap, val = self.captions[name], self.values[name]
            if stacked:
                cap.setAlignment(left)
                self.grid.addWidget(cap, 0, col)
                self.grid.addWidget(val, 1, col)
                col += 1
            else:
                cap.setAlignment(right)
                self.grid.addWidget(cap, 0, col)
                self.grid.addWidget(val, 0, col + 1)
                self.grid.setColumnMinimumWidth(col + 2, 10)
                col += 3
        self.grid.addWidget(self.note, 1 if stacked else 0, col)
        self.grid.setColumnStretch(col + 1, 1)
        self.setFixedHeight(self.grid.sizeHint().height())

    def resizeEvent(self, event) -> None:
        self._arrange(stacked=event.size().width() < self.row_width)
        super().resizeEvent(event)

    def set_values(self, step=None, train=None, test=None, ridge=None, note: str = "") -> None:
        """Show these numbers (None: not known, shown as a dash); ``note`` says whose they are
        when that is not the shown snapshot (e.g. "editing")."""
        for name, v in (("step", step), ("train", train), ("test", test), ("ridge", ridge)):
            self.values[name].setText(format_value(name, v))
        self.note.setText(note)

    def text(self, name: str) -> str:
        """What the strip shows for ``name`` ("step", "train", "test", "ridge")."""
        return self.values[name].text()
