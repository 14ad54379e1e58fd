"""The studio canvas as a figure of the lesson: the target's kinks, where the elbows started and
went, nothing drawn over the data, the current numbers large, and exports without editing items."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QRectF

from relu_studio.core.elbow_trails import elbow_trails
from relu_studio.core.history import HistoryView
from relu_studio.core.kinks import target_kinks
from relu_studio.ui import style
from relu_studio.ui.exporting import (
    AnimationOptions,
    export_figure_png,
    export_figure_svg,
    export_png,
    export_svg,
    figure_canvas,
    qimage_to_rgb,
    render_frames,
)
from relu_studio.ui.readout_strip import format_value
from studio_helpers import configure, run_to_end


@pytest.fixture
def studio(window, qtbot):
    window.resize(1360, 860)
    qtbot.wait(20)
    window.flush_views()
    return window


def scene_xy(canvas, x, y) -> QPointF:
    return canvas.vb.mapViewToScene(QPointF(float(x), float(y)))


def pixels_of(rgb: np.ndarray, colour: str, tol: int = 6) -> int:
    """How many pixels of ``rgb`` have ``colour`` (within ``tol`` per channel)."""
    c = style.pg.mkColor(colour)
    want = np.array([c.red(), c.green(), c.blue()])
    return int(np.count_nonzero(np.all(np.abs(rgb.astype(int) - want) <= tol, axis=2)))


# --------------------------------------------------------------------------- kinks, ghosts, trails
def test_kink_marks_sit_at_the_targets_kinks(studio):
    cv, c = studio.canvas, studio.c
    np.testing.assert_array_equal(cv.kink_positions(), target_kinks(c.data.target))
    assert len(cv.kink_positions()) == 11  # the notebook's target: every multiple of 0.1
    k = cv.kink_positions()[3]
    assert cv.tip_at(k, 1.7).startswith(f"kink of the target at x = {k:.4g}")
    assert cv.tip_at(k + 0.05, 1.7) == ""
    # A typed formula's kinks are found numerically; a smooth target has none.
    assert c.regenerate(target="abs(x - 0.3) + 0.5*abs(x - 0.65)") is None
    studio.flush_views()
    np.testing.assert_array_equal(cv.kink_positions(), target_kinks(c.data.target))
    assert np.allclose(cv.kink_positions(), [0.3, 0.65], atol=1e-4)
    assert c.regenerate(target="sin(20x)") is None
    studio.flush_views()
    assert cv.kink_positions().size == 0
    studio.action("kinks").trigger()  # K hides them
    assert not cv.kinks_visible


def test_ghost_elbows_stay_at_the_initial_networks_elbows(studio, qtbot):
    cv, c = studio.canvas, studio.c
    initial = c.initial
    ghosts = cv.ghost_positions()
    want = -initial.b1.astype(np.float64) / initial.w1.astype(np.float64)
    np.testing.assert_array_equal(ghosts, want)
    configure(c, steps=20_000, save_every=1000)
    run_to_end(qtbot, c)
    studio.flush_views()
    np.testing.assert_array_equal(cv.ghost_positions(), want)  # they stay where the elbows started
    assert not np.allclose(cv.elbow_positions(), np.sort(want))  # while the elbows moved
    studio.action("initial_elbows").trigger()
    assert cv.ghost_positions().size == 0


def test_trails_follow_the_history_and_break_where_w_changes_sign(studio, qtbot):
    cv, c = studio.canvas, studio.c
    configure(c, steps=5000, save_every=1000)
    run_to_end(qtbot, c)
    studio.action("trails").trigger()
    studio.flush_views()
    hist = c.history.frozen()
    want = elbow_trails(hist.steps, hist.w1, hist.b1)
    xs, ys = cv.trail_lines()
    np.testing.assert_array_equal(xs, want.x)
    assert np.nanmax(ys) == 0.0 and np.nanmin(ys) < 0  # the shown step on the axis, step 0 below
    # Flip one unit's slope by hand: its trail must not join the old and the new elbow.
    j = 5
    net = c.network
    assert c.set_unit_value(j, "w", -2.0 * float(net.w1[j])) is None
    studio.flush_views()
    xs, ys = cv.trail_lines()
    new_x = c.network.elbows[j]
    old_x = net.elbows[j]
    i_new = np.flatnonzero(xs == new_x)
    assert i_new.size == 1 and np.isnan(xs[i_new[0] - 1])  # a break just before the flipped elbow
    assert old_x in xs  # the old path is still drawn, up to the flip
    # Scrubbing back shows the trail up to that snapshot only.
    c.show_snapshot(2)
    studio.flush_views()
    xs2, _ys2 = cv.trail_lines()
    assert np.count_nonzero(np.isfinite(xs2)) == 3 * c.network.width
    studio.action("trails").trigger()
    assert cv.trail_lines()[0].size == 0


# --------------------------------------------------------------------------- nothing over the data
def test_the_legend_lies_outside_the_plot_and_covers_no_point_or_handle(studio, qtbot):
    cv = studio.canvas
    legend = cv.legend_scene_rect()
    plot = cv.vb.sceneBoundingRect()
    assert legend.width() > 100 and legend.height() > 10
    assert not legend.intersects(plot)  # a row above the plot area
    r = 6.0  # a marker's radius in pixels, and then some
    xs, ys = cv.point_positions()
    hx, hy = cv.handle_positions()
    for x, y in list(zip(xs, ys)) + list(zip(hx, hy)):
        p = scene_xy(cv, x, y)
        assert not legend.intersects(QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r))
    # All of the legend's entries are inside the canvas (none cut off at a narrow width).
    studio.resize(1000, 800)
    qtbot.wait(50)  # the plot lays itself out again in the event loop
    legend = cv.legend_scene_rect()
    assert legend.right() <= cv.viewport().width() and not legend.intersects(cv.vb.sceneBoundingRect())


def test_no_slope_handle_sits_on_a_data_point_or_on_another_handle(studio):
    cv, c = studio.canvas, studio.c
    hx, hy = cv.handle_positions()
    px = np.array([[scene_xy(cv, x, y).x(), scene_xy(cv, x, y).y()] for x, y in zip(hx, hy)])
    pts = np.array([[scene_xy(cv, x, y).x(), scene_xy(cv, x, y).y()] for x, y in zip(c.data.x, c.data.y)])
    # Handles (9 px) and points (7 px) overlap when their centres are closer than 8 px.
    d = np.hypot(px[:, None, 0] - pts[None, :, 0], px[:, None, 1] - pts[None, :, 1])
    assert d.min() >= 8.0
    # The handles at the ends of the data lie outside its x range, in the default view.
    assert np.all((hx < c.data.x.min()) | (hx > c.data.x.max()))
    (x0, x1), _ = cv.vb.viewRange()
    assert np.all((hx > x0) & (hx < x1))
    # Not stacked: no two handles closer than their size.
    dd = np.hypot(px[:, None, 0] - px[None, :, 0], px[:, None, 1] - px[None, :, 1])
    dd[np.diag_indices_from(dd)] = np.inf
    inside = (px[:, 1] > 0) & (px[:, 1] < cv.height())
    assert dd[np.ix_(inside, inside)].min() >= 9.0


def test_the_truth_curve_has_no_vertical_drop_at_x_1(studio):
    cv, c = studio.canvas, studio.c
    tx, ty = cv.truth_line()
    assert np.count_nonzero(tx == 1.0) == 1  # one point at x = 1: no vertical segment there
    vertical = np.flatnonzero(np.diff(tx) == 0)
    assert vertical.size == 0
    # Drawn at the limit of the last piece; the data keep the formula's value 0.
    assert ty[-1] == pytest.approx(np.sin(12345 * 10), abs=1e-9) and c.data.y_test[-1] == 0.0
    tip = cv.tip_at(1.0, ty[-1])
    assert "x = 1" in tip and "limit" in tip and "test MSE" in tip
    assert cv.tip_at(0.45, 2.4) == ""  # far from the curve: no tooltip


# --------------------------------------------------------------------------- the numbers, large
def test_the_readout_strip_shows_the_shown_snapshots_numbers(studio, qtbot):
    c, strip = studio.c, studio.readout_strip
    configure(c, steps=6000, save_every=1000)
    run_to_end(qtbot, c)
    steps, _train, full, test = c.history.curves()
    for i in (2, len(c.history) - 1, 0):
        c.show_snapshot(i)
        studio.flush_views()
        assert strip.text("step") == format_value("step", steps[i])
        assert strip.text("train") == format_value("train", full[i])
        assert strip.text("test") == format_value("test", test[i])
        assert strip.text("ridge") == format_value("ridge", c.ridge_best(c.history.network(i)))
    assert strip.text("train") != format_value("train", full[-1])  # it did follow the scrub
    assert float(strip.text("train")) == pytest.approx(full[0], rel=1e-3)


@pytest.mark.parametrize("width", [1200, 380])
def test_the_readout_strip_never_overlaps_itself(qtbot, width):
    """On a wide canvas one row; on a narrow one (a small window, wide docks) each caption goes
    above its number: no caption or number ever covers another."""
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from relu_studio.ui.readout_strip import ReadoutStrip

    above_canvas = QWidget()  # the strip takes the width its parent gives it, as in the window
    qtbot.addWidget(above_canvas)
    strip = ReadoutStrip()
    QVBoxLayout(above_canvas).addWidget(strip)
    strip.set_values(150_000, 0.01744, 0.01214, 0.01725)
    above_canvas.setFixedWidth(width)
    above_canvas.show()
    qtbot.waitExposed(above_canvas)
    qtbot.waitUntil(lambda: strip.width() <= width)
    strip.grid.activate()  # the layout's pending request, done now
    labels = [*strip.captions.values(), *strip.values.values()]
    rects = [w.geometry() for w in labels]
    for i, a in enumerate(rects):
        assert strip.rect().contains(a), (labels[i].text(), a, strip.rect())
        for j in range(i + 1, len(rects)):
            assert not a.intersects(rects[j]), (labels[i].text(), labels[j].text())
    for w in strip.values.values():  # every number whole
        assert w.width() >= w.fontMetrics().horizontalAdvance(w.text())
    assert strip.stacked == (width < strip.row_width)


# --------------------------------------------------------------------------- exports as figures
def test_exported_figures_have_no_handles_or_selection(studio, tmp_path):
    cv = studio.canvas
    studio.action("units").setChecked(False)  # then only the handles have the units' colour
    cv.select_unit(4)
    studio.flush_views()
    live = qimage_to_rgb(cv.grab().toImage())
    assert pixels_of(live, style.UNITS) > 20 and pixels_of(live, style.SELECTED) > 20  # they are on screen
    fig = figure_canvas(cv)
    try:
        in_scene = set(fig.scene().items())
        for item in (fig.handles, fig.selected_unit, fig.selected_marker, fig.selected_elbow):
            assert item not in in_scene
        assert "slope handles" not in [label.text for _s, label in fig.legend.items]
    finally:
        fig.deleteLater()
    out = export_png(cv, tmp_path / "canvas.png", width=1200, dpi=150)
    with Image.open(out) as img:
        rgb = np.asarray(img.convert("RGB"))
    assert pixels_of(rgb, style.UNITS) == 0 and pixels_of(rgb, style.SELECTED) == 0
    assert pixels_of(rgb, style.DATA) > 100  # the data are there
    svg = export_svg(cv, tmp_path / "canvas.svg").read_text().lower()
    assert style.UNITS.lower() not in svg and style.SELECTED.lower() not in svg
    assert style.DATA.lower() in svg and style.PREDICTION.lower() in svg
    assert cv.selected == 4 and cv.handles.isVisible()  # the window itself is left as it was


def test_canvas_and_loss_pane_export_as_one_figure(studio, tmp_path):
    cv, loss = studio.canvas, studio.loss
    out = export_figure_png(cv, loss, tmp_path / "figure.png", width=1000, dpi=200)
    with Image.open(out) as img:
        w, h = img.size
        rgb = np.asarray(img.convert("RGB"))
    expect = 1000 * cv.height() / cv.width() + 1000 * loss.height() / loss.width()
    assert w == 1000 and abs(h - expect) <= 4
    top, bottom = rgb[: int(h * 0.5)], rgb[int(h * 0.75):]
    assert pixels_of(top, style.DATA) > 100 and pixels_of(bottom, style.NOISE_FLOOR, tol=10) > 20
    svg = export_figure_svg(cv, loss, tmp_path / "figure.svg").read_text()
    assert "training data" in svg and "noise floor" in svg  # both panes in the one file


# --------------------------------------------------------------------------- animation
def test_the_animation_dialog_speaks_in_steps(studio, qtbot):
    c = studio.c
    configure(c, steps=20_000, save_every=1000)
    run_to_end(qtbot, c)
    steps = c.history.curves()[0]
    dlg = AnimationOptions(steps, studio)
    try:
        assert (dlg.first.minimum(), dlg.first.maximum()) == (0, 20_000)
        assert dlg.last.value() == 20_000 and dlg.first.singleStep() == 1000
        dlg.first.setValue(5000)
        dlg.last.setValue(12_500)
        dlg.frames.setValue(100)
        idx = dlg.indices()
        assert [int(steps[i]) for i in idx] == list(range(5000, 12_001, 1000))
        assert "8 frames: steps 5,000 to 12,000" in dlg.summary.text()
        dlg.spacing.setCurrentIndex(dlg.spacing.findData("log"))
        dlg.first.setValue(0)
        dlg.frames.setValue(5)
        log_steps = [int(steps[i]) for i in dlg.indices()]
        assert log_steps[0] == 0 and log_steps[-1] == 12_000 and log_steps[1] <= 1000
    finally:
        dlg.deleteLater()


def test_each_frame_draws_its_own_snapshots_data(studio, qtbot, tmp_path):
    c, cv = studio.c, studio.canvas
    configure(c, steps=3000, save_every=1000)
    run_to_end(qtbot, c)
    before = len(c.history)
    d = c.data
    # A hand-added point far from the others: it exists from the edit's snapshot on only.
    assert c.apply_edit("Add data point", data=d.with_points(np.append(d.x, 0.45), np.append(d.y, 2.2))) is None
    assert len(c.history) == before + 1 and c.history.data_at(0) is d
    view = ((0.0, 1.0), (-2.5, 2.5))
    # The same network before and after the edit: the frames differ by the added point only.
    assert c.history.network(before - 1).equals(c.history.network(before))
    frames = list(render_frames(c.history, c.data, [before - 1, before], 500, False, False, view, like=cv))
    added = pixels_of(frames[1], style.DATA) - pixels_of(frames[0], style.DATA)
    assert added >= 20  # a 7-px marker
    # A history that does not know its data draws every frame on the current data.
    frozen = c.history.frozen()
    unknown = type(frozen)(**{**{f: getattr(frozen, f) for f in ("steps", "train_error", "full_train_error",
                                                                 "test_error", "w1", "b1", "w2", "b2",
                                                                 "tags", "lrs")}})
    same = list(render_frames(HistoryView(unknown), c.data, [before - 1, before], 500, False, False, view, like=cv))
    assert pixels_of(same[0], style.DATA) == pixels_of(frames[1], style.DATA)
    # The export itself, through the File menu's handler, with the loss pane below.
    def accept(dlg):
        dlg.with_loss.setChecked(True)
        dlg.frames.setValue(3)
        return True
    studio.files.export_animation(path=str(tmp_path / "run.gif"), accept=accept)
    with Image.open(tmp_path / "run.gif") as gif:
        assert gif.n_frames == 3 and gif.size[1] > gif.size[0] * 0.6 * 1.3  # canvas + loss pane
