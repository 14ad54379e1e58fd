"""Elbow paths against closed forms: a unit whose slope turns through zero (w = cos θ, b = -sin θ,
so the elbow is tan θ) is drawn as tan θ on each side, with a break, never a segment across the
crossing; a zero slope has no elbow; a run's paths hold its elbows unit by unit."""
import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core.elbow_paths import CLIP, elbow_paths, elbows_of, log_step_view
from relu_studio.core.summary import elbow_trajectories


def pieces(x, y):
    """The polylines drawn with connect="finite": runs of consecutive finite points."""
    out, cur = [], []
    for xi, yi in zip(x, y):
        if np.isfinite(xi) and np.isfinite(yi):
            cur.append((xi, yi))
        else:
            if cur:
                out.append(np.array(cur))
            cur = []
    if cur:
        out.append(np.array(cur))
    return out


def test_elbow_is_minus_b_over_w_and_nan_without_slope():
    w = np.array([2.0, -0.5, 0.0, np.inf, 1.0])
    b = np.array([-1.0, 0.25, 3.0, 1.0, np.nan])
    np.testing.assert_array_equal(elbows_of(w, b), [0.5, 0.5, np.nan, np.nan, np.nan])


def test_a_slope_turning_through_zero_breaks_the_path_at_the_crossing():
    steps = np.arange(0, 4001, 100)
    theta = np.linspace(0.1, 2.9, steps.size)  # passes pi/2 once: w = cos θ changes sign
    w = np.stack([np.cos(theta), np.full(theta.shape, 2.0)], axis=1)
    b = np.stack([-np.sin(theta), -2.0 * (0.2 + 0.1 * theta)], axis=1)  # unit 1: elbow 0.2 + 0.1 θ
    x, y = elbow_paths(steps, w, b)
    n = steps.size
    assert x.size == 2 * (n + 1) + 1  # one extra NaN: the one sign change
    parts = pieces(x, y)
    cross = int(np.argmax(np.cos(theta) < 0))  # first snapshot after the crossing
    assert len(parts) == 3
    before, after, straight = parts
    np.testing.assert_array_equal(before[:, 0], steps[:cross])
    np.testing.assert_array_equal(after[:, 0], steps[cross:])
    np.testing.assert_allclose(before[:, 1], np.tan(theta[:cross]), rtol=1e-12)
    np.testing.assert_allclose(after[:, 1], np.tan(theta[cross:]), rtol=1e-12)
    np.testing.assert_allclose(straight[:, 1], 0.2 + 0.1 * theta, rtol=1e-12)
    # No drawn segment joins two snapshots whose slopes differ in sign (the old full-height line).
    for part in (before, after):  # unit 0's pieces
        s = np.sign(w[np.searchsorted(steps, part[:, 0]), 0])
        assert np.all(s == s[0])


def test_a_zero_slope_is_a_gap_and_far_elbows_are_clipped():
    steps = np.array([0, 1, 2, 3, 4])
    w = np.array([1.0, 1e-12, 0.0, 1e-12, 1.0])
    b = np.array([-0.5, -0.5, -0.5, -0.5, -0.5])
    x, y = elbow_paths(steps, w, b)
    np.testing.assert_array_equal(x[:5], steps)  # no sign change: nothing inserted
    assert y[0] == 0.5 and y[4] == 0.5 and np.isnan(y[2])
    assert y[1] == y[3] == CLIP  # 5e11 is drawn at the clip distance, still on the right side
    assert len(pieces(x, y)) == 2  # the zero slope breaks the path


def test_paths_of_a_run_hold_its_elbow_trajectories_unit_by_unit():
    data = rs.make_dataset("piecewise_linear", 60, 0.1, 1)
    run = rs.train(rs.init_network(5, 0), data, mode="all", lr=0.02, steps=3000, save_every=500, seed=0)
    steps, elbows = elbow_trajectories(run, with_initial=True)
    w = np.vstack([run.initial.w1[None], np.asarray(run.w1).reshape(len(run), -1)])
    b = np.vstack([run.initial.b1[None], np.asarray(run.b1).reshape(len(run), -1)])
    x, y = elbow_paths(steps, w, b)
    flips = int(np.sum(np.sign(w[1:]) * np.sign(w[:-1]) < 0))
    assert x.size == 5 * (steps.size + 1) + flips
    want = np.clip(elbows.T.ravel(), -CLIP, CLIP)
    np.testing.assert_allclose(y[np.isfinite(x)], want, rtol=1e-12)
    np.testing.assert_array_equal(x[np.isfinite(x)], np.tile(steps, 5))


def test_shapes_are_checked():
    with pytest.raises(ValueError):
        elbow_paths([0, 1], np.ones((3, 2)), np.ones((3, 2)))
    x, y = elbow_paths([], np.zeros((0, 3)), np.zeros((0, 3)))
    assert x.size == y.size == 0


def test_log_step_view_skips_the_empty_decades_after_step_one():
    lo, hi = log_step_view([0, 1, 1000, 2000, 150_000])
    assert hi == 150_000 and lo == pytest.approx(1000 / np.sqrt(10))
    assert log_step_view([0, 500, 1000]) == (500, 1000)
    assert log_step_view([0, 1, 5]) == (1, 5)
    assert log_step_view([0]) is None
