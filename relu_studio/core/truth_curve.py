"""The ground-truth curve as drawn: a target's values, with isolated points drawn at their limits.

The notebook's piecewise-linear target is, by its formula, exactly 0 at every multiple of 0.1
(``(T - floor T) sin(c ceil T) - (T - ceil T) sin(c floor T)`` with ``T = 10x`` has both terms 0
there), while the pieces on either side meet at ``sin(12345 k)``. The data and the test MSE keep
the formula's values (the notebook's numbers); only the drawing uses the one-sided limits, so the
curve does not drop to 0 at x = 1 (where ``linspace(0, 1, 1000)`` samples it). A jump (the step
target) is a real discontinuity and is drawn as one.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np

__all__ = ["TruthCurve", "truth_curve", "one_sided_limits", "truth_tooltip"]

#: Offsets at which a limit is read off (the limit is extrapolated linearly from x ± h, x ± 2h:
#: exact for a function linear there, an error of about f'' h^2 otherwise).
_H = 1e-7
#: A value counts as off its limits if it differs by more than this (relative to the curve's scale).
_REL_TOL = 1e-6


@dataclass(frozen=True)
class TruthCurve:
    """``(x, y)`` to draw, and the points where the drawing differs from the function:
    ``(x, value of the function, value drawn)`` each."""

    x: np.ndarray
    y: np.ndarray
    moved: tuple[tuple[float, float, float], ...] = ()


def one_sided_limits(fn, x, h: float = _H):
    """(left, right) limits of ``fn`` at each ``x``, extrapolated linearly from two samples on
    each side."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        left = 2 * np.asarray(fn(x - h), np.float64) - np.asarray(fn(x - 2 * h), np.float64)
        right = 2 * np.asarray(fn(x + h), np.float64) - np.asarray(fn(x + 2 * h), np.float64)
    return left, right


def truth_curve(fn, x, lo: float = 0.0, hi: float = 1.0) -> TruthCurve:
    """The curve of ``fn`` through the sorted samples ``x``, where every sample whose value stands
    apart from the function's limits on both sides (or the one side inside ``[lo, hi]`` at an end
    of it) is drawn at its limit instead. Where the two limits differ (a jump) as well, the
    sample is drawn as both, one above the other."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        y = np.asarray(fn(x), dtype=np.float64)
    if x.size == 0:
        return TruthCurve(x, y)
    left, right = one_sided_limits(fn, x)
    left = np.where(x - 2 * _H >= lo, left, np.nan)
    right = np.where(x + 2 * _H <= hi, right, np.nan)
    scale = float(np.nanmax(np.abs(y))) if np.isfinite(y).any() else 1.0
    tol = _REL_TOL * max(scale, 1.0)

    def off(lim):
        return ~np.isfinite(lim) | (np.abs(y - lim) > tol)

    has = np.isfinite(left) | np.isfinite(right)
    moved_mask = has & off(left) & off(right) & np.isfinite(y)
    if not moved_mask.any():
        return TruthCurve(x, y)
    xs, ys, moved = [], [], []
    start = 0
    for i in np.flatnonzero(moved_mask):
        xs.append(x[start:i])
        ys.append(y[start:i])
        lim = [v for v in (left[i], right[i]) if np.isfinite(v)]
        if len(lim) == 2 and abs(lim[0] - lim[1]) <= tol:
            lim = [0.5 * (lim[0] + lim[1])]
        xs.append(np.full(len(lim), x[i]))
        ys.append(np.array(lim))
        moved.append((float(x[i]), float(y[i]), float(lim[0])))
        start = i + 1
    xs.append(x[start:])
    ys.append(y[start:])
    return TruthCurve(np.concatenate(xs), np.concatenate(ys), tuple(moved))


#: Why a preset's formula stands apart from its curve at some points.
_WHY = {"piecewise_linear": "The notebook's formula, (T - floor T) sin(c ceil T) - (T - ceil T) "
                            "sin(c floor T) with T = 10x and c = 12345, is exactly 0 at every "
                            "multiple of 0.1 (both terms vanish), while the pieces on either side "
                            "meet at sin(12345 k)."}


def truth_tooltip(target, curve: TruthCurve) -> str:
    """The truth curve's tooltip: what it is, and where it is drawn at a limit instead of the
    function's own value (and why), in lines of at most 80 characters."""
    what = getattr(target, "description", "") or getattr(target, "spec", "")
    parts = [f"ground truth (noise-free): {what}"]
    if curve.moved:
        where = "; ".join(f"at x = {x:.4g} the function is {v:.4g}, drawn at its limit {lim:.4g}"
                          for x, v, lim in curve.moved[:4])
        more = f" (and {len(curve.moved) - 4} more points)" if len(curve.moved) > 4 else ""
        parts.append(where[0].upper() + where[1:] + more + ".")
        why = _WHY.get(getattr(target, "spec", ""), "")
        if why:
            parts.append(why)
        parts.append("The data and the test MSE use the function's own values, as the notebook "
                     "does; only the curve is drawn through the limits.")
    return "\n".join(textwrap.fill(p, 80) for p in parts)
