"""Hand edits of a network and its data, computed exactly (the canvas only forwards positions).

A *handle* lets the user change a unit's slope while its elbow stays put: it sits on the unit's
pre-activation line ``z(x) = w (x - e)`` at an anchor ``x_a`` (the edge of the data range farther
from the elbow), so moving it vertically to height ``y`` gives ``w = y / (x_a - e)``, and moving it
through zero flips the sign. In the "scaled" view the handle sits on the unit's contribution
``w2 relu(z(x))`` at the edge where the unit is active and sets the output weight instead.
"""
from __future__ import annotations

import numpy as np

from .dataset import Dataset
from .network import Network

__all__ = ["handle_anchors", "handle_positions", "slope_from_handle", "output_weight_from_handle", "evaluate_edit",
           "snap_to_data", "nearest_index"]


def handle_anchors(net: Network, x_lo: float, x_hi: float) -> np.ndarray:
    """Per unit, the anchor x of its handle: the end of ``[x_lo, x_hi]`` farther from its elbow."""
    e = np.nan_to_num(net.elbows, nan=0.5 * (x_lo + x_hi), posinf=x_hi, neginf=x_lo)
    mid = 0.5 * (x_lo + x_hi)
    return np.where(e <= mid, x_hi, x_lo).astype(np.float64)


def handle_positions(net: Network, x_lo: float, x_hi: float, scaled: bool = False):
    """(xs, ys) of every unit's handle (see the module docstring)."""
    xa = handle_anchors(net, x_lo, x_hi)
    w = net.w1.astype(np.float64)
    b = net.b1.astype(np.float64)
    if not scaled:
        return xa, w * xa + b
    # On the contribution line, at the edge where the unit is active (else where it is largest).
    z_lo, z_hi = w * x_lo + b, w * x_hi + b
    xs = np.where(z_hi >= z_lo, x_hi, x_lo).astype(np.float64)
    return xs, np.maximum(w * xs + b, 0.0) * net.w2.astype(np.float64)


def slope_from_handle(net: Network, j: int, anchor_x: float, y: float) -> Network:
    """Unit ``j`` with the slope that puts its pre-activation at height ``y`` over ``anchor_x``."""
    e = float(net.elbows[j])
    run = float(anchor_x) - e
    if not np.isfinite(run) or abs(run) < 1e-12:
        raise ValueError("the handle sits on the elbow; its slope is undefined there")
    return net.with_slope(j, float(y) / run)


def output_weight_from_handle(net: Network, j: int, x: float, y: float) -> Network:
    """Unit ``j`` with the output weight that makes its contribution at ``x`` equal ``y``."""
    h = max(float(net.w1[j]) * float(x) + float(net.b1[j]), 0.0)
    if h <= 1e-12:
        raise ValueError("the unit is zero there; its output weight cannot be set from this point")
    return net.with_unit(j, w2=np.float32(float(y) / h))


def snap_to_data(x: float, data: Dataset) -> float:
    """The training input nearest to ``x`` (Shift while dragging)."""
    return float(data.x[nearest_index(data.x, x)]) if data.n else float(x)


def nearest_index(values, x: float) -> int:
    values = np.asarray(values, dtype=np.float64)
    return int(np.argmin(np.abs(values - float(x))))


def evaluate_edit(net: Network, data: Dataset, lam: float, ridge_follow: bool):
    """One drag event's numbers, with the hidden layer computed once on the training inputs.

    Returns ``(network, full_train_mse, dead_mask)``; with ``ridge_follow`` the network's output
    layer is the ridge solution on its features (exactly what ``fit_ridge`` returns).
    """
    from .ridge import ridge_coefficients

    h = net.hidden(data.x)
    dead = ~(h > 0).any(axis=0)
    h64 = h.astype(np.float64)
    if ridge_follow:
        f = np.empty((h.shape[0], h.shape[1] + 1))
        f[:, :-1] = h64
        f[:, -1] = 1.0
        coeffs = ridge_coefficients(f, data.y, lam)
        if not np.all(np.isfinite(coeffs)):
            raise ValueError("the ridge solution is not finite; increase λ")
        net = net.replace(w2=coeffs[:-1].astype(np.float32), b2=float(np.float32(coeffs[-1])))
    pred = h64 @ net.w2.astype(np.float64) + net.b2
    return net, float(np.mean((pred - data.y) ** 2)), dead
