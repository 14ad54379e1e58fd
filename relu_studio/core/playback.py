"""The timeline's step axis and playback: where each snapshot sits, which one a tick shows.

On a *linear* timeline every snapshot gets an equal share of the slider and playback shows one
snapshot per tick. On a *log step axis* a snapshot at step ``s`` sits at ``u(s) = ln(1 + s/k)``,
scaled to [0, 1], where the knee ``k`` is the usual spacing of the snapshots (the median gap
between consecutive steps: 1000 in the notebook). The notebook's first 30 000 of 150 000 steps,
where the elbows migrate, then take ln 31 / ln 151 = 68 % of the axis instead of 20 %. A small
share (:data:`INDEX_SHARE`) of each position comes from the snapshot's index, so positions
strictly increase and every snapshot stays reachable, also several taken at one step (hand
edits, a ridge fit).

*Log-time playback* walks the log positions at a constant speed, one ``1/(n-1)`` per tick:
the whole playback takes as many ticks as the linear one, early snapshots are held for several
ticks and later ones are passed over in groups.
"""
from __future__ import annotations

import numpy as np

__all__ = ["INDEX_SHARE", "snapshot_knee", "log_positions", "index_at", "nearest_index",
           "log_playback_tick"]

#: The share of a log-axis position that comes from the snapshot's index (keeps positions
#: strictly increasing; 2 % is under one pixel per snapshot on a typical slider of 150 snapshots).
INDEX_SHARE = 0.02
_TOL = 1e-12


def snapshot_knee(steps) -> float:
    """The usual spacing of the snapshots: the median of the positive gaps between consecutive
    steps (1 if there is none)."""
    s = np.asarray(steps, dtype=np.float64)
    gaps = np.diff(s)
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if gaps.size else 1.0


def log_positions(steps, knee: float | None = None) -> np.ndarray:
    """Each snapshot's position in [0, 1] on a log step axis (see the module's docstring).
    ``steps`` must not decrease; a single snapshot sits at 0."""
    s = np.asarray(steps, dtype=np.float64)
    n = s.size
    if n <= 1:
        return np.zeros(n)
    k = snapshot_knee(s) if knee is None else float(knee)
    u = np.log1p(np.maximum(s - s[0], 0.0) / k)
    span = u[-1] - u[0]
    by_index = np.arange(n) / (n - 1)
    if span <= 0:
        return by_index
    return (1 - INDEX_SHARE) * (u - u[0]) / span + INDEX_SHARE * by_index


def index_at(positions, u: float) -> int:
    """The last snapshot at or before position ``u`` (0 if ``u`` precedes them all)."""
    return max(0, int(np.searchsorted(positions, u + _TOL, side="right")) - 1)


def nearest_index(positions, u: float) -> int:
    """The snapshot nearest to position ``u``."""
    p = np.asarray(positions)
    i = index_at(p, u)
    if i + 1 < p.size and abs(p[i + 1] - u) < abs(u - p[i]):
        return i + 1
    return i


def log_playback_tick(positions, index: int, u: float) -> tuple[int, float]:
    """One tick of log-time playback: from snapshot ``index`` at playback position ``u``, the
    snapshot to show next and the new position. The position never falls behind the shown
    snapshot (the user may have scrubbed ahead) and the index never goes back."""
    p = np.asarray(positions)
    n = p.size
    if n <= 1:
        return 0, 0.0
    u = max(float(u), float(p[index])) + 1.0 / (n - 1)
    return max(int(index), index_at(p, u)), u
