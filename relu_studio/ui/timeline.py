"""The timeline: a slider over the snapshots, play/pause, and the playback's speed and log time.

While training, the slider follows the newest snapshot as long as it sits at the end; moved back,
it stays where the user put it. Scrubbing only changes what is shown, never the network.

Playback shows one snapshot per tick at the chosen speed (snapshots per second); with *log time*
it walks a log step axis at a constant speed instead, so early snapshots stay longer on screen and
later ones pass in groups (:mod:`relu_studio.core.playback`). With a *log step axis* the slider
places each snapshot by ``ln(1 + step/k)`` rather than by its index: the early steps, where the
elbows migrate, get most of its length. Both need the snapshots' steps, which the window gives
as a callable (:meth:`Timeline.set_steps_source`).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QStyle,
                               QToolButton, QWidget)

from ..core.playback import log_playback_tick, log_positions, nearest_index
from ..core.settings import DEFAULT_PLAYBACK_RATE, PLAYBACK_RATES

#: Default time per snapshot in playback (ms): 25 snapshots per second.
PLAYBACK_MS = round(1000 / DEFAULT_PLAYBACK_RATE)
#: Slider positions of a log step axis (the snapshots are placed on 0..AXIS_RESOLUTION).
AXIS_RESOLUTION = 10_000


class Timeline(QWidget):
    indexChanged = Signal(int)
    playbackChanged = Signal(int, bool)  # the user chose a playback speed or log time

    def __init__(self, parent=None):
        super().__init__(parent)
        self.play = QToolButton()
        self.play.setCheckable(True)
        self.play.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play.setToolTip("Play back the snapshots (P)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Scrub through the snapshots: everything on screen follows "
                               "(← → move one snapshot, Home/End jump)")
        self.label = QLabel("step 0")
        self.label.setMinimumWidth(170)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.speed = QComboBox()
        self.speed.setObjectName("playback-speed")
        for rate in PLAYBACK_RATES:
            self.speed.addItem(f"{rate}/s", rate)
        self.speed.setCurrentIndex(PLAYBACK_RATES.index(DEFAULT_PLAYBACK_RATE))
        self.speed.setToolTip("Playback speed: snapshots shown per second")
        self.log_play = QCheckBox("log time")
        self.log_play.setObjectName("playback-log")
        self.log_play.setToolTip("Log-time playback: early snapshots stay longer on screen, later "
                                 "ones pass in groups (the whole playback takes as long)")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.addWidget(self.play)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        lay.addWidget(self.speed)
        lay.addWidget(self.log_play)
        self._timer = QTimer(self)
        self._timer.setObjectName("relu-playback-timer")
        self._timer.setInterval(PLAYBACK_MS)
        self._timer.timeout.connect(self._advance)
        self._count = 1
        self._index = 0
        self._log_axis = False
        self._steps_source = None
        self._positions_cache = (None, None)  # (steps, positions)
        self._play_u = 0.0
        self.play.toggled.connect(self._toggle)
        self.slider.valueChanged.connect(self._slider_moved)
        self.speed.currentIndexChanged.connect(self._speed_changed)
        self.log_play.toggled.connect(self._emit_playback)

    # ------------------------------------------------------------------ what is shown
    @property
    def index(self) -> int:
        return self._index

    @property
    def at_end(self) -> bool:
        return self._index >= self._count - 1

    @property
    def log_steps(self) -> bool:
        return self._log_axis

    @property
    def playback_rate(self) -> int:
        return int(self.speed.currentData())

    @property
    def playback_log_time(self) -> bool:
        return self.log_play.isChecked()

    def set_steps_source(self, source) -> None:
        """``source()`` gives the snapshots' steps (a non-decreasing array, one per snapshot)."""
        self._steps_source = source

    def set_count(self, count: int, follow: bool | None = None, index: int | None = None):
        """Snapshots now available, shown at ``index`` (else: keeps following the end if it was
        there, or if ``follow``). Never emits :attr:`indexChanged`: this is what the model says."""
        follow = self.at_end if follow is None else follow
        self._count = max(1, int(count))
        if index is not None:
            i = int(index)
        elif follow:
            i = self._count - 1
        else:
            i = self._index
        self._index = max(0, min(i, self._count - 1))
        self._place()

    def set_index(self, i: int):
        """Show snapshot ``i`` as a drag of the slider does (emits :attr:`indexChanged`)."""
        i = max(0, min(int(i), self._count - 1))
        if i != self._index:
            self._index = i
            self._place()
            self.indexChanged.emit(i)

    def set_label(self, step: int, total_steps: int, i: int, count: int):
        self.label.setText(f"step {step:,} / {total_steps:,}   ({i + 1}/{count})")

    def set_log_steps(self, on: bool) -> None:
        """Place the snapshots on the slider by log step (True) or by index."""
        self._log_axis = bool(on)
        self._place()

    def set_playback(self, rate: int, log_time: bool) -> None:
        """Playback speed (snapshots per second, one of PLAYBACK_RATES) and log time."""
        if rate in PLAYBACK_RATES:
            self.speed.setCurrentIndex(PLAYBACK_RATES.index(rate))
        self.log_play.setChecked(bool(log_time))

    def _steps(self) -> np.ndarray:
        steps = None if self._steps_source is None else np.asarray(self._steps_source())
        if steps is None or steps.size != self._count:
            steps = np.arange(self._count)
        return steps

    def _positions(self) -> np.ndarray:
        steps = self._steps()
        cached_steps, pos = self._positions_cache
        if cached_steps is None or cached_steps.size != steps.size or not np.array_equal(cached_steps, steps):
            pos = log_positions(steps)
            self._positions_cache = (steps.copy(), pos)
        return pos

    def _place(self):
        """Put the slider's handle on the shown snapshot (signals blocked)."""
        self.slider.blockSignals(True)
        if self._log_axis and self._count > 1:
            self.slider.setRange(0, AXIS_RESOLUTION)
            self.slider.setSingleStep(max(1, AXIS_RESOLUTION // (self._count - 1)))
            self.slider.setValue(round(self._positions()[self._index] * AXIS_RESOLUTION))
        else:
            self.slider.setRange(0, self._count - 1)
            self.slider.setSingleStep(1)
            self.slider.setValue(self._index)
        self.slider.blockSignals(False)

    def _slider_moved(self, value: int):
        if self._log_axis and self._count > 1:
            i = nearest_index(self._positions(), value / AXIS_RESOLUTION)
        else:
            i = int(value)
        if i != self._index:
            self._index = i
            self.indexChanged.emit(i)

    # ------------------------------------------------------------------ playback
    def toggle_play(self):
        self.play.toggle()

    def _toggle(self, on: bool):
        icon = QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay
        self.play.setIcon(self.style().standardIcon(icon))
        if on:
            if self.at_end:
                self.set_index(0)
            self._play_u = 0.0
            self._timer.start()
        else:
            self._timer.stop()

    def _advance(self):
        if self.at_end:
            self.play.setChecked(False)
        elif self.log_play.isChecked():
            i, self._play_u = log_playback_tick(self._positions(), self._index, self._play_u)
            self.set_index(i)
        else:
            self.set_index(self._index + 1)

    def _speed_changed(self, _i: int):
        self._timer.setInterval(round(1000 / self.playback_rate))
        self._emit_playback()

    def _emit_playback(self, *_):
        self.playbackChanged.emit(self.playback_rate, self.playback_log_time)

    def stop(self):
        self.play.setChecked(False)
