"""Compiled kernels that train a block of runs together, the runs as the SIMD lanes.

A block is :data:`LANES` runs of the same width and mode (seeds, initial networks and learning
rates may differ), its parameters stored unit-major, run-minor (``w1[j, lane]``), so every
operation of :func:`._kernels.sgd_chunk` becomes one vector operation over the lanes. Each lane
does exactly the single-run kernel's float32 operations in the same order (see :mod:`._kernels`),
and lanes never mix, so a run gives the same bits alone or in any block, on any CPU.

:func:`draw_minibatches` draws the lanes' minibatches with ``numpy.random.RandomState``'s own
algorithm (MT19937, a 32-bit word masked to the smallest power of two above ``n - 1``, rejected
until it is below ``n``), continuing each lane's generator state, so a seed draws exactly the
indices ``RandomState(seed).randint(0, n, (steps, batch))`` gives. The draws of a block are shared
by every width and mode trained on it.
"""
from __future__ import annotations

import numba
import numpy as np
from numba.core import config as _numba_config
from numba.core.compiler import CompilerBase, DefaultPassBuilder

from ._kernels import FLAGS, mse, relu
from .batch_lanes import LANES  # runs per block (a block of fewer is padded)


class _LanesCompiler(CompilerBase):
    """numba's nopython pipeline with two changes that let LLVM turn the lane loops into vector
    instructions (float semantics unchanged, so the results are the same bits either way):

    * the array arguments are declared ``noalias``: every array the kernel gets is a separate
      allocation (:mod:`.batch_training` makes them), so a store to one cannot change another;
    * the SLP vectoriser runs while this kernel is compiled (numba leaves it off by default for
      other code): a lane loop of compile-time length LANES is unrolled, and SLP packs the
      unrolled lanes into vector operations.
    """

    def define_pipelines(self):
        self.state.flags.noalias = True
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.finalize()
        return [pm]

    def _compile_core(self):
        old = _numba_config.SLP_VECTORIZE
        _numba_config.SLP_VECTORIZE = 1
        try:
            return super()._compile_core()
        finally:
            _numba_config.SLP_VECTORIZE = old


LANE_FLAGS = dict(FLAGS, pipeline_class=_LanesCompiler)

#: MT19937's parameters (numpy's mt19937.c).
_N, _M = 624, 397
_MATRIX_A, _UPPER, _LOWER = np.uint32(0x9908B0DF), np.uint32(0x80000000), np.uint32(0x7FFFFFFF)


@numba.njit(**FLAGS)
def _twist(key):
    """Regenerate one lane's 624 state words (numpy's ``mt19937_gen``)."""
    for i in range(_N - _M):
        y = (key[i] & _UPPER) | (key[i + 1] & _LOWER)
        key[i] = key[i + _M] ^ (y >> np.uint32(1)) ^ (np.uint32(0) - (y & np.uint32(1))) & _MATRIX_A
    for i in range(_N - _M, _N - 1):
        y = (key[i] & _UPPER) | (key[i + 1] & _LOWER)
        key[i] = key[i + _M - _N] ^ (y >> np.uint32(1)) ^ (np.uint32(0) - (y & np.uint32(1))) & _MATRIX_A
    y = (key[_N - 1] & _UPPER) | (key[0] & _LOWER)
    key[_N - 1] = key[_M - 1] ^ (y >> np.uint32(1)) ^ (np.uint32(0) - (y & np.uint32(1))) & _MATRIX_A


@numba.njit(**FLAGS)
def _temper(key, out):
    """MT19937's tempering of one lane's 624 state words (a loop the compiler vectorises)."""
    for p in range(_N):
        w = key[p]
        w ^= w >> np.uint32(11)
        w ^= (w << np.uint32(7)) & np.uint32(0x9D2C5680)
        w ^= (w << np.uint32(15)) & np.uint32(0xEFC60000)
        w ^= w >> np.uint32(18)
        out[p] = w


@numba.njit(**FLAGS)
def draw_minibatches(key, pos, n, x, y, xb, yb, lo, hi, real, buf, tempered, backward):
    """Draw ``xb.shape[0]`` steps of minibatches for lanes ``lo`` to ``hi - 1`` and gather their
    points; if ``lo`` is 0, the lanes from ``real`` on (padding) get lane 0's. Threads that
    share a block's draws each draw their own lanes.

    ``key`` (lanes, 624) uint32 and ``pos`` (lanes,) int64 are the lanes' MT19937 states (as
    ``RandomState.get_state()`` gives them), advanced in place; ``xb``/``yb`` (steps, batch, lanes)
    float32 receive ``x[k]``/``y[k]`` for the drawn indices ``k``; ``buf`` (hi - lo, steps * batch
    + 1) and ``tempered`` (624,) uint32 are scratch. A rejected word is written and then
    overwritten (no branch to mispredict). The indices of all the lanes are drawn first, then
    gathered in one pass (each cache line of ``xb`` written once), from the last step back if
    ``backward`` (so that two threads filling their lanes of one buffer do not write the same
    lines at the same time).
    """
    steps, batch, lanes = xb.shape
    need = steps * batch
    rng = np.uint32(n - 1)
    mask = rng
    for sh in (1, 2, 4, 8, 16):
        mask |= mask >> np.uint32(sh)
    for lane in range(lo, hi):
        kl = key[lane]
        out = buf[lane - lo]
        p = pos[lane]
        got = 0
        if rng == 0:
            out[:need] = 0
            got = need
        elif p < _N:
            _temper(kl, tempered)
        while got < need:
            if p >= _N:
                _twist(kl)
                _temper(kl, tempered)
                p = 0
            while p < _N and got < need:
                v = np.uint32(tempered[p] & mask)
                p += 1
                out[got] = v
                got += v <= rng
        pos[lane] = p
    for t in range(steps):
        s = steps - 1 - t if backward else t
        for i in range(batch):
            k = s * batch + i
            for lane in range(lo, hi):
                v = buf[lane - lo, k]
                xb[s, i, lane] = x[v]
                yb[s, i, lane] = y[v]
            if lo == 0:
                for lane in range(real, lanes):
                    xb[s, i, lane] = xb[s, i, 0]
                    yb[s, i, lane] = yb[s, i, 0]


@numba.njit(**FLAGS)
def _snapshot(lane, ptr, step, loss, x, y, xt, yt, w1, b1, w2, b2, snap_step, snap_train,
              snap_full, snap_test, snap_w1, snap_b1, snap_w2, snap_b2):
    """Record one lane's snapshot number ``ptr`` (the single-run kernel's values, bit for bit)."""
    c1 = np.ascontiguousarray(w1[:, lane])
    c2 = np.ascontiguousarray(b1[:, lane])
    c3 = np.ascontiguousarray(w2[:, lane])
    snap_step[lane, ptr] = step
    snap_train[lane, ptr] = loss
    snap_full[lane, ptr] = mse(x, y, c1, c2, c3, b2[lane])
    snap_test[lane, ptr] = mse(xt, yt, c1, c2, c3, b2[lane])
    snap_w1[lane, ptr, :] = c1
    snap_b1[lane, ptr, :] = c2
    snap_w2[lane, ptr, :] = c3
    snap_b2[lane, ptr] = b2[lane]


@numba.njit(inline="always", **FLAGS)
def _add_terms(gw2, gw1, gb1, h, g, w2, x):
    """One input's terms of a unit's three gradients: ``g h``, and ``t x``, ``t`` with ``t = g
    w2`` where the gate is open (``h > 0``). The single-run kernel adds ``t x`` and ``t`` only
    there; here ``t`` is zeroed where the gate is shut and both are added: the same bits, since a
    sum that starts at +0.0 is never -0.0, and adding +-0.0 (``0 x``, x finite) leaves it as
    it is."""
    t = g * w2 if h > 0 else np.float32(0.0)
    return gw2 + g * h, gw1 + t * x, gb1 + t


@numba.njit(**LANE_FLAGS)
def sgd_lanes(xb, yb, x, y, xt, yt, w1, b1, w2, b2, lr, train_hidden, step0, snap_steps,
              snap_ptr, snap_step, snap_train, snap_full, snap_test, snap_w1, snap_b1, snap_w2,
              snap_b2, loss_bound, diverged_at, loss, gw1, gb1, gw2, gb2, q0, q1, q2, q3,
              r0, r1, r2, r3):
    """Run ``xb.shape[0]`` SGD steps of a block of :data:`LANES` runs after global step ``step0``.

    ``xb``/``yb`` (steps, batch, LANES): each lane's minibatch points; ``w1``, ``b1``, ``w2``
    (H, LANES), ``b2`` and ``lr`` (LANES,) float32, updated in place; snapshot arrays
    ``snap_*[lane, k]`` and ``snap_ptr[lane]`` (the next free slot) for the first ``real`` lanes
    (their length; the other lanes pad the block and record nothing). A lane whose minibatch loss is
    not finite or exceeds ``loss_bound`` records that step's snapshot (the parameters that made
    the loss), sets ``diverged_at[lane]`` to the step and stops: its parameters and learning rate
    become 0, so it computes harmless zeros from then on. Lanes with ``diverged_at >= 0`` on entry
    have stopped before. ``loss``, ``gb2``, ``r0`` ... ``r3`` (LANES,), ``gw1``, ``gb1``, ``gw2``
    and ``q0`` ... ``q3`` (H, LANES) are float32 scratch. Every array must be a separate
    allocation (see :class:`_LanesCompiler`). Returns the number of lanes still running.

    A step takes the minibatch four inputs at a time: their predictions (each sums the units in
    order; four sums in registers, separate arrays so the compiler knows they do not overlap),
    their losses and output gradients ``g``, and then their terms of every gradient, added in
    input order. A gradient term needs only its own input's ``g``, so every sum has the
    single-run kernel's order, and the hidden values of four inputs (``q0`` ... ``q3``) stay in
    the L1 cache between the two passes (kept for the whole minibatch they would not: slower,
    measured). The parameters change once the whole minibatch is summed. (The four inputs'
    arrays are separate 2-D arrays: with one 3-D array the compiler kept the four sums in memory.)
    """
    n_steps, batch, _lanes = xb.shape
    h_count = w1.shape[0]
    two_over_b = np.float32(2.0 / batch)
    n_snap = snap_steps.shape[0]
    real = snap_ptr.shape[0]  # the lanes after these pad the block: no history, no say
    running = 0
    for lane in range(real):
        if diverged_at[lane] < 0:
            running += 1
    quads = batch // 4
    for s in range(n_steps):
        step = step0 + s + 1
        for lane in range(LANES):
            loss[lane] = 0.0
            gb2[lane] = 0.0
        for j in range(h_count):
            for lane in range(LANES):
                gw2[j, lane] = 0.0
                gw1[j, lane] = 0.0
                gb1[j, lane] = 0.0
        for q in range(quads):
            i = 4 * q
            for lane in range(LANES):
                r0[lane] = 0.0
                r1[lane] = 0.0
                r2[lane] = 0.0
                r3[lane] = 0.0
            for j in range(h_count):
                for lane in range(LANES):
                    w, c, v = w1[j, lane], b1[j, lane], w2[j, lane]
                    h0 = relu(xb[s, i, lane] * w + c)
                    h1 = relu(xb[s, i + 1, lane] * w + c)
                    h2 = relu(xb[s, i + 2, lane] * w + c)
                    h3 = relu(xb[s, i + 3, lane] * w + c)
                    q0[j, lane] = h0
                    q1[j, lane] = h1
                    q2[j, lane] = h2
                    q3[j, lane] = h3
                    r0[lane] += v * h0
                    r1[lane] += v * h1
                    r2[lane] += v * h2
                    r3[lane] += v * h3
            # The loss's terms and the output gradients g (in r0 ... r3), input by input.
            for lane in range(LANES):
                b = b2[lane]
                d = (r0[lane] + b) - yb[s, i, lane]
                loss[lane] += d * d
                r0[lane] = two_over_b * d
                d = (r1[lane] + b) - yb[s, i + 1, lane]
                loss[lane] += d * d
                r1[lane] = two_over_b * d
                d = (r2[lane] + b) - yb[s, i + 2, lane]
                loss[lane] += d * d
                r2[lane] = two_over_b * d
                d = (r3[lane] + b) - yb[s, i + 3, lane]
                loss[lane] += d * d
                r3[lane] = two_over_b * d
                gb2[lane] += r0[lane]
                gb2[lane] += r1[lane]
                gb2[lane] += r2[lane]
                gb2[lane] += r3[lane]
            if train_hidden:
                for j in range(h_count):
                    for lane in range(LANES):
                        v = w2[j, lane]
                        a2, a1, ab = gw2[j, lane], gw1[j, lane], gb1[j, lane]
                        a2, a1, ab = _add_terms(a2, a1, ab, q0[j, lane], r0[lane], v,
                                                xb[s, i, lane])
                        a2, a1, ab = _add_terms(a2, a1, ab, q1[j, lane], r1[lane], v,
                                                xb[s, i + 1, lane])
                        a2, a1, ab = _add_terms(a2, a1, ab, q2[j, lane], r2[lane], v,
                                                xb[s, i + 2, lane])
                        a2, a1, ab = _add_terms(a2, a1, ab, q3[j, lane], r3[lane], v,
                                                xb[s, i + 3, lane])
                        gw2[j, lane], gw1[j, lane], gb1[j, lane] = a2, a1, ab
            else:
                for j in range(h_count):
                    for lane in range(LANES):
                        a2 = gw2[j, lane]
                        a2 += r0[lane] * q0[j, lane]
                        a2 += r1[lane] * q1[j, lane]
                        a2 += r2[lane] * q2[j, lane]
                        a2 += r3[lane] * q3[j, lane]
                        gw2[j, lane] = a2
        for i in range(4 * quads, batch):  # the last batch % 4 inputs, one by one
            for lane in range(LANES):
                r0[lane] = 0.0
            for j in range(h_count):
                for lane in range(LANES):
                    h0 = relu(xb[s, i, lane] * w1[j, lane] + b1[j, lane])
                    q0[j, lane] = h0
                    r0[lane] += w2[j, lane] * h0
            for lane in range(LANES):
                d = (r0[lane] + b2[lane]) - yb[s, i, lane]
                loss[lane] += d * d
                r0[lane] = two_over_b * d
                gb2[lane] += r0[lane]
            if train_hidden:
                for j in range(h_count):
                    for lane in range(LANES):
                        gw2[j, lane], gw1[j, lane], gb1[j, lane] = _add_terms(
                            gw2[j, lane], gw1[j, lane], gb1[j, lane], q0[j, lane], r0[lane],
                            w2[j, lane], xb[s, i, lane])
            else:
                for j in range(h_count):
                    for lane in range(LANES):
                        gw2[j, lane] += r0[lane] * q0[j, lane]
        for lane in range(LANES):
            loss[lane] = loss[lane] / np.float32(batch)
            if diverged_at[lane] < 0 and not (loss[lane] <= loss_bound):  # also true for NaN
                if lane < real and snap_ptr[lane] < n_snap:
                    _snapshot(lane, snap_ptr[lane], step, loss[lane], x, y, xt, yt, w1, b1, w2, b2,
                              snap_step, snap_train, snap_full, snap_test, snap_w1, snap_b1,
                              snap_w2, snap_b2)
                    snap_ptr[lane] += 1
                diverged_at[lane] = step
                if lane < real:
                    running -= 1
                w1[:, lane] = 0.0
                b1[:, lane] = 0.0
                w2[:, lane] = 0.0
                b2[lane] = 0.0
                lr[lane] = 0.0
                # (its gradients, of the parameters that diverged, are dropped: the update below
                # then leaves +0.0, as the single-run kernel's stop leaves the run's history)
                gw1[:, lane] = 0.0
                gb1[:, lane] = 0.0
                gw2[:, lane] = 0.0
                gb2[lane] = 0.0
        for j in range(h_count):
            for lane in range(LANES):
                if train_hidden:
                    w1[j, lane] -= lr[lane] * gw1[j, lane]
                    b1[j, lane] -= lr[lane] * gb1[j, lane]
                w2[j, lane] -= lr[lane] * gw2[j, lane]
        for lane in range(LANES):
            b2[lane] = b2[lane] - lr[lane] * gb2[lane]
        for lane in range(real):
            if diverged_at[lane] < 0 and snap_ptr[lane] < n_snap and step == snap_steps[snap_ptr[lane]]:
                _snapshot(lane, snap_ptr[lane], step, loss[lane], x, y, xt, yt, w1, b1, w2, b2,
                          snap_step, snap_train, snap_full, snap_test, snap_w1, snap_b1, snap_w2,
                          snap_b2)
                snap_ptr[lane] += 1
        if running == 0:
            break
    return running
