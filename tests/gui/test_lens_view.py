"""The theory lens in the window: arrows on the elbows where the gradient moves them, none in the
output-only mode (the canvas says why), the panel following the timeline, the toggle saved."""
import numpy as np
import pytest

import relu_studio as rs
from studio_helpers import configure, run_to_end


@pytest.fixture
def lens_window(window):
    window.action("lens").setChecked(True)
    window.flush_views()
    return window


def elbow_heads(canvas):
    (_x, _y), (hx, hy) = canvas.velocity_arrows()
    return np.asarray(hx)[np.asarray(hy) == 0]


def test_the_lens_is_off_by_default_and_costs_nothing(window):
    assert not window.action("lens").isChecked()
    assert window.lens_dock.isHidden()
    window.flush_views()
    assert window.canvas.lens is None
    (x, _y), (hx, _hy) = window.canvas.velocity_arrows()
    assert len(x) == 0 and len(hx) == 0
    x, _y = window.lens_panel.sv_full.getData()  # nothing computed
    assert x is None or len(x) == 0


def test_arrows_point_where_the_full_batch_gradient_moves_each_elbow(lens_window):
    w = lens_window
    c = w.c
    assert not w.lens_dock.isHidden()
    v = rs.elbow_velocity(c.shown_network, c.data, lr=c.settings.current_lr, mode="all")
    heads = elbow_heads(w.canvas)
    e = c.shown_network.elbows
    np.testing.assert_allclose(np.sort(heads), np.sort(e + v.elbow), rtol=1e-12)
    assert w.canvas.lens_note.isHidden()
    # the unit's tooltip names its gradients and de
    tip = w.canvas._tip(e[3], 0.0, 3)
    assert "dL/dw =" in tip and "dL/db =" in tip and "dL/dw2 =" in tip and "de =" in tip


def test_output_only_mode_draws_no_elbow_arrows_and_says_so(lens_window, qtbot):
    w = lens_window
    configure(w.c, mode="output")
    w.flush_views()
    assert len(elbow_heads(w.canvas)) == 0
    assert w.canvas.lens_note.isVisible() and "zero" in w.canvas.lens_note.text()
    # the convex case: the distance curve is drawn
    w.lens_panel.show_part("ridge")
    w.flush_views()
    x, y = w.lens_panel.ridge_curve.getData()
    assert x is not None and len(y) >= 1


def test_the_panel_follows_the_timeline(lens_window, qtbot):
    w = lens_window
    c = w.c
    configure(c, steps=3000)
    run_to_end(qtbot, c)
    w.flush_views()
    last = w.lens_panel.sv_full.getData()[1].copy()
    c.show_snapshot(0)
    w.flush_views()
    first = 10 ** w.lens_panel.sv_full.getData()[1]  # the plot's log axis holds log10
    ref = np.linalg.svd(rs.jacobian(c.history.network(0), c.data.x), compute_uv=False)
    drawn = ref[ref > ref[0] * max(c.data.n, ref.size) * np.finfo(float).eps]  # no round-off drawn
    np.testing.assert_allclose(first, drawn, rtol=1e-9)
    assert not np.allclose(first[:5], last[:5])
    # the other parts are computed only when shown, and then at once
    assert w.lens_panel.path.getData()[0] is None and w.lens_panel.ridge_curve.getData()[0] is None
    w.lens_panel.show_part("slice")
    w.flush_views()
    px, _py = w.lens_panel.path.getData()  # the slice's SGD path ends at the shown snapshot
    assert len(px) == 1
    w.lens_panel.show_part("ridge")
    w.flush_views()
    x, _ = w.lens_panel.ridge_curve.getData()
    assert len(x) == len(c.history)
    assert w.lens_panel.ridge_cursor.value() == 0


def test_slice_pickers_choose_the_parameters_and_bad_pairs_say_why(lens_window):
    w = lens_window
    p = w.lens_panel
    p.show_part("slice")
    p.pick1.kind.setCurrentIndex(list(rs.core.lens.loss_slice.PARAMETER_KINDS).index("elbow"))
    p.pick2.kind.setCurrentIndex(list(rs.core.lens.loss_slice.PARAMETER_KINDS).index("slope"))
    p.pick1.unit.setValue(2)
    p.pick2.unit.setValue(2)
    w.flush_views()
    assert "elbow[2]" in p.slice.getPlotItem().getAxis("bottom").labelText
    assert "not be convex" in p.slice_note.text()
    p.pick2.kind.setCurrentIndex(list(rs.core.lens.loss_slice.PARAMETER_KINDS).index("b1"))
    w.flush_views()
    assert "both set" in p.slice_note.text()


def test_the_lens_toggle_is_saved_with_the_view(lens_window):
    w = lens_window
    state = w.view_state()
    assert state["show_lens"] is True
    w.action("lens").setChecked(False)
    assert w.lens_dock.isHidden()
    w.flush_views()
    assert w.canvas.lens is None
    w.apply_view_state(state)
    assert w.action("lens").isChecked() and not w.lens_dock.isHidden()


def test_slice_contours_lie_on_their_levels():
    """The slice's contour lines (contourpy) pass where the loss equals each level: on a bowl
    z = x^2 + 4 y^2 over a 200 x 200 grid, every drawn point is on one of the ellipses to within
    the grid's linear interpolation error (spacing^2 x curvature / 8)."""
    from relu_studio.ui.lens_panel import contour_lines

    v1, v2 = np.linspace(-1, 1, 200), np.linspace(-0.5, 0.5, 200)
    z = np.add.outer(v1 ** 2, 4 * v2 ** 2)  # z[i, j] at (v1[i], v2[j])
    levels = [0.1, 0.3, 0.6]
    x, y = contour_lines(v1, v2, z, levels)
    ok = np.isfinite(x)
    assert ok.sum() > 300 and (~ok).sum() == 3  # three closed curves, NaN after each
    on = x[ok] ** 2 + 4 * y[ok] ** 2
    h = v1[1] - v1[0]
    assert np.min(np.abs(on[:, None] - np.array(levels)[None, :]), axis=1).max() < 8 * h * h / 8 + 1e-12
    assert np.isclose(on, 0.1, atol=1e-3).any() and np.isclose(on, 0.6, atol=1e-3).any()
    assert contour_lines(v1, v2, z, [5.0])[0].size == 0  # a level above the grid draws nothing


def test_the_shown_slice_has_contours(lens_window):
    w = lens_window
    w.lens_panel.show_part("slice")
    w.flush_views()
    x, _y = w.lens_panel.contours.getData()
    assert x is not None and np.isfinite(x).sum() > 10
