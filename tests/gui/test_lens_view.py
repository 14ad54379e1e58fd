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
    ref = rs.gradient_features(c.history.network(0), c.data).singular_values
    np.testing.assert_allclose(first, ref[ref > 0], rtol=1e-9)
    assert not np.allclose(first[:5], last[:5])
    # the slice's SGD path ends at the shown snapshot
    px, _py = w.lens_panel.path.getData()
    assert len(px) == 1
    x, _ = w.lens_panel.ridge_curve.getData()
    assert len(x) == len(c.history)
    assert w.lens_panel.ridge_cursor.value() == 0


def test_slice_pickers_choose_the_parameters_and_bad_pairs_say_why(lens_window):
    w = lens_window
    p = w.lens_panel
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
