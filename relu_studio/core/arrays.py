"""Small array helpers the core shares: read-only arrays and the mean squared error."""
from __future__ import annotations

import numpy as np

__all__ = ["read_only", "mse"]


def read_only(a) -> np.ndarray:
    """``a`` as a contiguous array that cannot be written to (immutable values share arrays)."""
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def mse(prediction, target) -> float:
    """Mean squared error, in float64."""
    d = np.asarray(prediction, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    return float(np.mean(d * d))
