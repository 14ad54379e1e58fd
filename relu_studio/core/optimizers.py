"""The optimizers a run can train with, described as plain values (no arrays, no kernels).

:class:`Optimizer` names one of torch.optim's update rules with its hyper-parameters and
torch's defaults:

* ``"sgd"``: ``torch.optim.SGD`` without momentum (the notebook's optimizer), optional weight decay;
* ``"momentum"``: ``torch.optim.SGD`` with ``momentum`` (default 0.9), ``dampening``, ``nesterov``;
* ``"adam"``: ``torch.optim.Adam`` (betas (0.9, 0.999), eps 1e-8, L2 weight decay added to the
  gradient);
* ``"adamw"``: ``torch.optim.AdamW`` (as Adam, decoupled decay ``p *= 1 - lr * wd``, default 0.01);
* ``"rmsprop"``: ``torch.optim.RMSprop`` (alpha 0.99, eps 1e-8 added after the square root,
  optional momentum and ``centered``).

``lr=None`` means the default learning rate: torch's for Adam/AdamW (1e-3) and RMSprop (1e-2),
the notebook's per mode (0.2 output layer, 0.02 all layers) for SGD and momentum. The update
rules themselves are in :mod:`._optim_kernels`. ``to_dict``/``from_dict`` round-trip an optimizer
through plain JSON; every value is checked with a message that says what it must be.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from .settings import SettingsError

__all__ = ["Optimizer", "OPTIMIZERS", "OPTIMIZER_LABELS", "DEFAULT_OPTIMIZER_LR"]

#: Every optimizer, in the order menus and the command line list them.
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop")
OPTIMIZER_LABELS = {"sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam",
                    "adamw": "AdamW", "rmsprop": "RMSprop"}
#: torch.optim's default learning rates (None: the mode's notebook learning rate).
DEFAULT_OPTIMIZER_LR = {"sgd": None, "momentum": None, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-2}
#: Defaults that differ between optimizers (torch's); the others are the field defaults.
_DEFAULT_MOMENTUM = {"momentum": 0.9}
_DEFAULT_WEIGHT_DECAY = {"adamw": 1e-2}

#: Which hyper-parameters each optimizer uses (a non-default value for another one is refused).
_USES = {
    "sgd": {"weight_decay"},
    "momentum": {"momentum", "dampening", "nesterov", "weight_decay"},
    "adam": {"betas", "eps", "weight_decay"},
    "adamw": {"betas", "eps", "weight_decay"},
    "rmsprop": {"alpha", "eps", "momentum", "centered", "weight_decay"},
}


def _fail(field: str, message: str):
    raise SettingsError(field, message)


def _number(field: str, value, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        if not (hasattr(value, "item") and not isinstance(value, bool)):
            _fail(field, f"{label} must be a finite number, got {value!r}")
        value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            _fail(field, f"{label} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Optimizer:
    """One of :data:`OPTIMIZERS` with its hyper-parameters (validated on construction).

    ``momentum``, ``weight_decay`` default to torch's value for the named optimizer when left
    at None (momentum 0.9 for "momentum", weight decay 0.01 for "adamw", else 0).
    """

    name: str = "sgd"
    lr: float | None = None
    momentum: float | None = None
    dampening: float = 0.0
    nesterov: bool = False
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float | None = None
    alpha: float = 0.99
    centered: bool = False

    def __post_init__(self):
        name = self.name.lower().strip() if isinstance(self.name, str) else self.name
        if name not in OPTIMIZERS:
            _fail("optimizer", f"the optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.name!r}")
        uses = _USES[name]
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("name", name)
        if self.lr is not None:
            lr = _number("lr", self.lr, "the learning rate")
            if lr <= 0:
                _fail("lr", f"the learning rate must be a finite number > 0, got {self.lr!r}")
            set_("lr", lr)
        mom = _DEFAULT_MOMENTUM.get(name, 0.0) if self.momentum is None else self.momentum
        mom = _number("momentum", mom, "the momentum")
        if name == "momentum" and not 0 < mom < 1:
            _fail("momentum", f"the momentum must be a number in (0, 1), got {mom!r}")
        if not 0 <= mom < 1:
            _fail("momentum", f"the momentum must be a number in [0, 1), got {mom!r}")
        set_("momentum", mom)
        damp = _number("dampening", self.dampening, "the dampening")
        if not 0 <= damp <= 1:
            _fail("dampening", f"the dampening must be a number in [0, 1], got {damp!r}")
        set_("dampening", damp)
        if not isinstance(self.nesterov, bool):
            _fail("nesterov", f"nesterov must be True or False, got {self.nesterov!r}")
        if self.nesterov and damp != 0:
            _fail("nesterov", "Nesterov momentum requires zero dampening (as in torch.optim.SGD)")
        if not isinstance(self.centered, bool):
            _fail("centered", f"centered must be True or False, got {self.centered!r}")
        try:
            b1, b2 = self.betas
        except (TypeError, ValueError):
            _fail("betas", f"the betas must be two numbers in [0, 1), got {self.betas!r}")
        b1 = _number("betas", b1, "beta1")
        b2 = _number("betas", b2, "beta2")
        for label, b in (("beta1", b1), ("beta2", b2)):
            if not 0 <= b < 1:
                _fail("betas", f"{label} must be a number in [0, 1), got {b!r}")
        set_("betas", (b1, b2))
        eps = _number("eps", self.eps, "eps")
        if eps <= 0:
            _fail("eps", f"eps must be a finite number > 0, got {eps!r}")
        set_("eps", eps)
        wd = _DEFAULT_WEIGHT_DECAY.get(name, 0.0) if self.weight_decay is None else self.weight_decay
        wd = _number("weight_decay", wd, "the weight decay")
        if wd < 0:
            _fail("weight_decay", f"the weight decay must be a finite number >= 0, got {wd!r}")
        set_("weight_decay", wd)
        alpha = _number("alpha", self.alpha, "alpha")
        if not 0 <= alpha < 1:
            _fail("alpha", f"alpha must be a number in [0, 1), got {alpha!r}")
        set_("alpha", alpha)
        # A setting the named optimizer does not use would be silently ignored: refuse it.
        for f in fields(self):
            if f.name in ("name", "lr") or f.name in uses:
                continue
            value = getattr(self, f.name)
            base = {"momentum": 0.0, "weight_decay": 0.0}.get(f.name, f.default)
            if value != base:
                _fail(f.name, f"{OPTIMIZER_LABELS[name]} has no setting {f.name!r} "
                              f"(it uses: {', '.join(sorted(uses)) or 'none'})")

    # ------------------------------------------------------------------ use
    @property
    def is_plain_sgd(self) -> bool:
        """True if this is the notebook's update ``p -= lr * grad`` (the SGD kernel's)."""
        return self.name == "sgd" and self.weight_decay == 0

    def lr_or(self, default: float) -> float:
        """This optimizer's learning rate; if None, torch's default for it, else ``default``."""
        if self.lr is not None:
            return self.lr
        fallback = DEFAULT_OPTIMIZER_LR[self.name]
        return default if fallback is None else fallback

    def with_lr(self, lr: float | None) -> "Optimizer":
        return replace(self, lr=lr)

    def describe(self) -> str:
        """A short label: ``"Adam lr 0.001"``, ``"momentum 0.9 (Nesterov) lr 0.02"``."""
        parts = [OPTIMIZER_LABELS[self.name] if self.name != "momentum" else f"momentum {self.momentum:g}"]
        if self.nesterov:
            parts.append("(Nesterov)")
        if self.lr is not None:
            parts.append(f"lr {self.lr:g}")
        if self.weight_decay:
            parts.append(f"wd {self.weight_decay:g}")
        return " ".join(parts)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        """Plain JSON values: only the settings this optimizer uses, plus name and lr."""
        uses = _USES[self.name]
        out = {"name": self.name, "lr": self.lr}
        for f in fields(self):
            if f.name in uses:
                value = getattr(self, f.name)
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, obj) -> "Optimizer":
        """The optimizer ``to_dict`` wrote; :class:`SettingsError` for anything else."""
        if not isinstance(obj, dict):
            _fail("optimizer", f"an optimizer must be a JSON object, got {type(obj).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            _fail("optimizer", f"unknown optimizer settings: {', '.join(map(str, unknown))}")
        values = dict(obj)
        if "betas" in values and isinstance(values["betas"], list):
            values["betas"] = tuple(values["betas"])
        return cls(**values)
