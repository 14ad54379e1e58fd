"""Undo/redo of everything a user does to the session, as whole-state swaps.

Core objects are immutable, so a command just holds the state before and after (references, not
copies); undo restores the former bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QUndoCommand

from ..core.dataset import Dataset
from ..core.history import History
from ..core.network import Network


@dataclass(frozen=True)
class StudioState:
    """The undoable part of a session."""

    data: Dataset
    initial: Network
    history: History
    settings: object  # StudioSettings (frozen)


class StateCommand(QUndoCommand):
    """Swap the controller between two states; ``redo`` (also run by ``push``) applies ``after``."""

    def __init__(self, controller, text: str, before: StudioState, after: StudioState):
        super().__init__(text)
        self._c = controller
        self.before = before
        self.after = after

    def redo(self):
        self._c._restore(self.after)

    def undo(self):
        self._c._restore(self.before)
