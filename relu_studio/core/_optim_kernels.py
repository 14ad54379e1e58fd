"""Compiled training kernel for the optimizers beyond plain SGD (momentum, Adam, AdamW, RMSprop).

The forward pass, the MSE's gradient and backpropagation are the SGD kernel's own functions,
:func:`._kernels.minibatch_loss` and :func:`._kernels.minibatch_gradients` (inlined; same float32
operations, same fixed summation order, no fastmath, no fused multiply-add), so a step's
gradient has the same bits as the SGD kernel's
(``tests/core/test_optimizers.py::test_the_optimizer_kernel_computes_the_sgd_kernels_gradient``
checks it). Only the update differs: each parameter is
updated by torch.optim's single-tensor rule (``_single_tensor_sgd``/``_adam``/``_rmsprop``), in
float32, each elementwise operation rounded once as torch's scalar code writes it:

* SGD: ``g += wd * p``; momentum ``buf = g`` on the first step, then ``buf = buf * m + (1 - d) * g``;
  Nesterov ``g = g + m * buf`` else ``g = buf``; ``p = p - lr * g``.
* Adam: ``g += wd * p``; ``m = lerp(m, g, 1 - beta1)`` (torch's two-branch lerp);
  ``v = v * beta2 + ((1 - beta2) * g) * g``; ``denom = sqrt(v) / sqrt(1 - beta2^t) + eps``;
  ``p = p + (-lr / (1 - beta1^t)) * (m / denom)``, the bias corrections computed in float64 as
  torch computes them in Python.
* AdamW: as Adam without ``g += wd * p``, after ``p = p * (1 - lr * wd)``.
* RMSprop: ``g += wd * p``; ``v = v * alpha + ((1 - alpha) * g) * g``; centered:
  ``ga = lerp(ga, g, 1 - alpha)``, ``avg = sqrt(v - ga * ga)`` else ``sqrt(v)``; ``avg += eps``;
  momentum ``buf = buf * m + g / avg``, ``p = p - lr * buf``, else ``p = p + (-lr) * (g / avg)``.

Optimizer state lives in caller-owned arrays so a run pauses and resumes exactly:
``state[k, layer, j]`` (k = 0, 1, 2: first buffer -- momentum buffer, Adam's ``exp_avg`` or
RMSprop's ``square_avg`` --, second -- ``exp_avg_sq`` or RMSprop's momentum buffer --, third --
RMSprop's ``grad_avg``; layer 0 w1, 1 b1, 2 w2, 3 b2 at j = 0) and ``counts[0]`` / ``counts[1]``,
the steps taken by the hidden layer and by the output layer (torch's per-parameter ``step``; the
hidden layer takes none while only the output layer trains).

Compiled on first use (the studio's start-up prepares only the SGD kernels) and cached like them.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ._kernels import (A_RELU, DIVERGED, FLAGS, L_MSE, RUNNING, minibatch_gradients,
                       minibatch_loss, record_snapshot)

__all__ = ["optim_chunk", "optim_relu_mse_chunk", "KINDS", "hyper_parameters", "new_state"]

#: Kernel codes of the optimizers (core.optimizers names).
SGD, MOMENTUM, ADAM, ADAMW, RMSPROP = range(5)
KINDS = {"sgd": SGD, "momentum": MOMENTUM, "adam": ADAM, "adamw": ADAMW, "rmsprop": RMSPROP}
#: Slots of the float32 hyper-parameter array (each value cast to float32 as torch casts a
#: Python scalar for a float32 tensor; ``1 - x`` computed in float64 first, as in Python).
LR, MOM, DAMP1, WD, B1W, B2, OMB2, EPS, ALPHA, OMA, DECAY, NESTEROV, CENTERED, N_HP = range(14)


def hyper_parameters(opt, lr: float):
    """``(hp32, betas64)`` for the kernel: float32 slots above and (beta1, beta2, lr) in float64."""
    hp = np.zeros(N_HP, dtype=np.float32)
    b1, b2 = opt.betas
    hp[LR] = lr
    hp[MOM] = opt.momentum
    hp[DAMP1] = 1.0 - opt.dampening
    hp[WD] = opt.weight_decay
    hp[B1W] = 1.0 - b1
    hp[B2] = b2
    hp[OMB2] = 1.0 - b2
    hp[EPS] = opt.eps
    hp[ALPHA] = opt.alpha
    hp[OMA] = 1.0 - opt.alpha
    hp[DECAY] = 1.0 - lr * opt.weight_decay
    hp[NESTEROV] = 1.0 if opt.nesterov else 0.0
    hp[CENTERED] = 1.0 if opt.centered else 0.0
    return hp, np.array([b1, b2, lr], dtype=np.float64)


def new_state(width: int):
    """Zeroed optimizer state for a network of ``width`` hidden units: ``(state, counts)``."""
    return np.zeros((3, 4, width), dtype=np.float32), np.zeros(2, dtype=np.int64)


@numba.njit(inline="always", **FLAGS)
def _lerp_into(a, b, w, n):
    """``a[j] = lerp(a[j], b[j], w)`` for j < n (torch's two branches around w = 0.5); ``a`` may
    be longer than the layer (the output bias's state row is H long, its gradient 1)."""
    if w < np.float32(0.5):
        for j in range(n):
            a[j] = a[j] + w * (b[j] - a[j])
    else:
        omw = np.float32(1.0) - w
        for j in range(n):
            a[j] = b[j] - (b[j] - a[j]) * omw


@numba.njit(**FLAGS)
def _apply(p, g, s0, s1, s2, kind, hp, first, step_size, bc2_sqrt):
    """Update one layer's parameters ``p`` with its gradients ``g`` (overwritten) and its state
    ``s0``, ``s1``, ``s2``, in place. One loop per operation and optimizer, each element's
    operations those of the module's docstring: the loops vectorise, the bits do not change."""
    n = p.shape[0]
    lr = hp[LR]
    wd = hp[WD]
    if kind == ADAMW:
        decay = hp[DECAY]
        for j in range(n):
            p[j] = p[j] * decay
    elif wd != np.float32(0.0):
        for j in range(n):
            g[j] = g[j] + wd * p[j]
    if kind == SGD:
        for j in range(n):
            p[j] = p[j] - lr * g[j]
    elif kind == MOMENTUM:
        mom = hp[MOM]
        if first:
            for j in range(n):
                s0[j] = g[j]
        else:
            d1 = hp[DAMP1]
            for j in range(n):
                s0[j] = s0[j] * mom + d1 * g[j]
        if hp[NESTEROV] != np.float32(0.0):
            for j in range(n):
                p[j] = p[j] - lr * (g[j] + mom * s0[j])
        else:
            for j in range(n):
                p[j] = p[j] - lr * s0[j]
    elif kind == ADAM or kind == ADAMW:
        _lerp_into(s0, g, hp[B1W], n)
        b2, omb2, eps = hp[B2], hp[OMB2], hp[EPS]
        for j in range(n):
            s1[j] = s1[j] * b2 + (omb2 * g[j]) * g[j]
        for j in range(n):
            p[j] = p[j] + step_size * (s0[j] / (np.sqrt(s1[j]) / bc2_sqrt + eps))
    else:  # RMSprop
        alpha, oma, eps, mom = hp[ALPHA], hp[OMA], hp[EPS], hp[MOM]
        for j in range(n):
            s0[j] = s0[j] * alpha + (oma * g[j]) * g[j]
        if hp[CENTERED] != np.float32(0.0):
            _lerp_into(s2, g, oma, n)
            for j in range(n):  # g / avg, kept in g (g itself is no longer needed after)
                g[j] = g[j] / (np.sqrt(s0[j] - s2[j] * s2[j]) + eps)
        else:
            for j in range(n):
                g[j] = g[j] / (np.sqrt(s0[j]) + eps)
        if mom > np.float32(0.0):
            for j in range(n):
                s1[j] = s1[j] * mom + g[j]
            for j in range(n):
                p[j] = p[j] - lr * s1[j]
        else:
            mlr = -lr
            for j in range(n):
                p[j] = p[j] + mlr * g[j]


@numba.njit(inline="always", **FLAGS)
def bias_corrections(betas, t):
    """``(1 - beta1 ** t, 1 - beta2 ** t)`` in float64, bit for bit as Python computes them for
    torch: a float exponent (libm's pow); numba's ``x ** int`` squares repeatedly and differs in
    the last bit at most step counts."""
    tf = np.float64(t)
    return 1.0 - betas[0] ** tf, 1.0 - betas[1] ** tf


@numba.njit(inline="always", **FLAGS)
def _scalars(kind, hp, betas, t):
    """Adam's per-step ``-lr / (1 - beta1^t)`` and ``sqrt(1 - beta2^t)`` (float64, then float32)."""
    if kind == ADAM or kind == ADAMW:
        bc1, bc2 = bias_corrections(betas, t)
        step_size = betas[2] / bc1
        return np.float32(-step_size), np.float32(math.sqrt(bc2))
    return np.float32(0.0), np.float32(1.0)


@numba.njit(**FLAGS)
def optim_chunk(x, y, xt, yt, idx, w1, b1, w2, b2_arr, kind, hp, betas, state, counts,
                train_hidden, step0, snap_steps, snap_ptr, snap_step, snap_train, snap_full,
                snap_test, snap_w1, snap_b1, snap_w2, snap_b2, loss_bound, act, act_p, loss_kind,
                delta):
    """Run ``idx.shape[0]`` steps of optimizer ``kind`` after global step ``step0``.

    Same arguments, return value and divergence rule as :func:`._kernels.sgd_chunk`, plus the
    optimizer's ``kind``, ``hp``, ``betas``, ``state`` and ``counts`` (see the module's docstring),
    and the same activation and loss arguments (ReLU with MSE: a copy compiled for those
    constants, as in sgd_chunk).
    A diverging step updates neither the parameters nor the state.
    """
    # (the snapshot arrays go as one tuple: a call of more than 30 arguments cannot be inlined)
    snaps = (snap_step, snap_train, snap_full, snap_test, snap_w1, snap_b1, snap_w2, snap_b2)
    if act == A_RELU and loss_kind == L_MSE:
        return optim_relu_mse_chunk(x, y, xt, yt, idx, w1, b1, w2, b2_arr, kind, hp, betas,
                                    state, counts, train_hidden, step0, snap_steps, snap_ptr,
                                    snap_step, snap_train, snap_full, snap_test, snap_w1, snap_b1,
                                    snap_w2, snap_b2, loss_bound, act, act_p, loss_kind, delta)
    return _optim_steps_any(x, y, xt, yt, idx, w1, b1, w2, b2_arr, kind, hp, betas, state,
                            counts, train_hidden, step0, snap_steps, snap_ptr, snaps, loss_bound,
                            act, act_p, loss_kind, delta)


@numba.njit(**FLAGS)
def optim_relu_mse_chunk(x, y, xt, yt, idx, w1, b1, w2, b2_arr, kind, hp, betas, state, counts,
                         train_hidden, step0, snap_steps, snap_ptr, snap_step, snap_train,
                         snap_full, snap_test, snap_w1, snap_b1, snap_w2, snap_b2, loss_bound,
                         act, act_p, loss_kind, delta):
    """:func:`optim_chunk` for ReLU with MSE only: a kernel of its own, so that a first run
    with an optimizer compiles only it (the other activations' steps compile when first used)."""
    snaps = (snap_step, snap_train, snap_full, snap_test, snap_w1, snap_b1, snap_w2, snap_b2)
    return _optim_steps(x, y, xt, yt, idx, w1, b1, w2, b2_arr, kind, hp, betas, state, counts,
                        train_hidden, step0, snap_steps, snap_ptr, snaps, loss_bound,
                        A_RELU, act_p, L_MSE, delta)


@numba.njit(inline="always", **FLAGS)
def _optim_steps(x, y, xt, yt, idx, w1, b1, w2, b2_arr, kind, hp, betas, state, counts,
                 train_hidden, step0, snap_steps, snap_ptr, snaps, loss_bound, act, act_p,
                 loss_kind, delta):
    """:func:`optim_chunk`'s steps."""
    snap_step, snap_train, snap_full, snap_test, snap_w1, snap_b1, snap_w2, snap_b2 = snaps
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
    gb2_arr = np.empty(1, dtype=np.float32)
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
            ss, bc = np.float32(0.0), np.float32(1.0)
            if train_hidden:
                first = counts[0] == 0
                counts[0] += 1
                ss, bc = _scalars(kind, hp, betas, counts[0])
                _apply(w1, gw1, state[0, 0], state[1, 0], state[2, 0], kind, hp, first, ss, bc)
                _apply(b1, gb1, state[0, 1], state[1, 1], state[2, 1], kind, hp, first, ss, bc)
            first = counts[1] == 0
            counts[1] += 1
            if not (train_hidden and counts[1] == counts[0]):  # else the same step count's
                ss, bc = _scalars(kind, hp, betas, counts[1])
            _apply(w2, gw2, state[0, 2], state[1, 2], state[2, 2], kind, hp, first, ss, bc)
            gb2_arr[0] = gb2
            _apply(b2_arr, gb2_arr, state[0, 3], state[1, 3], state[2, 3], kind, hp, first, ss, bc)
        if snap_ptr < n_snap and (diverged or step == snap_steps[snap_ptr]):
            record_snapshot(snap_ptr, step, loss, x, y, xt, yt, w1, b1, w2, b2_arr[0], act, act_p,
                            snap_step, snap_train, snap_full, snap_test, snap_w1, snap_b1,
                            snap_w2, snap_b2)
            snap_ptr += 1
        if diverged:
            return s + 1, snap_ptr, DIVERGED
    return n_steps, snap_ptr, RUNNING


#: The same steps as a function of their own for every other activation and loss: kept out of
#: optim_chunk, whose ReLU/MSE loop is then compiled as it was alone (4 % faster, measured).
_optim_steps_any = numba.njit(**FLAGS)(_optim_steps.py_func)
