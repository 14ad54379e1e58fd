"""Compiled SGD kernels (numba, nogil, cached per user when a folder allows it).

The kernels mirror, operation for operation, what the course notebook's torch loop computes for
``nn.Sequential(Linear(1, H), ReLU(), Linear(H, 1))`` with ``MSELoss`` and plain SGD, in float32:
forward pass on the minibatch, the MSE's gradient ``2 (p - y) / B``, backpropagation through the
ReLU, and ``p -= lr * grad``. Only the order of floating-point sums differs from torch's BLAS
(``reassoc`` lets the compiler vectorise the sums), so results agree to float32 round-off.

Parameters are updated in place; snapshots are written into preallocated arrays. Nothing here
holds the GIL, so independent runs use several cores from plain Python threads.
"""
from __future__ import annotations

import numba
import numpy as np

from .jit_cache import configure_numba_cache

#: Where the compiled kernels are cached, chosen before they are decorated: with ``cache=True`` and
#: no writable folder numba would refuse to define them (see jit_cache).
CACHE = configure_numba_cache()

# No "contract": the pre-activation is rounded as product, then sum (``float32(float32(x * w1) +
# b1)``), the documented rule, the same on every CPU. A fused multiply-add rounds once and decides
# differently the ReLU gate of an input that lies within an ulp of an elbow (init seed 1 with data
# seed 1 puts every elbow on a training input); tests/core/test_training_exact.py checks the rule.
_FLAGS = dict(nogil=True, cache=CACHE.enabled, fastmath={"reassoc"})

#: Status codes returned by :func:`sgd_chunk`.
RUNNING, DIVERGED = 0, 1


@numba.njit(**_FLAGS)
def mse(x, y, w1, b1, w2, b2):
    """Mean squared error of the network on (x, y), float32 forward, float64 accumulation."""
    m = x.shape[0]
    h_count = w1.shape[0]
    total = 0.0
    for i in range(m):
        xi = x[i]
        acc = np.float32(0.0)
        for j in range(h_count):
            h = xi * w1[j] + b1[j]
            if h > 0:
                acc += w2[j] * h
        d = np.float64(acc + b2) - np.float64(y[i])
        total += d * d
    return total / m


@numba.njit(**_FLAGS)
def sgd_chunk(x, y, xt, yt, idx, w1, b1, w2, b2_arr, lr, train_hidden, step0,
              snap_steps, snap_ptr, snap_step, snap_train, snap_full, snap_test,
              snap_w1, snap_b1, snap_w2, snap_b2, loss_bound):
    """Run ``idx.shape[0]`` SGD steps starting after global step ``step0``.

    Returns ``(steps_done, snap_ptr, status)``. ``status`` is DIVERGED when a minibatch loss is
    not finite or exceeds ``loss_bound``: that step's update is not applied, and a snapshot of the
    parameters that produced the loss is recorded at the next free slot.
    """
    n_steps, batch = idx.shape
    h_count = w1.shape[0]
    hb = np.empty((batch, h_count), dtype=np.float32)
    g = np.empty(batch, dtype=np.float32)
    gw1 = np.empty(h_count, dtype=np.float32)
    gb1 = np.empty(h_count, dtype=np.float32)
    gw2 = np.empty(h_count, dtype=np.float32)
    two_over_b = np.float32(2.0 / batch)
    lr32 = np.float32(lr)
    n_snap = snap_steps.shape[0]
    for s in range(n_steps):
        b2 = b2_arr[0]
        loss = np.float32(0.0)
        for i in range(batch):
            k = idx[s, i]
            xi = x[k]
            acc = np.float32(0.0)
            for j in range(h_count):
                h = xi * w1[j] + b1[j]
                if h < 0:
                    h = np.float32(0.0)
                hb[i, j] = h
                acc += w2[j] * h
            d = (acc + b2) - y[k]
            loss += d * d
            g[i] = two_over_b * d
        loss = loss / np.float32(batch)
        step = step0 + s + 1
        diverged = not (loss <= loss_bound)  # also true for NaN
        if not diverged:
            gw2[:] = 0.0
            gb2 = np.float32(0.0)
            for i in range(batch):
                gi = g[i]
                gb2 += gi
                for j in range(h_count):
                    gw2[j] += gi * hb[i, j]
            if train_hidden:
                gw1[:] = 0.0
                gb1[:] = 0.0
                for i in range(batch):
                    gi = g[i]
                    xi = x[idx[s, i]]
                    for j in range(h_count):
                        if hb[i, j] > 0:
                            t = gi * w2[j]
                            gw1[j] += t * xi
                            gb1[j] += t
                for j in range(h_count):
                    w1[j] -= lr32 * gw1[j]
                    b1[j] -= lr32 * gb1[j]
            for j in range(h_count):
                w2[j] -= lr32 * gw2[j]
            b2_arr[0] = b2 - lr32 * gb2
        if snap_ptr < n_snap and (diverged or step == snap_steps[snap_ptr]):
            b2 = b2_arr[0]
            snap_step[snap_ptr] = step
            snap_train[snap_ptr] = loss
            snap_full[snap_ptr] = mse(x, y, w1, b1, w2, b2)
            snap_test[snap_ptr] = mse(xt, yt, w1, b1, w2, b2)
            snap_w1[snap_ptr, :] = w1
            snap_b1[snap_ptr, :] = b1
            snap_w2[snap_ptr, :] = w2
            snap_b2[snap_ptr] = b2
            snap_ptr += 1
        if diverged:
            return s + 1, snap_ptr, DIVERGED
    return n_steps, snap_ptr, RUNNING
