"""What the canvas draws, computed exactly: the network and its units as polylines.

Every unit's ``max(0, w x + b)`` is linear on each side of its elbow, and the prediction is linear
between consecutive elbows, so the polylines below are exact at any zoom (no sampling error).
"""
from __future__ import annotations

import numpy as np

from .network import Network

__all__ = ["unit_polylines", "prediction_polyline", "unit_table"]


def unit_polylines(net: Network, x0: float, x1: float, scaled: bool = False):
    """All units as one NaN-separated polyline over ``[x0, x1]`` (for a single plot item).

    Returns ``(xs, ys)`` of length ``4 H``: per unit the points at ``x0``, the elbow clipped into
    the view, ``x1``, then a NaN break. ``scaled`` multiplies each unit by its output weight.
    """
    w = net.w1.astype(np.float64)
    b = net.b1.astype(np.float64)
    e = np.clip(np.nan_to_num(net.elbows, nan=x0, posinf=x1, neginf=x0), x0, x1)
    xs = np.empty((net.width, 4))
    xs[:, 0], xs[:, 1], xs[:, 2], xs[:, 3] = x0, e, x1, np.nan
    ys = np.maximum(w[:, None] * xs[:, :3] + b[:, None], 0.0)
    if scaled:
        ys = ys * net.w2.astype(np.float64)[:, None]
    ys = np.concatenate([ys, np.full((net.width, 1), np.nan)], axis=1)
    return xs.ravel(), ys.ravel()


def prediction_polyline(net: Network, x0: float, x1: float, extra_points: int = 0):
    """The prediction over ``[x0, x1]`` through every elbow inside it: exact for a ReLU network."""
    e = net.elbows
    e = e[np.isfinite(e) & (e > x0) & (e < x1)]
    parts = [np.array([x0, x1]), e]
    if extra_points:
        parts.append(np.linspace(x0, x1, extra_points))
    xs = np.unique(np.concatenate(parts))
    return xs, net.predict(xs)


def unit_table(net: Network, x) -> dict:
    """Per-unit readouts: elbow, w, b, output weight, and whether the unit is dead on ``x``."""
    return {
        "elbow": net.elbows,
        "w": net.w1.astype(np.float64),
        "b": net.b1.astype(np.float64),
        "out": net.w2.astype(np.float64),
        "dead": net.dead_units(x),
    }
