"""Hand edits of a network and its data, computed exactly (the canvas only forwards positions).

A *handle* lets the user change a unit's slope while its elbow stays put: it sits on the unit's
pre-activation line ``z(x) = w (x - e)`` at an anchor ``x_a`` (the edge of the data range farther
from the elbow), so moving it vertically to height ``y`` gives ``w = y / (x_a - e)``, and moving it
through zero flips the sign. In the "scaled" view the handle sits on the unit's contribution
``w2 relu(z(x))`` at the edge where the unit is active and sets the output weight instead.
"""
from __future__ import annotations

import numpy as np

from .arrays import mse
from .dataset import Dataset
from .network import Network
from .ridge import features_of_hidden, ridge_coefficients, with_output_layer

__all__ = ["handle_anchors", "handle_positions", "slope_from_handle", "output_weight_from_handle",
           "evaluate_edit", "snap_to_data", "nearest_index", "data_range", "Drag", "click_action"]


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
    line (the scaled view) or a data point of the shown ``network`` and ``data``; every
    ``move(x, y, snap)`` returns the ``(network, data)`` the drag makes at that pointer position,
    always computed from the start (so a drag is exact, and one undo step named :attr:`text`).
    """

    def __init__(self, kind: str, index: int, network: Network, data: Dataset, scaled: bool = False):
        if kind not in ("elbow", "handle", "unitline", "point"):
            raise ValueError(f"unknown drag target {kind!r}")
        self.kind, self.index = kind, int(index)
        self.network, self.data, self.scaled = network, data, bool(scaled)
        self.anchor: float | None = None
        if kind == "handle":  # the handle's x stays where the drag began
            xs, _ys = handle_positions(network, *data_range(data), scaled=scaled)
            self.anchor = float(xs[self.index])
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
