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


# --------------------------------------------------------------------------- the drag gesture
def test_an_elbow_drag_is_computed_from_its_start_and_snaps_with_shift(data):
    from relu_studio.core.editing import Drag

    net = rs.init_network(12, 4)
    j = 5
    drag = Drag("elbow", j, net, data)
    assert drag.text == f"Move elbow {j}" and drag.unit == j
    for x in (0.31, 0.72, 0.55):  # every event from the start: the last one wins, exactly
        moved, same_data = drag.move(x, 0.9)
    assert same_data is data
    assert moved.b1[j] == np.float32(-0.55 * np.float64(net.w1[j])) and moved.w1[j] == net.w1[j]
    snapped, _ = drag.move(0.5004, 0.0, snap=True)
    assert snapped.elbows[j] == pytest.approx(snap_to_data(0.5004, data), abs=1e-6)


def test_a_handle_drag_keeps_its_anchor_and_sets_the_slope(data):
    from relu_studio.core.editing import Drag, data_range

    net = rs.init_network(12, 4)
    j = 2
    drag = Drag("handle", j, net, data)
    hx, _hy = handle_positions(net, *data_range(data))
    assert drag.anchor == hx[j] and drag.text == f"Change slope of unit {j}"
    moved, _ = drag.move(0.1234, 1.5)  # the pointer's x does not matter: the anchor stays
    assert moved.w1[j] == pytest.approx(1.5 / (hx[j] - net.elbows[j]), rel=1e-6)
    assert moved.elbows[j] == pytest.approx(net.elbows[j], abs=1e-6)
    scaled = Drag("handle", j, net, data, scaled=True)
    assert scaled.text == f"Change output weight of unit {j}"


def test_a_point_drag_moves_one_point_and_refuses_nothing_else(data):
    from relu_studio.core.editing import Drag

    net = rs.init_network(3, 0)
    drag = Drag("point", 7, net, data)
    assert drag.unit is None and drag.text == "Move data point"
    same_net, moved = drag.move(0.25, 1.75)
    assert same_net is net and moved.n == data.n and moved.source == "edited"
    assert np.sum((moved.x == 0.25) & (moved.y == 1.75)) == 1
    with pytest.raises(ValueError):
        Drag("sideways", 0, net, data)


@pytest.mark.parametrize("kind, button, ctrl, edit_mode, action", [
    ("elbow", "left", False, False, "select_unit"),
    ("handle", "left", True, True, "select_unit"),
    ("point", "left", False, False, "select_point"),
    ("point", "right", False, True, "delete_point"),
    ("point", "right", False, False, None),  # outside edit-data mode a right click deletes nothing
    (None, "left", True, False, "add_point"),
    (None, "left", False, True, "add_point"),
    (None, "left", False, False, "clear_selection"),
    (None, "right", False, True, None),
])
def test_what_a_click_means(kind, button, ctrl, edit_mode, action):
    from relu_studio.core.editing import click_action

    assert click_action(kind, button, ctrl, edit_mode) == action
