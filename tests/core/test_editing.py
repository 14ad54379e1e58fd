"""Hand-edit arithmetic of the core (no Qt): elbows, slopes, output weights, ridge follow."""
import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core.editing import (evaluate_edit, handle_positions, output_weight_from_handle,
                                      slope_from_handle, snap_to_data)
from relu_studio.core.history import network_errors


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset()


def test_with_elbow_sets_b_to_minus_e_w_and_touches_nothing_else():
    net = rs.init_network(10, 3)
    new = net.with_elbow(4, 0.3125)
    assert new.b1[4] == np.float32(-0.3125 * np.float64(net.w1[4]))
    assert abs(new.elbows[4] - 0.3125) < 1e-6
    assert np.array_equal(np.delete(new.b1, 4), np.delete(net.b1, 4))
    assert np.array_equal(new.w1, net.w1) and np.array_equal(new.w2, net.w2) and new.b2 == net.b2


def test_with_slope_keeps_the_elbow_and_can_flip_sign():
    net = rs.init_network(10, 3)
    e = net.elbows[2]
    new = net.with_slope(2, -2.5 * np.sign(net.w1[2]))
    assert np.sign(new.w1[2]) == -np.sign(net.w1[2])
    assert abs(new.elbows[2] - e) < 1e-6
    with pytest.raises(ValueError):
        net.with_slope(2, 0.0)


def test_slope_handle_geometry_is_consistent(data):
    net = rs.init_network(20, 0)
    lo, hi = data.x.min(), data.x.max()
    hx, hy = handle_positions(net, lo, hi)
    for j in range(net.width):
        # The handle lies on the unit's pre-activation line, at the data edge farther from the elbow.
        assert hy[j] == pytest.approx(float(net.w1[j]) * hx[j] + float(net.b1[j]), abs=1e-9)
        assert abs(hx[j] - net.elbows[j]) >= 0.5 * (hi - lo) - 1e-12 or not np.isfinite(net.elbows[j])
        # Moving the handle to where it already is leaves the slope unchanged (to float32).
        same = slope_from_handle(net, j, hx[j], hy[j])
        assert same.w1[j] == pytest.approx(net.w1[j], rel=1e-5)


def test_output_weight_from_handle_hits_the_requested_height():
    net = rs.init_network(10, 1)
    j = 3
    x = 1.0 if net.w1[j] > 0 else 0.0
    new = output_weight_from_handle(net, j, x, 0.75)
    h = max(float(net.w1[j]) * x + float(net.b1[j]), 0.0)
    assert float(new.w2[j]) * h == pytest.approx(0.75, rel=1e-6)


def test_snap_to_data(data):
    assert snap_to_data(0.5, data) == data.x[np.argmin(np.abs(data.x - 0.5))]


@pytest.mark.parametrize("width", [5, 20, 1000])
def test_evaluate_edit_equals_fit_ridge_and_the_mse_reference(data, width):
    net = rs.init_network(width, 2).with_elbow(0, 0.4)
    fitted, full, dead = evaluate_edit(net, data, 1e-5, ridge_follow=True)
    assert fitted.equals(rs.fit_ridge(net, data, 1e-5))  # bit for bit: the same solve
    ref_full, _ = network_errors(fitted, data)
    assert full == pytest.approx(ref_full, rel=1e-12)
    np.testing.assert_array_equal(dead, net.dead_units(data.x))
    same, full2, _ = evaluate_edit(net, data, 1e-5, ridge_follow=False)
    assert same.equals(net) and full2 == pytest.approx(network_errors(net, data)[0], rel=1e-12)
