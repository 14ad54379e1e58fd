"""Input fields that refuse invalid entries at the field, with the reason shown beneath it."""
from __future__ import annotations

import math
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
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
#: A field whose typed value is not applied yet (light amber, with its own dark text so that it
#: stays readable in a dark theme too), and the note beneath its group.
PENDING_LOOK = "background: #fff3cd; color: #3d2f00;"
PENDING_NOTE_STYLE = "color: #8a5a00; font-size: 11px;"
ERROR_LOOK = "border: 1px solid #c0392b;"
#: What a setting that does not apply in the current mode shows.
UNUSED_TEXT = "—"


class _Validated(QWidget):
    """A field plus a small red reason label; ``valueChanged`` fires only for valid values."""

    valueChanged = Signal(object)

    def __init__(self, editor: QWidget, check: Callable[[str], object], tooltip: str = "", parent=None):
        super().__init__(parent)
        self.editor = editor
        self._check = check
        self._value = None
        self._error_look = False
        self._pending_look = False
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

    def _show_error(self, text: str | None) -> None:
        """The reason under the field (None: hide it) and the field's red border."""
        self.reason.setText(text or "")
        self.reason.setVisible(bool(text))
        self._error_look = bool(text)
        self._restyle()

    def show_error(self, text: str | None) -> None:
        """Show why a value is refused under the field (None: clear it); the value in use stays."""
        self._show_error(text)

    def set_pending_look(self, on: bool) -> None:
        """Show the field as holding a value that is not applied yet (see :class:`PendingInput`)."""
        if bool(on) != self._pending_look:
            self._pending_look = bool(on)
            self._restyle()

    def _restyle(self) -> None:
        look = (ERROR_LOOK if self._error_look else "") + (PENDING_LOOK if self._pending_look else "")
        target = self.editor.lineEdit() if isinstance(self.editor, QComboBox) else self.editor
        target.setStyleSheet(look)

    def validate(self) -> bool:
        try:
            v = self._check(self.text())
        except ValueError as exc:
            self._show_error(str(exc))
            return False
        self._show_error(None)
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
        self._show_error(None)

    def typed(self):
        """The number the field holds as typed, or None if it is not a valid entry."""
        try:
            return self._parse(self.text())
        except ValueError:
            return None

    def set_unused(self, reason: str) -> None:
        """Show that the setting does not apply now: "—", disabled, the reason in the tooltip
        (the last valid value is kept for when it applies again)."""
        if not hasattr(self, "_tip"):
            self._tip = self.editor.toolTip()
        self.editor.setEnabled(False)
        self.editor.setText(UNUSED_TEXT)
        self._show_error(None)
        self.editor.setToolTip(f"{self._tip}\n({reason})" if self._tip else reason)

    def set_used(self, value: float) -> None:
        """The setting applies again: enabled, showing ``value``."""
        if hasattr(self, "_tip"):
            self.editor.setToolTip(self._tip)
        self.editor.setEnabled(True)
        self.set_value(value)

    def _soft_check(self):
        try:
            self._parse(self.text())
        except ValueError as exc:
            self._show_error(str(exc))
        else:
            self._show_error(None)

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
        self._show_error(None)


def choice_combo(keys, labels, current, tip: str, tips=None) -> QComboBox:
    """A combo box of ``keys`` (its items' data) shown by ``labels[key]``, ``current`` chosen;
    ``tips[key]`` (optional) is each item's tooltip."""
    box = QComboBox()
    for k in keys:
        box.addItem(labels[k], k)
        if tips:
            box.setItemData(box.count() - 1, tips[k], Qt.ItemDataRole.ToolTipRole)
    box.setCurrentIndex(keys.index(current))
    box.setToolTip(tip)
    return box


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


# --------------------------------------------------------------------------- values not applied yet
def typed_int(box: QAbstractSpinBox):
    """The whole number a spin box's text holds as typed (before Enter or focus out interprets
    it), or None if the text is not one within the box's range."""
    text = box.lineEdit().text()
    prefix, suffix = getattr(box, "prefix", lambda: "")(), getattr(box, "suffix", lambda: "")()
    if prefix and text.startswith(prefix):
        text = text[len(prefix):]
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    sep = box.locale().groupSeparator()
    text = text.replace(sep, "").replace(",", "").replace("\u00a0", "").replace(" ", "").strip()
    try:
        v = int(text)
    except ValueError:
        return None
    return v if box.minimum() <= v <= box.maximum() else None


class PendingInput(QObject):
    """One field whose typed value takes effect only with an action (Regenerate, Re-initialise).

    While what the field holds (``typed()``) differs from the value in use (``applied()``), the
    field is *pending*: it keeps the typed text (losing focus keeps it), looks pending (amber),
    and its tooltip says how to apply or revert it. Enter asks for the action
    (:attr:`applyRequested`: the owner applies if anything it governs is pending); Escape puts
    the value in use back (``show(applied())``). Nothing else ever replaces what was typed.
    """

    pendingChanged = Signal(bool)
    applyRequested = Signal()

    def __init__(self, editor: QWidget, typed: Callable[[], object], applied: Callable[[], object],
                 show: Callable[[object], None], action: str, parent=None):
        super().__init__(parent or editor)
        self.editor = editor
        self._typed, self._applied, self._show = typed, applied, show
        self.action = action
        self.pending = False
        self._tip = None
        if isinstance(editor, _Validated):
            self._line = editor.editor.lineEdit() if isinstance(editor.editor, QComboBox) else editor.editor
            self._tip_widget = editor.editor
        else:
            self._line = editor.lineEdit()
            self._tip_widget = editor
        self._line.textChanged.connect(self.refresh)
        self._line.returnPressed.connect(self._enter)
        for w in {self._line, self._tip_widget}:
            w.installEventFilter(self)

    def refresh(self) -> bool:
        """Recompute whether the field is pending (after typing, or a change of the value in use)."""
        pending = self._typed() != self._applied()
        if pending != self.pending:
            self.pending = pending
            if self._tip is None:
                self._tip = self._tip_widget.toolTip()
            if isinstance(self.editor, _Validated):
                self.editor.set_pending_look(pending)
            else:
                self._line.setStyleSheet(PENDING_LOOK if pending else "")
            self._tip_widget.setToolTip(
                f"{self._tip}\nPending: press Enter or {self.action} to apply it; Escape puts back "
                f"{self._applied()}." if pending else self._tip)
            self.pendingChanged.emit(pending)
        return pending

    def revert(self) -> None:
        """Show the value in use again (Escape)."""
        self._show(self._applied())
        self.refresh()

    def _enter(self) -> None:
        self.refresh()
        self.applyRequested.emit()

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape and self.refresh():
            self.revert()
            return True
        return False
