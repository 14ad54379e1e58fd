"""A widget's redraw, requested as often as anything changes and done once (trailing edge).

One user action can change several things (a drag commit changes the history, the shown network
and the data); each view listens to the signals of what it shows and asks for a redraw on each.
The requests made before the event loop turns again become one redraw (superqt's trailing-edge
signal throttler with a zero timeout), so one action redraws each view once.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject
from superqt.utils import QSignalThrottler


class Redraw(QObject):
    """``request()`` any number of times; ``draw()`` runs once when the event loop turns.

    ``request(live=True)`` (a new frame of a run in progress) draws at most once per
    ``live_ms``: readouts that need not follow every frame at 60 Hz. ``count`` says how many
    redraws have run (tests and benchmarks count them).
    """

    def __init__(self, draw: Callable[[], None], parent: QObject, live_ms: int = 0):
        super().__init__(parent)
        self._draw = draw
        self.count = 0
        self._now = self._throttler(0)
        self._live = self._throttler(live_ms) if live_ms else self._now

    def _throttler(self, ms: int) -> QSignalThrottler:
        t = QSignalThrottler(QSignalThrottler.EmissionPolicy.Trailing, self)
        t.setTimeout(int(ms))
        t.triggered.connect(self._run)
        return t

    def request(self, live: bool = False) -> None:
        (self._live if live else self._now).throttle()

    def flush(self) -> None:
        """Draw now if a redraw is pending (e.g. before an export)."""
        for t in {self._now, self._live}:
            t.flush(restart_timer=False)

    def _run(self) -> None:
        if self._now is not self._live:  # one draw serves both kinds of request
            self._now.cancel()
            self._live.cancel()
        self.count += 1
        self._draw()
