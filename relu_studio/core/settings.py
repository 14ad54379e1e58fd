"""The one schema of ReLU Studio's settings: every default, every limit and the modes.

Everything that takes a setting validates it here: the engine (:class:`TrainSettings`), session
files, the command line, the studio's parameter panel and Compare. Nothing else declares a
default or a limit.

- :class:`StudioSettings`: what the studio's parameter panel sets and a session file stores.
- :class:`GridSettings`: an experiment grid (Compare, ``relu-studio-run``).
- :data:`LIMITS`: one :class:`Limit` per setting (kind, range, how to say what it must be).
- :data:`MODE_INFO`: each mode's label, title, phrase and tooltip.

The defaults are the course notebook's. Both settings classes are frozen; ``validated()``
returns a checked copy or raises :class:`SettingsError` naming the field; ``to_json()`` /
``from_json()`` round-trip them through plain JSON (the session file's ``settings.json``).
"""
from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType

import numpy as np

from .budget import BudgetError, check_run

__all__ = [
    "SettingsError", "Limit", "LIMITS", "Mode", "MODE_INFO", "MODES", "SGD_MODES", "DEFAULT_LR",
    "DEFAULT_LAMBDA", "SEED_LIMIT", "MAX_SEED", "MAX_POINTS", "MAX_WIDTH", "MAX_STEPS",
    "MAX_GRID_WIDTHS", "MAX_GRID_SEEDS", "MAX_GRID_OPTIMIZERS", "StudioSettings", "GridSettings", "parse_widths",
    "mode_phrase", "PACE_MIN", "PACE_MAX", "DEFAULT_PACE_RATE", "DEFAULT_PACE_LOG_TIME",
    "PACE_LOG_KNEE", "PLAYBACK_RATES", "DEFAULT_PLAYBACK_RATE", "RUN_START_CHOICES", "DEFAULT_RUN_START",
    "check_run_start", "CHOICES", "check_choice", "choice_class",
]

# --------------------------------------------------------------------------- limits
#: Seeds are those of numpy's ``RandomState`` and torch's ``manual_seed``: whole numbers below this.
SEED_LIMIT = 2**32
MAX_SEED = SEED_LIMIT - 1
MAX_POINTS = 1_000_000
MAX_WIDTH = 100_000
#: Steps of one run (and the largest snapshot interval): about an hour of training.
MAX_STEPS = 1_000_000_000
MAX_GRID_WIDTHS = 12
MAX_GRID_SEEDS = 1000
#: At most this many optimizers side by side in a grid (each one a column per SGD mode).
MAX_GRID_OPTIMIZERS = 8
DEFAULT_LAMBDA = 1e-5

# --------------------------------------------------------------------------- pace (studio only)
#: The studio's training pace in steps per second, below full speed (Compare and the command line
#: always run at full speed). The pace never changes what is computed, only when.
PACE_MIN = 100
PACE_MAX = 200_000
#: The studio's default pace: log time from 500 steps/s. The notebook's 150 000-step run then
#: takes about 17 s, of which its first 30 000 steps (where the elbows migrate) take 11 s.
DEFAULT_PACE_RATE = 500
DEFAULT_PACE_LOG_TIME = True
#: Log time: past this many steps of a run, every tenfold of steps takes the same wall time.
PACE_LOG_KNEE = 2000
#: Timeline playback: the snapshots per second offered, and the default (25/s: 40 ms each).
PLAYBACK_RATES = (1, 2, 5, 10, 25, 50)
DEFAULT_PLAYBACK_RATE = 25

# --------------------------------------------------------------------------- modes
#: Every mode, in the order grids and files list them.
MODES = ("output", "all", "ridge")
#: The modes that train by SGD.
SGD_MODES = ("output", "all")
#: The notebook's learning rates.
DEFAULT_LR = MappingProxyType({"output": 0.2, "all": 0.02})


@dataclass(frozen=True)
class Mode:
    """How the app speaks of a mode."""

    key: str
    label: str  # a choice in a menu: "All layers (SGD)"
    short: str  # a check box or a legend: "all layers"
    title: str  # a column title: "all layers (SGD)"
    phrase: str  # in a sentence, "trained ...": "all layers"
    tip: str


MODE_INFO = MappingProxyType({
    "output": Mode("output", "Output layer only (SGD)", "output layer", "output layer only (SGD)",
                   "the output layer only",
                   "SGD on the output layer only: linear regression on fixed features (convex)"),
    "all": Mode("all", "All layers (SGD)", "all layers", "all layers (SGD)", "all layers",
                "SGD on all layers: the elbows move"),
    "ridge": Mode("ridge", "Ridge (closed form)", "ridge", "ridge (closed-form output layer)",
                  "by ridge", "The output layer solved in closed form on the current features"),
})


def mode_phrase(mode: str) -> str:
    """``"all"`` -> ``"all layers"`` (for sentences); unknown modes are returned as they are."""
    info = MODE_INFO.get(mode)
    return info.phrase if info else str(mode)


# --------------------------------------------------------------------------- where a new run starts
#: The preference for a new run after the mode, learning rate or width changed since the network
#: was last trained: ask each time, start from the initial network (the notebook's comparison:
#: every mode from the same start) or continue from the network trained so far.
RUN_START_CHOICES = ("ask", "initial", "continue")
DEFAULT_RUN_START = "ask"


def check_run_start(value) -> str:
    """One of :data:`RUN_START_CHOICES` (a stored preference is checked before use)."""
    if value not in RUN_START_CHOICES:
        raise SettingsError("run_start", f"the run start preference must be one of "
                                         f"{', '.join(RUN_START_CHOICES)}, got {_shown(value)}")
    return value


# --------------------------------------------------------------------------- one setting
class SettingsError(ValueError):
    """A setting outside its limits; ``field`` names it and the message says what it must be."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _shown(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return str(value.item() if isinstance(value, np.generic) else value)
    return repr(value)


@dataclass(frozen=True)
class Limit:
    """The kind and range of one setting: ``"int"`` (whole numbers) or ``"float"`` (finite)."""

    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # ``lo`` itself is refused (a learning rate > 0)
    optional: bool = False  # None is allowed (the batch size: None means n // 5)

    def describe(self) -> str:
        """What a valid value is, for messages: ``a whole number between 1 and 100000``."""
        noun = "a whole number" if self.kind == "int" else "a finite number"
        lo, hi = (None if v is None else (str(int(v)) if self.kind == "int" else f"{v:g}")
                  for v in (self.lo, self.hi))
        if lo is not None and hi is not None:
            text = f"{noun} between {lo} and {hi}"
        elif lo is not None:
            text = f"{noun} {'>' if self.lo_open else '>='} {lo}"
        elif hi is not None:
            text = f"{noun} <= {hi}"
        else:
            text = noun
        return text

    def accepts(self, value) -> bool:
        if value is None:
            return self.optional
        if isinstance(value, (bool, np.bool_)):
            return False
        if self.kind == "int":
            if not isinstance(value, (int, np.integer)):
                return False
        elif not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            return False
        if self.lo is not None and (value < self.lo or (self.lo_open and value == self.lo)):
            return False
        return self.hi is None or value <= self.hi

    def check(self, value, label: str, name: str | None = None):
        """``value`` as an int or float (None if optional and None); else :class:`SettingsError`
        saying ``"{label} must be {what}, got {value}"``."""
        if not self.accepts(value):
            raise SettingsError(name or label, f"{label} must be {self.describe()}, got {_shown(value)}")
        if value is None:
            return None
        return int(value) if self.kind == "int" else float(value)


#: Every numeric setting's limit (the same object wherever the setting appears).
LIMITS = MappingProxyType({
    "n": Limit("int", 1, MAX_POINTS),
    "noise": Limit("float", 0.0),
    "data_seed": Limit("int", 0, MAX_SEED),
    "width": Limit("int", 1, MAX_WIDTH),
    "init_seed": Limit("int", 0, MAX_SEED),
    "seed": Limit("int", 0, MAX_SEED),
    "lr": Limit("float", 0.0, lo_open=True),
    "lr_output": Limit("float", 0.0, lo_open=True),
    "lr_all": Limit("float", 0.0, lo_open=True),
    "steps": Limit("int", 1, MAX_STEPS),
    "batch_size": Limit("int", 1, MAX_POINTS, optional=True),
    "save_every": Limit("int", 1, MAX_STEPS),
    "lam": Limit("float", 0.0),
    "seeds": Limit("int", 1, MAX_GRID_SEEDS),
    "jobs": Limit("int", 1),
    "pace": Limit("float", PACE_MIN, PACE_MAX),
})

#: How messages name each setting.
LABELS = MappingProxyType({
    "target": "the target", "n": "the number of points n", "noise": "the noise σ",
    "data_seed": "the data seed", "width": "the width", "init_seed": "the init seed",
    "seed": "the seed", "mode": "the mode", "lr": "the learning rate",
    "lr_output": "the output layer's learning rate", "lr_all": "the all-layers learning rate",
    "steps": "steps", "batch_size": "the batch size", "save_every": "the snapshot interval",
    "lam": "the ridge λ", "seeds": "the number of seeds", "widths": "the widths",
    "modes": "the modes", "optimizers": "the optimizers", "jobs": "jobs", "pace": "the pace (steps per second)",
})


def check(name: str, value, label: str | None = None):
    """Check one numeric setting by name (see :data:`LIMITS`)."""
    return LIMITS[name].check(value, label or LABELS[name], name)


def check_mode(value, allowed=MODES, label: str | None = None) -> str:
    mode = str(value).lower() if isinstance(value, str) else value
    if mode not in allowed:
        raise SettingsError("mode", f"{label or LABELS['mode']} must be one of "
                                    f"{', '.join(allowed)}, got {_shown(value)}")
    return mode


def check_target(value) -> str:
    """A preset name or a formula the parser accepts (its message says why not)."""
    from .formula import FormulaError
    from .targets import get_target

    if not isinstance(value, str):
        raise SettingsError("target", f"the target must be a preset name or a formula, got {_shown(value)}")
    try:
        get_target(value)
    except FormulaError as exc:
        raise SettingsError("target", f"the target {value!r}: {exc}") from None
    return value.strip()


def parse_widths(text: str) -> tuple[int, ...]:
    """``"10 20, 40"`` -> ``(10, 20, 40)``: a grid's widths, duplicates dropped, order kept."""
    parts = [p for p in re.split(r"[\s,;]+", str(text).strip()) if p]
    if not parts:
        raise SettingsError("widths", "enter at least one width, e.g. 10 20 40")
    out = []
    for p in parts:
        try:
            w = int(p)
        except ValueError:
            raise SettingsError("widths", f"'{p}' is not a whole number") from None
        out.append(w)
    return GridSettings.check_widths(out)


# --------------------------------------------------------------------------- training choices
#: The studio's training choices: field -> (module, class, how messages name it). Their classes
#: live in modules that read SettingsError from here, so they are imported when first used.
CHOICES = MappingProxyType({
    "optimizer": ("optimizers", "Optimizer", "the optimizer"),
    "activation": ("activations", "Activation", "the activation"),
    "init": ("inits", "Init", "the initialisation"),
    "loss": ("losses", "Loss", "the loss"),
})


def choice_class(name: str) -> type:
    """The class of training choice ``name`` (Optimizer, Activation, Init or Loss)."""
    module, cls, _ = CHOICES[name]
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)


def check_choice(name: str, value):
    """One training choice: an instance of its class, or its JSON form (a dict or a bare name);
    :class:`SettingsError` naming the setting otherwise. The optimizer is kept without a learning
    rate (the studio's is per mode: ``lr_output``/``lr_all``)."""
    cls = choice_class(name)
    if not isinstance(value, cls):
        if not isinstance(value, (dict, str)):
            raise SettingsError(name, f"{CHOICES[name][2]} must be a JSON object or a name, "
                                      f"got {_shown(value)}")
        value = cls.from_dict(value)
    if name == "optimizer" and value.lr is not None:
        value = value.with_lr(None)
    return value


def _default(name: str):
    """A field default: the notebook's choice (the class's default value)."""
    return field(default_factory=lambda: choice_class(name)())


# --------------------------------------------------------------------------- the studio
@dataclass(frozen=True)
class StudioSettings:
    """Everything the studio's parameter panel sets. The defaults are the course notebook's."""

    target: str = "piecewise_linear"
    n: int = 200
    noise: float = 0.1
    data_seed: int = 1
    width: int = 20
    init_seed: int = 0
    mode: str = "all"  # "output", "all" or "ridge"
    lr_output: float = DEFAULT_LR["output"]
    lr_all: float = DEFAULT_LR["all"]
    steps: int = 150_000
    batch_size: int | None = None  # None: n // 5, as the notebook
    save_every: int = 1000
    lam: float = DEFAULT_LAMBDA
    #: The training choices (the notebook's: plain SGD, ReLU, its init, MSE).
    optimizer: "Optimizer" = _default("optimizer")
    activation: "Activation" = _default("activation")
    init: "Init" = _default("init")
    loss: "Loss" = _default("loss")

    @property
    def is_notebook_training(self) -> bool:
        """True if optimizer, activation, init and loss are the notebook's."""
        return all(getattr(self, name) == choice_class(name)() for name in CHOICES)

    def describe_training(self) -> str:
        """The choices that are not the notebook's, for the status bar: ``"Adam · tanh"``,
        ``"momentum 0.9 · Kaiming/He uniform init · Huber δ 0.5"`` ("" for the notebook's)."""
        parts = []
        if self.optimizer != choice_class("optimizer")():
            parts.append(self.optimizer.describe())
        if not self.activation.is_relu:
            parts.append(self.activation.describe())
        if not self.init.is_notebook:
            parts.append(self.init.describe())
        if not self.loss.is_mse:
            parts.append(self.loss.describe())
        return " · ".join(parts)

    def lr_for(self, mode: str) -> float:
        """The learning rate of an SGD mode (the all-layers one for ridge, which has none)."""
        return self.lr_output if mode == "output" else self.lr_all

    @property
    def current_lr(self) -> float:
        return self.lr_for(self.mode)

    def with_lr(self, lr: float, mode: str | None = None) -> "StudioSettings":
        """A copy with the learning rate of ``mode`` (default: the current one) set."""
        mode = self.mode if mode is None else mode
        return self.changed(**{"lr_output" if mode == "output" else "lr_all": lr})

    def changed(self, **changes) -> "StudioSettings":
        """A validated copy with ``changes`` (field names of this class)."""
        return replace(self, **changes).validated()

    def validated(self) -> "StudioSettings":
        """A copy with every field checked and normalised; raises :class:`SettingsError`."""
        values = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "target":
                values[f.name] = check_target(v)
            elif f.name == "mode":
                values[f.name] = check_mode(v)
            elif f.name in CHOICES:
                values[f.name] = check_choice(f.name, v)
            else:
                values[f.name] = check(f.name, v)
        try:  # what a run of these settings would hold in memory
            check_run(values["steps"], values["save_every"], values["width"],
                      values["batch_size"] or max(1, values["n"] // 5))
        except BudgetError as exc:
            raise SettingsError("steps", str(exc)) from None
        return StudioSettings(**values)

    def to_json(self) -> dict:
        """Plain JSON, as ``settings.json`` of a session file stores it."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["lr"] = {"output": d.pop("lr_output"), "all": d.pop("lr_all")}
        for name in CHOICES:
            d[name] = d[name].to_dict()
        d["optimizer"].pop("lr", None)  # always None here: the learning rates are under "lr"
        return d

    @classmethod
    def from_json(cls, obj) -> tuple["StudioSettings", dict]:
        """``(settings, unknown)`` from :meth:`to_json`'s form: missing keys take the defaults,
        unknown keys are returned as they are (a newer version's settings are kept)."""
        if not isinstance(obj, dict):
            raise SettingsError("settings", f"the settings must be a JSON object, got {type(obj).__name__}")
        known = {f.name for f in fields(cls)} - {"lr_output", "lr_all"}
        values = {k: v for k, v in obj.items() if k in known}
        unknown = {k: v for k, v in obj.items() if k not in known and k != "lr"}
        if "lr" in obj:
            lr = obj["lr"]
            if not isinstance(lr, dict):
                raise SettingsError("lr", "'lr' must be an object of learning rates per mode")
            for mode in SGD_MODES:
                if mode in lr:
                    values[f"lr_{mode}"] = lr[mode]
        for k, v in values.items():  # name the JSON key in the message
            if k == "mode":
                check_mode(v, label="setting 'mode'")
            elif k in CHOICES:
                try:
                    values[k] = check_choice(k, v)
                except SettingsError as exc:
                    raise SettingsError(k, f"setting '{k}': {exc}") from None
            elif k != "target":
                check(k, v, f"setting '{k}'")
        return cls(**values).validated(), unknown


# --------------------------------------------------------------------------- a grid
def _plain_sgd() -> tuple:
    # core.optimizers imports this module (for SettingsError): imported when first needed.
    from .optimizers import Optimizer

    return (Optimizer(),)


@dataclass(frozen=True)
class GridSettings:
    """An experiment grid: widths x modes x optimizers x seeds 0..seeds-1, as Compare and the
    CLI run it.

    Every (width, seed) starts all modes and optimizers from the same initial network, as the
    notebook does. ``optimizers`` (:class:`~relu_studio.core.optimizers.Optimizer` values,
    default: the notebook's plain SGD only) applies to the SGD modes; an optimizer without a
    learning rate trains at torch's default for it (Adam 1e-3, RMSprop 1e-2) or, for SGD and
    momentum, at the mode's ``lr_output``/``lr_all``. Ridge has no optimizer.
    """

    widths: tuple = (10, 20, 40)
    modes: tuple = MODES
    seeds: int = 1
    steps: int = 150_000
    save_every: int = 1000
    lr_output: float = DEFAULT_LR["output"]
    lr_all: float = DEFAULT_LR["all"]
    batch_size: int | None = None
    lam: float = DEFAULT_LAMBDA
    optimizers: tuple = field(default_factory=_plain_sgd)
    #: Every run's activation and training loss (the notebook's: ReLU, MSE).
    activation: "Activation" = _default("activation")
    loss: "Loss" = _default("loss")

    @staticmethod
    def check_widths(widths) -> tuple[int, ...]:
        out = []
        for w in widths:
            w = check("width", w, "every width")
            if w not in out:
                out.append(w)
        if not out:
            raise SettingsError("widths", "choose at least one width")
        if len(out) > MAX_GRID_WIDTHS:
            raise SettingsError("widths", f"a grid has at most {MAX_GRID_WIDTHS} widths, got {len(out)}")
        return tuple(out)

    @staticmethod
    def check_modes(modes) -> tuple[str, ...]:
        out = []
        for m in modes:
            m = check_mode(m, label="every mode")
            if m not in out:
                out.append(m)
        if not out:
            raise SettingsError("modes", "choose at least one mode")
        return tuple(out)

    @staticmethod
    def check_optimizers(optimizers) -> tuple:
        """A tuple of distinct Optimizer values (1..MAX_GRID_OPTIMIZERS), order kept."""
        from .optimizers import Optimizer

        if isinstance(optimizers, Optimizer):
            optimizers = (optimizers,)
        if isinstance(optimizers, (str, bytes)) or not hasattr(optimizers, "__iter__"):
            raise SettingsError("optimizers", f"the optimizers must be a list of optimizers, got "
                                              f"{_shown(optimizers)}")
        out = []
        for o in optimizers:
            if not isinstance(o, Optimizer):
                raise SettingsError("optimizers", f"every optimizer must be a relu_studio "
                                                  f"Optimizer, got {_shown(o)}")
            if o not in out:
                out.append(o)
        if not out:
            raise SettingsError("optimizers", "choose at least one optimizer")
        if len(out) > MAX_GRID_OPTIMIZERS:
            raise SettingsError("optimizers", f"a grid has at most {MAX_GRID_OPTIMIZERS} "
                                              f"optimizers, got {len(out)}")
        return tuple(out)

    def lr_for(self, mode: str, optimizer=None) -> float:
        """The learning rate of an SGD mode; with ``optimizer``, that optimizer's in the mode
        (its own lr, else torch's default for it, else the mode's)."""
        lr = self.lr_output if mode == "output" else self.lr_all
        return lr if optimizer is None else optimizer.lr_or(lr)

    def cell_optimizer(self, mode: str, optimizer):
        """``optimizer`` with the learning rate it trains with in ``mode`` (what a column's
        label describes and what a run of that cell records)."""
        return optimizer.with_lr(self.lr_for(mode, optimizer))

    @property
    def seed_list(self) -> tuple[int, ...]:
        return tuple(range(self.seeds))

    @property
    def sgd_modes(self) -> tuple[str, ...]:
        return tuple(m for m in self.modes if m in SGD_MODES)

    @property
    def run_count(self) -> int:
        """Runs per seed: every SGD mode once per optimizer, ridge once."""
        per_seed = len(self.sgd_modes) * len(self.optimizers) + (len(self.modes) - len(self.sgd_modes))
        return len(self.widths) * per_seed * self.seeds

    def changed(self, **changes) -> "GridSettings":
        return replace(self, **changes).validated()

    def validated(self) -> "GridSettings":
        g = GridSettings(
            widths=self.check_widths(self.widths), modes=self.check_modes(self.modes),
            seeds=check("seeds", self.seeds), steps=check("steps", self.steps),
            save_every=check("save_every", self.save_every),
            lr_output=check("lr_output", self.lr_output), lr_all=check("lr_all", self.lr_all),
            batch_size=check("batch_size", self.batch_size), lam=check("lam", self.lam),
            optimizers=self.check_optimizers(self.optimizers),
            activation=check_choice("activation", self.activation),
            loss=check_choice("loss", self.loss))
        if g.sgd_modes:
            try:  # every run of the widest network (the batch is known once the data are)
                check_run(g.steps, g.save_every, max(g.widths), g.batch_size or 1)
            except BudgetError as exc:
                raise SettingsError("steps", str(exc)) from None
        return g

    def to_json(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name not in ("optimizers", "activation", "loss")}
        d["widths"], d["modes"] = list(self.widths), list(self.modes)
        d["optimizers"] = [o.to_dict() for o in self.optimizers]
        d["activation"], d["loss"] = self.activation.to_dict(), self.loss.to_dict()
        return d

    @classmethod
    def from_json(cls, obj) -> "GridSettings":
        """From :meth:`to_json`'s form (missing keys: the defaults, so a grid saved before the
        optimizer axis is plain SGD with ReLU and MSE; other keys are ignored)."""
        from .optimizers import Optimizer

        if not isinstance(obj, dict):
            raise SettingsError("grid", f"the grid's settings must be a JSON object, got {type(obj).__name__}")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in obj.items() if k in known}
        for k in ("widths", "modes", "optimizers"):
            if k in values:
                if not isinstance(values[k], (list, tuple)):
                    raise SettingsError(k, f"'{k}' must be a list")
                values[k] = tuple(values[k])
        if "optimizers" in values:
            opts = []
            for i, o in enumerate(values["optimizers"], 1):
                try:
                    opts.append(Optimizer.from_dict(o))
                except (SettingsError, TypeError) as exc:
                    raise SettingsError("optimizers", f"optimizer {i} of the grid: {exc}") from None
            values["optimizers"] = tuple(opts)
        for k in ("activation", "loss"):
            if k in values:
                values[k] = check_choice(k, values[k])
        return cls(**values).validated()
