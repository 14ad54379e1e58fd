"""A 2-D slice of the training loss: the MSE over a grid of two parameters, all others fixed.

A parameter is named by a tuple: ``("w2", j)`` (unit j's output weight), ``("b2",)`` (the output
bias), ``("w1", j)`` / ``("b1", j)`` (its slope and bias as torch has them), ``("elbow", j)``
(its elbow ``e = -b/w``, moved with ``w`` kept, as dragging an elbow does) and ``("slope", j)``
(its ``w`` with the elbow kept, as dragging a slope handle does). Over the output layer the loss
is a convex quadratic (e.g. ``("w2", j)`` with ``("b2",)``: a bowl whose bottom is the
least-squares fit of those two coordinates); over a unit's elbow and slope it is not convex.

The grid is evaluated exactly and vectorised. Two parameters of different units (or one and
``b2``) change the prediction by separate terms, so ``n L[a, b] = |A_a|^2 + 2 A_a.B_b + |B_b|^2``
is one matrix product. Two parameters of one unit change its ``(w, b, w2)``; with the inputs
sorted, the unit is active on a prefix or a suffix of them (``x > -b/w`` for ``w > 0``), so each
grid point's loss is a closed form in prefix sums of ``1, x, x^2, r, r x`` (``r``: the residual
without the unit). A 200 x 200 grid at width 40 takes about a millisecond either way. Only a
ReLU network has that structure: :func:`loss_slice` refuses another activation (ValueError).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network import Network
from .gradients import training_xy
from .snapshots import snapshot_parameters

__all__ = ["PARAMETER_KINDS", "UNIT_KINDS", "LossSlice", "loss_slice", "parameter", "parameter_value",
           "parameter_label", "parameter_path", "slice_ranges", "DEFAULT_POINTS"]

#: Every kind of parameter a slice can vary, with how it reads.
PARAMETER_KINDS = {
    "w2": "output weight", "b2": "output bias", "elbow": "elbow", "slope": "slope (elbow kept)",
    "w1": "w (b kept)", "b1": "b (w kept)",
}
#: The kinds that belong to one hidden unit.
UNIT_KINDS = ("w2", "elbow", "slope", "w1", "b1")
#: Grid points per axis by default.
DEFAULT_POINTS = 200
#: Pairs of kinds of one unit that would set the same number twice.
_CONFLICTS = ({"w1", "slope"}, {"b1", "elbow"}, {"b1", "slope"})


def parameter(p, width: int | None = None) -> tuple:
    """``p`` checked and normalised: ``("b2",)`` or ``(kind, unit)``; "b2" alone is accepted."""
    if isinstance(p, str):
        p = (p,)
    try:
        p = tuple(p)
    except TypeError:
        raise ValueError(f"a parameter is a tuple such as ('w2', 3) or ('b2',), got {p!r}") from None
    if not p or p[0] not in PARAMETER_KINDS:
        raise ValueError(f"unknown parameter {p!r}; the kinds are {', '.join(PARAMETER_KINDS)}")
    if p[0] == "b2":
        if len(p) != 1:
            raise ValueError("('b2',) takes no unit")
        return ("b2",)
    if len(p) != 2 or isinstance(p[1], bool) or not isinstance(p[1], (int, np.integer)):
        raise ValueError(f"{p[0]!r} needs a unit index, e.g. ({p[0]!r}, 0)")
    j = int(p[1])
    if width is not None and not 0 <= j < width:
        raise ValueError(f"unit {j} does not exist (the network has units 0 to {width - 1})")
    return (p[0], j)


def parameter_label(p) -> str:
    p = parameter(p)
    return "b2 (output bias)" if p[0] == "b2" else f"{p[0]}[{p[1]}] ({PARAMETER_KINDS[p[0]]})"


def _unit(net: Network, j: int):
    w, b = float(net.w1[j]), float(net.b1[j])
    return w, b, float(net.w2[j])


def parameter_value(net: Network, p) -> float:
    """The current value of parameter ``p`` of ``net``."""
    p = parameter(p, net.width)
    if p[0] == "b2":
        return float(net.b2)
    w, b, w2 = _unit(net, p[1])
    return {"w2": w2, "w1": w, "slope": w, "b1": b,
            "elbow": -b / w if w != 0 else float("nan")}[p[0]]


def _path_values(s, p) -> np.ndarray:
    if p[0] == "b2":
        return s.b2.astype(np.float64)
    w = s.w1[:, p[1]].astype(np.float64)
    b = s.b1[:, p[1]].astype(np.float64)
    if p[0] == "elbow":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(w != 0, -b / w, np.nan)
    return {"w2": s.w2[:, p[1]].astype(np.float64), "w1": w, "slope": w, "b1": b}[p[0]]


def parameter_path(history, p) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, values)`` of parameter ``p`` over the snapshots of ``history`` (a Run, History or
    HistoryView): the path SGD took in it."""
    s = snapshot_parameters(history)
    p = parameter(p, s.w1.shape[1] if s.w1.ndim == 2 else None)
    return np.asarray(s.steps), _path_values(s, p)


def _default_half(net: Network, p, x) -> float:
    v = parameter_value(net, p)
    if p[0] == "elbow":
        return 0.5 * max(float(x.max() - x.min()), 1e-3)
    return max(abs(v), 0.5) if np.isfinite(v) else 1.0


def slice_ranges(net: Network, data, p1, p2, around=None, margin: float = 0.1):
    """Default grid ranges: each parameter's current value plus or minus a half-width (half the
    inputs' range for an elbow, else ``max(|v|, 0.5)``), widened to hold ``around`` (e.g. the
    SGD path: a pair of value arrays) with a ``margin``."""
    x, _y = training_xy(data)
    out = []
    for i, p in enumerate((parameter(p1, net.width), parameter(p2, net.width))):
        v = parameter_value(net, p)
        v = 0.0 if not np.isfinite(v) else v
        h = _default_half(net, p, x)
        lo, hi = v - h, v + h
        if around is not None:
            a = np.asarray(around[i], dtype=np.float64)
            a = a[np.isfinite(a)]
            if a.size:
                lo, hi = min(lo, a.min()), max(hi, a.max())
                pad = margin * (hi - lo)
                lo, hi = min(lo, a.min() - pad), max(hi, a.max() + pad)
        out.append((lo, hi))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class LossSlice:
    """``loss[a, b]``: the training MSE with ``p1 = v1[a]`` and ``p2 = v2[b]``, everything else
    as in the network. ``current``: the network's own ``(p1, p2)``; ``minimum``: the grid's
    lowest point and ``minimum_loss`` its loss."""

    p1: tuple
    p2: tuple
    v1: np.ndarray
    v2: np.ndarray
    loss: np.ndarray
    current: tuple
    current_loss: float
    minimum: tuple
    minimum_loss: float


def _unit_arrays(net: Network, j: int, given: dict, shape):
    """Unit ``j``'s ``(w, b, w2)`` over the grid when ``given`` kinds take the grid's values."""
    w0, b0, w20 = _unit(net, j)
    kinds = set(given)
    for pair in _CONFLICTS:
        if pair <= kinds:
            a, b = sorted(pair)
            raise ValueError(f"{a}[{j}] and {b}[{j}] both set unit {j}'s "
                             f"{'w' if 'w1' in pair else 'b'}: choose another pair")
    w = given.get("w1", given.get("slope", np.full(shape, w0)))
    if "elbow" in given:
        b = -given["elbow"] * w
    elif "slope" in given:
        e0 = -b0 / w0 if w0 != 0 else 0.0
        b = -e0 * w
    else:
        b = given.get("b1", np.full(shape, b0))
    w2 = given.get("w2", np.full(shape, w20))
    return (np.broadcast_to(w, shape).astype(np.float64), np.broadcast_to(b, shape).astype(np.float64),
            np.broadcast_to(w2, shape).astype(np.float64))


def _residual(net: Network, x, y):
    w1, b1, w2 = (a.astype(np.float64) for a in (net.w1, net.b1, net.w2))
    h = np.maximum(x[:, None] * w1[None, :] + b1[None, :], 0.0)
    return h @ w2 + float(net.b2) - y, h


def _contribution(net, p, vals, x):
    """The prediction's term that ``p`` controls, for every value: ``(len(vals), n)``."""
    if p[0] == "b2":
        return np.repeat(vals[:, None], x.size, axis=1)
    w, b, w2 = _unit_arrays(net, p[1], {p[0]: vals}, vals.shape)
    return w2[:, None] * np.maximum(w[:, None] * x[None, :] + b[:, None], 0.0)


def _current_term(net, p, x, h):
    return np.full(x.size, float(net.b2)) if p[0] == "b2" else h[:, p[1]] * float(net.w2[p[1]])


def _same_unit(net, p1, p2, v1, v2, x, r, h):
    """n L over the grid for two parameters of one unit (prefix sums; see the module docstring)."""
    j = p1[1]
    r0 = r - h[:, j] * float(net.w2[j])  # the residual without unit j
    order = np.argsort(x, kind="stable")
    xs, rs = x[order], r0[order]
    zero = np.zeros(1)
    cums = {k: np.concatenate([zero, np.cumsum(a)]) for k, a in
            (("1", np.ones_like(xs)), ("x", xs), ("xx", xs * xs), ("r", rs), ("rx", rs * xs))}
    shape = (v1.size, v2.size)
    w, b, w2 = _unit_arrays(net, j, {p1[0]: v1[:, None], p2[0]: v2[None, :]}, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(w != 0, -b / w, 0.0)
    right = np.searchsorted(xs, t, side="right")  # w > 0: active on x > t
    left = np.searchsorted(xs, t, side="left")  # w < 0: active on x < t
    n = xs.size
    pos, neg = w > 0, w < 0
    everything = (w == 0) & (b > 0)

    def active_sum(key):
        c = cums[key]
        return np.where(pos, c[n] - c[right], np.where(neg, c[left], np.where(everything, c[n], 0.0)))

    s1, sx, sxx, sr, srx = (active_sum(k) for k in ("1", "x", "xx", "r", "rx"))
    return (float(r0 @ r0) + 2.0 * w2 * (w * srx + b * sr)
            + w2 * w2 * (w * w * sxx + 2.0 * w * b * sx + b * b * s1))


#: The default ranges hold the lowest point of a coarse grid this many times wider.
COARSE_FACTOR, COARSE_POINTS = 4.0, 41


def _with_coarse_minimum(net, x, y, p1, p2, around):
    """``around`` plus the lowest point of a coarse, wider grid (so that the default view of a
    bowl shows its bottom, also when it lies beyond the default half-widths)."""
    (a0, a1), (b0, b1) = slice_ranges(net, (x, y), p1, p2)
    ca, cb = 0.5 * (a0 + a1), 0.5 * (b0 + b1)
    ha, hb = COARSE_FACTOR * 0.5 * (a1 - a0), COARSE_FACTOR * 0.5 * (b1 - b0)
    coarse = loss_slice(net, (x, y), p1, p2, (ca - ha, ca + ha), (cb - hb, cb + hb), COARSE_POINTS)
    m1, m2 = [coarse.minimum[0]], [coarse.minimum[1]]
    if around is None:
        return m1, m2
    return (np.append(np.asarray(around[0], float), m1), np.append(np.asarray(around[1], float), m2))


def loss_slice(net: Network, data, p1, p2, range1=None, range2=None, points: int = DEFAULT_POINTS,
               around=None) -> LossSlice:
    """The training MSE of ``net`` on ``data`` over a ``points`` x ``points`` grid of parameters
    ``p1`` and ``p2`` (see the module docstring for their names), all others fixed. ``range1``,
    ``range2``: ``(lo, hi)`` of each axis (default: :func:`slice_ranges`, holding ``around`` and
    the lowest point of a coarse grid four times as wide)."""
    if not net.activation.is_relu:
        raise ValueError(f"the loss slice is computed for ReLU networks only (its closed form uses "
                         f"where each ReLU unit is active); this network's activation is "
                         f"{net.activation.describe()}")
    x, y = training_xy(data)
    p1, p2 = parameter(p1, net.width), parameter(p2, net.width)
    if p1 == p2:
        raise ValueError(f"choose two different parameters (both are {parameter_label(p1)})")
    points = int(points)
    if not 2 <= points <= 2000:
        raise ValueError(f"points must be between 2 and 2000, got {points}")
    if range1 is None or range2 is None:
        around = _with_coarse_minimum(net, x, y, p1, p2, around)
    ranges = slice_ranges(net, (x, y), p1, p2, around)
    axes = []
    for given, default in ((range1, ranges[0]), (range2, ranges[1])):
        lo, hi = (float(v) for v in (given if given is not None else default))
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueError(f"a range must be two finite numbers lo < hi, got {given!r}")
        axes.append(np.linspace(lo, hi, points))
    v1, v2 = axes
    r, h = _residual(net, x, y)
    same = p1[0] != "b2" and p2[0] != "b2" and p1[1] == p2[1]
    if same:
        total = _same_unit(net, p1, p2, v1, v2, x, r, h)
    else:
        r0 = r - _current_term(net, p1, x, h) - _current_term(net, p2, x, h)
        a = r0[None, :] + _contribution(net, p1, v1, x)
        b = _contribution(net, p2, v2, x)
        total = (np.einsum("ij,ij->i", a, a)[:, None] + 2.0 * (a @ b.T)
                 + np.einsum("ij,ij->i", b, b)[None, :])
    loss = np.maximum(total, 0.0) / x.size  # rounding can dip a hair below 0 at an exact fit
    i, k = np.unravel_index(int(np.argmin(loss)), loss.shape)
    return LossSlice(p1=p1, p2=p2, v1=v1, v2=v2, loss=loss,
                     current=(parameter_value(net, p1), parameter_value(net, p2)),
                     current_loss=float(np.mean(r * r)), minimum=(float(v1[i]), float(v2[k])),
                     minimum_loss=float(loss[i, k]))
