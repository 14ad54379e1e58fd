"""The parameter panel: data, network and training settings, one widget per setting.

Every field takes its range from the app's one schema (``core.settings.LIMITS``) and forwards a
valid value to the controller; it shows the controller's value when that setting changes (an
undo, an opened file), and nothing else. The data and network fields take effect with
*Regenerate* and *Re-initialise* (a new data set or network is an undo step); the training
fields at once.
"""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.settings import LIMITS, MODE_INFO, check_target
from ..core.targets import PRESETS
from .fields import ERROR_STYLE, NumberField, TargetField, seed_box, spin_box

#: The mode menu's order.
PANEL_MODES = ("all", "output", "ridge")


def _number_field(name: str, value: float, tooltip: str) -> NumberField:
    lim = LIMITS[name]
    return NumberField(value, minimum=lim.lo, maximum=lim.hi, exclusive_min=lim.lo_open, tooltip=tooltip)


def _whole_field(name: str, value: int, tooltip: str, **kw):
    lim = LIMITS[name]
    return spin_box(int(lim.lo) - (1 if lim.optional else 0), int(lim.hi), value, tooltip, **kw)


class ParameterPanel(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.c = controller
        s = controller.settings
        lay = QVBoxLayout(self)

        # ---- data
        box = QGroupBox("Data")
        form = QFormLayout(box)
        self.target = TargetField(PRESETS, s.target, check_target)
        self.n = _whole_field("n", s.n, "Number of training points")
        self.noise = _number_field("noise", s.noise, "Noise σ added to the targets")
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
        self.width = _whole_field("width", s.width, "Hidden units H")
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
        for key in PANEL_MODES:
            self.mode.addItem(MODE_INFO[key].label, key)
            self.mode.setItemData(self.mode.count() - 1, MODE_INFO[key].tip, 3)  # Qt.ToolTipRole
        self.mode.setCurrentIndex(PANEL_MODES.index(s.mode))
        self.mode.setToolTip("Output layer only is linear regression on fixed features (convex);\n"
                             "all layers also moves the elbows; ridge solves the output layer exactly.")
        self.lr = _number_field("lr", s.current_lr,
                                "SGD learning rate (notebook: 0.2 output only, 0.02 all layers)."
                                " Changing it mid-run keeps the network and history.")
        self.steps = _whole_field("steps", s.steps, "SGD steps per run")
        self.batch = _whole_field("batch_size", s.batch_size or 0,
                                  "Minibatch size, drawn with replacement each step", special="auto (n // 5)")
        self.save_every = _whole_field("save_every", s.save_every, "Keep a snapshot every this many steps")
        self.lam = _number_field("lam", s.lam, "Ridge regularisation λ (notebook: 1e-5)")
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

        # ---- forwarding: one widget, one setting
        self.regenerate.clicked.connect(self.regenerate_data)
        self.reinit.clicked.connect(self.reinitialise_network)
        self.mode.currentIndexChanged.connect(lambda _i: self._set("mode", self.mode.currentData()))
        self.lr.valueChanged.connect(lambda v: self._forward(self.c.set_learning_rate(v)))
        self.steps.valueChanged.connect(lambda v: self._set("steps", v))
        self.batch.valueChanged.connect(lambda v: self._set("batch_size", v or None))
        self.save_every.valueChanged.connect(lambda v: self._set("save_every", v))
        self.lam.valueChanged.connect(lambda v: self._set("lam", v))
        controller.settingChanged.connect(self.show_setting)
        controller.runStateChanged.connect(self._run_state_changed)
        self._show_mode()

    # ------------------------------------------------------------------ intent
    def _set(self, name, value):
        self._forward(self.c.set_setting(name, value))

    def _forward(self, error: str | None):
        if error:
            self.c.say(error, "warning")

    def regenerate_data(self):
        """New data from the data fields (Ctrl+G); a refusal is shown under the fields."""
        if not (self.target.validate() and self.noise.validate()):
            return
        err = self.c.regenerate(self.target.value(), self.n.value(), self.noise.value(),
                                self.data_seed.value())
        self.data_error.setText(err or "")
        self.data_error.setVisible(bool(err))

    def reinitialise_network(self):
        """A new initial network from the width and seed fields (Ctrl+I)."""
        err = self.c.reinitialise(self.width.value(), self.init_seed.value())
        if err:
            self.c.say(err, "warning")

    # ------------------------------------------------------------------ what the controller says
    def show_setting(self, name: str) -> None:
        """Show the controller's value of one setting (without sending it back)."""
        s = self.c.settings
        if name == "target":
            self.target.set_value(s.target)
        elif name in ("n", "data_seed", "width", "init_seed", "steps", "save_every", "batch_size"):
            w = {"batch_size": self.batch}.get(name) or getattr(self, name)
            value = (s.batch_size or 0) if name == "batch_size" else getattr(s, name)
            if w.value() != value:
                with QSignalBlocker(w):
                    w.setValue(value)
        elif name == "noise":
            self.noise.set_value(s.noise)
        elif name == "lam":
            self.lam.set_value(s.lam)
        elif name in ("mode", "lr_output", "lr_all"):
            self._show_mode()

    def _show_mode(self) -> None:
        s = self.c.settings
        with QSignalBlocker(self.mode):
            self.mode.setCurrentIndex(PANEL_MODES.index(s.mode))
        if self.lr.value() != s.current_lr:
            self.lr.set_value(s.current_lr)
        self.lr.setEnabled(s.mode != "ridge")

    def _run_state_changed(self, state: str):
        busy = state in ("running", "paused")
        for w in (self.steps, self.batch, self.save_every):
            w.setEnabled(not busy)
            w.setToolTip(w.toolTip().split("\n(")[0] + ("\n(fixed while a run is in progress)" if busy else ""))
