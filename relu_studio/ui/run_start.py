"""Where Train starts after the mode, learning rate or width changed: the question and the
remembered preference.

The decision is the core's (:mod:`relu_studio.core.run_start`); this module only asks
(:class:`StartChoiceDialog`), keeps the preference in the app's settings file and keeps the
Training menu's *When settings changed* choice in step with it (:class:`RunStartChoice`).
"""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from ..core.run_start import StartQuestion
from ..core.settings import DEFAULT_RUN_START, RUN_START_CHOICES, MODE_INFO, SettingsError, check_run_start
from .file_actions import app_settings

__all__ = ["StartChoiceDialog", "RunStartChoice", "load_preference", "save_preference",
           "PREFERENCE_KEY", "ACTION_NAMES"]

#: The key of the preference in the app's settings file.
PREFERENCE_KEY = "training/when_settings_changed"
#: Preference -> the name of its action in the Training menu (ui/actions.py).
ACTION_NAMES = {"ask": "start_ask", "initial": "start_initial", "continue": "start_continue"}


def load_preference() -> str:
    """The stored preference (the default if none, or if the stored value is not one)."""
    value = app_settings().value(PREFERENCE_KEY, DEFAULT_RUN_START)
    try:
        return check_run_start(value)
    except SettingsError:
        return DEFAULT_RUN_START


def save_preference(value: str) -> None:
    app_settings().setValue(PREFERENCE_KEY, check_run_start(value))


class StartChoiceDialog(QDialog):
    """Start from the initial network (the default button) or continue from here; *Remember my
    choice* makes the answer the preference. ``choice`` is "initial", "continue" or None."""

    def __init__(self, question: StartQuestion, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Where should this run start?")
        self.choice: str | None = None
        after = MODE_INFO[question.after.mode].phrase
        lay = QVBoxLayout(self)
        self.question_label = QLabel(f"<b>Settings changed since the last run</b><br>{question.text}")
        self.question_label.setWordWrap(True)
        lay.addWidget(self.question_label)
        hint = QLabel(
            f"To compare modes as the notebook does, train {after} from the <i>same initial network</i> "
            "as the run before: its loss curves stay in the loss pane, faint, for comparison. "
            "Continuing trains the network as it is now.")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.remember = QCheckBox("Remember my choice (change it in Training › When settings changed)")
        self.remember.setToolTip("Do not ask again: Train then always does what you choose now")
        lay.addWidget(self.remember)
        buttons = QDialogButtonBox()
        self.initial_button = QPushButton("Start from the initial network")
        self.initial_button.setToolTip("Reset to the initial network, then train (Undo brings back the run before)")
        self.continue_button = QPushButton("Continue from here")
        self.continue_button.setToolTip("Train the current network further; the history grows")
        if not question.can_continue:
            self.continue_button.setEnabled(False)
            self.continue_button.setToolTip(
                f"The trained network has another width; a run of width {question.width} starts "
                "from an initial network of that width")
        buttons.addButton(self.initial_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.continue_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.initial_button.setDefault(True)
        self.initial_button.setFocus()
        self.initial_button.clicked.connect(lambda: self._choose("initial"))
        self.continue_button.clicked.connect(lambda: self._choose("continue"))
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.setMinimumWidth(460)

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()


class RunStartChoice(QObject):
    """The window's part: the controller asks through :meth:`ask`; the Training menu's three
    choices (one table's rows, see :data:`ACTION_NAMES`) set the preference."""

    def __init__(self, window, controller):
        super().__init__(window)
        self.w = window
        self.c = controller
        self.actions: dict = {}
        controller.set_start_preference(load_preference())
        controller.ask_start = self.ask

    def handlers(self) -> dict:
        """Action name -> handler (each action is a toggle of an exclusive group)."""
        return {name: (lambda on, p=pref: on and self.set_preference(p))
                for pref, name in ACTION_NAMES.items()}

    def bind(self, actions: dict) -> None:
        """Make the three actions one exclusive choice showing the preference."""
        group = QActionGroup(self)
        group.setExclusive(True)
        self.actions = {pref: actions[name] for pref, name in ACTION_NAMES.items()}
        for a in self.actions.values():
            group.addAction(a)
        self._show()

    def set_preference(self, value: str) -> None:
        if value not in RUN_START_CHOICES:
            return
        self.c.set_start_preference(value)
        save_preference(value)
        self._show()

    def _show(self) -> None:
        a = self.actions.get(self.c.start_preference)
        if a is not None and not a.isChecked():
            a.setChecked(True)

    def ask(self, question: StartQuestion) -> str | None:
        """Show the question; "initial", "continue" or None (cancelled)."""
        dialog = StartChoiceDialog(question, self.w)
        dialog.exec()
        choice = dialog.choice
        if choice is not None and dialog.remember.isChecked():
            self.set_preference(choice)
        dialog.deleteLater()
        return choice
