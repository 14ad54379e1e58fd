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
    """``value`` (a Python or numpy number, not a bool) as a finite float, else SettingsError."""
    v = value.item() if hasattr(value, "item") and not isinstance(value, (int, float)) else value
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        _fail(field, f"{label} must be a finite number, got {value!r}")
    return float(v)


def _ranged(field: str, value, label: str, lo: float, hi: float | None, lo_open: bool = False,
            hi_open: bool = False) -> float:
    """``value`` as a float if it lies in the range, else SettingsError: ``"{label} must be a
    number in [0, 1), got 1.0"`` (or ``"a finite number > 0"`` without an upper end)."""
    v = _number(field, value, label)
    if hi is None:
        if v < lo or (lo_open and v == lo):
            _fail(field, f"{label} must be a finite number {'>' if lo_open else '>='} {lo:g}, got {v!r}")
        return v
    if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
        _fail(field, f"{label} must be a number in {'(' if lo_open else '['}{lo:g}, {hi:g}"
                     f"{')' if hi_open else ']'}, got {v!r}")
    return v


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
            set_("lr", _ranged("lr", self.lr, "the learning rate", 0, None, lo_open=True))
        mom = _DEFAULT_MOMENTUM.get(name, 0.0) if self.momentum is None else self.momentum
        set_("momentum", _ranged("momentum", mom, "the momentum", 0, 1, lo_open=name == "momentum",
                                 hi_open=True))
        damp = _ranged("dampening", self.dampening, "the dampening", 0, 1)
        set_("dampening", damp)
        for flag in ("nesterov", "centered"):
            if not isinstance(getattr(self, flag), bool):
                _fail(flag, f"{flag} must be True or False, got {getattr(self, flag)!r}")
        if self.nesterov and damp != 0:
            _fail("nesterov", "Nesterov momentum requires zero dampening (as in torch.optim.SGD)")
        try:
            b1, b2 = self.betas
        except (TypeError, ValueError):
            _fail("betas", f"the betas must be two numbers in [0, 1), got {self.betas!r}")
        set_("betas", tuple(_ranged("betas", b, label, 0, 1, hi_open=True)
                            for b, label in ((b1, "beta1"), (b2, "beta2"))))
        set_("eps", _ranged("eps", self.eps, "eps", 0, None, lo_open=True))
        wd = _DEFAULT_WEIGHT_DECAY.get(name, 0.0) if self.weight_decay is None else self.weight_decay
        set_("weight_decay", _ranged("weight_decay", wd, "the weight decay", 0, None))
        set_("alpha", _ranged("alpha", self.alpha, "alpha", 0, 1, hi_open=True))
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
