"""The timeline: a slider over the snapshots and a play/pause button for playback.

While training, the slider follows the newest snapshot as long as it sits at the end; moved back,
it stays where the user put it. Scrubbing only changes what is shown, never the network.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

PLAYBACK_MS = 40


class Timeline(QWidget):
    indexChanged = Signal(int)

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
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.addWidget(self.play)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        self._timer = QTimer(self)
        self._timer.setObjectName("relu-playback-timer")
        self._timer.setInterval(PLAYBACK_MS)
        self._timer.timeout.connect(self._advance)
        self.play.toggled.connect(self._toggle)
        self.slider.valueChanged.connect(self.indexChanged)

    @property
    def index(self) -> int:
        return self.slider.value()

    @property
    def at_end(self) -> bool:
        return self.slider.value() >= self.slider.maximum()

    def set_count(self, count: int, follow: bool | None = None, index: int | None = None):
        """Snapshots now available, shown at ``index`` (else: keeps following the end if it was
        there, or if ``follow``). Never emits :attr:`indexChanged`: this is what the model says."""
        follow = self.at_end if follow is None else follow
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, count - 1))
        if index is not None:
            self.slider.setValue(int(index))
        elif follow:
            self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)

    def set_index(self, i: int):
        self.slider.setValue(i)

    def set_label(self, step: int, total_steps: int, i: int, count: int):
        self.label.setText(f"step {step:,} / {total_steps:,}   ({i + 1}/{count})")

    def toggle_play(self):
        self.play.toggle()

    def _toggle(self, on: bool):
        icon = QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay
        self.play.setIcon(self.style().standardIcon(icon))
        if on:
            if self.at_end:
                self.slider.setValue(0)
            self._timer.start()
        else:
            self._timer.stop()

    def _advance(self):
        if self.at_end:
            self.play.setChecked(False)
        else:
            self.slider.setValue(self.slider.value() + 1)

    def stop(self):
        self.play.setChecked(False)
