"""The SGD engine reproduces the notebook's torch training loop to float32 round-off.

The reference (notebook_reference.notebook_train) is plain torch: nn.Sequential, MSELoss,
torch.optim.SGD, float32, one thread. Engine and reference get the *same* minibatch indices.

Two effects are told apart here, because only one of them is round-off:

(a) Round-off. The engine does the notebook's float32 operations in a different order (its sums
    over the minibatch and the hidden units are vectorised one way, torch's BLAS blocks them
    another, and which kernel torch uses depends on the CPU it runs on: AVX2, AVX-512, plain).
    Each step's gradient then differs by a few roundings.

(b) Gates decided by rounding. When a training input lies within an ulp of a unit's elbow, the
    sign of its pre-activation ``x * w + b`` -- whether the ReLU passes a gradient -- is decided by
    the last bit. torch's ``nn.Linear`` leaves that last bit to its kernel (a BLAS ``addmm`` may
    fuse the product and the sum into one rounding, or not); a flipped gate changes that step by
    ``lr * gradient`` (~1e-4 relative), which is not round-off. The engine documents its rule:
    the product is rounded to float32, then the sum (no fused multiply-add), and ReLU passes a
    gradient where the rounded pre-activation is > 0. The notebook's own data make this matter:
    with init seed 1 and data seed 1 both come from the seed-1 Mersenne Twister, so *every* elbow
    is exactly a training input.

The tests, and why each can fail:

* ``test_every_step_matches_the_notebook_step``: from the notebook's parameters before each step,
  one engine step must equal the notebook's step to round-off (TOL_STEP), for every one of 2000
  steps. Where a pre-activation on that step's minibatch lies within GATE_ULPS ulps of zero (read
  off the reference), the notebook's kernel may round either way, so that step is compared with the
  documented rule's step from the same parameters instead (a torch autograd step of
  ``torch.add(torch.mul(x, w), b)``, identical on every CPU). A wrong gradient, a missing factor
  2 or a wrong minibatch is off by ~lr * gradient at the first step: thousands of EPS32.
* ``test_the_whole_run_matches_the_notebook_run``: the engine's run, left to itself, follows the
  notebook's run to round-off (TOL_PARAM) until the first step whose ReLU gates differ between the
  two (computed from both runs' parameters); the message names that step, unit and input. A gate
  can only differ where the reference's pre-activation lies within the runs' round-off distance of
  zero, and the test checks that too.
* Both run against ``nn.Linear`` as torch runs it on this CPU, and against an emulated *fused*
  first layer: the suite must pass on a CPU whose torch kernel fuses ``x * w + b`` (as torch's
  AVX-512 kernels do on some Intel CPUs), not only on the machine it was written on.
* ``test_gate_on_an_elbow_follows_the_documented_rounding`` and
  ``test_elbows_on_training_inputs_follow_the_documented_rounding`` (the seed-1 regression check):
  where the rounding decides a gate, the engine follows its documented rule, not whatever torch's
  kernel does on this CPU. An engine that fused ``x * w1 + b1`` (an FMA; numba's ``contract``
  flag) fails them.

Tolerances, in units of float32 epsilon (EPS32 = 2**-23 ~ 1.19e-7), relative to the network's
largest parameter (at least 1). Measured over the cases below, both references, on an AMD EPYC
(Zen 4) with torch's AVX-512, AVX2 and default kernels and with NUMBA_CPU_NAME=generic:

* TOL_STEP = 8 EPS32 for one step from the same parameters; measured at most 1.0 EPS32. A step's
  own update is ~1e-4 .. 1e-2 relative, i.e. 10^3 .. 10^5 EPS32, so an error in it is far outside.
* TOL_PARAM = 64 EPS32 for the free-running comparison: round-offs mostly do not pile up
  (measured at most 10.3 EPS32 over 2000 steps), while the fused kernel once used by the engine
  was 237-781 EPS32 off at step 1.
* TOL_LOSS = 32 EPS32 relative for the recorded losses (measured at most 4.4 EPS32).
* GATE_ULPS = 2: with the same float32 inputs, a fused and a separately rounded ``x * w + b``
  differ by at most one rounding of the product and one of the sum, i.e. at most one ulp of the
  larger of ``|x * w|`` and ``|b|``; a pre-activation farther than 2 such ulps from zero has the
  same sign under any rule.

Checked to fail: an engine that fuses ``x * w1 + b1`` (9 tests fail), drops the MSE's factor 2
(37), opens the ReLU gate at exactly 0 (26), or reads the wrong minibatch input (25).
"""
import dataclasses
import functools

import numpy as np
import pytest
import torch

import relu_studio as rs
from relu_studio.core.training import INTERNAL_CHUNK, snapshot_steps
from notebook_reference import (EPS32, load_network, notebook_net, notebook_train,
                                state_numpy, to_torch)

TOL_STEP = 8 * EPS32
TOL_PARAM = 64 * EPS32
TOL_LOSS = 32 * EPS32
GATE_ULPS = 2.0
STEPS = 2000
DATA = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
X32 = DATA.x.astype(np.float32)


@pytest.fixture(scope="module")
def data():
    return DATA


def minibatches(seed, steps, n=200, batch=40):
    return np.random.RandomState(100 + seed).randint(0, n, (steps, batch))


# --------------------------------------------------------------------------- references
@dataclasses.dataclass(frozen=True)
class Reference:
    """The notebook's run recorded at every step: ``w1[s]`` etc. after ``s`` steps (0: initial),
    ``pre[s]`` the first layer's output on the minibatch of step ``s + 1``, and its losses."""

    rule: str
    mode: str
    lr: float
    idx: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    pre: np.ndarray
    train: np.ndarray
    full: np.ndarray
    test: np.ndarray

    def network(self, s: int) -> rs.Network:
        return rs.Network(self.w1[s], self.b1[s], self.w2[s], float(self.b2[s]))


@functools.lru_cache(maxsize=None)
def reference(mode: str, width: int, seed: int, rule: str, steps: int = STEPS) -> Reference:
    idx = minibatches(seed, steps)
    lr = rs.DEFAULT_LR[mode]
    net = notebook_net(width, seed, rule)
    init = state_numpy(net)
    snaps = notebook_train(net, DATA, mode, lr, steps, 1, indices=idx, record_pre=True)
    states = [init] + [s["state"] for s in snaps]
    stack = lambda k: np.stack([st[k].ravel() for st in states])  # noqa: E731
    return Reference(
        rule, mode, lr, idx, stack("0.weight"), stack("0.bias"), stack("2.weight"),
        stack("2.bias")[:, 0], np.stack([s["pre"] for s in snaps]),
        np.array([s["train"] for s in snaps]), np.array([s["full"] for s in snaps]),
        np.array([s["test"] for s in snaps]))


def documented_step(net: rs.Network, mode: str, lr: float, batch) -> rs.Network:
    """One SGD step of the notebook's model with the documented rounding of ``x * w + b``."""
    model = load_network(notebook_net(net.width, 0, "separate"), net.w1, net.b1, net.w2, net.b2)
    params = list(model.parameters())
    opt = torch.optim.SGD(params if mode == "all" else params[2:], lr=lr)
    sub = torch.from_numpy(np.asarray(batch))
    x, y = to_torch(DATA.x.reshape(-1, 1)), to_torch(DATA.y.reshape(-1, 1))
    torch.nn.MSELoss()(y[sub], model(x[sub, :])).backward()
    opt.step()
    st = state_numpy(model)
    return rs.Network(st["0.weight"], st["0.bias"], st["2.weight"], float(st["2.bias"][0]))


# --------------------------------------------------------------------------- gates
def margin_ulps(x32, w1, b1) -> np.ndarray:
    """Per (input, unit): how far ``x * w + b`` lies from zero, in ulps of the larger operand.

    Exact: the product of two float32 numbers fits a float64, and the float64 sum's rounding is
    2**-29 of a float32 ulp. Where both operands are 0 the value is 0 under every rule: inf.
    """
    xw = np.asarray(x32, np.float64)[:, None] * np.asarray(w1, np.float64)[None, :]
    b = np.asarray(b1, np.float64)[None, :]
    scale = np.maximum(np.abs(xw), np.abs(b)).astype(np.float32)
    ulp = np.spacing(scale).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, np.abs(xw + b) / ulp, np.inf)


def documented_gates(x32, w1, b1) -> np.ndarray:
    """The engine's ReLU gates: ``float32(float32(x * w) + b) > 0`` (numpy never fuses them)."""
    x32 = np.asarray(x32, np.float32)[:, None]
    return (x32 * np.asarray(w1, np.float32)[None, :] + np.asarray(b1, np.float32)[None, :]) > 0


def scale_of(*nets) -> float:
    return max(1.0, *(float(np.abs(np.concatenate([n.w1, n.b1, n.w2, [n.b2]])).max()) for n in nets))


def param_error(ours: rs.Network, ref: rs.Network) -> float:
    """Largest parameter difference, relative to the network's largest parameter (>= 1)."""
    diff = max(float(np.abs(getattr(ours, k).astype(np.float64) - getattr(ref, k)).max())
               for k in ("w1", "b1", "w2"))
    diff = max(diff, abs(float(ours.b2) - float(ref.b2)))
    return diff / scale_of(ref)


@dataclasses.dataclass(frozen=True)
class GateDifference:
    step: int  # the first step whose ReLU gates differ
    unit: int
    x: float
    ref_pre: float  # the reference's pre-activation there
    ours_pre: float
    drift: float  # the parameters' difference before that step (relative, as param_error)

    def __str__(self):
        return (f"step {self.step}: unit {self.unit}'s gate at x = {self.x!r} differs (reference "
                f"pre-activation {self.ref_pre:.3g}, engine {self.ours_pre:.3g}); the runs were "
                f"{self.drift / EPS32:.1f} EPS32 apart before it")


def first_gate_difference(run: rs.Run, ref: Reference):
    """The first step at which the engine's and the reference's ReLU gates differ, or None."""
    for s in range(len(ref.pre)):
        ours = run.initial if s == 0 else run.snapshot(s - 1)
        xb = X32[ref.idx[s]]
        g_ours = documented_gates(xb, ours.w1, ours.b1)
        g_ref = ref.pre[s] > 0
        if not np.array_equal(g_ours, g_ref):
            i, j = map(int, np.argwhere(g_ours != g_ref)[0])
            ours_pre = float(np.float32(xb[i] * ours.w1[j]) + ours.b1[j])
            return GateDifference(s + 1, j, float(xb[i]), float(ref.pre[s][i, j]), ours_pre,
                                  param_error(ours, ref.network(s)))
    return None


def assert_losses_match(what, step, ours, ref):
    for name, a, b in zip(("minibatch", "full train", "test"), ours, ref):
        rel = abs(float(a) - float(b)) / abs(float(b))
        assert rel <= TOL_LOSS, (f"{what}: the {name} MSE at step {step} is {a!r}, the notebook's "
                                 f"{b!r} ({rel / EPS32:.1f} EPS32)")


TORCH_CASES = [
    # mode, width, seed
    ("output", 10, 0),
    ("output", 10, 1),
    ("output", 40, 2),
    ("all", 10, 0),
    ("all", 10, 1),  # every elbow is a training input (see the module docstring)
    ("all", 10, 2),
    ("all", 40, 1),  # every elbow is a training input
    ("all", 40, 2),
    ("all", 40, 0),  # an input 1.7e-8 from an elbow near step 1698
]


# --------------------------------------------------------------------------- (a) round-off
@pytest.mark.parametrize("rule", ["linear", "fused"])
@pytest.mark.parametrize("mode, width, seed", TORCH_CASES)
def test_every_step_matches_the_notebook_step(mode, width, seed, rule):
    ref = reference(mode, width, seed, rule)
    by_rule = []
    for s in range(STEPS):
        before = ref.network(s)
        batch = ref.idx[s:s + 1]
        run = rs.train(before, DATA, mode=mode, lr=ref.lr, steps=1, save_every=1, indices=batch)
        ours = run.final
        near = mode == "all" and margin_ulps(X32[batch[0]], before.w1, before.b1).min() < GATE_ULPS
        if near:  # the notebook's kernel may round this gate either way: the documented rule's step
            by_rule.append(s + 1)
            want, against = documented_step(before, mode, ref.lr, batch[0]), "the documented rule's step"
        else:
            want, against = ref.network(s + 1), "the notebook's step"
            assert_losses_match(f"{mode}/H={width}/seed={seed}", s + 1,
                                (run.train_error[0], run.full_train_error[0], run.test_error[0]),
                                (ref.train[s], ref.full[s], ref.test[s]))
        err = param_error(ours, want)
        assert err <= TOL_STEP, (
            f"{mode}/H={width}/seed={seed} ({ref.rule} first layer): step {s + 1} from the same "
            f"parameters differs from {against} by {err / EPS32:.1f} EPS32 (tolerance "
            f"{TOL_STEP / EPS32:.0f}); steps compared with the documented rule: {by_rule}")
    if by_rule:
        print(f"\n{mode}/H={width}/seed={seed} ({rule}): steps with a pre-activation within "
              f"{GATE_ULPS:g} ulps of zero, compared with the documented rule: {by_rule}")


@pytest.mark.parametrize("rule", ["linear", "fused"])
@pytest.mark.parametrize("mode, width, seed", TORCH_CASES)
def test_the_whole_run_matches_the_notebook_run(mode, width, seed, rule):
    ref = reference(mode, width, seed, rule)
    run = rs.train(rs.init_network(width, seed), DATA, mode=mode, lr=ref.lr, steps=STEPS,
                   save_every=1, indices=ref.idx)
    assert run.diverged_at is None and run.completed_steps == STEPS
    # Only the hidden layer's gradient depends on the gates; output-layer training never flips one
    # (a gate decided by rounding changes a hidden value by an ulp there: round-off).
    flip = first_gate_difference(run, ref) if mode == "all" else None
    compared = STEPS if flip is None else flip.step - 1
    what = f"{mode}/H={width}/seed={seed} ({rule} first layer)"
    for s in range(1, compared + 1):
        err = param_error(run.snapshot(s - 1), ref.network(s))
        assert err <= TOL_PARAM, (
            f"{what}: the parameters at step {s} differ from the notebook's by {err / EPS32:.1f} "
            f"EPS32 (tolerance {TOL_PARAM / EPS32:.0f}); the ReLU gates agreed on every step before")
        assert_losses_match(what, s, (run.train_error[s - 1], run.full_train_error[s - 1],
                                      run.test_error[s - 1]), (ref.train[s - 1], ref.full[s - 1], ref.test[s - 1]))
    if flip is not None:
        # A gate may only differ where the reference's pre-activation is as close to zero as the
        # runs' round-off distance can move it: |x| |dw| + |db| <= (1 + |x|) * drift * scale.
        bound = (1 + abs(flip.x)) * max(flip.drift, EPS32) * scale_of(ref.network(flip.step - 1))
        bound += 2 * float(np.spacing(np.float32(abs(flip.ref_pre))))
        assert abs(flip.ref_pre) <= bound, f"{what}: a gate differs far from zero: {flip}"
        print(f"\n{what}: compared {compared} of {STEPS} steps; from {flip}, the runs differ by "
              "a gate that rounding decides (see test_every_step_matches_the_notebook_step)")


# --------------------------------------------------------------------------- (b) gates on elbows
def test_gate_on_an_elbow_follows_the_documented_rounding():
    """An input exactly on an elbow: the rounded product plus the bias is exactly 0 (gate closed),
    while the exact, fused value is positive (gate open). The engine keeps the gate closed."""
    x = np.float32(0.3)
    w = np.float32(0.6)  # the exact product 0.18000001430... lies above its float32 rounding
    prod = np.float32(x * w)
    exact = float(x) * float(w)
    assert exact > float(prod)  # the fused rule sees a positive pre-activation
    b = -prod
    assert np.float32(prod + b) == 0 and exact + float(b) > 0
    net = rs.Network([w], [b], [1.0], 0.0)
    data = rs.Dataset([float(x)], [5.0], [float(x)], [5.0])
    run = rs.train(net, data, mode="all", lr=0.1, steps=1, save_every=1, batch_size=1,
                   indices=np.zeros((1, 1), int))
    assert run.final.w1[0] == w and run.final.b1[0] == b, "the engine passed a gradient through a closed gate"
    assert run.final.b2 != 0.0  # the step itself happened (the output bias learns)
    # The two torch references disagree exactly here, so this case tells the rules apart.
    outs = {}
    for rule in ("separate", "fused"):
        model = load_network(notebook_net(1, 0, rule), [w], [b], [1.0], 0.0)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        torch.nn.MSELoss()(to_torch([[5.0]]), model(to_torch([[float(x)]]))).backward()
        opt.step()
        outs[rule] = state_numpy(model)["0.weight"].item()
    assert outs["separate"] == w and outs["fused"] != w


@pytest.mark.parametrize("width", [10, 40])
def test_elbows_on_training_inputs_follow_the_documented_rounding(width):
    """The deliberate regression case: init seed 1 on data seed 1, every elbow a training input."""
    seed = 1
    ref = reference("all", width, seed, "separate")
    net = rs.init_network(width, seed)
    xb = X32[ref.idx[0]]
    assert margin_ulps(xb, net.w1, net.b1).min() < 1, "no input on an elbow at step 1: the case lost its point"
    fused = reference("all", width, seed, "fused")
    assert not np.array_equal(ref.pre[0] > 0, fused.pre[0] > 0), (
        "at step 1 the fused rule must open a gate that the documented one keeps closed (or the reverse)")
    run = rs.train(net, DATA, mode="all", lr=ref.lr, steps=STEPS, save_every=1, indices=ref.idx)
    assert np.array_equal(documented_gates(xb, net.w1, net.b1), ref.pre[0] > 0)
    flip = first_gate_difference(run, ref)
    assert flip is None or flip.step > 1, str(flip)
    for s in range(1, (STEPS if flip is None else flip.step - 1) + 1):
        err = param_error(run.snapshot(s - 1), ref.network(s))
        assert err <= TOL_PARAM, (
            f"H={width}/seed=1: step {s} differs from the documented rule's torch run by "
            f"{err / EPS32:.1f} EPS32: at step 1 every elbow is a training input, so the engine "
            "must round x * w1 + b1 as product-then-sum (no fused multiply-add)")


def test_seed_matches_the_notebook_np_random_choice_loop(data):
    """Without indices the engine draws exactly the notebook's np.random.choice minibatches."""
    for mode, width, seed, steps in (("all", 10, 0, 1500), ("output", 40, 3, 1500)):
        lr = rs.DEFAULT_LR[mode]
        snaps = notebook_train(notebook_net(width, seed), data, mode, lr, steps, 1, seed=seed)
        run = rs.train(rs.init_network(width, seed), data, mode=mode, steps=steps,
                       save_every=1, seed=seed)
        assert run.settings.batch_size == 40 and run.settings.lr == lr
        assert run.steps.tolist() == [s["step"] for s in snaps]
        for i, snap in enumerate(snaps):
            st = snap["state"]
            ref = rs.Network(st["0.weight"], st["0.bias"], st["2.weight"], float(st["2.bias"][0]))
            err = param_error(run.snapshot(i), ref)
            assert err <= TOL_PARAM, f"seeded {mode}/H={width}/seed={seed}: step {i + 1}: {err / EPS32:.1f} EPS32"
            assert_losses_match(f"seeded {mode}/H={width}", i + 1,
                                (run.train_error[i], run.full_train_error[i], run.test_error[i]),
                                (snap["train"], snap["full"], snap["test"]))


@pytest.mark.parametrize("n, seed", [(200, 0), (200, 5), (7, 2), (1000, 1)])
def test_seed_draws_equal_np_random_choice_exactly(n, seed):
    data = rs.make_dataset("abs", n, 0.1, 1)
    steps = 300
    np.random.seed(seed)
    choice = np.stack([np.random.choice(n, n // 5) for _ in range(steps)])
    assert np.array_equal(choice, np.random.RandomState(seed).randint(0, n, (steps, n // 5)))
    net = rs.init_network(6, seed)
    a = rs.train(net, data, mode="all", steps=steps, save_every=10, seed=seed)
    b = rs.train(net, data, mode="all", steps=steps, save_every=10, indices=choice)
    assert_runs_identical(a, b)


def test_seed_draws_across_internal_chunks(data):
    """More steps than one internal chunk: the draws continue the same stream."""
    steps = INTERNAL_CHUNK + 500
    idx = np.random.RandomState(9).randint(0, 200, (steps, 40))
    net = rs.init_network(3, 9)
    a = rs.train(net, data, mode="output", steps=steps, save_every=4000, seed=9)
    b = rs.train(net, data, mode="output", steps=steps, save_every=4000, indices=idx)
    assert_runs_identical(a, b)


# --------------------------------------------------------------------------- bookkeeping
RUN_ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2")


def assert_runs_identical(a, b):
    for name in RUN_ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), f"{name} differs"
    assert (a.diverged_at, a.message, a.completed_steps) == (b.diverged_at, b.message, b.completed_steps)


@pytest.mark.parametrize("steps, save_every, expected", [
    (250, 100, [1, 100, 200, 250]),
    (300, 100, [1, 100, 200, 300]),
    (1, 1000, [1]),
    (5, 1, [1, 2, 3, 4, 5]),
    (40, 1000, [1, 40]),
    (2000, 1000, [1, 1000, 2000]),
])
def test_snapshot_steps(data, steps, save_every, expected):
    assert snapshot_steps(steps, save_every).tolist() == expected
    run = rs.train(rs.init_network(4, 0), data, steps=steps, save_every=save_every, seed=1)
    assert run.steps.tolist() == expected and len(run) == len(expected)
    assert run.completed_steps == steps


def test_snapshots_are_the_network_at_those_steps(data):
    net = rs.init_network(8, 2)
    run = rs.train(net, data, mode="all", steps=250, save_every=100, seed=4)
    trainer = rs.Trainer(net, data, mode="all", steps=250, save_every=100, seed=4)
    assert trainer.network.equals(net) and run.network_at(0) is net
    done = 0
    for target in (1, 100, 200, 250):
        trainer.advance(target - done)
        done = target
        assert trainer.network.equals(run.network_at(target))
    assert run.network_at(150).equals(run.network_at(100))
    assert run.network_at(10_000).equals(run.final) and run.final.equals(trainer.network)
    assert run.index_at(0) == -1 and run.index_at(1) == 0 and run.index_at(99) == 0


def test_train_error_is_the_minibatch_loss_before_the_step(data):
    steps = 50
    idx = minibatches(0, steps)
    run = rs.train(rs.init_network(10, 0), data, mode="all", steps=steps, save_every=1, indices=idx)
    x32, y32 = data.x.astype(np.float32), data.y.astype(np.float32)
    for i in range(steps):
        before = run.initial if i == 0 else run.snapshot(i - 1)
        sub = idx[i]
        ref = np.mean((before.predict(x32[sub]) - y32[sub].astype(np.float64)) ** 2)
        # the engine sums the batch in float32 (as torch does): measured <= 3 EPS32
        assert run.train_error[i] == pytest.approx(ref, rel=16 * EPS32)


@pytest.mark.parametrize("width, mode", [(10, "output"), (40, "all"), (1000, "all")])
def test_full_train_and_test_error_are_the_snapshot_mse(data, width, mode):
    run = rs.train(rs.init_network(width, 1), data, mode=mode, steps=300, save_every=50, seed=2)
    for i in range(len(run)):
        net = run.snapshot(i)
        full = np.mean((net.predict(data.x) - data.y) ** 2)
        test = np.mean((net.predict(data.x_test) - data.y_test) ** 2)
        # The engine accumulates each prediction in float32 and uses float32 targets (like torch);
        # numpy here sums in float64 with float64 targets. Measured <= 0.25 EPS32 relative.
        assert run.full_train_error[i] == pytest.approx(full, rel=8 * EPS32)
        assert run.test_error[i] == pytest.approx(test, rel=8 * EPS32)


def test_train_never_mutates_the_input_network(data):
    net = rs.init_network(12, 3)
    copies = [np.array(a) for a in (net.w1, net.b1, net.w2)], net.b2
    for mode in rs.MODES:
        run = rs.train(net, data, mode=mode, steps=200, save_every=50, seed=0)
        assert run.initial is net
        assert not run.final.equals(net)
    for a, b in zip(copies[0], (net.w1, net.b1, net.w2)):
        assert np.array_equal(a, b)
    assert net.b2 == copies[1]


@pytest.mark.parametrize("use_indices", [False, True])
def test_chunked_trainer_is_bit_identical_to_one_shot(data, use_indices):
    steps = 1234
    kwargs = dict(mode="all", steps=steps, save_every=100, seed=6)
    if use_indices:
        kwargs["indices"] = minibatches(6, steps)
    net = rs.init_network(20, 6)
    ref = rs.train(net, data, **kwargs)
    for chunks in ([1] * 5 + [steps], [7], [100], [333], [1000, 1, 1], [99, 1, 0, 450]):
        trainer = rs.Trainer(net, data, **kwargs)
        i = 0
        while not trainer.done:
            k = chunks[min(i, len(chunks) - 1)]
            ran = trainer.advance(k)
            assert ran == min(k, steps - (trainer.step - ran))
            i += 1
        assert trainer.done and trainer.step == steps
        assert trainer.advance(10) == 0
        assert_runs_identical(trainer.result(), ref)
    gen_trainer = None
    for gen_trainer in rs.train_chunks(net, data, chunk=250, **kwargs):
        assert gen_trainer.step % 250 == 0 or gen_trainer.step == steps
    assert_runs_identical(gen_trainer.result(), ref)


def test_chunking_across_internal_chunks(data):
    steps = INTERNAL_CHUNK * 2 + 17
    net = rs.init_network(5, 1)
    ref = rs.train(net, data, mode="all", steps=steps, save_every=5000, seed=1)
    trainer = rs.Trainer(net, data, mode="all", steps=steps, save_every=5000, seed=1)
    while not trainer.done:
        trainer.advance(7001)
    assert_runs_identical(trainer.result(), ref)


def test_result_views_are_read_only_and_grow(data):
    trainer = rs.Trainer(rs.init_network(4, 0), data, steps=300, save_every=100, seed=0)
    empty = trainer.result()
    assert len(empty) == 0 and empty.final is trainer.initial and not trainer.done
    trainer.advance(150)
    part = trainer.result()
    assert part.steps.tolist() == [1, 100] and part.completed_steps == 150
    for name in RUN_ARRAYS:
        with pytest.raises(ValueError):
            getattr(part, name)[...] = 0
    trainer.advance()
    assert trainer.result().steps.tolist() == [1, 100, 200, 300] and trainer.done


# --------------------------------------------------------------------------- divergence
def test_divergence_stops_and_explains(data):
    net = rs.init_network(20, 0)
    run = rs.train(net, data, mode="all", lr=50, steps=1000, save_every=1, seed=0)
    assert run.diverged and run.diverged_at is not None and 1 < run.diverged_at < 1000
    assert "learning rate" in run.message and f"step {run.diverged_at}" in run.message
    # history up to the divergence is kept; the last entry is the diverging step's loss
    assert run.steps.tolist() == list(range(1, run.diverged_at + 1))
    assert run.completed_steps == run.diverged_at - 1
    assert np.all(np.isfinite(run.train_error[:-1])) and np.all(np.isfinite(run.test_error[:-1]))
    assert np.all(np.isfinite(run.w1[:-1])) and np.all(np.isfinite(run.w2[:-1]))
    assert not run.train_error[-1] <= 1e6 * (np.mean(data.y ** 2) + 1)
    # the diverging step's update is not applied: its snapshot holds the parameters that made it
    assert run.snapshot(len(run) - 1).equals(run.snapshot(len(run) - 2))
    assert np.all(np.isfinite(run.final.w1))
    trainer = rs.Trainer(net, data, mode="all", lr=50, steps=1000, save_every=1, seed=0)
    trainer.advance()
    assert trainer.done and trainer.advance(100) == 0
    assert_runs_identical(trainer.result(), run)


def test_divergence_with_sparse_snapshots(data):
    run = rs.train(rs.init_network(20, 0), data, mode="all", lr=50, steps=5000, save_every=1000,
                   seed=0)
    assert run.diverged and run.steps[-1] == run.diverged_at and run.steps[0] == 1
    assert "learning rate" in run.message


# --------------------------------------------------------------------------- bad settings
@pytest.mark.parametrize("kwargs, match", [
    (dict(mode="foo"), "mode"),
    (dict(mode="ridge"), "mode"),
    (dict(lr=0), "learning rate"),
    (dict(lr=-0.1), "learning rate"),
    (dict(lr=float("nan")), "learning rate"),
    (dict(lr=float("inf")), "learning rate"),
    (dict(steps=0), "steps"),
    (dict(steps=-3), "steps"),
    (dict(steps=2.5), "steps"),
    (dict(steps=True), "steps"),
    (dict(batch_size=0), "batch size"),
    (dict(save_every=0), "snapshot interval"),
    (dict(seed=-1), "seed"),
    (dict(seed=2**32), "seed"),
    (dict(indices=np.full((10, 4), 200)), r"\[0, 200\)"),
    (dict(indices=np.full((10, 4), -1)), r"\[0, 200\)"),
    (dict(indices=np.zeros((10, 4), dtype=float)), "integer"),
    (dict(indices=np.zeros(10, dtype=int)), "shape"),
    (dict(indices=np.zeros((9, 4), dtype=int)), "at least 10 rows"),
    (dict(indices=np.zeros((10, 0), dtype=int)), "shape"),
])
def test_bad_settings_raise_training_error(data, kwargs, match):
    args = dict(mode="all", steps=10, save_every=5, seed=0)
    args.update(kwargs)
    with pytest.raises(rs.TrainingError, match=match):
        rs.train(rs.init_network(3, 0), data, **args)


def test_bad_network_and_tiny_data():
    data = rs.make_dataset("abs", 4, 0.1, 0)
    with pytest.raises(rs.TrainingError, match="Network"):
        rs.train({"w1": 1}, data, steps=5)
    with pytest.raises(rs.TrainingError, match="n // 5"):
        rs.train(rs.init_network(3, 0), data, steps=5)
    run = rs.train(rs.init_network(3, 0), data, steps=5, batch_size=2)  # explicit batch works
    assert run.settings.batch_size == 2 and len(run) == 2


def test_indices_set_the_batch_size_and_extra_rows_are_ignored(data):
    idx = minibatches(0, 20, batch=7)
    run = rs.train(rs.init_network(3, 0), data, steps=10, save_every=5, batch_size=99, indices=idx)
    again = rs.train(rs.init_network(3, 0), data, steps=10, save_every=5, indices=idx[:10])
    assert run.settings.batch_size == 7
    assert_runs_identical(run, again)
