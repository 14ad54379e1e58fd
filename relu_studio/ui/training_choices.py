"""The parameter panel's "Method" group: optimizer, activation, initialisation and loss.

One combo box per choice, and the fields of the chosen one only: the optimizer's hyper-parameters
(momentum, Nesterov, betas, eps, alpha, centered, weight decay) in a collapsible section, the
activation's parameter (Leaky ReLU's slope, ELU's alpha, Softplus's beta), the output layer's
scale and Huber's delta. Every field checks its value with the core's own checks and shows why
a value is refused under the field; a valid choice is forwarded to the controller (the optimizer
and loss apply from the next run, the activation at once as an undo step, the initialisation at
the next Re-initialise). The widget computes nothing.
"""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLabel, QWidget
from superqt import QCollapsible

from ..core.activations import ACTIVATION_LABELS, ACTIVATIONS, Activation
from ..core.inits import INIT_LABELS, INIT_TIPS, INITS, Init
from ..core.losses import LOSS_LABELS, LOSSES, Loss
from ..core.optimizers import OPTIMIZER_LABELS, OPTIMIZERS, Optimizer
from ..core.settings import SettingsError
from .fields import NumberField, choice_combo

__all__ = ["TrainingChoices", "OPTIMIZER_FIELDS"]

#: The optimizer's hyper-parameter fields: name -> (label, tooltip, lower bound, exclusive).
OPTIMIZER_FIELDS = {
    "momentum": ("Momentum", "Momentum factor (torch: 0.9 for SGD with momentum, 0 for RMSprop)", 0.0, False),
    "beta1": ("β1", "Adam's decay of the gradient average (torch: 0.9)", 0.0, False),
    "beta2": ("β2", "Adam's decay of the squared-gradient average (torch: 0.999)", 0.0, False),
    "eps": ("eps", "Added to the denominator for stability (torch: 1e-8)", 0.0, True),
    "alpha": ("α", "RMSprop's smoothing constant (torch: 0.99)", 0.0, False),
    "weight_decay": ("Weight decay", "L2 penalty (AdamW: decoupled decay, torch: 0.01)", 0.0, False),
}
_CHECKS = {"nesterov": ("Nesterov", "Nesterov momentum (torch.optim.SGD nesterov=True)"),
           "centered": ("Centered", "Centered RMSprop: normalise by the gradient's variance")}
#: Which fields each optimizer shows (core.optimizers' _USES, betas split in two).
_SHOWN = {"sgd": ("weight_decay",), "momentum": ("momentum", "nesterov", "weight_decay"),
          "adam": ("beta1", "beta2", "eps", "weight_decay"),
          "adamw": ("beta1", "beta2", "eps", "weight_decay"),
          "rmsprop": ("alpha", "eps", "momentum", "centered", "weight_decay")}
#: The activation's parameter: name -> (field, label, tooltip).
_ACT_PARAM = {"leaky_relu": ("slope", "Slope", "Leaky ReLU's slope for z < 0 (torch: 0.01)"),
              "elu": ("alpha", "ELU α", "ELU's alpha: its value is -α far left (torch: 1)"),
              "softplus": ("beta", "Softplus β", "Softplus's sharpness β (torch: 1)")}
OPTIMIZER_TIPS = {
    "sgd": "torch.optim.SGD: p -= lr·grad (the notebook's)",
    "momentum": "torch.optim.SGD with momentum (optionally Nesterov)",
    "adam": "torch.optim.Adam: per-parameter step sizes from gradient moments",
    "adamw": "torch.optim.AdamW: Adam with decoupled weight decay",
    "rmsprop": "torch.optim.RMSprop: steps scaled by a running RMS of the gradient",
}
class TrainingChoices(QGroupBox):
    """The "Method" group (see the module docstring); ``controller`` is the studio's."""

    def __init__(self, controller, parent=None):
        super().__init__("Method", parent)
        self.c = controller
        s = controller.settings
        form = QFormLayout(self)
        self.optimizer = choice_combo(OPTIMIZERS, OPTIMIZER_LABELS, s.optimizer.name,
                                       "The update rule (torch.optim's, bit for bit); a new one brings its "
                                       "default learning rate", OPTIMIZER_TIPS)
        form.addRow("&Optimizer", self.optimizer)

        # the optimizer's hyper-parameters, only the chosen one's, in a collapsible section
        self.more = QCollapsible("Optimizer settings")
        self.more.setToolTip("The chosen optimizer's hyper-parameters (torch's defaults)")
        inner = QWidget()
        self.hyper_form = QFormLayout(inner)
        self.hyper_form.setContentsMargins(0, 0, 0, 0)
        self.fields: dict[str, QWidget] = {}
        for name, (label, tip, lo, excl) in OPTIMIZER_FIELDS.items():
            f = NumberField(0.0, minimum=lo, exclusive_min=excl, tooltip=tip)
            f.valueChanged.connect(lambda _v, n=name: self._optimizer_edited(n))
            self.fields[name] = f
            self.hyper_form.addRow(label, f)
        for name, (label, tip) in _CHECKS.items():
            box = QCheckBox(label)
            box.setToolTip(tip)
            box.toggled.connect(lambda _on, n=name: self._optimizer_edited(n))
            self.fields[name] = box
            self.hyper_form.addRow("", box)
        self.more.addWidget(inner)
        form.addRow(self.more)

        self.activation = choice_combo(ACTIVATIONS, ACTIVATION_LABELS, s.activation.name,
                                        "The hidden units' activation (torch.nn's). Changing it keeps the "
                                        "parameters: the curves change, the elbows/centres -b/w stay "
                                        "(one undo step)")
        form.addRow("&Activation", self.activation)
        self.act_param = NumberField(1.0, tooltip="")
        self.act_param_label = QLabel("Slope")
        form.addRow(self.act_param_label, self.act_param)

        self.init = choice_combo(INITS, INIT_LABELS, s.init.name,
                                  "How Re-initialise (Ctrl+I) draws a new network", INIT_TIPS)
        form.addRow("&Init", self.init)
        self.scale = NumberField(s.init.scale, minimum=0.0,
                                 tooltip="The initial output weights are multiplied by this "
                                         "(1: torch's); applies at the next Re-initialise")
        form.addRow("Output scale", self.scale)

        self.loss = choice_combo(LOSSES, LOSS_LABELS, s.loss.name,
                                  "The training loss (torch.nn's); the curves still show MSE")
        form.addRow("&Loss", self.loss)
        self.delta = NumberField(s.loss.delta, minimum=0.0, exclusive_min=True,
                                 tooltip="Huber's delta: quadratic below it, linear above (torch: 1)")
        self.delta_label = QLabel("Huber δ")
        form.addRow(self.delta_label, self.delta)

        self.optimizer.currentIndexChanged.connect(lambda _i: self._optimizer_edited(None))
        self.activation.currentIndexChanged.connect(lambda _i: self._activation_edited(False))
        self.act_param.valueChanged.connect(lambda _v: self._activation_edited(True))
        self.init.currentIndexChanged.connect(lambda _i: self._init_edited())
        self.scale.valueChanged.connect(lambda _v: self._init_edited())
        self.loss.currentIndexChanged.connect(lambda _i: self._loss_edited())
        self.delta.valueChanged.connect(lambda _v: self._loss_edited())
        controller.settingChanged.connect(self.show_setting)
        controller.runStateChanged.connect(self._run_state_changed)
        for name in ("optimizer", "activation", "init", "loss"):
            self.show_setting(name)

    # ------------------------------------------------------------------ intent
    def _optimizer_edited(self, field: str | None) -> None:
        """The optimizer combo (``field`` None: a new optimizer with torch's defaults) or one of
        its fields changed: forward the optimizer, or show why it cannot be."""
        name = self.optimizer.currentData()
        if field is None:
            err = self.c.set_optimizer(Optimizer(name))
        else:
            values = {}
            for f in _SHOWN[name]:
                w = self.fields[f]
                values[f] = w.isChecked() if isinstance(w, QCheckBox) else w.value()
            if "beta1" in values:
                values["betas"] = (values.pop("beta1"), values.pop("beta2"))
            try:
                opt = Optimizer(name, **values)
            except SettingsError as exc:
                self._field_error(exc)
                return
            err = self.c.set_optimizer(opt)
        if err:
            self.c.say(err, "warning")
            self.show_setting("optimizer")

    def _field_error(self, exc: SettingsError) -> None:
        """Show a refused hyper-parameter's reason under its field (and in the status bar)."""
        key = exc.field
        if key == "betas":
            key = "beta2" if "beta2" in str(exc) else "beta1"
        w = self.fields.get(key)
        if isinstance(w, NumberField):
            w.show_error(str(exc))
        self.c.say(str(exc), "warning")

    def _forward(self, name: str, make, field: NumberField, send) -> bool:
        """Build choice ``name`` with ``make()`` (a refusal is shown under ``field``) and hand it
        to ``send``; a refusal by the controller is said and the panel shows the setting in use."""
        try:
            value = make()
        except SettingsError as exc:
            field.show_error(str(exc))
            return False
        err = send(value)
        if err:
            self.c.say(err, "warning")
            self.show_setting(name)
        return not err

    def _activation_edited(self, param: bool) -> None:
        name = self.activation.currentData()
        key = _ACT_PARAM.get(name, (None,))[0]
        kwargs = {key: self.act_param.value()} if (param and key) else {}
        self._forward("activation", lambda: Activation(name, **kwargs), self.act_param,
                      self.c.set_activation)

    def _init_edited(self) -> None:
        make = lambda: Init(self.init.currentData(), self.scale.value())  # noqa: E731
        if self._forward("init", make, self.scale, lambda v: self.c.set_setting("init", v)):
            self.c.say(f"{self.c.settings.init.describe().capitalize()}: Re-initialise (Ctrl+I) "
                       "draws a network with it.", "info")

    def _loss_edited(self) -> None:
        name = self.loss.currentData()
        make = lambda: Loss(name, self.delta.value() if name == "huber" else 1.0)  # noqa: E731
        self._forward("loss", make, self.delta, lambda v: self.c.set_setting("loss", v))

    # ------------------------------------------------------------------ what the controller says
    def show_setting(self, name: str) -> None:
        s = self.c.settings
        if name == "optimizer":
            opt = s.optimizer
            with QSignalBlocker(self.optimizer):
                self.optimizer.setCurrentIndex(OPTIMIZERS.index(opt.name))
            shown = _SHOWN[opt.name]
            values = {"momentum": opt.momentum, "beta1": opt.betas[0], "beta2": opt.betas[1],
                      "eps": opt.eps, "alpha": opt.alpha, "weight_decay": opt.weight_decay,
                      "nesterov": opt.nesterov, "centered": opt.centered}
            for key, w in self.fields.items():
                with QSignalBlocker(w):
                    if isinstance(w, QCheckBox):
                        w.setChecked(bool(values[key]))
                    else:
                        w.set_value(values[key])
                self.hyper_form.setRowVisible(w, key in shown)
            self.more.setText(f"{OPTIMIZER_LABELS[opt.name]} settings")
        elif name == "activation":
            act = s.activation
            with QSignalBlocker(self.activation):
                self.activation.setCurrentIndex(ACTIVATIONS.index(act.name))
            param = _ACT_PARAM.get(act.name)
            self._row_visible(self.act_param, param is not None)
            if param is not None:
                key, label, tip = param
                self.act_param_label.setText(label)
                self.act_param.editor.setToolTip(tip)
                self.act_param.set_value(getattr(act, key))
        elif name == "init":
            with QSignalBlocker(self.init):
                self.init.setCurrentIndex(INITS.index(s.init.name))
            self.scale.set_value(s.init.scale)
        elif name == "loss":
            with QSignalBlocker(self.loss):
                self.loss.setCurrentIndex(LOSSES.index(s.loss.name))
            self._row_visible(self.delta, s.loss.name == "huber")
            self.delta.set_value(s.loss.delta)

    def _row_visible(self, field: QWidget, on: bool) -> None:
        self.layout().setRowVisible(field, on)

    def _run_state_changed(self, state: str) -> None:
        """The optimizer, activation and loss belong to a run: fixed while one is in progress
        (running or paused), free again when it has stopped or finished."""
        busy = state in ("running", "paused")
        why = "\n(fixed while a run is in progress)" if busy else ""
        for w in (self.optimizer, self.activation, self.loss):
            w.setEnabled(not busy)
            base = w.toolTip().split("\n(fixed")[0]
            w.setToolTip(base + why)
        self.more.setEnabled(not busy)
        self.act_param.setEnabled(not busy)
        self.delta.setEnabled(not busy)
