"""Input fields that refuse invalid entries at the field, with the reason shown beneath it."""
from __future__ import annotations

import math
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QLargeIntSpinBox

from ..core.settings import MAX_SEED

ERROR_STYLE = "color: #c0392b; font-size: 11px;"


class _Validated(QWidget):
    """A field plus a small red reason label; ``valueChanged`` fires only for valid values."""

    valueChanged = Signal(object)

    def __init__(self, editor: QWidget, check: Callable[[str], object], tooltip: str = "", parent=None):
        super().__init__(parent)
        self.editor = editor
        self._check = check
        self._value = None
        self.reason = QLabel(self)
        self.reason.setStyleSheet(ERROR_STYLE)
        self.reason.setWordWrap(True)
        self.reason.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addWidget(editor)
        lay.addWidget(self.reason)
        if tooltip:
            editor.setToolTip(tooltip)

    def text(self) -> str:
        raise NotImplementedError

    def value(self):
        """The last valid value."""
        return self._value

    def validate(self) -> bool:
        try:
            v = self._check(self.text())
        except ValueError as exc:
            self.reason.setText(str(exc))
            self.reason.show()
            self.editor.setStyleSheet("border: 1px solid #c0392b;")
            return False
        self.reason.hide()
        self.editor.setStyleSheet("")
        if v != self._value:
            self._value = v
            self.valueChanged.emit(v)
        return True


class NumberField(_Validated):
    """A float entry with bounds, e.g. a learning rate or λ (typed, so 1e-5 is easy to enter)."""

    def __init__(self, value: float, *, minimum=None, maximum=None, exclusive_min=False,
                 tooltip="", parent=None):
        self._min, self._max, self._excl = minimum, maximum, exclusive_min
        edit = QLineEdit(f"{value:g}")
        super().__init__(edit, self._parse, tooltip, parent)
        self._value = float(value)
        edit.editingFinished.connect(self.validate)
        edit.textEdited.connect(lambda _t: self._soft_check())

    def text(self) -> str:
        return self.editor.text()

    def set_value(self, v: float) -> None:
        self.editor.setText(f"{v:g}")
        self._value = float(v)
        self.reason.hide()
        self.editor.setStyleSheet("")

    def _soft_check(self):
        try:
            self._parse(self.text())
        except ValueError as exc:
            self.reason.setText(str(exc))
            self.reason.show()
            self.editor.setStyleSheet("border: 1px solid #c0392b;")
        else:
            self.reason.hide()
            self.editor.setStyleSheet("")

    def _parse(self, text: str) -> float:
        try:
            v = float(text.strip())
        except ValueError:
            raise ValueError(f"'{text}' is not a number") from None
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        if self._min is not None and (v < self._min or (self._excl and v <= self._min)):
            raise ValueError(f"must be {'>' if self._excl else '≥'} {self._min:g}")
        if self._max is not None and v > self._max:
            raise ValueError(f"must be ≤ {self._max:g}")
        return v


class TargetField(_Validated):
    """An editable combo box: a preset name or a typed formula in x, checked by the core's parser."""

    def __init__(self, presets, current: str, check: Callable[[str], object], parent=None):
        combo = QComboBox()
        combo.setEditable(True)
        combo.addItems(list(presets))
        combo.setCurrentText(current)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        super().__init__(
            combo, check,
            "A preset, or a formula in x such as sin(2*pi*x) + 0.3*x.\n"
            "Functions: sin cos tan exp log sqrt abs tanh floor ceil sign relu step frac min max;\n"
            "constants pi, e; operators + - * / ** (or ^).", parent)
        self._value = current
        combo.activated.connect(lambda _i: self.validate())
        combo.lineEdit().editingFinished.connect(self.validate)

    def text(self) -> str:
        return self.editor.currentText()

    def set_value(self, text: str) -> None:
        """Show ``text`` (a valid target) without emitting :attr:`valueChanged`."""
        self.editor.blockSignals(True)
        self.editor.setCurrentText(text)
        self.editor.blockSignals(False)
        self._value = text
        self.reason.hide()
        self.editor.setStyleSheet("")


def spin_box(lo: int, hi: int, value: int, tip: str = "", special: str | None = None,
             suffix: str = "") -> QSpinBox:
    """A whole-number field with thousands separators, applied on Enter or focus out."""
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setKeyboardTracking(False)
    s.setGroupSeparatorShown(True)
    if tip:
        s.setToolTip(tip)
    if special:
        s.setSpecialValueText(special)
    if suffix:
        s.setSuffix(suffix)
    return s


def seed_box(value: int, tip: str = "") -> QLargeIntSpinBox:
    """A seed field: any whole number in [0, 2**32) (a QSpinBox stops at 2**31 - 1), applied on
    Enter or focus out."""
    s = QLargeIntSpinBox()
    s.setRange(0, MAX_SEED)
    s.setValue(int(value))
    s.setKeyboardTracking(False)
    if tip:
        s.setToolTip(f"{tip} (0 .. {MAX_SEED:,})")
    return s


def add_ok_cancel(dialog: QDialog, form: QFormLayout) -> None:
    """The OK / Cancel row of a small options dialog."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
