"""The gradient features (EECS182 HW1 P6, "features from local linearization"; the NTK).

Linearised around its parameters ``θ``, the network is ``f(x; θ + dθ) ≈ f(x; θ) + J(x) dθ``:
a linear model whose features are the rows of the Jacobian ``J(x) = df(x)/dθ``. With ``θ`` in
torch's order (``w1``, ``b1``, ``w2``, ``b2``: ``3H + 1`` numbers) and ``a_j = [w1_j x + b1_j > 0]``:

    df/dw1_j = w2_j a_j x     df/db1_j = w2_j a_j     df/dw2_j = relu(w1_j x + b1_j)     df/db2 = 1

Another activation than ReLU replaces ``a_j`` by its derivative at ``w1_j x + b1_j`` and ``relu``
by the activation (``net.activation``).

The last ``H + 1`` columns are the hidden features ``[relu(x w1 + b1), 1]``: the output-layer
block, the only one output-only training (and the ridge solve) uses. Training all layers adds
the first ``2H`` columns: more directions in which the prediction can move.

:func:`gradient_features` takes the SVD ``J = U S V^T`` at the training inputs and draws the
top-k left singular vectors as functions of x through the same Jacobian:
``u_k(x) = J(x) v_k / s_k``, which equals ``U[:, k]`` at the training inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network import Network

__all__ = ["jacobian", "hidden_block", "GradientFeatures", "gradient_features", "parameter_names"]


def _as_x(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).ravel()


def jacobian(net: Network, x) -> np.ndarray:
    """``df(x_i)/dθ`` for every input, shape ``(len(x), 3H + 1)``, columns in torch's parameter
    order ``w1, b1, w2, b2`` (float64)."""
    x = _as_x(x)
    w1, b1, w2 = (a.astype(np.float64) for a in (net.w1, net.b1, net.w2))
    h_ = w1.size
    z = x[:, None] * w1[None, :] + b1[None, :]
    j = np.empty((x.size, 3 * h_ + 1))
    if net.activation.is_relu:
        active = z > 0
        gate = np.where(active, w2[None, :], 0.0)
        j[:, 2 * h_:3 * h_] = np.where(active, z, 0.0)
    else:
        gate = w2[None, :] * net.activation.derivative64(z)
        j[:, 2 * h_:3 * h_] = net.activation.value64(z)
    j[:, :h_] = gate * x[:, None]
    j[:, h_:2 * h_] = gate
    j[:, -1] = 1.0
    return j


def hidden_block(jac: np.ndarray) -> np.ndarray:
    """The output-layer columns ``[relu(x w1 + b1), 1]`` of a Jacobian from :func:`jacobian`."""
    h_ = (jac.shape[1] - 1) // 3
    return jac[:, 2 * h_:]


def parameter_names(width: int) -> list[str]:
    """The Jacobian's column names: ``w1[0]`` ... ``b2``."""
    return [f"{p}[{j}]" for p in ("w1", "b1", "w2") for j in range(width)] + ["b2"]


@dataclass(frozen=True, eq=False)
class GradientFeatures:
    """The Jacobian's spectrum at the training inputs and its top singular vectors.

    ``singular_values``: of the full ``J`` (n x (3H+1)), descending. ``hidden_singular_values``:
    of its output-layer block (the hidden features). ``grid`` and ``vectors`` (k x len(grid)):
    the top-k left singular vectors as functions of x (NaN rows past the numerical rank);
    ``at_data`` (n x k): the same at the training inputs (``U[:, :k]``). ``residual_fraction``:
    the share ``|U_k^T r|^2 / |r|^2`` of the residual ``r = f(x) - y`` in the span of the top-k
    directions (NaN when no targets were given), and ``residual_fractions[i]`` the same for the
    top ``i + 1``. ``rank`` and ``hidden_rank``: the numerical ranks of ``J`` and of its hidden
    block (singular values above ``max(shape) * eps * s[0]``, numpy's ``matrix_rank`` rule; those
    below are round-off, not directions). Sign: each vector's largest value on
    the grid is positive."""

    x: np.ndarray
    singular_values: np.ndarray
    hidden_singular_values: np.ndarray
    grid: np.ndarray
    vectors: np.ndarray
    at_data: np.ndarray
    residual_fraction: float
    residual_fractions: np.ndarray
    rank: int
    hidden_rank: int

    @property
    def k(self) -> int:
        return int(self.vectors.shape[0])


def _rank(s: np.ndarray, shape) -> int:
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > max(shape) * np.finfo(np.float64).eps * s[0]))


def gradient_features(net: Network, data, k: int = 4, grid=None) -> GradientFeatures:
    """The gradient features of ``net`` at the training inputs of ``data`` (a Dataset, an
    ``(x, y)`` pair, or just the inputs ``x``; the residual share needs the targets), with the
    top-``k`` singular vectors drawn on ``grid`` (default: 400 points over the inputs' range)."""
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = _as_x(data.x), _as_x(data.y)
    elif isinstance(data, tuple) and len(data) == 2:
        x, y = _as_x(data[0]), _as_x(data[1])
    else:
        x, y = _as_x(data), None
    if x.size == 0:
        raise ValueError("no inputs: the Jacobian needs at least one x")
    if y is not None and y.shape != x.shape:
        raise ValueError(f"x has {x.size} values but y has {y.size}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    grid = np.linspace(x.min(), x.max(), 400) if grid is None else _as_x(grid)
    jac = jacobian(net, x)
    u, s, vt = np.linalg.svd(jac, full_matrices=False)
    s_hidden = np.linalg.svd(hidden_block(jac), compute_uv=False)
    rank = _rank(s, jac.shape)
    hidden_rank = _rank(s_hidden, hidden_block(jac).shape)
    k = min(k, s.size)
    kk = min(k, rank)
    vectors = np.full((k, grid.size), np.nan)
    at_data = np.full((x.size, k), np.nan)
    if kk:
        vectors[:kk] = (jacobian(net, grid) @ vt[:kk].T / s[:kk]).T
        at_data[:, :kk] = u[:, :kk]
        for i in range(kk):  # a sign that does not flicker from frame to frame: largest value up
            if vectors[i, np.argmax(np.abs(vectors[i]))] < 0:
                vectors[i] *= -1
                at_data[:, i] *= -1
    fractions = np.full(k, np.nan)
    if y is not None:
        out = np.append(net.w2.astype(np.float64), float(net.b2))
        r = hidden_block(jac) @ out - y  # the float64 forward pass, as the gradients'
        rr = float(r @ r)
        if rr > 0:
            proj = (u[:, :kk].T @ r) ** 2
            fractions[:kk] = np.cumsum(proj) / rr
            if kk < k:
                fractions[kk:] = fractions[kk - 1] if kk else 0.0
        else:
            fractions[:] = 1.0  # nothing left to explain
    return GradientFeatures(x=x, singular_values=s, hidden_singular_values=s_hidden, grid=grid,
                            vectors=vectors, at_data=at_data,
                            residual_fraction=float(fractions[-1]), residual_fractions=fractions,
                            rank=rank, hidden_rank=hidden_rank)
