"""Where a target bends: the x positions at which its slope changes abruptly (or it jumps).

The lesson's picture is elbows migrating to the target's kinks, so the studio marks them. A
preset knows its kinks exactly (:data:`~relu_studio.core.targets.PRESETS`); a typed formula's are
found numerically: on a fine grid, a kink shows as a slope change concentrated in one or two
grid intervals, far above the smooth curvature around it (which shrinks with the grid step while
a kink's does not), and is then placed where the straight lines on either side meet.
"""
from __future__ import annotations

import numpy as np

__all__ = ["find_kinks", "target_kinks", "MAX_KINKS"]

#: More than this many is not a kink pattern (noise, a rough function): none are marked.
MAX_KINKS = 64
_SAMPLES = 20_001
_ISOLATION = 50.0  # a kink's slope change is at least this many times the smooth level around it
_WINDOW = 40  # samples either side that define "around it"
_GAP = 4  # samples between the kink and the points its two lines are drawn through


def _local_level(a: np.ndarray) -> np.ndarray:
    """The median of |a| over a window around each sample (the smooth level a kink stands out of)."""
    padded = np.pad(np.abs(a), _WINDOW, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * _WINDOW + 1)
    return np.median(windows, axis=1)


def _without_isolated_points(y: np.ndarray) -> np.ndarray:
    """``y`` with single samples that stand apart from both neighbours (which agree with each
    other) replaced by the neighbours' mean: a function defined differently at isolated points
    (the notebook's target is 0 at every multiple of 0.1, ``x/x`` is undefined at 0) has no kink
    there, and a spike would read as two."""
    y = y.copy()
    if y.size < 3:
        return y
    mid = 0.5 * (y[:-2] + y[2:])
    spike = y[1:-1] - mid
    agree = np.abs(y[2:] - y[:-2])
    bad = ~np.isfinite(y[1:-1]) | ((np.abs(spike) > 10 * agree) & (np.abs(spike) > 1e-9 * (1 + np.abs(mid))))
    bad &= np.isfinite(mid) & (np.abs(spike) > _ISOLATION * _local_level(np.where(np.isfinite(spike), spike, 0)))
    y[1:-1][bad] = mid[bad]
    return y


def find_kinks(fn, lo: float = 0.0, hi: float = 1.0, samples: int = _SAMPLES) -> tuple[float, ...]:
    """The kinks and jumps of ``fn`` on the open interval (lo, hi), sorted; () if there are none
    or more than :data:`MAX_KINKS` (then the function is rough, not piecewise smooth).

    A kink is reported where the slope change across one or two grid intervals is at least 1e-3
    of the function's typical slope (or 1e-3 if it is flat) and :data:`_ISOLATION` times the
    smooth slope change around it; its position is where the lines through the samples on either
    side meet, accurate to a small fraction of the grid step for a piecewise-linear function.
    """
    x = np.linspace(lo, hi, samples)
    with np.errstate(all="ignore"):
        y = np.asarray(fn(x), dtype=np.float64)
    h = x[1] - x[0]
    y = _without_isolated_points(y)
    dy = np.diff(y)
    if not np.isfinite(dy).any():
        return ()
    dy = np.where(np.isfinite(dy), dy, 0.0)
    span = float(np.nanmax(y[np.isfinite(y)]) - np.nanmin(y[np.isfinite(y)])) if np.isfinite(y).any() else 0.0
    found: list[float] = []

    # Jumps: one interval whose rise dwarfs the intervals around it.
    jump = (np.abs(dy) > max(1e-3 * span, 1e-12)) & (np.abs(dy) > _ISOLATION * _local_level(dy) + 1e-12)
    jumps = np.flatnonzero(jump)
    near_jump = np.zeros(dy.size + 1, dtype=bool)
    for i in jumps:
        found.append(0.5 * (x[i] + x[i + 1]))
        near_jump[max(0, i - 2 * _GAP):i + 2 * _GAP + 2] = True

    # Kinks: the slope change across sample i (and its neighbour), isolated and large enough.
    slope = dy / h
    ds = np.diff(slope)  # at x[1:-1]
    pair = ds + np.concatenate([ds[1:], [0.0]])  # a kink between samples splits over two entries
    strength = np.maximum(np.abs(ds), np.abs(pair))
    typical = float(np.median(np.abs(slope))) or 1.0
    level = _local_level(ds)
    cand = (strength > 1e-3 * typical) & (strength > _ISOLATION * level + 1e-12)
    cand &= ~near_jump[1:-1]
    idx = np.flatnonzero(cand)
    groups: list[list[int]] = []
    for i in idx:
        if groups and i - groups[-1][-1] <= 2:
            groups[-1].append(i)
        else:
            groups.append([i])
    for g in groups:
        c = g[int(np.argmax(np.abs(ds[g])))] + 1  # the sample nearest the kink
        a0, a1 = c - _GAP - 1, c - _GAP  # two samples left of it
        b0, b1 = c + _GAP, c + _GAP + 1  # two samples right of it
        if a0 < 0 or b1 >= samples:
            continue  # too close to the ends to tell from the interval's boundary
        sl, sr = (y[a1] - y[a0]) / h, (y[b1] - y[b0]) / h
        xk = x[c]
        if abs(sl - sr) > 1e-12:
            xi = (y[b0] - y[a1] + sl * x[a1] - sr * x[b0]) / (sl - sr)
            if x[c - 2] <= xi <= x[c + 2]:
                xk = xi
        found.append(float(xk))
    if len(found) > MAX_KINKS:
        return ()
    return tuple(sorted(float(v) for v in found if lo < v < hi))


def target_kinks(target) -> tuple[float, ...]:
    """A target's kinks on [0, 1]: exactly, for a preset that knows them; found numerically for a
    typed formula; () for a smooth preset."""
    if getattr(target, "kinks", None) is not None:
        return tuple(float(k) for k in target.kinks)
    if getattr(target, "is_formula", False):
        return find_kinks(target)
    return ()
