"""Property tests (hypothesis): any width 1..1000, odd data sets, the shapes of a Run.

Example counts and step counts are kept small so the whole core suite stays fast.
"""
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import relu_studio as rs
from relu_studio.core.io.data_csv import data_to_csv
from relu_studio.core.training import snapshot_steps
from notebook_reference import EPS32

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

widths = st.integers(1, 1000)
seeds = st.integers(0, 2**32 - 1)
small_seeds = st.integers(0, 10_000)


@FAST
@given(width=widths, seed=seeds)
def test_init_elbows(width, seed):
    net = rs.init_network(width, seed)
    assert net.width == width
    for a in (net.w1, net.b1, net.w2):
        assert a.shape == (width,) and a.dtype == np.float32 and not a.flags.writeable
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.array_equal(net.elbows, -net.b1.astype(np.float64) / net.w1.astype(np.float64),
                              equal_nan=True)
    draws = np.sort(np.random.RandomState(seed).rand(width))
    ok = net.w1 != 0  # a zero slope (never drawn in practice) has no elbow
    assert np.all(np.abs(net.elbows[ok] - draws[ok]) <= EPS32 * draws[ok])
    # kaiming_uniform_(a=sqrt(5)) bounds are 1/sqrt(fan_in): |w1| <= 1, |w2|, |b2| <= 1/sqrt(H)
    assert np.all(np.abs(net.w1) <= 1.0) and np.all(np.abs(net.w2) <= 1 / np.sqrt(width) + 1e-7)
    assert abs(net.b2) <= 1 / np.sqrt(width) + 1e-7
    assert rs.Network.from_state_dict(net.to_state_dict()).equals(net)


@FAST
@given(width=widths, seed=small_seeds, x=st.lists(st.floats(-5, 5), min_size=1, max_size=20))
def test_predict_is_the_sum_of_scaled_units(width, seed, x):
    net = rs.init_network(width, seed)
    x = np.array(x)
    units = net.unit_outputs(x, scaled=True)
    assert units.shape == (width, x.size)
    assert np.allclose(net.predict(x), units.sum(axis=0) + net.b2, rtol=1e-12, atol=1e-12)
    dead = net.dead_units(x)
    assert np.all(net.unit_outputs(x)[dead] == 0)


@FAST
@given(width=widths, seed=small_seeds, mode=st.sampled_from(rs.MODES),
       steps=st.integers(1, 60), save_every=st.integers(1, 70))
def test_run_shapes(width, seed, mode, steps, save_every):
    data = _DATA
    run = rs.train(rs.init_network(width, seed), data, mode=mode, steps=steps,
                   save_every=save_every, seed=seed)
    planned = snapshot_steps(steps, save_every)
    assert planned.size == len(set(range(save_every, steps + 1, save_every)) | {1, steps})
    if run.diverged:
        # The notebook's lr is stable for its widths (10-40) but not for every width: the output
        # layer's curvature grows with H, so wide nets at lr 0.2 may diverge. Then the history is
        # the planned snapshots before the diverging step, plus that step.
        at = run.diverged_at
        expected = np.append(planned[planned < at], at)
        assert "learning rate" in run.message and run.completed_steps == at - 1
    else:
        expected = planned
        assert run.message == "" and run.completed_steps == steps
    m = expected.size
    assert np.array_equal(run.steps, expected) and len(run) == m
    for name in ("train_error", "full_train_error", "test_error"):
        a = getattr(run, name)
        assert a.shape == (m,) and a.dtype == np.float64 and np.all(a >= 0)
        assert np.all(np.isfinite(a[:-1] if run.diverged else a))
    for name in ("w1", "b1", "w2"):
        a = getattr(run, name)
        assert a.shape == (m, width) and a.dtype == np.float32 and not a.flags.writeable
        assert np.all(np.isfinite(a))  # the diverging update is never applied
    assert run.b2.shape == (m,) and run.b2.dtype == np.float32
    assert run.final.width == width
    if mode == "output":
        assert np.all(run.w1 == run.initial.w1) and np.all(run.b1 == run.initial.b1)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.sampled_from([5, 6, 9, 50]), noise=st.sampled_from([0.0, 1e-12, 0.1, 1e3, 1e8]),
       seed=small_seeds, width=st.sampled_from([1, 2, 40, 1000]),
       target=st.sampled_from(["piecewise_linear", "sin(20x)", "abs", "step", "square",
                               "sawtooth", "0", "x"]),
       mode=st.sampled_from(rs.MODES))
def test_odd_data_sets(n, noise, seed, width, target, mode):
    data = rs.make_dataset(target, n, noise, seed)
    assert data.n == n and data.x_test.size == n + 1000
    if noise == 0:
        assert np.array_equal(data.y, data.target(data.x))
    run = rs.train(rs.init_network(width, seed), data, mode=mode, steps=40, save_every=10,
                   seed=seed)
    assert run.settings.batch_size == n // 5
    if run.diverged:  # huge noise with a fixed lr may diverge: then it says so and stops
        assert "learning rate" in run.message and run.steps[-1] == run.diverged_at
        assert np.all(np.isfinite(run.train_error[:-1]))
    else:
        assert run.completed_steps == 40 and np.all(np.isfinite(run.test_error))
    # the ridge fit exists for every data set and is at least as good on the training points as
    # the initial output layer (it minimises the penalised loss; λ is tiny)
    fitted = rs.fit_ridge(run.initial, data)
    mse = lambda net: float(np.mean((net.predict(data.x) - data.y) ** 2))  # noqa: E731
    assert mse(fitted) <= mse(run.initial) * (1 + 1e-3) + 1e-6 * (1 + noise ** 2)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 200), seed=small_seeds, steps=st.integers(1, 300),
       chunks=st.lists(st.integers(0, 120), min_size=1, max_size=8))
def test_any_chunking_is_bit_identical(width, seed, steps, chunks):
    assume(sum(chunks) > 0)
    data = _DATA
    net = rs.init_network(width, seed)
    ref = rs.train(net, data, mode="all", steps=steps, save_every=25, seed=seed)
    trainer = rs.Trainer(net, data, mode="all", steps=steps, save_every=25, seed=seed)
    i = 0
    while not trainer.done:
        trainer.advance(chunks[i % len(chunks)])
        i += 1
    got = trainer.result()
    for name in ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2"):
        assert getattr(got, name).tobytes() == getattr(ref, name).tobytes()


@FAST
@given(xs=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30, unique=True),
       data=st.data())
def test_csv_round_trip(xs, data):
    ys = data.draw(st.lists(st.floats(-1e6, 1e6), min_size=len(xs), max_size=len(xs)))
    d = rs.make_dataset("abs", 5, 0.1, 0).with_points(xs, ys)
    back = rs.load_csv(data_to_csv(d), is_text=True)
    assert np.array_equal(back.x, d.x) and np.array_equal(back.y, d.y)


_DATA = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
