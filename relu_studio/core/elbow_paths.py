"""Elbow paths: every hidden unit's elbow ``x = -b/w`` against the step, as polylines to draw.

A unit's elbow is where its ReLU ``max(0, w x + b)`` bends. While ``w`` keeps its sign the elbow
moves continuously; when ``w`` passes through 0 the elbow runs off to infinity on one side and
comes back from the other (and at ``w = 0`` the unit has no elbow at all). Joining the snapshots
on either side of such a crossing would draw a line across the whole plot that no elbow ever
took, so a path is broken (a NaN) wherever ``w`` changes sign or is 0 or not finite.

The result is one pair of flat arrays for all units, unit after unit, each unit's points
followed by a NaN: a plot item draws it with one pen (``connect="finite"``).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["elbows_of", "elbow_paths", "log_step_view", "CLIP"]

#: Elbows farther than this from 0 are drawn at this distance: a plotting library rasterises
#: coordinates of 1e30 poorly, and any view of the data sees such a segment as vertical anyway.
CLIP = 1e6


def elbows_of(w, b) -> np.ndarray:
    """``-b / w`` elementwise, NaN where ``w`` is 0 or either value is not finite."""
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = -b / w
    return np.where((w != 0) & np.isfinite(w) & np.isfinite(b) & np.isfinite(e), e, np.nan)


def elbow_paths(steps, w, b, clip: float = CLIP) -> tuple[np.ndarray, np.ndarray]:
    """The polylines of every unit's elbow against the step.

    ``steps`` (n,) are the snapshots' steps (increasing); ``w`` and ``b`` (n, H) the hidden
    layer's slopes and biases at each (or (n,) for one unit). Returns flat ``(x, y)``: unit after
    unit, each unit's n points (``x`` the step, ``y`` the elbow ``-b/w``) with a NaN inserted
    between two consecutive snapshots where ``w`` has different signs, and a NaN after the
    unit's last point. A point is NaN in ``y`` where the unit has no elbow (``w = 0``, or a value
    is not finite). Elbows beyond ``±clip`` are clipped to it. Length ``H * (n + 1)`` plus one
    per sign change.
    """
    steps = np.asarray(steps, dtype=np.float64).ravel()
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = steps.size
    if w.ndim == 1:
        w, b = w[:, None], b[:, None]
    if w.shape != b.shape or w.shape[0] != n:
        raise ValueError(f"w and b must be (steps, units) = ({n}, H), got {w.shape} and {b.shape}")
    h = w.shape[1]
    if n == 0 or h == 0:
        return np.zeros(0), np.zeros(0)
    e = np.clip(elbows_of(w, b), -clip, clip)
    sign = np.where(np.isfinite(w), np.sign(w), 0.0)
    # A break after row i (between snapshots i and i+1) of unit j: the slope is positive at one
    # end and negative at the other (a 0 or non-finite slope already makes its point NaN, which
    # breaks the line on both sides).
    brk = sign[1:] * sign[:-1] < 0  # (n-1, H)
    # Each unit's slot: its n points, one NaN after every break, and a NaN at the end.
    per_unit = n + 1 + brk.sum(axis=0)  # (H,)
    total = int(per_unit.sum())
    x = np.full(total, np.nan)
    y = np.full(total, np.nan)
    # Where each point goes: its row index plus the breaks before it within the unit, plus the
    # unit's offset.
    shift = np.vstack([np.zeros((1, h), dtype=np.int64), np.cumsum(brk, axis=0)])  # (n, H)
    offset = np.concatenate([[0], np.cumsum(per_unit)[:-1]])  # (H,)
    pos = offset[None, :] + np.arange(n)[:, None] + shift  # (n, H)
    x[pos.T.ravel()] = np.broadcast_to(steps[:, None], (n, h)).T.ravel()
    y[pos.T.ravel()] = e.T.ravel()
    return x, y


def log_step_view(steps) -> tuple[float, float] | None:
    """The step range a log step axis shows by default: up to the last step, from half a decade
    below the first snapshot after step 1 (the notebook snapshots step 1, then every 1 000: the
    three empty decades between them would take most of the axis), or from the first positive
    step if there is no such second one. None if no step is positive."""
    s = np.unique(np.asarray(steps, dtype=np.float64))
    s = s[np.isfinite(s) & (s > 0)]
    if s.size == 0:
        return None
    hi = float(s[-1])
    later = s[s > 1]
    if s[0] <= 1 and later.size >= 2:
        lo = max(float(s[0]), float(later[0]) / math.sqrt(10.0))
    else:
        lo = float(s[0])
    if hi <= lo:
        hi = lo * 10.0
    return lo, hi
