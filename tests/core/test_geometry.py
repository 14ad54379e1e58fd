"""The canvas's exact polylines against dense float64 evaluation of the network."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import relu_studio as rs
from relu_studio.core.geometry import prediction_polyline, unit_polylines


def dense(net, x):
    x = np.asarray(x, dtype=np.float64)
    h = np.maximum(np.outer(x, net.w1.astype(np.float64)) + net.b1.astype(np.float64), 0.0)
    return h @ net.w2.astype(np.float64) + net.b2


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 300), seed=st.integers(0, 10_000), flip=st.floats(0, 1),
       x0=st.floats(-2, 0.9), span=st.floats(0.05, 3))
def test_prediction_polyline_is_the_network_at_every_vertex_and_between(width, seed, flip, x0, span):
    net = rs.init_network(width, seed)
    signs = np.where(np.random.RandomState(seed).rand(width) < flip, -1.0, 1.0).astype(np.float32)
    net = net.replace(w1=net.w1 * signs, b1=net.b1 * signs)  # units facing both ways
    x1 = x0 + span
    xs, ys = prediction_polyline(net, x0, x1)
    assert xs[0] == x0 and xs[-1] == x1 and np.all(np.diff(xs) >= 0)
    scale = 1 + np.abs(ys).max()
    np.testing.assert_allclose(ys, dense(net, xs), rtol=0, atol=1e-12 * scale * width)
    # Linear between vertices: midpoints agree too (no kink was missed).
    mids = 0.5 * (xs[1:] + xs[:-1])
    interp = 0.5 * (ys[1:] + ys[:-1])
    np.testing.assert_allclose(interp, dense(net, mids), rtol=0, atol=1e-12 * scale * width)
    # And it matches the float32 model to float32 round-off.
    np.testing.assert_allclose(ys, net.predict(xs), rtol=0, atol=1e-5 * scale)


def test_unit_polylines_are_every_units_relu_and_scaled_contribution():
    net = rs.init_network(12, 4)
    xs, ys = unit_polylines(net, -0.5, 1.5)
    xs2, ys2 = unit_polylines(net, -0.5, 1.5, scaled=True)
    X, Y, Y2 = xs.reshape(12, 4), ys.reshape(12, 4), ys2.reshape(12, 4)
    assert np.all(np.isnan(X[:, 3])) and np.all(np.isnan(Y[:, 3]))
    for j in range(12):
        want = np.maximum(float(net.w1[j]) * X[j, :3] + float(net.b1[j]), 0)
        np.testing.assert_allclose(Y[j, :3], want, atol=1e-12)
        np.testing.assert_allclose(Y2[j, :3], want * float(net.w2[j]), atol=1e-12)


def test_a_unit_with_zero_slope_does_not_break_the_polyline():
    net = rs.init_network(3, 0).with_unit(1, w1=0.0, b1=0.7)
    xs, ys = prediction_polyline(net, 0, 1)
    np.testing.assert_allclose(ys, dense(net, xs), atol=1e-12)


def test_polyline_mse_equals_the_models_mse():
    data = rs.make_dataset()
    for width in (3, 40, 700):
        net = rs.init_network(width, 1)
        want = float(np.mean((dense(net, data.x_test) - data.y_test) ** 2))
        from relu_studio.core.geometry import polyline_mse
        assert polyline_mse(net, data.x_test, data.y_test) == pytest.approx(want, rel=1e-10)


def test_a_smooth_network_is_drawn_from_its_true_values():
    """Not ReLU: units and prediction are the network's own values on a grid through every
    landmark -b/w (so a Leaky ReLU's kink is a vertex), and the MSE is predict's."""
    from relu_studio.core.activations import Activation
    from relu_studio.core.geometry import polyline_mse, prediction_polyline, sample_grid, unit_polylines

    base = rs.init_network(12, 4)
    for act in (Activation("tanh"), Activation("leaky_relu", slope=0.2), Activation("softplus", beta=3)):
        net = base.replace(activation=act)
        xs, ys = unit_polylines(net, -0.5, 1.5, scaled=True)
        grid = sample_grid(net, -0.5, 1.5, net.width)
        inside = net.elbows[(net.elbows > -0.5) & (net.elbows < 1.5)]
        assert np.all(np.isin(inside, grid)) and grid[0] == -0.5 and grid[-1] == 1.5
        rows = ys.reshape(net.width, -1)
        assert np.all(np.isnan(rows[:, -1]))
        w1, b1, w2 = (a.astype(np.float64) for a in (net.w1, net.b1, net.w2))
        z = grid[None, :] * w1[:, None] + b1[:, None]
        want = act.value64(z) * w2[:, None]  # the reference formula, float64
        assert np.allclose(rows[:, :-1], want, atol=1e-6)
        px, py = prediction_polyline(net, -0.5, 1.5)
        assert np.allclose(py, want.sum(axis=0) + net.b2, atol=1e-5)
        x = np.linspace(0, 1, 50)
        y = np.sin(x)
        assert polyline_mse(net, x, y) == pytest.approx(np.mean((net.predict(x) - y) ** 2), rel=1e-12)
