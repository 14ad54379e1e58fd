"""Hand edits of a network and its data, computed exactly (the canvas only forwards positions).

A *handle* lets the user change a unit's slope while its elbow stays put: it sits on the unit's
pre-activation line ``z(x) = w (x - e)`` at an anchor ``x_a`` (the edge of the data range farther
from the elbow), so moving it vertically to height ``y`` gives ``w = y / (x_a - e)``, and moving it
through zero flips the sign. In the "scaled" view the handle sits on the unit's contribution
``w2 relu(z(x))`` at the edge where the unit is active and sets the output weight instead.

On the canvas the handles are laid out by :func:`handle_layout`: in a gutter just outside the data
range (so they never sit on the data points at its ends) and, where two would overlap, side by
side in lanes.
"""
from __future__ import annotations

import numpy as np

from .arrays import mse
from .dataset import Dataset
from .network import Network
from .ridge import features_of_hidden, ridge_coefficients, with_output_layer

__all__ = ["handle_anchors", "handle_positions", "handle_layout", "handle_sides", "slope_from_handle",
           "output_weight_from_handle", "evaluate_edit", "snap_to_data", "nearest_index", "data_range", "Drag", "click_action"]


def data_range(data: Dataset | None) -> tuple[float, float]:
    """The x range of the training inputs (a single input: one unit around it), where the slope
    handles sit."""
    if data is None or data.n == 0:
        return 0.0, 1.0
    lo, hi = float(data.x.min()), float(data.x.max())
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def handle_anchors(net: Network, x_lo: float, x_hi: float) -> np.ndarray:
    """Per unit, the anchor x of its handle: the end of ``[x_lo, x_hi]`` farther from its elbow."""
    e = np.nan_to_num(net.elbows, nan=0.5 * (x_lo + x_hi), posinf=x_hi, neginf=x_lo)
    mid = 0.5 * (x_lo + x_hi)
    return np.where(e <= mid, x_hi, x_lo).astype(np.float64)


def handle_sides(net: Network, x_lo: float, x_hi: float, scaled: bool = False) -> np.ndarray:
    """Per unit, True if its handle goes at the right end of ``[x_lo, x_hi]`` (see
    :func:`handle_positions`), False for the left end."""
    if not scaled:
        return handle_anchors(net, x_lo, x_hi) == x_hi
    w = net.w1.astype(np.float64)
    b = net.b1.astype(np.float64)
    return (w * x_hi + b) >= (w * x_lo + b)


def handle_heights(net: Network, xs, scaled: bool = False) -> np.ndarray:
    """The height of each unit's handle at ``xs`` (one x per unit): its pre-activation there,
    or (``scaled``) its contribution ``w2 relu(w x + b)``."""
    xs = np.asarray(xs, dtype=np.float64)
    z = net.w1.astype(np.float64) * xs + net.b1.astype(np.float64)
    return np.maximum(z, 0.0) * net.w2.astype(np.float64) if scaled else z


def handle_layout(net: Network, x_lo: float, x_hi: float, scaled: bool = False, gap: float = 0.0,
                  lane: float = 0.0, min_dy: float = 0.0, lanes: int = 3, shown=None):
    """(xs, ys) of every unit's handle as the canvas lays them out: on the side
    :func:`handle_sides` chooses, ``gap`` outside the data range ``[x_lo, x_hi]`` (so no handle
    sits on the data at its ends), and, among the ``shown`` units (default: all), a handle that
    would come within ``min_dy`` of another on the same side moves ``lane`` further out (at most
    ``lanes`` lanes; beyond that they may overlap). Each handle stays on its unit's line: its
    height is the line's at its x."""
    right = handle_sides(net, x_lo, x_hi, scaled)
    xs = np.where(right, x_hi + gap, x_lo - gap).astype(np.float64)
    shown = np.arange(net.width) if shown is None else np.asarray(shown, dtype=np.int64)
    if lane > 0 and min_dy > 0 and lanes > 1 and shown.size > 1:
        y0 = handle_heights(net, xs, scaled)
        for side in (True, False):
            units = shown[right[shown] == side]
            units = units[np.argsort(y0[units], kind="stable")]
            last = np.full(lanes, -np.inf)  # the highest handle placed in each lane so far
            offsets = (1.0 if side else -1.0) * lane * np.arange(lanes)
            for j in units:
                # Lowest to highest: the first lane where it clears that lane's highest handle
                # (so any two in one lane are min_dy apart), else the least crowded one.
                y_lanes = np.array([_height(net, j, xs[j] + d, scaled) for d in offsets])
                free = np.flatnonzero(last <= y_lanes - min_dy)
                k = int(free[0]) if free.size else int(np.argmin(last))
                xs[j] += offsets[k]
                last[k] = max(last[k], y_lanes[k])
    return xs, handle_heights(net, xs, scaled)


def _height(net: Network, j: int, x: float, scaled: bool) -> float:
    z = float(net.w1[j]) * x + float(net.b1[j])
    return max(z, 0.0) * float(net.w2[j]) if scaled else z


def handle_positions(net: Network, x_lo: float, x_hi: float, scaled: bool = False):
    """(xs, ys) of every unit's handle at the ends of the data range (see the module docstring)."""
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
    h = net.hidden(data.x)
    dead = ~(h > 0).any(axis=0)
    f = features_of_hidden(h)
    if ridge_follow:
        net = with_output_layer(net, ridge_coefficients(f, data.y, lam))
    pred = f[:, :-1] @ net.w2.astype(np.float64) + net.b2
    return net, mse(pred, data.y), dead


# --------------------------------------------------------------------------- gestures
#: What each kind of drag changes, for the name of its undo step.
_DRAG_TEXT = {"elbow": "Move elbow {j}", "handle": "Change slope of unit {j}",
              "scaled_handle": "Change output weight of unit {j}",
              "unitline": "Change output weight of unit {j}", "point": "Move data point"}


class Drag:
    """One drag on the canvas, as a state machine over plain events (no Qt).

    ``Drag(kind, index, network, data, scaled)`` starts it on an elbow, a slope handle, a unit's
    line (the scaled view) or a data point of the shown ``network`` and ``data`` (``anchor``:
    the x where the grabbed handle is drawn, default :func:`handle_positions`'); every
    ``move(x, y, snap)`` returns the ``(network, data)`` the drag makes at that pointer position,
    always computed from the start (so a drag is exact, and one undo step named :attr:`text`).
    """

    def __init__(self, kind: str, index: int, network: Network, data: Dataset, scaled: bool = False,
                 anchor: float | None = None):
        if kind not in ("elbow", "handle", "unitline", "point"):
            raise ValueError(f"unknown drag target {kind!r}")
        self.kind, self.index = kind, int(index)
        self.network, self.data, self.scaled = network, data, bool(scaled)
        self.anchor: float | None = None
        if kind == "handle":  # the handle's x stays where the drag began (where it is drawn)
            if anchor is None:
                xs, _ys = handle_positions(network, *data_range(data), scaled=scaled)
                anchor = xs[self.index]
            self.anchor = float(anchor)
        key = "scaled_handle" if kind == "handle" and scaled else kind
        self.text = _DRAG_TEXT[key].format(j=self.index)

    @property
    def unit(self) -> int | None:
        """The unit the drag changes (None for a data point)."""
        return None if self.kind == "point" else self.index

    def move(self, x: float, y: float, snap: bool = False) -> tuple[Network, Dataset]:
        """The network and data at pointer ``(x, y)``; ``snap`` (Shift) puts an elbow on the
        nearest training input. Raises ValueError where the gesture is undefined (a handle on
        its elbow, an output weight where the unit is zero)."""
        j, net, data = self.index, self.network, self.data
        if self.kind == "elbow":
            return net.with_elbow(j, snap_to_data(x, data) if snap else x), data
        if self.kind == "handle" and not self.scaled:
            return slope_from_handle(net, j, self.anchor, y), data
        if self.kind in ("handle", "unitline"):
            if self.anchor is None:
                self.anchor = float(x)
            return output_weight_from_handle(net, j, self.anchor, y), data
        xs, ys = np.array(data.x), np.array(data.y)
        xs[j], ys[j] = x, y
        return net, data.with_points(xs, ys)


def click_action(target_kind: str | None, button: str, ctrl: bool, data_edit_mode: bool) -> str | None:
    """What a click on the canvas means: ``"select_unit"``, ``"select_point"``,
    ``"delete_point"``, ``"add_point"``, ``"clear_selection"`` or None.

    ``target_kind`` is what lies under the pointer ("elbow", "handle", "unitline", "point" or
    None), ``button`` "left" or "right"; Ctrl+click adds a point anywhere, a plain click does in
    the data-edit mode, where a right click deletes one.
    """
    if target_kind in ("elbow", "handle", "unitline") and button == "left":
        return "select_unit"
    if target_kind == "point" and button == "right" and data_edit_mode:
        return "delete_point"
    if target_kind == "point" and button == "left":
        return "select_point"
    if target_kind is None and button == "left":
        return "add_point" if (ctrl or data_edit_mode) else "clear_selection"
    return None
