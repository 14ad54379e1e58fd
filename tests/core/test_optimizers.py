"""Momentum, Adam, AdamW and RMSprop train as torch.optim does, to round-off.

The reference is plain torch (no relu_studio code): the notebook's ``nn.Sequential(Linear(1, H),
ReLU(), Linear(H, 1))``, ``MSELoss`` and ``torch.optim.<Opt>`` with the same hyper-parameters
(single-tensor path, ``foreach=False``), the same initial parameters and the same minibatch
indices; in "output" mode only the last layer's parameters are given to the optimizer. It runs
twice: in float32 (the engine's precision: only the order of operations differs) and in float64
(the exact update rule, up to float64 round-off).

Tolerances (relative to the network's largest parameter, at least 1; EPS32 = 2**-23):

* TOL32 = 64 EPS32 against torch in float32 over 500 steps: each step's gradient sums differ
  from torch's BLAS order by a few roundings (test_training_exact.py measures at most 1 EPS32 per
  SGD step); Adam and RMSprop divide by ``sqrt(v) + eps``, which keeps a relative error relative,
  so these round-offs do not grow beyond what SGD sees. Measured here: at most 12.5 EPS32
  (RMSprop centered with momentum, all layers, H = 40).
  A wrong rule (a missing bias correction, eps inside the square root, coupled instead of
  decoupled decay, the first momentum step damped) is off by ~lr at some step: >= 1e-4, ~1000
  EPS32 and more.
* TOL64 = 1024 EPS32 (~1.2e-4) against float64 torch: the engine rounds every operation to
  float32 (~EPS32/2 relative each); over 500 steps these add up at most linearly (500 x ~2 EPS32).
  Measured: at most 44.2 EPS32 (AdamW, output layer, H = 10).

As in test_training_exact.py, a ReLU gate (the sign of ``x * w + b``) decided by rounding is not
round-off: the free-running comparison stops at the first step whose gates differ between engine
and reference, and checks that the reference's pre-activation there lies within the runs'
round-off distance of zero (else the test fails). test_every_step_matches_torchs_step compares
every step on its own, from torch's parameters and optimizer state.

Checked to fail: Adam without the first bias correction (56 of the Adam tests fail), eps inside
Adam's square root (45).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import torch

import relu_studio as rs
from relu_studio.core import _kernels, _optim_kernels
from relu_studio.core.settings import SettingsError
from relu_studio.core.training import snapshot_steps
from notebook_reference import EPS32, load_network, notebook_net, state_numpy, to_torch

STEPS = 500
TOL32 = 64 * EPS32
TOL64 = 1024 * EPS32
DATA = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
X32 = DATA.x.astype(np.float32)
Y32 = DATA.y.astype(np.float32)

#: name -> (relu_studio Optimizer, torch.optim class, torch keyword arguments)
CONFIGS = {
    "sgd_wd": (rs.Optimizer("sgd", lr=0.02, weight_decay=0.01), torch.optim.SGD,
               dict(lr=0.02, weight_decay=0.01)),
    "momentum": (rs.Optimizer("momentum", lr=0.02), torch.optim.SGD, dict(lr=0.02, momentum=0.9)),
    "momentum_damp_wd": (rs.Optimizer("momentum", lr=0.01, momentum=0.8, dampening=0.3, weight_decay=1e-3),
                         torch.optim.SGD, dict(lr=0.01, momentum=0.8, dampening=0.3, weight_decay=1e-3)),
    "nesterov": (rs.Optimizer("momentum", lr=0.02, nesterov=True), torch.optim.SGD,
                 dict(lr=0.02, momentum=0.9, nesterov=True)),
    "adam": (rs.Optimizer("adam", lr=1e-3), torch.optim.Adam, dict(lr=1e-3)),
    "adam_wd": (rs.Optimizer("adam", lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2),
                torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    "adamw": (rs.Optimizer("adamw", lr=1e-2), torch.optim.AdamW, dict(lr=1e-2)),
    "rmsprop": (rs.Optimizer("rmsprop", lr=1e-3), torch.optim.RMSprop, dict(lr=1e-3)),
    "rmsprop_centered_mom": (rs.Optimizer("rmsprop", lr=1e-3, centered=True, momentum=0.5, weight_decay=1e-3),
                             torch.optim.RMSprop,
                             dict(lr=1e-3, centered=True, momentum=0.5, weight_decay=1e-3)),
}
WIDTHS = (1, 10, 40)
#: The kernels' activation and loss arguments for the notebook's ReLU and MSE.
RELU_MSE = (*_kernels.activation_code(rs.Activation()), *_kernels.loss_code(None))
MODES = ("output", "all")


def minibatches(seed, steps=STEPS, n=200, batch=40):
    return np.random.RandomState(200 + seed).randint(0, n, (steps, batch))


@dataclasses.dataclass(frozen=True)
class Reference:
    """torch's run at every step: parameters after ``s`` steps (0: initial) and ``pre[s]``, the
    first layer's output on step ``s + 1``'s minibatch."""

    idx: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    pre: np.ndarray
    #: torch's optimizer state before each step, in the engine's layout: (state, counts) per step
    opt_state: tuple = ()

    def params(self, s):
        return self.w1[s], self.b1[s], self.w2[s], self.b2[s]


@functools.lru_cache(maxsize=None)
def reference(config: str, mode: str, width: int, seed: int, dtype: str) -> Reference:
    _, opt_cls, kwargs = CONFIGS[config]
    tdtype = torch.float32 if dtype == "float32" else torch.float64
    net = notebook_net(width, seed).to(tdtype)
    x = torch.from_numpy(X32.astype(np.float64)).to(tdtype).reshape(-1, 1)
    y = torch.from_numpy(Y32.astype(np.float64)).to(tdtype).reshape(-1, 1)
    params = list(net.parameters())
    opt = opt_cls(params if mode == "all" else params[2:], foreach=False, **kwargs)
    loss = torch.nn.MSELoss()
    idx = minibatches(seed)
    states, pres, opt_states = [state_numpy(net)], [], []
    for s in range(STEPS):
        opt_states.append(engine_state(opt, params, width))
        sub = torch.from_numpy(idx[s])
        with torch.no_grad():
            pres.append(net[0](x[sub, :]).numpy().astype(np.float64))
        opt.zero_grad()
        loss(y[sub], net(x[sub, :])).backward()
        opt.step()
        states.append(state_numpy(net))

    def stack(k):
        return np.stack([st[k].ravel().astype(np.float64) for st in states])

    return Reference(idx, stack("0.weight"), stack("0.bias"), stack("2.weight"),
                     stack("2.bias")[:, 0], np.stack(pres), tuple(opt_states))


#: torch's per-parameter state names -> the engine's state slot (core._optim_kernels).
SLOTS = {"momentum_buffer": None, "exp_avg": 0, "exp_avg_sq": 1, "square_avg": 0, "grad_avg": 2}


def engine_state(opt, params, width):
    """torch's optimizer state as the engine's ``(state (3, 4, H) float32, counts (2,))``."""
    state, counts = _optim_kernels.new_state(width)
    rmsprop = isinstance(opt, torch.optim.RMSprop)
    for layer, p in enumerate(params):
        st = opt.state.get(p, {})
        for key, value in st.items():
            if key == "step":
                counts[0 if layer < 2 else 1] = int(value)
                continue
            if value is None:
                continue
            slot = SLOTS[key] if key != "momentum_buffer" else (1 if rmsprop else 0)
            v = value.detach().numpy().ravel()
            state[slot, layer, :v.size] = v
            if key == "momentum_buffer" and not rmsprop:
                counts[0 if layer < 2 else 1] = 1  # not the first step: the buffer exists
    return state, counts


def engine_run(config, mode, width, seed, idx=None, steps=STEPS):
    opt = CONFIGS[config][0]
    idx = minibatches(seed) if idx is None else idx
    return rs.train(rs.init_network(width, seed), DATA, mode=mode, steps=steps, save_every=1,
                    indices=idx[:steps], optimizer=opt)


def scale(params) -> float:
    return max(1.0, max(float(np.abs(np.ravel(p)).max()) for p in params))


def rel_error(ours, ref) -> float:
    diff = max(float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
               for a, b in zip(ours, ref))
    return diff / scale(ref)


def run_params(run, s):
    if s == 0:
        n = run.initial
        return n.w1, n.b1, n.w2, np.float32(n.b2)
    return run.w1[s - 1], run.b1[s - 1], run.w2[s - 1], run.b2[s - 1]


def compare_free_running(run, ref: Reference, tol: float, what: str) -> int:
    """Asserts the runs agree to ``tol`` until their ReLU gates first differ; returns the number
    of steps compared (and checks that a differing gate is one rounding decides)."""
    assert run.completed_steps == STEPS and run.diverged_at is None
    worst = 0.0
    for s in range(STEPS):
        ours = run_params(run, s)
        err = rel_error(ours, ref.params(s))
        assert err <= tol, (f"{what}: the parameters after {s} steps differ from torch's by "
                            f"{err / EPS32:.1f} EPS32 (tolerance {tol / EPS32:.0f})")
        worst = max(worst, err)
        xb = X32[ref.idx[s]]
        gates = (xb[:, None] * ours[0][None, :] + ours[1][None, :]) > 0  # float32, never fused
        ref_gates = ref.pre[s] > 0
        if not np.array_equal(gates, ref_gates):
            i, j = map(int, np.argwhere(gates != ref_gates)[0])
            bound = (1 + abs(float(xb[i]))) * max(err, EPS32) * scale(ref.params(s)) * 4
            bound += 4 * float(np.spacing(np.float32(abs(ref.pre[s][i, j]))))
            assert abs(ref.pre[s][i, j]) <= bound, (
                f"{what}: at step {s + 1} unit {j}'s gate at x = {xb[i]} differs from torch's "
                f"far from zero (torch's pre-activation {ref.pre[s][i, j]:.3g})")
            print(f"\n{what}: compared {s} steps; at step {s + 1} a gate within round-off of 0 "
                  f"differs (torch's pre-activation {ref.pre[s][i, j]:.3g})")
            return s
    err = rel_error(run_params(run, STEPS), ref.params(STEPS))
    assert err <= tol, f"{what}: the final parameters differ from torch's by {err / EPS32:.1f} EPS32"
    print(f"\n{what}: worst {max(worst, err) / EPS32:.1f} EPS32 over {STEPS} steps")
    return STEPS


CASES = [(c, m, w) for c in CONFIGS for m in MODES for w in WIDTHS]


@pytest.mark.parametrize("config, mode, width", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_each_optimizer_matches_torch(config, mode, width, dtype):
    seed = 3
    ref = reference(config, mode, width, seed, dtype)
    run = engine_run(config, mode, width, seed)
    tol = TOL32 if dtype == "float32" else TOL64
    compared = compare_free_running(run, ref, tol, f"{config}/{mode}/H={width} vs torch {dtype}")
    # The comparison must mean something: most of the run is compared (a gate decided by rounding
    # is rare away from the seed-1 data), and the optimizer moved the parameters far beyond tol.
    assert compared >= STEPS // 5, f"only {compared} steps compared"
    moved = rel_error(run_params(run, compared), ref.params(0))
    assert moved > 100 * tol


def near_zero(x32, w1, b1, ulps=2.0) -> bool:
    """Whether some ``x * w + b`` lies within ``ulps`` ulps (of the larger operand) of zero: there
    the sign depends on how torch's kernel rounds (fused or not), see test_training_exact.py."""
    xw = np.asarray(x32, np.float64)[:, None] * np.asarray(w1, np.float64)[None, :]
    b = np.asarray(b1, np.float64)[None, :]
    ulp = np.spacing(np.maximum(np.abs(xw), np.abs(b)).astype(np.float32)).astype(np.float64)
    return bool((np.abs(xw + b) < ulps * ulp).any())


#: One step from torch's parameters and optimizer state: measured at most 1.5 EPS32 (gradient
#: sums in another order, torch's vectorised FMA in ``add``/``lerp``); a wrong rule is >= 1e-4.
TOL_STEP = 8 * EPS32


@pytest.mark.parametrize("config, mode, width", CASES)
def test_every_step_matches_torchs_step(config, mode, width):
    """From torch's float32 parameters and optimizer state before each of 500 steps, one engine
    step equals torch's step to TOL_STEP; steps where a pre-activation lies within 2 ulps of zero
    (the gate is decided by torch's rounding) are skipped and counted."""
    seed = 3
    opt = CONFIGS[config][0]
    ref = reference(config, mode, width, seed, "float32")
    hp, betas = _optim_kernels.hyper_parameters(opt, opt.lr)
    kind = _optim_kernels.KINDS[opt.name]
    xt, yt = DATA.x_test.astype(np.float32), DATA.y_test.astype(np.float32)
    skipped, worst = [], 0.0
    for s in range(STEPS):
        w1, b1, w2, b2 = (np.array(a, np.float32).ravel() for a in ref.params(s))
        if mode == "all" and near_zero(X32[ref.idx[s]], w1, b1):
            skipped.append(s + 1)
            continue
        state, counts = (a.copy() for a in ref.opt_state[s])
        hist = [np.zeros(1, np.int64), np.zeros(1), np.zeros(1), np.zeros(1),
                np.zeros((1, width), np.float32), np.zeros((1, width), np.float32),
                np.zeros((1, width), np.float32), np.zeros(1, np.float32)]
        _optim_kernels.optim_chunk(X32, Y32, xt, yt, ref.idx[s:s + 1], w1, b1, w2, b2, kind, hp,
                                   betas, state, counts, mode == "all", s, np.array([s + 1]), 0,
                                   *hist, 1e9, *RELU_MSE)
        err = rel_error((w1, b1, w2, b2), ref.params(s + 1))
        assert err <= TOL_STEP, (f"{config}/{mode}/H={width}: step {s + 1} from torch's parameters "
                                 f"and state differs by {err / EPS32:.1f} EPS32")
        worst = max(worst, err)
    assert len(skipped) <= STEPS // 10, f"too many steps skipped: {skipped}"
    print(f"\n{config}/{mode}/H={width}: worst step {worst / EPS32:.2f} EPS32; skipped {skipped}")


# --------------------------------------------------------------------------- Adam by hand
@pytest.mark.parametrize("mode", MODES)
def test_adam_bias_correction_at_steps_1_and_2_by_hand(mode):
    """Step 1: m1 = (1-b1) g1, v1 = (1-b2) g1^2, so with bias correction the step is
    lr * g1 / (|g1| + eps) ~ lr * sign(g1): every parameter with a gradient moves by lr. Step 2
    follows m2 = b1 m1 + (1-b1) g2, v2 = b2 v1 + (1-b2) g2^2, step lr (m2/(1-b1^2)) /
    (sqrt(v2/(1-b2^2)) + eps). Gradients from float64 autograd at the engine's own parameters."""
    lr, (b1, b2), eps = 0.01, (0.9, 0.999), 1e-8
    net = rs.init_network(10, 3)
    idx = minibatches(3, steps=2)
    run = rs.train(net, DATA, mode=mode, steps=2, save_every=1, indices=idx,
                   optimizer=rs.Optimizer("adam", lr=lr))

    def grads(params, s):
        model = load_network(notebook_net(10, 0), *params).double()
        x = torch.from_numpy(X32.astype(np.float64)).reshape(-1, 1)[idx[s]]
        y = torch.from_numpy(Y32.astype(np.float64)).reshape(-1, 1)[idx[s]]
        torch.nn.MSELoss()(y, model(x)).backward()
        return [p.grad.numpy().ravel().copy() for p in model.parameters()]

    p0 = [np.asarray(a, np.float64).ravel() for a in run_params(run, 0)]
    g1 = grads(run_params(run, 0), 0)
    p1 = [np.asarray(a, np.float64).ravel() for a in run_params(run, 1)]
    trained = range(4) if mode == "all" else (2, 3)
    m1, v1 = {}, {}
    for k in range(4):
        if k not in trained:
            assert np.array_equal(p1[k], p0[k])
            continue
        m1[k], v1[k] = (1 - b1) * g1[k], (1 - b2) * g1[k] ** 2
        want = p0[k] - lr * (m1[k] / (1 - b1)) / (np.sqrt(v1[k] / (1 - b2)) + eps)
        np.testing.assert_allclose(p1[k], want, rtol=0, atol=16 * EPS32)
        moving = np.abs(g1[k]) > 1e-4  # far above eps: the first step is lr * sign(g)
        assert moving.any()
        np.testing.assert_allclose(p1[k][moving] - p0[k][moving], -lr * np.sign(g1[k][moving]),
                                   rtol=1e-3, atol=0)
    g2 = grads(run_params(run, 1), 1)
    p2 = [np.asarray(a, np.float64).ravel() for a in run_params(run, 2)]
    for k in trained:
        m2 = b1 * m1[k] + (1 - b1) * g2[k]
        v2 = b2 * v1[k] + (1 - b2) * g2[k] ** 2
        want = p1[k] - lr * (m2 / (1 - b1 ** 2)) / (np.sqrt(v2 / (1 - b2 ** 2)) + eps)
        np.testing.assert_allclose(p2[k], want, rtol=0, atol=64 * EPS32)
        # Without bias correction step 2 would be ~10x smaller: the check tells them apart.
        uncorrected = p1[k] - lr * m2 / (np.sqrt(v2) + eps)
        assert np.abs(want - uncorrected).max() > 1e-3


# --------------------------------------------------------------------------- pause / resume
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("mode", MODES)
def test_pause_resume_equals_an_uninterrupted_run(config, mode):
    rng = np.random.RandomState(sum(map(ord, config + mode)))
    opt = CONFIGS[config][0]
    net = rs.init_network(10, 5)
    whole = rs.train(net, DATA, mode=mode, steps=700, save_every=7, seed=4, optimizer=opt)
    trainer = rs.Trainer(net, DATA, mode=mode, steps=700, save_every=7, seed=4, optimizer=opt)
    first = int(rng.randint(1, 699))
    assert trainer.advance(first) == first
    state = trainer.optimizer_state
    if opt.is_plain_sgd:
        assert state is None
    else:
        assert state is not None and state[1][1] == first  # the output layer's step count
    while not trainer.done:
        trainer.advance(int(rng.randint(1, 200)))
    part = trainer.result()
    for name in ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2"):
        assert np.array_equal(getattr(part, name), getattr(whole, name)), name
    assert part.settings.optimizer == whole.settings.optimizer


# --------------------------------------------------------------------------- SGD unchanged
def test_optimizer_sgd_is_the_default_path_bit_for_bit():
    net = rs.init_network(20, 0)
    plain = rs.train(net, DATA, mode="all", steps=3000, save_every=100, seed=1)
    sgd = rs.train(net, DATA, mode="all", steps=3000, save_every=100, seed=1,
                   optimizer=rs.Optimizer("sgd", lr=0.02))
    for name in ("w1", "b1", "w2", "b2", "train_error", "test_error"):
        assert np.array_equal(getattr(plain, name), getattr(sgd, name))
    assert plain.settings.optimizer is None and sgd.settings.optimizer.name == "sgd"


@pytest.mark.parametrize("mode", MODES)
def test_the_optimizer_kernel_computes_the_sgd_kernels_gradient(mode):
    """The optimizer kernel's "sgd" rule without weight decay gives the SGD kernel's bits: its
    forward pass and gradient are the same operations in the same order."""
    net = rs.init_network(16, 2)
    idx = minibatches(2, steps=400)
    snaps = snapshot_steps(400, 50)
    outs = []
    for use_optim in (False, True):
        w1, b1, w2 = (np.array(a, np.float32) for a in (net.w1, net.b1, net.w2))
        b2 = np.array([net.b2], np.float32)
        m, h = snaps.size, net.width
        hist = [np.zeros(m, np.int64), np.zeros(m), np.zeros(m), np.zeros(m),
                np.zeros((m, h), np.float32), np.zeros((m, h), np.float32),
                np.zeros((m, h), np.float32), np.zeros(m, np.float32)]
        common = (X32, Y32, DATA.x_test.astype(np.float32), DATA.y_test.astype(np.float32), idx,
                  w1, b1, w2, b2)
        if use_optim:
            hp, betas = _optim_kernels.hyper_parameters(rs.Optimizer("sgd"), 0.02)
            state, counts = _optim_kernels.new_state(h)
            _optim_kernels.optim_chunk(*common, _optim_kernels.SGD, hp, betas, state, counts,
                                       mode == "all", 0, snaps, 0, *hist, 1e9, *RELU_MSE)
        else:
            _kernels.sgd_chunk(*common, 0.02, mode == "all", 0, snaps, 0, *hist, 1e9, *RELU_MSE)
        outs.append(hist)
    for a, b in zip(*outs):
        assert np.array_equal(a, b)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, message", [
    (dict(name="adagrad"), "must be one of sgd, momentum, adam, adamw, rmsprop"),
    (dict(name="adam", lr=0.0), "learning rate must be a finite number > 0"),
    (dict(name="adam", lr=float("nan")), "learning rate must be a finite number"),
    (dict(name="momentum", momentum=1.0), r"momentum must be a number in \(0, 1\)"),
    (dict(name="momentum", momentum=0.0), r"momentum must be a number in \(0, 1\)"),
    (dict(name="momentum", dampening=1.5), r"dampening must be a number in \[0, 1\]"),
    (dict(name="momentum", nesterov=True, dampening=0.1), "Nesterov momentum requires zero dampening"),
    (dict(name="adam", betas=(0.9, 1.0)), r"beta2 must be a number in \[0, 1\)"),
    (dict(name="adam", betas=(-0.1, 0.9)), r"beta1 must be a number in \[0, 1\)"),
    (dict(name="adam", betas=0.9), "betas must be two numbers"),
    (dict(name="adamw", eps=0.0), "eps must be a finite number > 0"),
    (dict(name="adam", weight_decay=-1e-3), "weight decay must be a finite number >= 0"),
    (dict(name="rmsprop", alpha=1.0), r"alpha must be a number in \[0, 1\)"),
    (dict(name="sgd", momentum=0.9), "SGD has no setting 'momentum'"),
    (dict(name="adam", nesterov=True), "Adam has no setting 'nesterov'"),
    (dict(name="sgd", lr="0.1"), "learning rate must be a finite number"),
])
def test_bad_hyper_parameters_are_refused_with_a_message(kwargs, message):
    with pytest.raises(SettingsError, match=message):
        rs.Optimizer(**kwargs)


def test_a_non_optimizer_is_refused_by_the_trainer():
    with pytest.raises(rs.TrainingError, match="optimizer must be a relu_studio Optimizer"):
        rs.Trainer(rs.init_network(2, 0), DATA, optimizer="adam")


def test_defaults_are_torchs_and_survive_a_file_round_trip():
    assert rs.Optimizer("adamw").weight_decay == 0.01 and rs.Optimizer("adam").weight_decay == 0.0
    assert rs.Optimizer("momentum").momentum == 0.9
    net = rs.init_network(4, 0)
    for name, lr in (("adam", 1e-3), ("adamw", 1e-3), ("rmsprop", 1e-2), ("sgd", 0.02), ("momentum", 0.02)):
        run = rs.train(net, DATA, mode="all", steps=2, optimizer=rs.Optimizer(name))
        assert run.settings.lr == lr and run.settings.optimizer.lr == lr
        assert rs.Optimizer.from_dict(run.settings.optimizer.to_dict()) == run.settings.optimizer
    with pytest.raises(SettingsError, match="unknown optimizer settings: beta"):
        rs.Optimizer.from_dict({"name": "adam", "beta": 0.9})


def test_divergence_stops_without_applying_the_step():
    run = rs.train(rs.init_network(10, 0), DATA, mode="all", steps=2000, save_every=100,
                   optimizer=rs.Optimizer("momentum", lr=5.0, momentum=0.99))
    assert run.diverged and "diverged" in run.message
    assert run.completed_steps == run.diverged_at - 1


def test_a_learning_rate_changed_between_chunks_acts_as_torchs_param_group_lr():
    """``set_options(lr=...)`` mid-run with Adam equals torch changing ``param_groups[0]["lr"]``
    between steps (the moments and the step count carry on)."""
    width, seed, first = 10, 3, 150
    idx = minibatches(seed)
    trainer = rs.Trainer(rs.init_network(width, seed), DATA, mode="all", steps=STEPS, save_every=1,
                         indices=idx, optimizer=rs.Optimizer("adam", lr=1e-3))
    trainer.advance(first)
    trainer.set_options(lr=1e-2)
    trainer.advance()
    run = trainer.result()
    assert run.lrs[first - 1] == 1e-3 and run.lrs[first] == 1e-2
    assert run.settings.optimizer.lr == 1e-2

    net = notebook_net(width, seed)
    x, y = to_torch(X32.reshape(-1, 1)), to_torch(Y32.reshape(-1, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=False)
    for s in range(STEPS):
        if s == first:
            opt.param_groups[0]["lr"] = 1e-2
        sub = torch.from_numpy(idx[s])
        opt.zero_grad()
        torch.nn.MSELoss()(y[sub], net(x[sub, :])).backward()
        opt.step()
        if s + 1 in (first, first + 1, STEPS):
            st = state_numpy(net)
            ref = (st["0.weight"].ravel(), st["0.bias"], st["2.weight"].ravel(), st["2.bias"][0])
            err = rel_error(run_params(run, s + 1), ref)
            assert err <= TOL32, f"step {s + 1}: {err / EPS32:.1f} EPS32 from torch"


def test_adams_bias_corrections_are_pythons_at_every_step_count():
    """torch computes ``1 - beta1 ** step`` and ``1 - beta2 ** step`` in Python floats; the kernel
    gets the same doubles (an integer power by repeated squaring, numba's ``x ** int``, differs in
    the last bit at most step counts), and Adam's step size and ``sqrt`` from them."""
    import math

    opt = rs.Optimizer("adam", lr=1e-3, betas=(0.9, 0.999))
    hp, betas = _optim_kernels.hyper_parameters(opt, opt.lr)
    for t in list(range(1, 50)) + list(range(50, 200_000, 997)):
        assert _optim_kernels.bias_corrections(betas, t) == (1 - 0.9 ** t, 1 - 0.999 ** t), t
        ss, bc = _optim_kernels._scalars(_optim_kernels.ADAM, hp, betas, t)
        assert ss == np.float32(-(1e-3 / (1 - 0.9 ** t))), t
        assert bc == np.float32(math.sqrt(1 - 0.999 ** t)), t
