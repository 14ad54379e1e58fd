"""The studio's pace control (beside Train in the toolbar), and the pace and playback preferences.

A slider over readable rates on a log scale (:func:`~relu_studio.core.pace.pace_ladder`, from
``PACE_MIN`` steps per second) whose right end is full speed, the rate it is set to, and *log
time* (early steps slow, every tenfold of steps past the knee in the same time). The control only
presents and forwards: it says ``paceChanged(Pace)``; the window gives the pace to the studio's
controller, whose worker keeps it. The pace is the user's preference (``app_settings()``); the
timeline's playback speed and log time are kept beside it.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

from ..core.pace import DEFAULT_PACE, Pace, nearest_rung, pace_ladder
from ..core.settings import (DEFAULT_PLAYBACK_RATE, PACE_LOG_KNEE, PACE_MAX, PACE_MIN, PLAYBACK_RATES,
                             SettingsError)

__all__ = ["PaceControl", "load_pace", "save_pace", "load_playback", "save_playback"]

PACE_TIP = ("Training pace: SGD steps per second. The worker is slowed, not the drawing, and the "
            "results are the same at any pace. Right end: full speed.  [ slower,  ] faster")
LOG_TIP = (f"Log time: the run starts at the pace set and speeds up, so that every tenfold of steps "
           f"past {PACE_LOG_KNEE:,} takes the same time: the early steps, where the elbows migrate, "
           "are slow and the long tail is fast")


class PaceControl(QWidget):
    """Pace slider, its value and the log-time box; ``paceChanged(Pace)`` on every change."""

    paceChanged = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.ladder = pace_ladder(PACE_MIN, PACE_MAX)
        self.title = QLabel("Pace")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("pace-slider")
        self.slider.setRange(0, len(self.ladder))  # the last position is full speed
        self.slider.setPageStep(3)
        self.slider.setFixedWidth(120)
        self.slider.setToolTip(PACE_TIP)
        self.slider.setAccessibleName("Training pace")
        self.value = QLabel()
        self.value.setObjectName("pace-value")
        self.value.setMinimumWidth(QFontMetrics(self.value.font()).horizontalAdvance("200,000 steps/s") + 6)
        self.value.setToolTip("The pace set (the status bar shows the rate reached)")
        self.log = QCheckBox("log time")
        self.log.setObjectName("pace-log")
        self.log.setToolTip(LOG_TIP)
        self.title.setToolTip(PACE_TIP)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 0, 8, 0)
        lay.setSpacing(6)
        lay.addWidget(self.title)
        lay.addWidget(self.slider)
        lay.addWidget(self.value)
        lay.addWidget(self.log)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)  # no gaps in a toolbar
        self._pace = None
        self.slider.valueChanged.connect(self._changed)
        self.log.toggled.connect(self._changed)
        self.set_pace(DEFAULT_PACE)

    # ------------------------------------------------------------------ what it shows
    def pace(self) -> Pace:
        i = self.slider.value()
        rate = None if i >= len(self.ladder) else self.ladder[i]
        return Pace(rate, self.log.isChecked())

    def set_pace(self, pace: Pace) -> None:
        """Show ``pace`` (a rate between the rungs shows as the nearest one); says
        ``paceChanged`` if that changes the pace."""
        for w in (self.slider, self.log):
            w.blockSignals(True)
        self.slider.setValue(len(self.ladder) if pace.full_speed else nearest_rung(pace.rate, self.ladder))
        self.log.setChecked(pace.log_time)
        for w in (self.slider, self.log):
            w.blockSignals(False)
        self._changed()

    # ------------------------------------------------------------------ what the user does
    def slower(self) -> None:
        self.slider.setValue(self.slider.value() - 1)

    def faster(self) -> None:
        self.slider.setValue(self.slider.value() + 1)

    def set_log_time(self, on: bool) -> None:
        self.log.setChecked(bool(on))

    def _changed(self, *_):
        pace = self.pace()
        self.value.setText(pace.describe().replace(", log time", ""))
        self.log.setEnabled(not pace.full_speed)  # full speed has no schedule to shape
        if pace != self._pace:
            self._pace = pace
            self.paceChanged.emit(pace)


# --------------------------------------------------------------------------- preferences
def _bool(value, default: bool) -> bool:
    """A QSettings value (INI files keep "true"/"false" text) as a bool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return default


def load_pace(settings) -> Pace:
    """The user's pace from ``settings`` (a QSettings); the default pace if none or unusable."""
    rate = settings.value("pace/rate")
    if rate is None:
        return DEFAULT_PACE
    log_time = _bool(settings.value("pace/log_time"), DEFAULT_PACE.log_time)
    if rate == "full":
        return Pace(None, log_time)
    try:
        return Pace.from_json({"rate": float(rate), "log_time": log_time})
    except (SettingsError, TypeError, ValueError):
        return DEFAULT_PACE


def save_pace(settings, pace: Pace) -> None:
    settings.setValue("pace/rate", "full" if pace.full_speed else float(pace.rate))
    settings.setValue("pace/log_time", bool(pace.log_time))


def load_playback(settings) -> tuple[int, bool]:
    """(snapshots per second, log time) of the timeline's playback."""
    try:
        rate = int(settings.value("playback/rate", DEFAULT_PLAYBACK_RATE))
    except (TypeError, ValueError):
        rate = DEFAULT_PLAYBACK_RATE
    if rate not in PLAYBACK_RATES:
        rate = DEFAULT_PLAYBACK_RATE
    return rate, _bool(settings.value("playback/log_time"), False)


def save_playback(settings, rate: int, log_time: bool) -> None:
    settings.setValue("playback/rate", int(rate))
    settings.setValue("playback/log_time", bool(log_time))
