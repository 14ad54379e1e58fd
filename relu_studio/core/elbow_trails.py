"""Where each elbow went: its path ``-b/w`` over the snapshots of a history, as polylines.

The studio canvas draws a unit's trail from the first snapshot up to the shown one. An elbow is
undefined where ``w = 0`` (``-b/w`` runs through infinity as ``w`` crosses zero), so a trail is
broken wherever ``w`` is zero or changes sign between two snapshots: the unit's line flipped
direction there and its elbow did not move continuously from one position to the other.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ElbowTrails", "elbow_trails", "history_parameters", "trail_heights", "MAX_TRAIL_POINTS"]

#: At most this many trail points are drawn (snapshots x units): longer histories are thinned
#: to evenly spaced snapshots (the first and the last always kept).
MAX_TRAIL_POINTS = 200_000


@dataclass(frozen=True)
class ElbowTrails:
    """Every unit's trail as one NaN-separated polyline.

    ``x`` holds elbow positions and ``steps`` the step of each point (NaN at the breaks between
    units and where a trail is broken); ``units`` says which unit each point belongs to (-1 at a
    break). ``snapshots`` are the history indices used (thinned if the history is long).
    """

    x: np.ndarray
    steps: np.ndarray
    units: np.ndarray
    snapshots: np.ndarray


def _thinned(count: int, width: int, max_points: int) -> np.ndarray:
    keep = max(2, max_points // max(1, width))
    if count <= keep:
        return np.arange(count)
    return np.unique(np.round(np.linspace(0, count - 1, keep)).astype(np.int64))


def elbow_trails(steps, w1, b1, upto: int | None = None, units=None,
                 max_points: int = MAX_TRAIL_POINTS) -> ElbowTrails:
    """The trails of snapshots ``0..upto`` (default: all) of parameters ``w1``, ``b1`` (shape
    ``(m, H)``) at ``steps`` (``(m,)``); ``units`` restricts them to some units.

    A unit's elbow at snapshot k is ``-b1[k] / w1[k]`` (in float64); it is undefined (no point)
    where ``w1[k] = 0`` or the quotient is not finite, and the segment from k-1 to k is left out
    when the sign of ``w1`` differs between them.
    """
    steps = np.asarray(steps)
    w1 = np.asarray(w1)
    b1 = np.asarray(b1)
    m = steps.shape[0] if upto is None else min(int(upto) + 1, steps.shape[0])
    cols = np.arange(w1.shape[1]) if units is None else np.asarray(units, dtype=np.int64).ravel()
    if m <= 0 or cols.size == 0:
        empty = np.zeros(0)
        return ElbowTrails(empty, empty, np.zeros(0, np.int64), np.zeros(0, np.int64))
    idx = _thinned(m, cols.size, max_points)
    w = w1[idx][:, cols].astype(np.float64)  # (k, u)
    b = b1[idx][:, cols].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = -b / w
    e[(w == 0) | ~np.isfinite(e)] = np.nan
    sign = np.sign(w)
    # broken[k] (k >= 1): no segment from k-1 to k. A NaN row is inserted before such a k.
    broken = np.zeros_like(e, dtype=bool)
    broken[1:] = sign[1:] != sign[:-1]
    k, u = e.shape
    # Unit by unit: a NaN slot before every point (kept only where the trail breaks there),
    # the point itself, and a NaN at the unit's end.
    def laid_out(points, gap):
        a = np.empty((u, k, 2), dtype=points.dtype)
        a[:, :, 0] = gap
        a[:, :, 1] = points
        return np.concatenate([a.reshape(u, 2 * k), np.full((u, 1), gap, dtype=points.dtype)], axis=1)

    keep = np.ones((u, k, 2), dtype=bool)
    keep[:, :, 0] = broken.T
    keep = np.concatenate([keep.reshape(u, 2 * k), np.ones((u, 1), dtype=bool)], axis=1)
    st = np.broadcast_to(steps[idx].astype(np.float64)[None, :], (u, k))
    un = np.broadcast_to(cols[:, None], (u, k)).astype(np.int64)
    return ElbowTrails(laid_out(e.T, np.nan)[keep], laid_out(st, np.nan)[keep],
                       laid_out(un, -1)[keep], idx)


def history_parameters(history, upto: int):
    """``(steps, w1, b1)`` of snapshots ``0..upto`` of a studio history (a ``History`` or a
    ``HistoryView`` with a run in progress), as arrays without copying the finished part."""
    base = getattr(history, "base", history)
    live = getattr(history, "live", None)
    nb = len(base)
    if live is None or len(live) == 0 or upto < nb:
        n = min(upto + 1, nb)
        return base.steps[:n], base.w1[:n], base.b1[:n]
    k = min(upto + 1 - nb, len(live))
    steps = np.concatenate([base.steps, np.asarray(live.steps[:k]) + base.last_step])
    return steps, np.concatenate([base.w1, live.w1[:k]]), np.concatenate([base.b1, live.b1[:k]])


def trail_heights(steps, shown_step: float, depth: float) -> np.ndarray:
    """Where a trail point is drawn below the x axis: the shown step at 0 and step 0 at
    ``-depth``, on a log scale of the step (``log(1 + step)``), so the early steps, where the
    elbows move most, get most of the room. NaN stays NaN."""
    s = np.asarray(steps, dtype=np.float64)
    top = np.log1p(max(float(shown_step), 0.0))
    if top <= 0:
        return np.where(np.isnan(s), np.nan, 0.0)
    with np.errstate(invalid="ignore"):
        frac = np.clip(np.log1p(np.maximum(s, 0.0)) / top, 0.0, 1.0)
    return np.where(np.isnan(s), np.nan, -depth * (1.0 - frac))
