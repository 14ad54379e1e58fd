"""Target functions on [0, 1]: the notebook's two, a few more presets, and typed formulas."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .formula import FormulaError, parse_formula

__all__ = ["Target", "get_target", "PRESETS", "piecewise_linear"]


def piecewise_linear(x):
    """The notebook's target: linear between multiples of 0.1, with values ``sin(12345 k)`` at 0.1 k."""
    t = 10 * np.asarray(x, dtype=np.float64)
    c = 12345
    return (t - np.floor(t)) * np.sin(c * np.ceil(t)) - (t - np.ceil(t)) * np.sin(c * np.floor(t))


def _sawtooth(x):
    t = 5 * np.asarray(x, dtype=np.float64)
    return 2 * (t - np.floor(t)) - 1


#: name -> (function, kinks or None, description)
PRESETS: dict[str, tuple[Callable, tuple[float, ...] | None, str]] = {
    "piecewise_linear": (piecewise_linear, tuple(k / 10 for k in range(11)),
                         "the notebook's piecewise-linear target (kinks at multiples of 0.1)"),
    "sin(20x)": (lambda x: np.sin(20 * np.asarray(x, dtype=np.float64)), None,
                 "the notebook's second target, sin(20x)"),
    "abs": (lambda x: 4 * np.abs(np.asarray(x, dtype=np.float64) - 0.5) - 1, (0.5,),
            "a single kink: 4|x - 0.5| - 1"),
    "step": (lambda x: np.where(np.asarray(x, dtype=np.float64) < 0.5, -1.0, 1.0), (0.5,),
             "a jump from -1 to 1 at x = 0.5"),
    "square": (lambda x: 8 * (np.asarray(x, dtype=np.float64) - 0.5) ** 2 - 1, None,
               "a parabola: 8 (x - 0.5)^2 - 1"),
    "sawtooth": (_sawtooth, tuple(k / 5 for k in range(6)), "five teeth rising from -1 to 1"),
}


@dataclass(frozen=True)
class Target:
    """A named target function; ``spec`` is the preset name or the formula text."""

    spec: str
    fn: Callable = field(repr=False, compare=False)
    kinks: tuple[float, ...] | None = None
    description: str = ""
    is_formula: bool = False

    def __call__(self, x) -> np.ndarray:
        return self.fn(x)


def get_target(spec: str) -> Target:
    """A preset by name (see :data:`PRESETS`) or a formula in x; raises FormulaError with the reason."""
    if not isinstance(spec, str):
        raise FormulaError("a target is a preset name or a formula in x")
    key = spec.strip()
    aliases = {"piecewise-linear": "piecewise_linear", "sin20x": "sin(20x)", "sin(20*x)": "sin(20x)"}
    key = aliases.get(key, key)
    if key in PRESETS:
        fn, kinks, desc = PRESETS[key]
        return Target(key, fn, kinks, desc)
    formula = parse_formula(spec)
    return Target(formula.text, formula, None, f"f(x) = {formula.text}", is_formula=True)
