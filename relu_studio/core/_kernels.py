"""Compiled SGD kernels (numba, nogil, cached per user when a folder allows it).

The kernels mirror, operation for operation, what the course notebook's torch loop computes for
``nn.Sequential(Linear(1, H), ReLU(), Linear(H, 1))`` with ``MSELoss`` and plain SGD, in float32:
forward pass on the minibatch, the MSE's gradient ``2 (p - y) / B``, backpropagation through the
ReLU, and ``p -= lr * grad``. Only the order of floating-point sums differs from torch's BLAS, so
results agree to float32 round-off.

That order is fixed and documented, the same on every CPU and shared with the batched kernels
(:mod:`._batch_kernels`), so that a run gives the same bits alone or in a batch:

* a prediction sums the hidden units in order ``j = 0, 1, ..., H - 1``, in float32, then adds b2;
* the minibatch loss, the output bias's gradient and every weight's gradient sum the minibatch
  in order ``i = 0, 1, ..., B - 1``, in float32;
* the full-train and test MSE sum the points in order in float64.

No ``fastmath``: with ``reassoc`` the compiler would regroup these sums by the CPU's vector width.
The kernels still vectorise, across the minibatch (predictions) or the hidden units (gradients),
where every lane keeps its own sum. Parameters are updated in place; snapshots are written into
preallocated arrays. Nothing here holds the GIL, so independent runs use several cores from plain
Python threads.
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
# No "reassoc" either (see above): every sum has one order on every CPU.
FLAGS = dict(nogil=True, cache=CACHE.enabled)

@numba.njit(inline="always", **FLAGS)
def relu(h):
    """``max(h, 0)`` that keeps a NaN (the engine's ReLU; every kernel uses this one)."""
    return np.float32(0.0) if h < 0 else h


#: Status codes returned by :func:`sgd_chunk`.
RUNNING, DIVERGED = 0, 1


@numba.njit(inline="always", **FLAGS)
def minibatch_loss(x, y, idx_row, w1, b1, w2, b2, xb, yb, acc, g):
    """One step's forward pass: the minibatch ``idx_row`` gathered into ``xb``, ``yb``; the
    predictions summed over the units in order (vectorised across the minibatch) into ``acc``;
    ``g`` the MSE's gradient per point, ``2 d / B``. Returns the minibatch MSE (float32). Every
    kernel's step starts here (inlined), so they round alike."""
    batch = idx_row.shape[0]
    for i in range(batch):
        k = idx_row[i]
        xb[i] = x[k]
        yb[i] = y[k]
        acc[i] = 0.0
    for j in range(w1.shape[0]):
        w1j, b1j, w2j = w1[j], b1[j], w2[j]
        for i in range(batch):
            h = relu(xb[i] * w1j + b1j)
            acc[i] += w2j * h
    two_over_b = np.float32(2.0 / batch)
    loss = np.float32(0.0)
    for i in range(batch):
        d = (acc[i] + b2) - yb[i]
        loss += d * d
        g[i] = two_over_b * d
    return loss / np.float32(batch)


@numba.njit(inline="always", **FLAGS)
def record_snapshot(ptr, step, loss, x, y, xt, yt, w1, b1, w2, b2, snap_step, snap_train,
                    snap_full, snap_test, snap_w1, snap_b1, snap_w2, snap_b2):
    """Snapshot ``ptr``: the step, its minibatch loss, the full-train and test MSE and the
    parameters (every single-run kernel records its snapshots here)."""
    snap_step[ptr] = step
    snap_train[ptr] = loss
    snap_full[ptr] = mse(x, y, w1, b1, w2, b2)
    snap_test[ptr] = mse(xt, yt, w1, b1, w2, b2)
    snap_w1[ptr, :] = w1
    snap_b1[ptr, :] = b1
    snap_w2[ptr, :] = w2
    snap_b2[ptr] = b2


@numba.njit(inline="always", **FLAGS)
def minibatch_gradients(xb, g, w1, b1, w2, train_hidden, gw1, gb1, gw2):
    """The loss's gradients from :func:`minibatch_loss`'s ``xb`` and ``g``: the minibatch in order
    for every unit (vectorised across the units), the hidden values recomputed bit for bit the
    forward pass's; ``gw1``, ``gb1`` only if ``train_hidden``. Returns the output bias's."""
    gw2[:] = 0.0
    gw1[:] = 0.0
    gb1[:] = 0.0
    gb2 = np.float32(0.0)
    for i in range(xb.shape[0]):
        gi = g[i]
        xi = xb[i]
        gb2 += gi
        for j in range(w1.shape[0]):
            h = relu(xi * w1[j] + b1[j])
            gw2[j] += gi * h
            if train_hidden and h > 0:
                t = gi * w2[j]
                gw1[j] += t * xi
                gb1[j] += t
    return gb2


@numba.njit(**FLAGS)
def mse(x, y, w1, b1, w2, b2):
    """Mean squared error of the network on (x, y): float32 predictions (units summed in order),
    float64 accumulation over the points in order."""
    m = x.shape[0]
    h_count = w1.shape[0]
    acc = np.zeros(m, dtype=np.float32)
    for j in range(h_count):
        w1j, b1j, w2j = w1[j], b1[j], w2[j]
        for i in range(m):
            h = x[i] * w1j + b1j
            if h > 0:
                acc[i] += w2j * h
    total = 0.0
    for i in range(m):
        d = np.float64(acc[i] + b2) - np.float64(y[i])
        total += d * d
    return total / m


@numba.njit(**FLAGS)
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
    xb = np.empty(batch, dtype=np.float32)
    yb = np.empty(batch, dtype=np.float32)
    acc = np.empty(batch, dtype=np.float32)
    g = np.empty(batch, dtype=np.float32)
    gw1 = np.empty(h_count, dtype=np.float32)
    gb1 = np.empty(h_count, dtype=np.float32)
    gw2 = np.empty(h_count, dtype=np.float32)
    lr32 = np.float32(lr)
    n_snap = snap_steps.shape[0]
    for s in range(n_steps):
        b2 = b2_arr[0]
        loss = minibatch_loss(x, y, idx[s], w1, b1, w2, b2, xb, yb, acc, g)
        step = step0 + s + 1
        diverged = not (loss <= loss_bound)  # also true for NaN
        if not diverged:
            gb2 = minibatch_gradients(xb, g, w1, b1, w2, train_hidden, gw1, gb1, gw2)
            if train_hidden:
                for j in range(h_count):
                    w1[j] -= lr32 * gw1[j]
                    b1[j] -= lr32 * gb1[j]
            for j in range(h_count):
                w2[j] -= lr32 * gw2[j]
            b2_arr[0] = b2 - lr32 * gb2
        if snap_ptr < n_snap and (diverged or step == snap_steps[snap_ptr]):
            record_snapshot(snap_ptr, step, loss, x, y, xt, yt, w1, b1, w2, b2_arr[0], snap_step,
                            snap_train, snap_full, snap_test, snap_w1, snap_b1, snap_w2, snap_b2)
            snap_ptr += 1
        if diverged:
            return s + 1, snap_ptr, DIVERGED
    return n_steps, snap_ptr, RUNNING
