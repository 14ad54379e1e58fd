"""Compiled SGD kernels (numba, nogil, cached per user when a folder allows it).

The kernels mirror, operation for operation, what the course notebook's torch loop computes for
``nn.Sequential(Linear(1, H), ReLU(), Linear(H, 1))`` with ``MSELoss`` and plain SGD, in float32:
forward pass on the minibatch, the MSE's gradient ``2 (p - y) / B``, backpropagation through the
ReLU, and ``p -= lr * grad``. Only the order of floating-point sums differs from torch's BLAS, so
results agree to float32 round-off.

Any other activation of core.activations and loss of core.losses trains in the same kernels:
they take an activation code and its parameter (:func:`activation_code`) and a loss code and
Huber's delta (:func:`loss_code`). Each activation is computed in float32 by torch's formula,
its derivative as torch's autograd takes it, the loss's gradient per point as torch's
(:func:`loss_gradient`); the code is tested once per loop, outside the element loops. The
notebook's ReLU and MSE keep their own loops, unchanged (the same bits and speed as before);
Leaky ReLU has a fused loop of its own. The full-train and test errors of a snapshot stay MSEs
whatever the training loss (:func:`network_mse`); its minibatch loss is the training loss.

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

import math

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

#: Kernel codes of the activations (core.activations names) and of the losses (core.losses).
A_RELU, A_LEAKY_RELU, A_ELU, A_GELU, A_GELU_TANH, A_SILU, A_SOFTPLUS, A_TANH, A_SIGMOID, A_ABS = range(10)
ACTIVATION_CODES = {"relu": A_RELU, "leaky_relu": A_LEAKY_RELU, "elu": A_ELU, "gelu": A_GELU,
                    "gelu_tanh": A_GELU_TANH, "silu": A_SILU, "softplus": A_SOFTPLUS,
                    "tanh": A_TANH, "sigmoid": A_SIGMOID, "abs": A_ABS}
L_MSE, L_MAE, L_HUBER = range(3)
LOSS_CODES = {"mse": L_MSE, "mae": L_MAE, "huber": L_HUBER}

# float32 constants (a Python float in a float32 expression would promote it to float64).
_ZERO, _HALF, _ONE, _THREE = (np.float32(v) for v in (0.0, 0.5, 1.0, 3.0))
_SQRT1_2 = np.float32(math.sqrt(0.5))
_INV_SQRT_2PI = np.float32(1.0 / math.sqrt(2.0 * math.pi))
_GELU_BETA = np.float32(math.sqrt(2.0 / math.pi))
_GELU_KAPPA = np.float32(0.044715)
_SOFTPLUS_THRESHOLD = np.float32(20.0)


def activation_code(activation) -> tuple[int, np.float32]:
    """``(code, parameter)`` of a core.activations Activation for the kernels: Leaky ReLU's
    slope, ELU's alpha, softplus's beta (0 for the others), as float32 as torch casts them."""
    p = {"leaky_relu": activation.slope, "elu": activation.alpha,
         "softplus": activation.beta}.get(activation.name, 0.0)
    return ACTIVATION_CODES[activation.name], np.float32(p)


def loss_code(loss) -> tuple[int, np.float32]:
    """``(code, delta)`` of a core.losses Loss (None: MSE) for the kernels."""
    if loss is None:
        return L_MSE, np.float32(1.0)
    return LOSS_CODES[loss.name], np.float32(loss.delta)


# One small function per activation and its derivative (float32 in, float32 out, torch's
# formulas; ``p`` is Leaky ReLU's slope, ELU's alpha or softplus's beta), each used in a loop of
# its own by :func:`activate_into` and :func:`value_and_derivative_into`: the activation is
# tested once per loop, not per element, and each loop's body stays small (a branch chain per
# element, inlined into every kernel, would multiply the code numba compiles: 10 s more).
@numba.njit(inline="always", **FLAGS)
def _sigmoid(z):
    return _ONE / (_ONE + math.exp(-z))


@numba.njit(inline="always", **FLAGS)
def _leaky(z, p):
    return z if z > _ZERO else z * p


@numba.njit(inline="always", **FLAGS)
def _d_leaky(z, p):
    return _ONE if z > _ZERO else p


@numba.njit(inline="always", **FLAGS)
def _elu(z, p):
    return z if z > _ZERO else math.expm1(z) * p


@numba.njit(inline="always", **FLAGS)
def _d_elu(z, p):
    return _ONE if z > _ZERO else p * math.exp(z)


@numba.njit(inline="always", **FLAGS)
def _gelu(z):
    return (z * _HALF) * (_ONE + math.erf(z * _SQRT1_2))


@numba.njit(inline="always", **FLAGS)
def _gelu_tanh(z):
    return (_HALF * z) * (_ONE + math.tanh(_GELU_BETA * (z + _GELU_KAPPA * (z * z * z))))


@numba.njit(inline="always", **FLAGS)
def _silu(z):
    return z / (_ONE + math.exp(-z))


@numba.njit(inline="always", **FLAGS)
def _softplus(z, p):
    bz = z * p
    return z if bz > _SOFTPLUS_THRESHOLD else math.log1p(math.exp(bz)) / p


@numba.njit(inline="always", **FLAGS)
def _d_abs(z):
    return _ONE if z > _ZERO else (-_ONE if z < _ZERO else _ZERO)


@numba.njit(**FLAGS)
def activate_into(z, act, p):
    """``z[i] = act(z[i])`` for every i, in float32 (core.activations' table, torch's formulas)."""
    n = z.shape[0]
    if act == A_RELU:
        for i in range(n):
            z[i] = relu(z[i])
    elif act == A_LEAKY_RELU:
        for i in range(n):
            z[i] = _leaky(z[i], p)
    elif act == A_ELU:
        for i in range(n):
            z[i] = _elu(z[i], p)
    elif act == A_GELU:
        for i in range(n):
            z[i] = _gelu(z[i])
    elif act == A_GELU_TANH:
        for i in range(n):
            z[i] = _gelu_tanh(z[i])
    elif act == A_SILU:
        for i in range(n):
            z[i] = _silu(z[i])
    elif act == A_SOFTPLUS:
        for i in range(n):
            z[i] = _softplus(z[i], p)
    elif act == A_TANH:
        for i in range(n):
            z[i] = math.tanh(z[i])
    elif act == A_SIGMOID:
        for i in range(n):
            z[i] = _sigmoid(z[i])
    else:
        for i in range(n):
            z[i] = abs(z[i])


@numba.njit(**FLAGS)
def value_and_derivative_into(z, d, act, p):
    """``d[i] = act'(z[i])`` and then ``z[i] = act(z[i])`` for every i, sharing the work where
    torch's backward does (tanh's ``1 - y^2`` and sigmoid's ``(1 - y) y`` from the output, SiLU's,
    softplus's and GELU's ``exp``/``erf`` computed once). The derivative is torch's autograd's:
    ReLU's 0 at 0, Leaky ReLU's slope at ``z <= 0``, ELU's ``alpha exp(z)`` at ``z <= 0``,
    softplus's 1 above its threshold, |x|'s ``sign`` (0 at 0)."""
    n = z.shape[0]
    if act == A_RELU:
        for i in range(n):
            d[i] = _ONE if z[i] > _ZERO else _ZERO
            z[i] = relu(z[i])
    elif act == A_LEAKY_RELU:
        for i in range(n):
            d[i] = _d_leaky(z[i], p)
            z[i] = _leaky(z[i], p)
    elif act == A_ELU:
        for i in range(n):
            d[i] = _d_elu(z[i], p)
            z[i] = _elu(z[i], p)
    elif act == A_GELU:
        for i in range(n):
            zi = z[i]
            cdf = _HALF * (_ONE + math.erf(zi * _SQRT1_2))
            d[i] = cdf + zi * (math.exp(-_HALF * (zi * zi)) * _INV_SQRT_2PI)
            z[i] = (zi * _HALF) * (_ONE + math.erf(zi * _SQRT1_2))
    elif act == A_GELU_TANH:
        for i in range(n):
            zi = z[i]
            z2 = zi * zi
            t = math.tanh(_GELU_BETA * (zi + _GELU_KAPPA * (z2 * zi)))
            inner_d = _GELU_BETA * (_ONE + _THREE * _GELU_KAPPA * z2)
            d[i] = _HALF * (_ONE + t) + ((_HALF * zi) * (_ONE - t * t)) * inner_d
            z[i] = (_HALF * zi) * (_ONE + t)
    elif act == A_SILU:
        for i in range(n):
            zi = z[i]
            e1 = _ONE + math.exp(-zi)
            s = _ONE / e1
            d[i] = s * (_ONE + zi * (_ONE - s))
            z[i] = zi / e1
    elif act == A_SOFTPLUS:
        for i in range(n):
            zi = z[i]
            bz = zi * p
            if bz > _SOFTPLUS_THRESHOLD:
                d[i] = _ONE
            else:
                e = math.exp(bz)
                d[i] = e / (e + _ONE)
                z[i] = math.log1p(e) / p
    elif act == A_TANH:
        for i in range(n):
            t = math.tanh(z[i])
            d[i] = _ONE - t * t
            z[i] = t
    elif act == A_SIGMOID:
        for i in range(n):
            s = _sigmoid(z[i])
            d[i] = (_ONE - s) * s
            z[i] = s
    else:
        for i in range(n):
            d[i] = _d_abs(z[i])
            z[i] = abs(z[i])


@numba.njit(inline="always", **FLAGS)
def minibatch_loss(x, y, idx_row, w1, b1, w2, b2, xb, yb, acc, g, act, p, loss, delta):
    """One step's forward pass: the minibatch ``idx_row`` gathered into ``xb``, ``yb``; the
    predictions summed over the units in order (vectorised across the minibatch) into ``acc``
    (``g`` holds each unit's hidden values meanwhile); then ``g`` the loss's gradient per point
    (:func:`loss_gradient`). Returns the minibatch loss (float32). Every kernel's step starts here
    (inlined), so they round alike; the notebook's ReLU keeps its own loop."""
    batch = idx_row.shape[0]
    for i in range(batch):
        k = idx_row[i]
        xb[i] = x[k]
        yb[i] = y[k]
        acc[i] = 0.0
    if act == A_RELU:
        for j in range(w1.shape[0]):
            w1j, b1j, w2j = w1[j], b1[j], w2[j]
            for i in range(batch):
                h = relu(xb[i] * w1j + b1j)
                acc[i] += w2j * h
    else:
        for j in range(w1.shape[0]):
            w1j, b1j, w2j = w1[j], b1[j], w2[j]
            for i in range(batch):
                g[i] = xb[i] * w1j + b1j
            activate_into(g, act, p)
            for i in range(batch):
                acc[i] += w2j * g[i]
    return loss_gradient(acc, b2, yb, g, loss, delta)


@numba.njit(inline="always", **FLAGS)
def loss_gradient(acc, b2, yb, g, loss, delta):
    """The minibatch loss of predictions ``acc + b2`` against ``yb`` (float32, points summed in
    order, divided by B) and its gradient per point into ``g``, torch's: MSE ``2 d / B``, L1
    ``sign(d) / B``, Huber ``clip(d, -delta, delta) / B``, with ``d = prediction - y``."""
    batch = acc.shape[0]
    total = np.float32(0.0)
    if loss == L_MSE:
        two_over_b = np.float32(2.0 / batch)
        for i in range(batch):
            d = (acc[i] + b2) - yb[i]
            total += d * d
            g[i] = two_over_b * d
    else:
        inv_b = np.float32(1.0 / batch)
        for i in range(batch):
            d = (acc[i] + b2) - yb[i]
            a = abs(d)
            if loss == L_MAE:
                total += a
                g[i] = inv_b * (_ONE if d > _ZERO else (-_ONE if d < _ZERO else _ZERO))
            else:
                total += (_HALF * a) * a if a < delta else delta * (a - _HALF * delta)
                g[i] = inv_b * (-delta if d < -delta else (delta if d > delta else d))
    return total / np.float32(batch)


@numba.njit(inline="always", **FLAGS)
def record_snapshot(ptr, step, loss, x, y, xt, yt, w1, b1, w2, b2, act, p, snap_step, snap_train,
                    snap_full, snap_test, snap_w1, snap_b1, snap_w2, snap_b2):
    """Snapshot ``ptr``: the step, its minibatch loss (the training loss), the full-train and test
    MSE (whatever the training loss) and the parameters (every single-run kernel records its
    snapshots here)."""
    snap_step[ptr] = step
    snap_train[ptr] = loss
    snap_full[ptr] = network_mse(x, y, w1, b1, w2, b2, act, p)
    snap_test[ptr] = network_mse(xt, yt, w1, b1, w2, b2, act, p)
    snap_w1[ptr, :] = w1
    snap_b1[ptr, :] = b1
    snap_w2[ptr, :] = w2
    snap_b2[ptr] = b2


@numba.njit(inline="always", **FLAGS)
def minibatch_gradients(xb, g, w1, b1, w2, train_hidden, gw1, gb1, gw2, zh, dh, act, p):
    """The loss's gradients from :func:`minibatch_loss`'s ``xb`` and ``g``: the minibatch in order
    for every unit (vectorised across the units), the hidden values recomputed bit for bit the
    forward pass's; ``gw1``, ``gb1`` only if ``train_hidden``. Returns the output bias's. Another
    activation than ReLU computes each point's hidden values and derivatives into ``zh``, ``dh``
    first (one loop per activation), then backpropagates ``(g w2) act'(z)``, as torch does."""
    gw2[:] = 0.0
    gw1[:] = 0.0
    gb1[:] = 0.0
    gb2 = np.float32(0.0)
    h_count = w1.shape[0]
    if act == A_RELU:
        for i in range(xb.shape[0]):
            gi = g[i]
            xi = xb[i]
            gb2 += gi
            for j in range(h_count):
                h = relu(xi * w1[j] + b1[j])
                gw2[j] += gi * h
                if train_hidden and h > 0:
                    t = gi * w2[j]
                    gw1[j] += t * xi
                    gb1[j] += t
        return gb2
    if act == A_LEAKY_RELU:  # as fast as ReLU's: one fused loop, the slope where z <= 0
        for i in range(xb.shape[0]):
            gi = g[i]
            xi = xb[i]
            gb2 += gi
            for j in range(h_count):
                z = xi * w1[j] + b1[j]
                pos = z > _ZERO
                gw2[j] += gi * (z if pos else z * p)
                if train_hidden:
                    t = (gi * w2[j]) * (_ONE if pos else p)
                    gw1[j] += t * xi
                    gb1[j] += t
        return gb2
    for i in range(xb.shape[0]):
        gi = g[i]
        xi = xb[i]
        gb2 += gi
        for j in range(h_count):
            zh[j] = xi * w1[j] + b1[j]
        if train_hidden:
            value_and_derivative_into(zh, dh, act, p)
        else:
            activate_into(zh, act, p)
        for j in range(h_count):
            gw2[j] += gi * zh[j]
        if train_hidden:
            for j in range(h_count):
                t = (gi * w2[j]) * dh[j]
                gw1[j] += t * xi
                gb1[j] += t
    return gb2


@numba.njit(**FLAGS)
def network_mse(x, y, w1, b1, w2, b2, act, p):
    """:func:`mse` for any activation (ReLU: :func:`mse` itself, the same bits)."""
    if act == A_RELU:
        return mse(x, y, w1, b1, w2, b2)
    m = x.shape[0]
    acc = np.zeros(m, dtype=np.float32)
    z = np.empty(m, dtype=np.float32)
    for j in range(w1.shape[0]):
        w1j, b1j, w2j = w1[j], b1[j], w2[j]
        for i in range(m):
            z[i] = x[i] * w1j + b1j
        activate_into(z, act, p)
        for i in range(m):
            acc[i] += w2j * z[i]
    total = 0.0
    for i in range(m):
        d = np.float64(acc[i] + b2) - np.float64(y[i])
        total += d * d
    return total / m


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
              snap_w1, snap_b1, snap_w2, snap_b2, loss_bound, act, act_p, loss_kind, delta):
    """Run ``idx.shape[0]`` SGD steps starting after global step ``step0``, with activation
    ``act`` (parameter ``act_p``) and loss ``loss_kind`` (Huber's ``delta``): see
    :func:`activation_code` and :func:`loss_code`.

    Returns ``(steps_done, snap_ptr, status)``. ``status`` is DIVERGED when a minibatch loss is
    not finite or exceeds ``loss_bound``: that step's update is not applied, and a snapshot of the
    parameters that produced the loss is recorded at the next free slot.

    The notebook's ReLU with MSE runs :func:`sgd_relu_mse_chunk`, the steps compiled for those
    two constants (the compiler drops every other branch: the loop of the ReLU-only kernel, at
    its speed); the others run :data:`_sgd_steps_any`, the same steps compiled as a function of
    their own. Compiling this kernel compiles both (seconds on a first start): the studio's
    start-up prepares only :func:`sgd_relu_mse_chunk`, which the Trainer calls for ReLU with MSE.
    """
    if act == A_RELU and loss_kind == L_MSE:
        return sgd_relu_mse_chunk(x, y, xt, yt, idx, w1, b1, w2, b2_arr, lr, train_hidden, step0,
                                  snap_steps, snap_ptr, snap_step, snap_train, snap_full,
                                  snap_test, snap_w1, snap_b1, snap_w2, snap_b2, loss_bound, act,
                                  act_p, loss_kind, delta)
    return _sgd_steps_any(x, y, xt, yt, idx, w1, b1, w2, b2_arr, lr, train_hidden, step0,
                          snap_steps, snap_ptr, snap_step, snap_train, snap_full, snap_test,
                          snap_w1, snap_b1, snap_w2, snap_b2, loss_bound, act, act_p, loss_kind,
                          delta)


@numba.njit(**FLAGS)
def sgd_relu_mse_chunk(x, y, xt, yt, idx, w1, b1, w2, b2_arr, lr, train_hidden, step0,
                       snap_steps, snap_ptr, snap_step, snap_train, snap_full, snap_test,
                       snap_w1, snap_b1, snap_w2, snap_b2, loss_bound, act, act_p, loss_kind, delta):
    """:func:`sgd_chunk` for the notebook's ReLU with MSE only (``act``/``loss_kind`` are taken
    as those): a kernel of its own, so that it compiles alone, in the time the ReLU-only kernel
    took, when the studio prepares its kernel on a first start."""
    return _sgd_steps(x, y, xt, yt, idx, w1, b1, w2, b2_arr, lr, train_hidden, step0,
                      snap_steps, snap_ptr, snap_step, snap_train, snap_full, snap_test,
                      snap_w1, snap_b1, snap_w2, snap_b2, loss_bound, A_RELU, act_p, L_MSE, delta)


@numba.njit(inline="always", **FLAGS)
def _sgd_steps(x, y, xt, yt, idx, w1, b1, w2, b2_arr, lr, train_hidden, step0,
               snap_steps, snap_ptr, snap_step, snap_train, snap_full, snap_test,
               snap_w1, snap_b1, snap_w2, snap_b2, loss_bound, act, act_p, loss_kind, delta):
    """:func:`sgd_chunk`'s steps."""
    n_steps, batch = idx.shape
    h_count = w1.shape[0]
    xb = np.empty(batch, dtype=np.float32)
    yb = np.empty(batch, dtype=np.float32)
    acc = np.empty(batch, dtype=np.float32)
    g = np.empty(batch, dtype=np.float32)
    gw1 = np.empty(h_count, dtype=np.float32)
    gb1 = np.empty(h_count, dtype=np.float32)
    gw2 = np.empty(h_count, dtype=np.float32)
    zh = np.empty(h_count, dtype=np.float32)
    dh = np.empty(h_count, dtype=np.float32)
    lr32 = np.float32(lr)
    n_snap = snap_steps.shape[0]
    for s in range(n_steps):
        b2 = b2_arr[0]
        loss = minibatch_loss(x, y, idx[s], w1, b1, w2, b2, xb, yb, acc, g, act, act_p,
                              loss_kind, delta)
        step = step0 + s + 1
        diverged = not (loss <= loss_bound)  # also true for NaN
        if not diverged:
            gb2 = minibatch_gradients(xb, g, w1, b1, w2, train_hidden, gw1, gb1, gw2, zh, dh,
                                      act, act_p)
            if train_hidden:
                for j in range(h_count):
                    w1[j] -= lr32 * gw1[j]
                    b1[j] -= lr32 * gb1[j]
            for j in range(h_count):
                w2[j] -= lr32 * gw2[j]
            b2_arr[0] = b2 - lr32 * gb2
        if snap_ptr < n_snap and (diverged or step == snap_steps[snap_ptr]):
            record_snapshot(snap_ptr, step, loss, x, y, xt, yt, w1, b1, w2, b2_arr[0], act, act_p,
                            snap_step, snap_train, snap_full, snap_test, snap_w1, snap_b1,
                            snap_w2, snap_b2)
            snap_ptr += 1
        if diverged:
            return s + 1, snap_ptr, DIVERGED
    return n_steps, snap_ptr, RUNNING


#: The same steps as a function of their own for every other activation and loss: kept out of
#: sgd_chunk, whose ReLU/MSE loop is then compiled as it was alone.
_sgd_steps_any = numba.njit(**FLAGS)(_sgd_steps.py_func)
