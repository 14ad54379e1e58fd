"""Closed-form output layer: ridge regression on the hidden features, as the notebook does it.

Features are ``F = [relu(x w1 + b1), 1]`` (float32 hidden activations, as torch computes them, then
float64), and ``coeffs = solve(F^T F + λ I, F^T y)`` with the bias column regularised too. When
there are fewer points than features the identical dual form ``F^T solve(F F^T + λ I, y)`` is
used, which keeps a width-1000 network's solve at a 200 x 200 system.
"""
from __future__ import annotations

import math

import numpy as np

from .arrays import mse
from .dataset import Dataset
from .network import Network
from .settings import DEFAULT_LAMBDA

__all__ = ["fit_ridge", "ridge_coefficients", "ridge_features", "features_of_hidden", "ridge_mse",
           "with_output_layer",
           "DEFAULT_LAMBDA"]



def ridge_features(net: Network, x) -> np.ndarray:
    """``[relu(x w1 + b1), 1]`` as float64, shape ``(len(x), H + 1)``."""
    return features_of_hidden(net.hidden(x))


def features_of_hidden(h) -> np.ndarray:
    """The ridge features ``[h, 1]`` (float64) of hidden activations ``h`` (n, H)."""
    f = np.empty((h.shape[0], h.shape[1] + 1), dtype=np.float64)
    f[:, :-1] = h
    f[:, -1] = 1.0
    return f


def ridge_coefficients(features: np.ndarray, y, lam: float) -> np.ndarray:
    """Minimiser of ``|F c - y|^2 + λ |c|^2`` (``λ = 0``: the least-squares minimum-norm solution)."""
    lam = float(lam)
    if not math.isfinite(lam) or lam < 0:
        raise ValueError(f"λ must be a finite number >= 0, got {lam}")
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    n, p = f.shape
    if lam == 0:
        return np.linalg.lstsq(f, y, rcond=None)[0]
    try:
        if n >= p:
            a = f.T @ f
            a[np.diag_indices_from(a)] += lam
            return np.linalg.solve(a, f.T @ y)
        k = f @ f.T
        k[np.diag_indices_from(k)] += lam
        return f.T @ np.linalg.solve(k, y)
    except np.linalg.LinAlgError:  # pragma: no cover - λ > 0 makes the system positive definite
        return np.linalg.lstsq(f, y, rcond=None)[0]


def fit_ridge(net: Network, data: Dataset, lam: float = DEFAULT_LAMBDA) -> Network:
    """A new network with the hidden layer of ``net`` and the ridge-optimal output layer."""
    return with_output_layer(net, ridge_coefficients(ridge_features(net, data.x), data.y, lam))


def with_output_layer(net: Network, coeffs) -> Network:
    """``net`` with the output layer ``coeffs`` (weights, then bias), as float32; a solution that
    is not finite in float32 (huge targets, a tiny λ on collinear features) is refused."""
    with np.errstate(over="ignore", invalid="ignore"):
        c32 = np.asarray(coeffs, dtype=np.float64).astype(np.float32)
    if not np.all(np.isfinite(c32)):
        raise ValueError("the ridge solution is not finite in float32 (where the network "
                         "computes); increase λ or rescale the data")
    return net.replace(w2=c32[:-1], b2=float(c32[-1]))


def ridge_mse(net: Network, data: Dataset, lam: float = DEFAULT_LAMBDA) -> float:
    """Training MSE of the ridge solution on ``net``'s hidden features: the best the features allow."""
    f = ridge_features(net, data.x)
    return mse(f @ ridge_coefficients(f, data.y, lam), data.y)
