"""What a sweep runs: a grid (or a list of grids) over width, mode, lr, steps, n, noise, λ, seed.

A sweep is described by a small TOML file or by command-line ranges; both come here and are
validated against the one schema (:data:`core.settings.LIMITS`), with messages that name where
the value came from (``--widths``, ``sweep.width in double.toml``).

Values of an axis: a number or a name (``lam = 1e-9``), a list (``width = [10, 20, 40]``) or a
range text:

- ``A:B``        every whole number from A to B (whole-number axes: width, steps, n, seed)
- ``A:B:K``      K values evenly spaced from A to B (rounded and deduplicated on whole-number axes)
- ``A:B:logK``   K values spaced evenly on a log scale (A > 0), e.g. ``1:1000:log40``

``seeds = K`` is short for ``seed = "0:K-1"``. An SGD run's learning rate defaults to its mode's
(the notebook's 0.2 for the output layer, 0.02 for all layers).

TOML::

    [data]                     # fixed for the whole sweep (n and noise may also be swept)
    target = "piecewise_linear"
    data_seed = 1

    [sweep]                    # the grid: every combination of these
    width = "1:400:log60"
    mode = ["ridge"]
    lam = 1e-9
    n = 40
    seeds = 30

    [[runs]]                   # optional: more grids, each over [sweep] with its own values
    mode = "all"
    lr = [0.01, 0.02]

Expanding gives one :class:`RunSpec` per run: every setting of that run, with what its mode does
not use blanked (a ridge run has no lr, steps or batch size; an SGD run no λ), duplicates
dropped, in a fixed order. A run's identity (:attr:`RunSpec.key`, :attr:`RunSpec.run_id`) is its
settings, so a results file can be resumed by any executor.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from .budget import BudgetError, check_run
from .settings import (
    DEFAULT_LAMBDA,
    DEFAULT_LR,
    LIMITS,
    MODES,
    SGD_MODES,
    SettingsError,
    StudioSettings,
    check,
    check_mode,
    check_target,
)

__all__ = ["AXES", "FIXED", "SweepError", "SweepSpec", "RunSpec", "parse_axis", "parse_range",
           "spec_from_toml", "load_spec", "expand", "MAX_SWEEP_RUNS", "SETTING_COLUMNS",
           "format_value", "DOUBLE_DESCENT"]

#: The settings a sweep can vary, in the order runs are expanded and columns are written.
AXES = ("width", "mode", "lr", "steps", "n", "noise", "lam", "seed")
#: Settings fixed for the whole sweep (``[data]`` / ``[fixed]`` in TOML, or flags).
FIXED = ("target", "data_seed", "batch_size", "save_every")
#: A row's settings columns: the run's identity.
SETTING_COLUMNS = ("target", "n", "noise", "data_seed", "width", "mode", "lr", "steps",
                   "batch_size", "save_every", "lam", "seed")
#: A sweep larger than this is refused (a typo in a range must not plan a billion runs).
MAX_SWEEP_RUNS = 1_000_000
#: Values of one range at most.
MAX_RANGE_VALUES = 100_000

_INT_AXES = ("width", "steps", "n", "seed")
_LIMIT_OF = {"width": "width", "lr": "lr", "steps": "steps", "n": "n", "noise": "noise",
             "lam": "lam", "seed": "seed", "data_seed": "data_seed", "batch_size": "batch_size",
             "save_every": "save_every"}
_DEFAULTS = MappingProxyType({
    "width": (StudioSettings.width,), "mode": MODES, "lr": (None,), "steps": (StudioSettings.steps,),
    "n": (StudioSettings.n,), "noise": (StudioSettings.noise,), "lam": (DEFAULT_LAMBDA,),
    "seed": (0,),
})
_FIXED_DEFAULTS = MappingProxyType({"target": StudioSettings.target,
                                    "data_seed": StudioSettings.data_seed,
                                    "batch_size": None, "save_every": StudioSettings.save_every})
#: Plural spellings accepted in TOML (and used by the command line's flags).
_ALIASES = {"widths": "width", "modes": "mode", "lrs": "lr", "lambda": "lam", "lams": "lam",
            "noises": "noise"}
_RANGE = re.compile(r"^\s*([^:]+):([^:]+)(?::\s*(log)?\s*(\d+)\s*)?$", re.IGNORECASE)


class SweepError(ValueError):
    """A sweep description that cannot be used; the message names the value and says why."""


# --------------------------------------------------------------------------- values
def format_value(value) -> str:
    """A setting as the results file writes it: ints as digits, floats by ``repr`` (they read
    back bit for bit), None (not used by this run's mode) as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _number(text: str, label: str) -> float:
    try:
        v = float(text.replace("_", ""))
    except ValueError:
        raise SweepError(f"{label}: {text.strip()!r} is not a number") from None
    if not math.isfinite(v):
        raise SweepError(f"{label}: {text.strip()!r} is not a finite number")
    return v


def parse_range(text: str, axis: str, label: str) -> list:
    """``"1:1000:log40"`` -> the values (see the module's doc); SweepError says what is wrong."""
    m = _RANGE.match(str(text))
    if not m:
        raise SweepError(f"{label}: {text!r} is not a value or a range START:STOP[:[log]COUNT] "
                         "(e.g. 1:1000:log40)")
    lo, hi = _number(m.group(1), label), _number(m.group(2), label)
    log, count = m.group(3) is not None, m.group(4)
    whole = axis in _INT_AXES
    if count is None:
        if not whole:
            raise SweepError(f"{label}: {text!r}: give a count for a range of {axis} "
                             f"(e.g. {m.group(1)}:{m.group(2)}:10)")
        if lo != int(lo) or hi != int(hi):
            raise SweepError(f"{label}: {text!r}: the ends must be whole numbers")
        if hi < lo:
            raise SweepError(f"{label}: {text!r}: the range is empty (STOP < START)")
        if hi - lo + 1 > MAX_RANGE_VALUES:
            raise SweepError(f"{label}: {text!r} has {int(hi - lo + 1):,} values; at most "
                             f"{MAX_RANGE_VALUES:,} (use START:STOP:COUNT)")
        return list(range(int(lo), int(hi) + 1))
    k = int(count)
    if not 1 <= k <= MAX_RANGE_VALUES:
        raise SweepError(f"{label}: {text!r}: the count must be between 1 and {MAX_RANGE_VALUES:,}")
    if log and (lo <= 0 or hi <= 0):
        raise SweepError(f"{label}: {text!r}: a log range needs START and STOP > 0")
    if k == 1:
        values = [lo]
    elif log:
        a, b = math.log(lo), math.log(hi)
        values = [math.exp(a + (b - a) * i / (k - 1)) for i in range(k)]
        values[0], values[-1] = lo, hi
    else:
        values = [lo + (hi - lo) * i / (k - 1) for i in range(k)]
        values[-1] = hi
    if whole:
        return list(dict.fromkeys(int(round(v)) for v in values))
    return [float(v) for v in values]


def _checked(axis: str, value, label: str):
    """One value of ``axis`` checked against the schema (SweepError naming ``label``)."""
    try:
        if axis == "mode":
            return check_mode(value, label=f"{label}: every mode")
        if axis == "target":
            return check_target(value)
        if axis == "lr" and value is None:
            return None
        if axis in _INT_AXES and isinstance(value, float) and value.is_integer():
            value = int(value)
        return check(_LIMIT_OF[axis], value, f"{label}: every value" if axis in AXES else label)
    except SettingsError as exc:
        raise SweepError(str(exc)) from None


def parse_axis(axis: str, value, label: str) -> tuple:
    """The checked values of one axis from a scalar, a list or a range text (duplicates dropped,
    order kept)."""
    if isinstance(value, (list, tuple)):
        items = list(value)
        if not items:
            raise SweepError(f"{label}: the list is empty")
    else:
        items = [value]
    values = []
    for item in items:
        if isinstance(item, str) and axis not in ("mode",) and ":" in item:
            values.extend(parse_range(item, axis, label))
        elif isinstance(item, str) and axis != "mode":
            values.append(_number(item, label) if item.strip() else item)
        else:
            values.append(item)
    out, seen = [], set()
    for v in values:
        c = _checked(axis, v, label)
        if c not in seen:
            seen.add(c)
            out.append(c)
    return tuple(out)


# --------------------------------------------------------------------------- one run
@dataclass(frozen=True)
class RunSpec:
    """Every setting of one run of a sweep (what its mode does not use is None)."""

    target: str
    n: int
    noise: float
    data_seed: int
    width: int
    mode: str
    lr: float | None
    steps: int | None
    batch_size: int | None
    save_every: int | None
    lam: float | None
    seed: int

    @property
    def key(self) -> tuple:
        """The run's identity: its settings as the results file writes them."""
        return tuple(format_value(getattr(self, c)) for c in SETTING_COLUMNS)

    @property
    def run_id(self) -> str:
        """A short name derived from the settings only (its history file's name)."""
        return hashlib.sha1("\x1f".join(self.key).encode()).hexdigest()[:16]

    def settings_row(self) -> dict:
        return dict(zip(SETTING_COLUMNS, self.key))

    @property
    def data_key(self) -> tuple:
        return (self.target, self.n, self.noise, self.data_seed)

    @property
    def cost(self) -> float:
        """A rough relative cost, for batching (SGD: steps x width; ridge: a small solve)."""
        if self.mode == "ridge":
            return 2e3 + 5.0 * self.width * (self.n + 1040)
        return float(self.steps) * (self.width + 8) * (2 if self.mode == "all" else 1)

    @classmethod
    def from_row(cls, row: dict) -> "RunSpec":
        """The run of a results row (its settings columns, as text)."""
        def num(name, kind):
            text = str(row.get(name, "")).strip()
            if text == "" or text.lower() == "nan":
                return None
            try:
                return int(text) if kind is int else float(text)
            except ValueError:
                raise SweepError(f"column {name}: {text!r} is not a number") from None
        mode = str(row.get("mode", "")).strip()
        if mode not in MODES:
            raise SweepError(f"column mode: {mode!r} is not one of {', '.join(MODES)}")
        return cls(target=str(row.get("target", "")), n=num("n", int), noise=num("noise", float),
                   data_seed=num("data_seed", int), width=num("width", int), mode=mode,
                   lr=num("lr", float), steps=num("steps", int), batch_size=num("batch_size", int),
                   save_every=num("save_every", int), lam=num("lam", float), seed=num("seed", int))


# --------------------------------------------------------------------------- the sweep
@dataclass(frozen=True)
class SweepSpec:
    """A sweep: ``grids`` (each a mapping axis -> values; every combination of one grid is a run)
    and ``fixed`` settings (target, data seed, batch size, snapshot interval)."""

    grids: tuple = (MappingProxyType(dict(_DEFAULTS)),)
    fixed: MappingProxyType = field(default_factory=lambda: MappingProxyType(dict(_FIXED_DEFAULTS)))
    source: str = ""

    @classmethod
    def from_values(cls, axes: dict | None = None, fixed: dict | None = None,
                    runs: list | None = None, source: str = "", labels: dict | None = None) -> "SweepSpec":
        """Build and check a sweep from plain values (numbers, lists or range texts).
        ``labels`` maps a name to how messages call it (a flag, a TOML key)."""
        labels = labels or {}
        lab = (lambda name: labels.get(name, f"{name}{f' in {source}' if source else ''}"))
        fixed_values = dict(_FIXED_DEFAULTS)
        for name, value in (fixed or {}).items():
            if name not in FIXED:
                raise SweepError(f"{lab(name)}: unknown setting (fixed settings: {', '.join(FIXED)})")
            fixed_values[name] = (None if value is None and name == "batch_size"
                                  else _checked(name, value, lab(name)))

        def grid_of(values: dict, base: dict, where: str) -> MappingProxyType:
            grid = dict(base)
            for name, value in values.items():
                name = _ALIASES.get(name, name)
                if name == "seeds":
                    try:
                        k = check("seeds", value, f"{lab('seeds')}{where}")
                    except SettingsError as exc:
                        raise SweepError(str(exc)) from None
                    grid["seed"] = tuple(range(k))
                    continue
                if name not in AXES:
                    raise SweepError(f"{lab(name)}{where}: unknown setting (a sweep varies "
                                     f"{', '.join(AXES)}; seeds = K means seed 0..K-1)")
                grid[name] = parse_axis(name, value, f"{lab(name)}{where}")
            return MappingProxyType(grid)

        main = grid_of(axes or {}, dict(_DEFAULTS), "")
        grids = [main]
        if runs:
            grids = [grid_of(r, dict(main), f" (runs entry {i + 1})") for i, r in enumerate(runs)]
        spec = cls(tuple(grids), MappingProxyType(fixed_values), source)
        spec.check()
        return spec

    def check(self) -> None:
        """Refuse a sweep that is too large or whose runs would not fit the memory budget."""
        total = 0
        for grid in self.grids:
            count = 1
            for axis in AXES:
                count *= len(grid[axis])
            total += count
        if total > MAX_SWEEP_RUNS:
            raise SweepError(f"the sweep has {total:,} runs; at most {MAX_SWEEP_RUNS:,}")
        batch = self.fixed["batch_size"]
        for grid in self.grids:
            sgd = [m for m in grid["mode"] if m in SGD_MODES]
            if not sgd:
                continue
            if batch is None and min(grid["n"]) // 5 < 1:
                raise SweepError(f"the default batch size n // 5 is 0 for n = {min(grid['n'])}; "
                                 "set a batch size")
            try:
                check_run(max(grid["steps"]), self.fixed["save_every"], max(grid["width"]),
                          batch or max(1, max(grid["n"]) // 5))
            except BudgetError as exc:
                raise SweepError(str(exc)) from None

    @property
    def swept(self) -> tuple:
        """The axes with more than one value (in any grid), in :data:`AXES` order."""
        return tuple(a for a in AXES if len({v for g in self.grids for v in g[a]}) > 1)

    def runs(self) -> list[RunSpec]:
        return expand(self)


def expand(spec: SweepSpec) -> list[RunSpec]:
    """Every run of ``spec`` once, in a fixed order (grids in order, then :data:`AXES` order)."""
    seen, out = set(), []
    fx = spec.fixed
    for grid in spec.grids:
        for combo in itertools.product(*(grid[a] for a in AXES)):
            v = dict(zip(AXES, combo))
            mode = v["mode"]
            if mode == "ridge":
                lr = steps = batch = save_every = None
                lam = v["lam"]
            else:
                lr = DEFAULT_LR[mode] if v["lr"] is None else v["lr"]
                steps, batch, save_every, lam = v["steps"], fx["batch_size"], fx["save_every"], None
            run = RunSpec(fx["target"], v["n"], v["noise"], fx["data_seed"], v["width"], mode, lr,
                          steps, batch, save_every, lam, v["seed"])
            if run.key not in seen:
                seen.add(run.key)
                out.append(run)
    return out


# --------------------------------------------------------------------------- TOML
def _toml():
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def spec_from_toml(text: str, source: str = "the sweep file") -> SweepSpec:
    """Parse a sweep's TOML text (see the module's doc)."""
    tomllib = _toml()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{source}: not valid TOML: {exc}") from None
    unknown = set(doc) - {"data", "fixed", "sweep", "runs"}
    if unknown:
        raise SweepError(f"{source}: unknown table {sorted(unknown)[0]!r} (expected [data], "
                         "[sweep] and [[runs]])")
    fixed, axes = {}, {}
    for table in ("data", "fixed"):
        part = doc.get(table, {})
        if not isinstance(part, dict):
            raise SweepError(f"{source}: [{table}] must be a table")
        for k, v in part.items():
            (fixed if k in FIXED else axes)[k] = v
    sweep = doc.get("sweep", {})
    if not isinstance(sweep, dict):
        raise SweepError(f"{source}: [sweep] must be a table")
    for k, v in sweep.items():
        (fixed if k in FIXED else axes)[k] = v
    runs = doc.get("runs")
    if runs is not None and (not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs)):
        raise SweepError(f"{source}: runs must be an array of tables ([[runs]])")
    labels = {}
    for k in list(fixed) + list(axes) + [k for r in runs or [] for k in r] + ["seeds"]:
        table = "data" if k in doc.get("data", {}) else ("fixed" if k in doc.get("fixed", {}) else "sweep")
        labels[_ALIASES.get(k, k)] = f"{table}.{k} in {source}"
    return SweepSpec.from_values(axes, fixed, runs, source=source, labels=labels)


def load_spec(path) -> SweepSpec:
    """Read a sweep's TOML file (SweepError with the file's name if it cannot be used)."""
    from pathlib import Path

    path = Path(path)
    try:
        if path.stat().st_size > 1 << 20:
            raise SweepError(f"{path.name}: a sweep file of more than 1 MiB is refused")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError(f"{path}: cannot read the sweep file: {getattr(exc, 'strerror', None) or exc}") from None
    return spec_from_toml(text, source=path.name)


#: The preset "Double descent": ridge on random ReLU features, n = 40 noisy points, widths
#: 1..400 on a log scale, λ = 1e-9, 30 seeds (about 1 700 closed-form fits: seconds).
DOUBLE_DESCENT = """\
# Double descent: ridge on the notebook's random ReLU features with a tiny λ.
[data]
target = "piecewise_linear"
data_seed = 1

[sweep]
width = "1:400:log60"
mode = "ridge"
n = 40
noise = 0.1
lam = 1e-9
seeds = 30
"""


def replace_fixed(spec: SweepSpec, **changes) -> SweepSpec:
    """A copy of ``spec`` with fixed settings changed (checked)."""
    fixed = dict(spec.fixed)
    for k, v in changes.items():
        fixed[k] = _checked(k, v, k) if v is not None else None
    out = replace(spec, fixed=MappingProxyType(fixed))
    out.check()
    return out
