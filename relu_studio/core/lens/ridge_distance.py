"""How far the output layer is from the ridge optimum on the same hidden features.

Training only the output layer is linear regression on fixed features ``F = [relu(x w1 + b1), 1]``
(the notes' theorem): a convex quadratic, whose minimiser the ridge solve finds (``λ`` tiny, the
product's ``1e-5``). The distance is measured where the loss measures it, on the training inputs:

    distance = |F (c - c*)| / sqrt(n)

the root-mean-square gap between the two output layers' predictions (``c = [w2, b2]``, ``c*``
the ridge solution). Up to ``λ``'s tiny pull, ``distance^2`` is exactly the excess training MSE
``L(c) - L(c*)``, because the residual at ``c*`` is orthogonal to the features' span. It goes to 0
when gradient descent converges, also where the parameters cannot: an output weight of a dead
unit (a zero feature column) or of two units with the same features gets no gradient along the
features' null space, which the ridge solve sets to its minimum-norm value instead. The plain
Euclidean parameter distance ``|c - c*|`` is reported beside it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network import Network
from ..ridge import DEFAULT_LAMBDA, features_of_hidden, ridge_coefficients
from .gradients import training_xy
from .snapshots import snapshot_parameters

__all__ = ["RidgeDistance", "ridge_distance", "ridge_distances", "thinned_indices"]


@dataclass(frozen=True, eq=False)
class RidgeDistance:
    """``distance``: RMS prediction gap on the training inputs (see the module docstring);
    ``parameter``: ``|c - c*|``; ``optimum``: ``c*`` (output weights, then the bias). For a
    history each is an array, one entry per snapshot, with ``steps``."""

    distance: float | np.ndarray
    parameter: float | np.ndarray
    optimum: np.ndarray
    steps: np.ndarray | None = None


def _features(w1, b1, x, activation=None) -> np.ndarray:
    # float32 hidden activations, as the product's ridge (and the network) compute them
    x32 = x.astype(np.float32)[:, None]
    z = x32 * w1[None, :] + b1[None, :]
    if activation is None or activation.is_relu:
        return features_of_hidden(np.maximum(z, np.float32(0.0)))
    return features_of_hidden(activation(z))


def _one(w1, b1, w2, b2, x, y, lam, cache=None, activation=None):
    key = (w1.tobytes(), b1.tobytes())
    hit = None if cache is None else cache.get(key)
    if hit is None:
        f = _features(np.asarray(w1, np.float32), np.asarray(b1, np.float32), x, activation)
        hit = (f, ridge_coefficients(f, y, lam))
        if cache is not None:
            cache[key] = hit
    f, opt = hit
    c = np.append(np.asarray(w2, np.float64), float(b2))
    gap = c - opt
    return float(np.sqrt(np.mean((f @ gap) ** 2))), float(np.linalg.norm(gap)), opt


def ridge_distance(net: Network, data, lam: float = DEFAULT_LAMBDA) -> RidgeDistance:
    """The distance of ``net``'s output layer from the ridge optimum on its hidden features."""
    x, y = training_xy(data)
    d, p, opt = _one(net.w1, net.b1, net.w2, net.b2, x, y, lam, activation=net.activation)
    return RidgeDistance(d, p, opt)


def ridge_distances(history, data, lam: float = DEFAULT_LAMBDA, indices=None) -> RidgeDistance:
    """:func:`ridge_distance` for every snapshot of ``history`` (a Run, History or HistoryView)
    on ``data``, or for the snapshots numbered ``indices``; one ridge solve per distinct hidden
    layer (one for an output-only run). ``optimum`` is the last one's."""
    x, y = training_xy(data)
    s = snapshot_parameters(history)
    idx = np.arange(len(s)) if indices is None else np.asarray(indices, dtype=np.int64).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= len(s)):
        raise IndexError(f"snapshot indices must lie in 0..{len(s) - 1}")
    dist, par = np.empty(idx.size), np.empty(idx.size)
    opt = np.zeros(0)
    cache: dict = {}
    for k, i in enumerate(idx):
        dist[k], par[k], opt = _one(s.w1[i], s.b1[i], s.w2[i], s.b2[i], x, y, lam, cache,
                                    s.activation)
        if len(cache) > 1:  # all layers: each snapshot has features of its own; keep the last
            cache = {key: cache[key] for key in list(cache)[-1:]}
    return RidgeDistance(dist, par, opt, steps=np.asarray(s.steps)[idx])


def thinned_indices(count: int, at_most: int = 400, keep=()) -> np.ndarray:
    """At most about ``at_most`` of ``count`` snapshot indices: every ``2^k``-th (the smallest
    power of two that keeps them under ``at_most``), plus the last one and ``keep``. As a run
    appends snapshots the stride only doubles, so earlier choices stay chosen (each is solved
    once)."""
    stride = 1
    while count > stride * at_most:
        stride *= 2
    extra = [i for i in (count - 1, *keep) if 0 <= i < count]
    return np.unique(np.concatenate([np.arange(0, count, stride), np.asarray(extra, dtype=np.int64)]))
