"""The parameter panel: data, network and training settings, forwarded to the controller."""
from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from ..core.dataset import MAX_POINTS
from ..core.targets import PRESETS, get_target
from .fields import ERROR_STYLE, NumberField, TargetField, seed_box, spin_box

MODES = [("All layers (SGD)", "all"), ("Output layer only (SGD)", "output"),
         ("Ridge (closed form)", "ridge")]
MAX_GUI_WIDTH = 10_000


class ParameterPanel(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.c = controller
        s = controller.settings
        lay = QVBoxLayout(self)

        # ---- data
        box = QGroupBox("Data")
        form = QFormLayout(box)
        self.target = TargetField(PRESETS, s.target, self._check_target)
        self.n = spin_box(1, MAX_POINTS, s.n, "Number of training points")
        self.noise = NumberField(s.noise, minimum=0.0, tooltip="Noise σ added to the targets")
        self.data_seed = seed_box(s.data_seed, "Seed of numpy's RandomState for the data")
        self.regenerate = QPushButton("Regenerate")
        self.regenerate.setToolTip("Draw new data with these values (Ctrl+G)")
        self.data_error = QLabel()
        self.data_error.setStyleSheet(ERROR_STYLE)
        self.data_error.setWordWrap(True)
        self.data_error.hide()
        form.addRow("Target", self.target)
        form.addRow("Points n", self.n)
        form.addRow("Noise σ", self.noise)
        form.addRow("Data seed", self.data_seed)
        form.addRow(self.regenerate)
        form.addRow(self.data_error)
        lay.addWidget(box)

        # ---- network
        box = QGroupBox("Network")
        form = QFormLayout(box)
        self.width = spin_box(1, MAX_GUI_WIDTH, s.width, "Hidden units H")
        self.init_seed = seed_box(s.init_seed, "torch.manual_seed and np.random.seed for the initial network")
        self.reinit = QPushButton("Re-initialise")
        self.reinit.setToolTip("New initial network: torch's default init, elbows sorted uniform in [0, 1] (Ctrl+I)")
        form.addRow("Width H", self.width)
        form.addRow("Init seed", self.init_seed)
        form.addRow(self.reinit)
        lay.addWidget(box)

        # ---- training
        box = QGroupBox("Training")
        form = QFormLayout(box)
        self.mode = QComboBox()
        for text, key in MODES:
            self.mode.addItem(text, key)
        self.mode.setCurrentIndex([k for _t, k in MODES].index(s.mode))
        self.mode.setToolTip("Output layer only is linear regression on fixed features (convex);\n"
                             "all layers also moves the elbows; ridge solves the output layer exactly.")
        self.lr = NumberField(s.current_lr, minimum=0.0, exclusive_min=True,
                              tooltip="SGD learning rate (notebook: 0.2 output only, 0.02 all layers)."
                                      " Changing it mid-run keeps the network and history.")
        self.steps = spin_box(1, 100_000_000, s.steps, "SGD steps per run")
        self.batch = spin_box(0, MAX_POINTS, s.batch_size or 0,
                           "Minibatch size, drawn with replacement each step", special="auto (n // 5)")
        self.save_every = spin_box(1, 10_000_000, s.save_every, "Keep a snapshot every this many steps")
        self.lam = NumberField(s.lam, minimum=0.0, tooltip="Ridge regularisation λ (notebook: 1e-5)")
        form.addRow("Mode", self.mode)
        form.addRow("Learning rate", self.lr)
        form.addRow("Steps", self.steps)
        form.addRow("Batch size", self.batch)
        form.addRow("Snapshot every", self.save_every)
        form.addRow("Ridge λ", self.lam)
        lay.addWidget(box)

        # ---- view
        box = QGroupBox("View")
        form = QVBoxLayout(box)
        self.show_units = QCheckBox("Show hidden units")
        self.show_units.setChecked(True)
        self.show_units.setToolTip("Draw every unit's max(0, w x + b) (U)")
        self.scaled = QCheckBox("Scale units by output weight")
        self.scaled.setToolTip("Draw each unit times its output weight: its share of the prediction (W)")
        form.addWidget(self.show_units)
        form.addWidget(self.scaled)
        lay.addWidget(box)
        lay.addStretch(1)

        # ---- forwarding
        self.regenerate.clicked.connect(self._regenerate)
        self.reinit.clicked.connect(self._reinit)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.lr.valueChanged.connect(lambda v: self.c.update_settings(lr=v))
        self.steps.valueChanged.connect(lambda v: self.c.update_settings(steps=v))
        self.batch.valueChanged.connect(lambda v: self.c.update_settings(batch_size=v or None))
        self.save_every.valueChanged.connect(lambda v: self.c.update_settings(save_every=v))
        self.lam.valueChanged.connect(lambda v: self.c.update_settings(lam=v))
        controller.stateChanged.connect(self._state_changed)

    def sync(self, s) -> None:
        """Show ``s`` (after an undo, an open or a reset) without sending anything back."""
        widgets = (self.target.editor, self.n, self.data_seed, self.width, self.init_seed, self.mode,
                   self.steps, self.batch, self.save_every)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.target.editor.setCurrentText(s.target)
            self.target._value = s.target
            self.n.setValue(s.n)
            self.data_seed.setValue(s.data_seed)
            self.width.setValue(s.width)
            self.init_seed.setValue(s.init_seed)
            self.mode.setCurrentIndex([k for _t, k in MODES].index(s.mode))
            self.steps.setValue(s.steps)
            self.batch.setValue(s.batch_size or 0)
            self.save_every.setValue(s.save_every)
        finally:
            for w in widgets:
                w.blockSignals(False)
        for field, v in ((self.noise, s.noise), (self.lr, s.current_lr), (self.lam, s.lam)):
            if field.value() != v:
                field.set_value(v)
        self.lr.setEnabled(s.mode != "ridge")

    def _check_target(self, text: str):
        get_target(text)  # raises FormulaError (a ValueError) with the reason
        return text.strip()

    def _regenerate(self):
        if not (self.target.validate() and self.noise.validate()):
            return
        err = self.c.regenerate(self.target.value(), self.n.value(), self.noise.value(),
                                self.data_seed.value())
        self.data_error.setText(err or "")
        self.data_error.setVisible(bool(err))

    def _reinit(self):
        self.c.reinitialise(self.width.value(), self.init_seed.value())

    def _mode_changed(self, _i):
        mode = self.mode.currentData()
        self.c.update_settings(mode=mode)
        self.lr.set_value(self.c.settings.current_lr)
        self.lr.setEnabled(mode != "ridge")

    def _state_changed(self, state: str):
        busy = state in ("running", "paused")
        for w in (self.steps, self.batch, self.save_every):
            w.setEnabled(not busy)
            w.setToolTip(w.toolTip().split("\n(")[0] + ("\n(fixed while a run is in progress)" if busy else ""))
