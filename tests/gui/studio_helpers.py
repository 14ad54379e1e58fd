"""Driving the studio from tests, through its public API."""
from __future__ import annotations

TIMEOUT = 60_000  # ms; the first run may compile the kernel


def configure(c, **settings):
    """Set studio settings as the panel does (``lr`` is the current mode's learning rate)."""
    for name, value in settings.items():
        err = c.set_learning_rate(value) if name == "lr" else c.set_setting(name, value)
        assert err is None, err


def wait_state(qtbot, c, state, timeout=TIMEOUT):
    qtbot.waitUntil(lambda: c.run_state == state, timeout=timeout)


def run_to_end(qtbot, c, timeout=TIMEOUT):
    """Start a run and wait until it has ended and is part of the history."""
    with qtbot.waitSignal(c.runRecorded, timeout=timeout):
        assert c.start() is None
    wait_state(qtbot, c, "idle", timeout)
