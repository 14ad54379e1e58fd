"""The full-batch gradient of the training MSE and what one SGD step does with it (HW0 P6).

The loss is the notebook's ``MSELoss``: ``L = mean((f(x_i) - y_i)^2)`` over the training points,
with ``f(x) = w2 . relu(w1 x + b1) + b2``. With the residual ``r_i = f(x_i) - y_i`` and unit
``j`` active at ``x_i`` (``w1_j x_i + b1_j > 0``; ReLU's derivative at 0 is 0, as torch's):

    dL/dw2_j = 2/n sum_i r_i relu(w1_j x_i + b1_j)       dL/db2 = 2/n sum_i r_i
    dL/dw1_j = 2/n sum_i r_i w2_j [active] x_i            dL/db1_j = 2/n sum_i r_i w2_j [active]

so each unit's gradient is the residual weighted by where the unit is active. Training draws
minibatches *with replacement*, so the full-batch gradient is the expected minibatch gradient:
the lens shows where SGD moves on average.

One SGD step at learning rate ``lr`` changes a parameter by ``-lr`` times its gradient; in the
output-layer-only mode the hidden layer's step is zero by construction. The elbow ``e = -b/w``
then moves by, to first order, ``de = -(db w - b dw) / w^2``. :func:`elbow_velocity` reports
it *linearised*: one step's first-order change times ``per`` (1000 by default), i.e. the speed in
x per 1000 steps if the gradient stayed what it is now; the exact change of one step is there too.

Everything is computed in float64 from the network's float32 parameters. Another activation
than ReLU (``net.activation``) replaces ``relu`` by the activation and ``[active]`` by its
derivative (torch's convention at a kink, core.activations); the loss stays the MSE.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dataset import validated_points
from ..network import Network
from ..settings import DEFAULT_LR, SGD_MODES, SettingsError, check_mode

__all__ = ["Gradients", "ElbowVelocity", "gradients", "elbow_velocity", "handle_velocity",
           "training_xy", "PER_STEPS"]

#: Velocities are given per this many steps.
PER_STEPS = 1000


def training_xy(data) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` as float64 vectors from a Dataset or an ``(x, y)`` pair."""
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    else:
        try:
            x, y = data
        except (TypeError, ValueError):
            raise TypeError("data must be a relu_studio Dataset or an (x, y) pair") from None
    return validated_points(x, y)  # float64 vectors, same length, finite (a DataError says why)


def _params(net: Network):
    if not isinstance(net, Network):
        raise TypeError("expected a relu_studio Network")
    f = np.float64
    return net.w1.astype(f), net.b1.astype(f), net.w2.astype(f), float(net.b2)


def _value_and_derivative(net: Network, z):
    """``(act(z), act'(z))`` in float64: for ReLU ``where(z > 0, z, 0)`` and the gate ``z > 0``."""
    act = net.activation
    if act.is_relu:
        active = z > 0
        return np.where(active, z, 0.0), active
    return act.value64(z), act.derivative64(z)


@dataclass(frozen=True, eq=False)
class Gradients:
    """``dL/d(parameter)`` of the full-batch training MSE, per parameter (float64), with the
    loss and the residual ``f(x) - y`` at the training inputs."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float
    loss: float
    residual: np.ndarray

    def flat(self) -> np.ndarray:
        """All of it as one vector in torch's parameter order: w1, b1, w2, b2."""
        return np.concatenate([self.w1, self.b1, self.w2, [self.b2]])


def gradients(net: Network, data) -> Gradients:
    """The full-batch gradient of the training MSE of ``net`` on ``data`` (a Dataset or an
    ``(x, y)`` pair)."""
    x, y = training_xy(data)
    w1, b1, w2, b2 = _params(net)
    z = x[:, None] * w1[None, :] + b1[None, :]
    h, active = _value_and_derivative(net, z)
    r = h @ w2 + b2 - y
    g = (2.0 / x.size) * r  # dL/df_i
    ga = g @ active  # sum_i g_i [active_ij] (for ReLU; else g_i act'(z_ij))
    gx = (g * x) @ active
    return Gradients(w1=w2 * gx, b1=w2 * ga, w2=g @ h, b2=float(g.sum()),
                     loss=float(np.mean(r * r)), residual=r)


@dataclass(frozen=True, eq=False)
class ElbowVelocity:
    """What SGD does to each unit at the current point, per :data:`PER_STEPS` steps.

    ``dw1, db1, dw2, db2``: one step's change (``-lr`` times the gradient; the hidden layer's is
    zero in the output-only mode). ``elbow``: the elbows' velocity in x per ``per`` steps,
    linearised (``per`` times the first-order one-step change ``-(db w - b dw) / w^2``; NaN for
    a unit with ``w = 0``, whose elbow is at infinity). ``slope`` and ``output_weight``: the
    change of ``w1`` and ``w2`` per ``per`` steps. ``elbow_step``: the exact change of ``-b/w``
    after one step (no linearisation)."""

    mode: str
    lr: float
    per: int
    gradients: Gradients
    dw1: np.ndarray
    db1: np.ndarray
    dw2: np.ndarray
    db2: float
    elbow: np.ndarray
    slope: np.ndarray
    output_weight: np.ndarray
    elbow_step: np.ndarray

    @property
    def moves_elbows(self) -> bool:
        """False in the output-only mode: the elbows stand still by construction."""
        return self.mode == "all"


def elbow_velocity(net: Network, data, lr: float | None = None, mode: str = "all",
                   per: int = PER_STEPS) -> ElbowVelocity:
    """Where one full-batch SGD step at ``lr`` (default: the notebook's for ``mode``) moves each
    elbow and slope, scaled to ``per`` steps (see :class:`ElbowVelocity`). ``mode`` is
    "all" (all layers) or "output" (output layer only: zero elbow velocity by construction)."""
    try:
        mode = check_mode(mode, SGD_MODES)
    except SettingsError as exc:
        raise ValueError(f"{exc} (ridge solves the output layer in closed form: it has no SGD "
                         "step and no velocity)") from None
    lr = DEFAULT_LR[mode] if lr is None else float(lr)
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive number, got {lr}")
    per = int(per)
    if per < 1:
        raise ValueError(f"per must be at least 1 step, got {per}")
    g = gradients(net, data)
    w, b, _w2, _b2 = _params(net)
    if mode == "all":
        dw, db = -lr * g.w1, -lr * g.b1
    else:
        dw, db = np.zeros_like(w), np.zeros_like(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        de = np.where(w != 0, -(db * w - b * dw) / (w * w), np.nan)
        step = np.where((w != 0) & (w + dw != 0), -(b + db) / (w + dw) + b / w, np.nan)
    if mode == "output":  # exactly zero, not a rounding of -(0*w - b*0)/w^2
        de = np.where(w != 0, 0.0, np.nan)
        step = de.copy()
    return ElbowVelocity(mode=mode, lr=lr, per=per, gradients=g, dw1=dw, db1=db,
                         dw2=-lr * g.w2, db2=-lr * g.b2, elbow=de * per, slope=dw * per,
                         output_weight=-lr * g.w2 * per, elbow_step=step)


def handle_velocity(net: Network, v: ElbowVelocity, xs, scaled: bool = False) -> np.ndarray:
    """The change per ``v.per`` steps (linearised) of each unit's slope handle drawn at ``xs``
    (one x per unit): its pre-activation ``w x + b`` there, or (``scaled``) its contribution
    ``w2 act(w x + b)``, whose height is what the handle sets."""
    w, b, w2, _b2 = _params(net)
    xs = np.asarray(xs, dtype=np.float64)
    dz = v.dw1 * xs + v.db1
    if not scaled:
        return dz * v.per
    h, d = _value_and_derivative(net, w * xs + b)
    return (v.dw2 * h + w2 * np.where(d != 0, d * dz, 0.0)) * v.per
