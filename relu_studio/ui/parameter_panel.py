"""The parameter panel: data, network and training settings, one widget per setting.

Every field takes its range from the app's one schema (``core.settings.LIMITS``) and forwards a
valid value to the controller; it shows the controller's value when that setting changes (an
undo, an opened file), and nothing else. The data and network fields take effect with
*Regenerate* and *Re-initialise*, or Enter in any of them (a new data set or network is one undo
step); until then a typed value stays in its field, marked pending (:class:`~.fields.PendingInput`):
nothing but Escape, an undo or an opened file that changes that very setting replaces it. The
training fields apply at once; those a mode does not use (ridge: learning rate, steps, batch,
snapshots) are disabled with the reason in their tooltip.
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
from .fields import (
    ERROR_STYLE,
    PENDING_NOTE_STYLE,
    NumberField,
    PendingInput,
    TargetField,
    seed_box,
    spin_box,
    typed_int,
)
from .training_choices import TrainingChoices

#: The mode menu's order.
PANEL_MODES = ("all", "output", "ridge")
#: The fields that take effect with Regenerate (data) or Re-initialise (network).
DATA_FIELDS = ("target", "n", "noise", "data_seed")
NETWORK_FIELDS = ("width", "init_seed")
#: Why a training field is disabled.
RIDGE_UNUSED = "not used in ridge mode: the output layer is solved in closed form, without SGD steps"
RUN_FIXED = "fixed while a run is in progress"


def _number_field(name: str, value: float, tooltip: str) -> NumberField:
    lim = LIMITS[name]
    return NumberField(value, minimum=lim.lo, maximum=lim.hi, exclusive_min=lim.lo_open, tooltip=tooltip)


def _whole_field(name: str, value: int, tooltip: str, **kw):
    lim = LIMITS[name]
    return spin_box(int(lim.lo) - (1 if lim.optional else 0), int(lim.hi), value, tooltip, **kw)


def _typed(box) -> int:
    """What a whole-number field holds, as typed even if not yet interpreted (Ctrl+G or Ctrl+I
    pressed while typing in it)."""
    v = typed_int(box)
    return box.value() if v is None else v


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
        self.data_pending = self._pending_note("Regenerate")
        form.addRow(self.data_pending)
        form.addRow(self.data_error)
        lay.addWidget(box)

        # ---- network
        box = QGroupBox("Network")
        form = QFormLayout(box)
        self.width = _whole_field("width", s.width, "Hidden units H")
        self.init_seed = seed_box(s.init_seed, "torch.manual_seed and np.random.seed for the initial network")
        self.reinit = QPushButton("Re-initialise")
        self.reinit.setToolTip("New initial network by the Method's init (notebook: torch's default "
                               "init, elbows sorted uniform in [0, 1]) (Ctrl+I)")
        form.addRow("Width H", self.width)
        form.addRow("Init seed", self.init_seed)
        form.addRow(self.reinit)
        self.network_pending = self._pending_note("Re-initialise")
        form.addRow(self.network_pending)
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
                                "Learning rate (notebook's SGD: 0.2 output only, 0.02 all layers; "
                                "Adam 1e-3, RMSprop 1e-2). Changing it mid-run keeps the network "
                                "and history.")
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

        # ---- method: optimizer, activation, init, loss
        self.choices = TrainingChoices(controller)
        lay.addWidget(self.choices)

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
        self._busy = False
        self._tips = {w: w.toolTip() for w in (self.steps, self.batch, self.save_every)}

        # ---- typed values that wait for Regenerate / Re-initialise (or Enter)
        def spin(name):
            w = getattr(self, name)
            return PendingInput(w, lambda: typed_int(w), lambda: getattr(self.c.settings, name),
                                lambda v: self._show_quietly(w, v), self._action_of(name), self)

        self.pending = {
            "target": PendingInput(self.target, lambda: self.target.text().strip(),
                                   lambda: self.c.settings.target, self.target.set_value,
                                   "Regenerate", self),
            "noise": PendingInput(self.noise, self.noise.typed, lambda: self.c.settings.noise,
                                  self.noise.set_value, "Regenerate", self),
            **{name: spin(name) for name in ("n", "data_seed", "width", "init_seed")},
        }
        #: The settings as the fields last showed them: a field is rewritten only when its own
        #: setting really changed (an undo, an opened file), never by a signal about another.
        self._synced = {name: getattr(s, name) for name in self.pending}
        for name, p in self.pending.items():
            group = DATA_FIELDS if name in DATA_FIELDS else NETWORK_FIELDS
            p.pendingChanged.connect(lambda _on, g=group: self._show_pending(g))
            p.applyRequested.connect(lambda g=group: self._apply_group(g))
        self._show_mode()

    @staticmethod
    def _action_of(name: str) -> str:
        return "Regenerate" if name in DATA_FIELDS else "Re-initialise"

    @staticmethod
    def _pending_note(action: str) -> QLabel:
        note = QLabel(f"pending: Enter or {action} applies it (Esc reverts)")
        note.setStyleSheet(PENDING_NOTE_STYLE)
        note.setWordWrap(True)
        note.setToolTip(f"A value above is typed but not in use yet: press Enter in it or "
                        f"{action} to apply it (one undo step), Escape in it to put the value in "
                        "use back. Other changes never replace it.")
        note.hide()
        return note

    def _apply_group(self, group) -> None:
        """Enter in a data or network field: apply its group if anything in it is pending (an
        Enter in an unchanged field must not restart the history)."""
        if any(self.pending[n].refresh() for n in group):
            self.regenerate_data() if group is DATA_FIELDS else self.reinitialise_network()

    def _show_pending(self, group) -> None:
        note = self.data_pending if group is DATA_FIELDS else self.network_pending
        note.setVisible(any(self.pending[n].pending for n in group))

    def pending_fields(self) -> list[str]:
        """The fields holding a typed value that is not in use yet."""
        return [name for name, p in self.pending.items() if p.refresh()]

    @staticmethod
    def _show_quietly(box, value) -> None:
        with QSignalBlocker(box):
            box.setValue(value)

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
        err = self.c.regenerate(self.target.value(), _typed(self.n), self.noise.value(),
                                _typed(self.data_seed))
        self.data_error.setText(err or "")
        self.data_error.setVisible(bool(err))

    def reinitialise_network(self):
        """A new initial network from the width and seed fields (Ctrl+I)."""
        err = self.c.reinitialise(_typed(self.width), _typed(self.init_seed))
        if err:
            self.c.say(err, "warning")

    # ------------------------------------------------------------------ what the controller says
    def show_setting(self, name: str) -> None:
        """Show the controller's value of one setting (without sending it back). A data or
        network field is rewritten only if that setting's value really changed; what the user
        typed there is otherwise kept (and stays marked pending)."""
        s = self.c.settings
        if name in self.pending:
            value = getattr(s, name)
            if value != self._synced[name]:
                self._synced[name] = value
                self.pending[name].revert()  # shows the value in use
            else:
                self.pending[name].refresh()
        elif name in ("steps", "save_every", "batch_size"):
            w = {"batch_size": self.batch}.get(name) or getattr(self, name)
            value = (s.batch_size or 0) if name == "batch_size" else getattr(s, name)
            if w.value() != value:
                with QSignalBlocker(w):
                    w.setValue(value)
        elif name == "lam":
            self.lam.set_value(s.lam)
        elif name in ("mode", "lr_output", "lr_all"):
            self._show_mode()

    def _show_mode(self) -> None:
        s = self.c.settings
        with QSignalBlocker(self.mode):
            self.mode.setCurrentIndex(PANEL_MODES.index(s.mode))
        if s.mode == "ridge":
            self.lr.set_unused(RIDGE_UNUSED.replace("without SGD steps", "no learning rate"))
        elif not self.lr.editor.isEnabled() or self.lr.value() != s.current_lr:
            self.lr.set_used(s.current_lr)
        self._show_training_fields()

    def _run_state_changed(self, state: str):
        self._busy = state in ("running", "paused")
        self._show_training_fields()

    def _show_training_fields(self) -> None:
        """Steps, batch size and snapshot interval: enabled unless the mode does not use them
        (ridge) or a run holds them; the reason is in the tooltip."""
        reasons = ([RIDGE_UNUSED] if self.c.settings.mode == "ridge" else []) + \
            ([RUN_FIXED] if self._busy else [])
        for w, tip in self._tips.items():
            w.setEnabled(not reasons)
            w.setToolTip(tip + "".join(f"\n({r})" for r in reasons))
