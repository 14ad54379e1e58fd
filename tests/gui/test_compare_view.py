"""The Compare view: the grid through the GUI worker equals the core, bands are numpy's
percentiles, one timeline moves every cell, cancel is prompt and keeps finished cells, a double
click opens a cell, the table sorts, copies and exports, and the state round-trips."""
import csv
import dataclasses
import json
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

import relu_studio as rs
from relu_studio.core.experiment import ALL_MODES, ridge_run
from relu_studio.core.report import results_csv, results_csv_columns
from relu_studio.core.elbow_paths import log_step_view
from relu_studio.core.kinks import target_kinks
from relu_studio.core.summary import elbow_trajectories
from relu_studio.ui.compare_controller import CompareController
from relu_studio.ui.compare_view import READY, CompareView

TIMEOUT = 60_000  # ms; the first run may compile the kernel
RUN_ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2")


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", 200, 0.1, 1)


def make_view(qtbot, data):
    c = CompareController(lambda: data)
    v = CompareView(c)
    c.setParent(v)
    qtbot.addWidget(v)
    return v


@pytest.fixture
def view(qtbot, data):
    v = make_view(qtbot, data)
    v.resize(1400, 900)
    v.show()
    qtbot.waitExposed(v)
    yield v
    assert v.c.shutdown()
    v.close()
    assert not v.c.worker_running


def configure(v, widths="3 7", modes=ALL_MODES, seeds=2, steps=3000, save_every=500):
    v.widths.editor.setText(widths)
    for m, cb in v.mode_boxes.items():
        cb.setChecked(m in modes)
    v.seeds.setValue(seeds)
    v.steps.setValue(steps)
    v.save_every.setValue(save_every)


def run_grid(qtbot, v, **settings):
    configure(v, **settings)
    with qtbot.waitSignal(v.c.gridFinished, timeout=TIMEOUT):
        assert v.run_grid() is None
    assert not v.c.running
    return v.c.result


def identical(a, b):
    return all(getattr(a, k).tobytes() == getattr(b, k).tobytes() for k in RUN_ARRAYS)


def test_grid_reproduces_the_core_runs_bit_for_bit(view, qtbot, data):
    res = run_grid(qtbot, view)
    assert not res.cancelled and res.data is data
    assert set(res.runs) == {rs.grid_key(w, m, rs.Optimizer(), s)
                             for w in (3, 7) for m in ALL_MODES for s in (0, 1)}
    for (w, m, _o, s), run in res.runs.items():
        init = rs.init_network(w, s)
        assert run.initial.equals(init)
        assert run.initial is res.initial[(w, s)]  # every mode of a seed starts from one network
        if m == "ridge":
            want = ridge_run(init, data, rs.DEFAULT_LAMBDA, s)
        else:
            want = rs.train(init, data, m, rs.DEFAULT_LR[m], 3000, save_every=500, seed=s)
        assert identical(run, want), (w, m, s)
    assert "12 runs in" in view.status.text()
    assert view.progress.value() == view.progress.maximum()
    # The table has one row per width x mode.
    assert view.table.model().rowCount() == 6
    assert not view.c.worker_running  # no thread idles between grids


def test_the_activation_and_loss_chosen_train_every_cell(view, qtbot, data):
    """Choosing tanh and Huber in Compare's controls: every SGD cell is rs.train of the tanh
    network with the Huber loss, bit for bit, and the drawn prediction is the tanh network's;
    the grid's settings (saved with a session) keep both."""
    view.activation_box.setCurrentIndex(view.activation_box.findData("tanh"))
    view.loss_box.setCurrentIndex(view.loss_box.findData("huber"))
    assert view.c.settings.activation == rs.Activation("tanh")
    assert view.c.settings.loss == rs.Loss("huber")
    res = run_grid(qtbot, view, widths="3", modes=("output", "all"), seeds=1, steps=600, save_every=200)
    net = rs.init_network(3, 0).replace(activation=rs.Activation("tanh"))
    for m in ("output", "all"):
        want = rs.train(net, data, m, rs.DEFAULT_LR[m], 600, save_every=200, seed=0,
                        loss=rs.Loss("huber"))
        assert identical(res.runs[rs.grid_key(3, m, rs.Optimizer(), 0)], want), m
    # Settings from elsewhere (a session) show in the combos without being overwritten.
    view.c.set_field("activation", rs.Activation("leaky_relu", slope=0.2))
    assert view.activation_box.currentData() == "leaky_relu"
    assert view.c.settings.activation.slope == 0.2


def test_loss_bands_are_numpy_percentiles_and_ridge_is_a_line(view, qtbot):
    res = run_grid(qtbot, view, widths="5", seeds=4)
    view.c.select_cell(5, "all")
    runs = res.cell(5, "all")
    for attr in ("train_error", "full_train_error", "test_error"):
        stack = np.stack([getattr(r, attr) for r in runs])
        np.testing.assert_array_equal(view.loss.median[attr].xData, runs[0].steps)
        np.testing.assert_array_equal(view.loss.median[attr].yData, np.percentile(stack, 50, axis=0))
        np.testing.assert_array_equal(view.loss.lo[attr].yData, np.percentile(stack, 25, axis=0))
        np.testing.assert_array_equal(view.loss.hi[attr].yData, np.percentile(stack, 75, axis=0))
        assert view.loss.fill[attr].isVisible()
    ridge_med = np.percentile([r.test_error[0] for r in res.cell(5, "ridge")], 50)
    assert view.loss.ridge.isVisible()
    assert view.loss.ridge.value() == pytest.approx(np.log10(ridge_med), abs=1e-12)  # log axis
    # The ridge cell itself: horizontal lines over the whole timeline.
    view.c.select_cell(5, "ridge")
    for attr in ("full_train_error", "test_error"):
        vals = [getattr(r, attr)[0] for r in res.cell(5, "ridge")]
        y = view.loss.median[attr].yData
        assert y.tolist() == [np.percentile(vals, 50)] * 2
        assert view.loss.median[attr].xData.tolist() == [0.0, 3000.0]
        assert view.loss.lo[attr].yData[0] == np.percentile(vals, 25)
    assert view.loss.median["train_error"].yData is None  # (= full train for ridge: not drawn)
    assert not view.loss.ridge.isVisible()


def test_shared_slider_moves_every_cell(view, qtbot):
    res = run_grid(qtbot, view, seeds=1)
    steps = view.c.steps
    assert steps == [0, 1, 500, 1000, 1500, 2000, 2500, 3000]
    assert view.timeline.index == len(steps) - 1  # the newest snapshot after a run
    for i in (0, 1, 3, len(steps) - 1, 2):
        view.timeline.slider.setValue(i)  # what the user's drag does
        step = steps[i]
        for (w, m, _o), cell in view.small.cells.items():
            run = res.run(w, m, None, 0)
            net = run.network_at(step)
            xs, ys = cell.prediction.getData()
            np.testing.assert_allclose(ys, net.predict(xs), rtol=0, atol=1e-6 * (1 + np.abs(ys).max()))  # float64 polyline vs float32 model
            assert xs.min() < 0 and xs.max() > 1  # drawn beyond the view
            ex, ey = cell.elbows.getData()
            np.testing.assert_array_equal(np.sort(ex), np.sort(net.elbows))
            assert np.all(ey == 0)
        assert view.loss.cursor.value() == step
        for kymo in view.kymos.plots.values():  # on a log step axis: at log10(step), step 0 at the left
            assert kymo.cursor.value() == pytest.approx(np.log10(max(step, kymo._x_lo)))
        assert f"step {step:,} / 3,000" in view.timeline.label.text()
    # Step 0 shows the initial networks of the SGD cells (and the ridge fit).
    view.c.set_step_index(0)
    xs, ys = view.small.cell(7, "all").prediction.getData()
    np.testing.assert_allclose(ys, rs.init_network(7, 0).predict(xs), rtol=0, atol=1e-6 * (1 + np.abs(ys).max()))
    xs, ys = view.small.cell(7, "ridge").prediction.getData()
    np.testing.assert_allclose(ys, res.run(7, "ridge", None, 0).final.predict(xs), rtol=0, atol=1e-6 * (1 + np.abs(ys).max()))


def test_the_seed_shown_switches_every_cell(view, qtbot):
    res = run_grid(qtbot, view, widths="4", seeds=3)
    view.seed_box.setCurrentIndex(2)
    assert view.c.shown_seed == 2
    for (w, m, _o), cell in view.small.cells.items():
        assert cell.run is res.run(w, m, None, 2)
    steps, elbows = elbow_trajectories(res.run(4, "all", None, 2), with_initial=True)
    view.c.select_cell(4, "all")
    _x, y = view.kymos.plots["all"].plotted()
    np.testing.assert_allclose(y[np.isfinite(y)], elbows[1:].T.ravel()[np.isfinite(elbows[1:].T.ravel())])


def test_the_selected_widths_modes_kymographs_side_by_side_with_kinks(view, qtbot, data):
    res = run_grid(qtbot, view, widths="4 6", modes=ALL_MODES, seeds=1, steps=4000)
    view.c.select_cell(6, "ridge")  # any cell of the width: its SGD modes, output | all
    plots = view.kymos.plots
    assert list(plots) == ["output", "all"]  # ridge trains no hidden layer: no kymograph of its own
    view.kymos.log_box.setChecked(False)
    for m, plot in plots.items():
        assert plot.isVisible()
        run = res.run(6, m, None, 0)
        steps, elbows = elbow_trajectories(run, with_initial=True)
        x, y = plot.plotted()
        ws = np.vstack([run.initial.w1[None], run.w1])
        flips = int(np.sum(np.sign(ws[1:]) * np.sign(ws[:-1]) < 0))
        assert x.size == 6 * (len(steps) + 1) + flips  # unit by unit, NaN-separated
        np.testing.assert_array_equal(x[np.isfinite(x)], np.tile(steps, 6))
        np.testing.assert_allclose(y[np.isfinite(x)], elbows.T.ravel(), rtol=1e-12)
        assert plot.kink_values() == pytest.approx(list(target_kinks(data.target)))
        assert "H = 6" in view.kymos.title.text()
    out, all_ = plots["output"], plots["all"]
    assert out.mapTo(view, out.rect().topLeft()).x() + out.width() <= all_.mapTo(view, all_.rect().topLeft()).x()
    assert abs(out.mapTo(view, out.rect().topLeft()).y() - all_.mapTo(view, all_.rect().topLeft()).y()) <= 1
    assert out.height() >= 140 and all_.height() >= 140
    _x, y = out.plotted()
    rows = y.reshape(6, -1)[:, :-1]
    assert np.all(rows == rows[:, :1])  # output layer only: the elbows stand still
    assert "elbows fixed" in out.getPlotItem().titleLabel.text
    assert "output only" in out.getPlotItem().titleLabel.text
    assert "all layers" in all_.getPlotItem().titleLabel.text
    view.c.select_cell(4, "all")
    assert "H = 4" in view.kymos.title.text()
    np.testing.assert_array_equal(plots["all"].plotted()[1][:3], elbow_trajectories(res.run(4, "all", None, 0), True)[1][:3, 0])


def test_log_step_axis_is_the_default_and_can_be_switched_off(view, qtbot):
    run_grid(qtbot, view, widths="5", modes=("output", "all"), seeds=1, steps=20_000, save_every=1000)
    view.c.select_cell(5, "all")
    plot = view.kymos.plots["all"]
    assert view.kymos.log_box.isChecked() and view.c.log_steps
    assert plot.getPlotItem().getAxis("bottom").logMode
    (x0, x1), _ = plot.getPlotItem().vb.viewRange()
    lo, hi = log_step_view(view.c.steps)
    assert x0 == pytest.approx(np.log10(lo), abs=0.1) and x1 == pytest.approx(np.log10(hi), abs=0.1)
    x, _y = plot.plotted()
    assert np.nanmin(x) == 1  # step 0 has no place on a log axis: the paths start at step 1
    view.c.set_step_index(5)
    assert plot.cursor.value() == pytest.approx(np.log10(view.c.step))
    view.kymos.log_box.setChecked(False)  # what the user's click does
    assert not view.c.log_steps and not plot.getPlotItem().getAxis("bottom").logMode
    (x0, x1), _ = plot.getPlotItem().vb.viewRange()
    assert x0 <= 0 and x1 >= 20_000 and x1 < 25_000
    x, _y = plot.plotted()
    assert np.nanmin(x) == 0  # the initial network's elbows
    assert plot.cursor.value() == view.c.step
    assert "log" not in plot.getPlotItem().getAxis("bottom").labelText


def test_a_unit_whose_slope_crosses_zero_is_broken_not_drawn_across(view, qtbot, data):
    res = run_grid(qtbot, view, widths="3", modes=("all",), seeds=1, steps=2000, save_every=500)
    run = res.run(3, "all", None, 0)
    # Unit 0's slope turns from + to - between the 2nd and 3rd snapshots (elbow -b/w through ±inf).
    w1 = np.array(run.w1)
    b1 = np.array(run.b1)
    s0 = np.sign(run.initial.w1[0])  # the initial slope's sign, kept for two snapshots
    w1[:, 0] = np.where(np.arange(len(run)) < 2, 0.5 * s0, -0.5 * s0)
    b1[:, 0] = -0.15 * s0  # elbow +0.3, then -0.3
    flipped = dataclasses.replace(run, w1=w1, b1=b1)
    view.c.restore(res.settings, {}, {(3, "all", 0): flipped}, res.data)
    view.c.select_cell(3, "all")
    view.kymos.log_box.setChecked(False)
    x, y = view.kymos.plots["all"].plotted()
    unit0_x, unit0_y = x[:len(run) + 3], y[:len(run) + 3]  # step 0, the snapshots, a break, the end
    steps = [0, *run.steps]
    for a, b in zip(range(len(unit0_x) - 1), range(1, len(unit0_x))):
        if np.isfinite(unit0_y[a]) and np.isfinite(unit0_y[b]):  # a drawn segment
            assert np.sign(unit0_y[a]) == np.sign(unit0_y[b]), (unit0_x[a], unit0_x[b])
    k = 1 + 2  # the initial elbow and two snapshots come before the break
    assert np.isnan(unit0_y[k]) and unit0_x[k - 1] == steps[k - 1] and unit0_x[k + 1] == steps[k]
    assert unit0_y[k - 1] == pytest.approx(0.3) and unit0_y[k + 1] == pytest.approx(-0.3)


def test_kink_lines_of_a_typed_formula_are_found_numerically(qtbot):
    formula = rs.make_dataset("abs(x - 0.3) + 0.5*abs(x - 0.7)", 100, 0.05, 1)
    v = make_view(qtbot, formula)
    v.resize(1200, 800)
    v.show()
    res = run_grid(qtbot, v, widths="3", modes=("all",), seeds=1, steps=1000, save_every=500)
    assert res.data is formula
    v.c.select_cell(3, "all")
    assert v.kymos.plots["all"].kink_values() == pytest.approx([0.3, 0.7], abs=1e-4)
    assert list(target_kinks(formula.target)) == pytest.approx(v.kymos.plots["all"].kink_values())
    assert v.c.shutdown()
    v.close()


def test_before_a_grid_the_progress_bar_is_hidden_and_the_view_says_ready(view, qtbot):
    assert not view.progress.isVisible()
    assert view.status.text() == READY
    run_grid(qtbot, view, widths="3", modes=("all",), seeds=1, steps=1000)
    assert view.progress.isVisible() and "done" in view.progress.format()
    view.c.clear()
    assert not view.progress.isVisible()


def test_the_bands_are_readable_and_reference_lines_are_named_in_the_legend(view, qtbot):
    from relu_studio.ui.band_loss_plot import CURVES

    run_grid(qtbot, view, widths="4", modes=("all", "ridge"), seeds=3, steps=2000)
    view.c.select_cell(4, "all")
    for attr, (_name, _color, _width, alpha, _edge) in CURVES.items():
        assert view.loss.fill[attr].isVisible()
        assert view.loss.fill[attr].brush().color().alpha() == alpha >= 50
    names = view.loss.legend_names()
    assert "ridge test MSE (same H)" in names and "noise floor σ²" in names
    assert getattr(view.loss.ridge, "label", None) is None  # no label printed across the curves
    view.c.select_cell(4, "ridge")  # a ridge cell has no ridge reference of its own
    assert "ridge test MSE (same H)" not in view.loss.legend_names()


def test_cancel_is_prompt_and_keeps_finished_cells(view, qtbot):
    # Width 2 finishes in a moment; width 300 would take half a minute.
    configure(view, widths="2 300", modes=("all", "ridge"), seeds=1, steps=2_000_000, save_every=10_000)
    assert view.run_grid() is None
    qtbot.waitUntil(lambda: view.c.result.run(2, "all", None, 0) is not None, timeout=TIMEOUT)
    assert view.c.running and view.cancel_button.isEnabled()
    t0 = time.perf_counter()
    with qtbot.waitSignal(view.c.gridFinished, timeout=5000):
        view.cancel_button.click()
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"cancel took {elapsed:.2f} s"
    res = view.c.result
    assert res.cancelled
    assert res.run(2, "all", None, 0) is not None and res.run(300, "all", None, 0) is None
    assert res.run(2, "ridge", None, 0) is not None and res.run(300, "ridge", None, 0) is not None
    assert view.small.cell(2, "all").run is res.run(2, "all", None, 0)
    assert view.small.cell(300, "all").run is None
    assert view.small.cell(300, "all").text.toPlainText() == "not run"
    assert "Cancelled" in view.status.text() and "3 of 4 runs" in view.status.text()
    assert [view.table.model().index(r, 0).data() for r in range(view.table.model().rowCount())] \
        == ["2", "2", "300"]
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()
    assert not view.c.worker_running


def test_shutdown_mid_grid_stops_the_thread(qtbot, data):
    v = make_view(qtbot, data)
    configure(v, widths="200", modes=("all",), seeds=2, steps=5_000_000)
    v.run_grid()
    qtbot.waitUntil(lambda: v.progress.value() > 0, timeout=TIMEOUT)
    t0 = time.perf_counter()
    assert v.c.shutdown()
    assert time.perf_counter() - t0 < 1.0
    assert not v.c.worker_running
    assert not v.c.running and v.c.result.cancelled


def _cell_center(v, key):
    rect = v.small.cell(*key).vb.sceneBoundingRect()
    return v.small.mapFromScene(rect.center())


def test_click_selects_and_double_click_opens_a_cell(view, qtbot):
    res = run_grid(qtbot, view, seeds=2)
    view.seed_box.setCurrentIndex(1)
    vp = view.small.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=_cell_center(view, (3, "output")))
    sgd = rs.Optimizer()
    assert view.c.selected == (3, "output", sgd) and view.small.selected == (3, "output", sgd)
    assert "H = 3" in view.cell_title.text()
    opened = []
    view.c.openCell.connect(opened.append)
    pos = _cell_center(view, (7, "all"))
    # A real double click: press, release, double-click press, release (pyqtgraph reports the
    # double click on the release).
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=pos)
    assert view.c.selected == (7, "all", sgd) and not opened
    qtbot.mouseDClick(vp, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=2000)
    w, m, seed, run, initial, cell_data = opened[0]
    assert cell_data is res.data
    assert (w, m, seed) == (7, "all", 1)
    assert run is res.run(7, "all", None, 1) and initial is run.initial
    assert initial.equals(rs.init_network(7, 1))
    # The button opens the selected cell too.
    view.open_button.click()
    assert len(opened) == 2 and opened[1][:3] == (7, "all", 1)


def test_results_table_sorts_copies_and_exports(view, qtbot, tmp_path):
    res = run_grid(qtbot, view, seeds=3)
    t = view.table
    model = t.model()
    assert model.rowCount() == 6
    col = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert col == ["width", "mode", "optimizer", "seeds", "final train MSE", "final full train MSE",
                   "final test MSE"]
    rows = rs.results_table(res)
    # Sorted by the test MSE's median (numbers, not text).
    t.sortByColumn(6, Qt.SortOrder.AscendingOrder)
    shown = [(int(model.index(r, 0).data()), model.index(r, 1).data()) for r in range(6)]
    want = sorted(rows, key=lambda r: r["final_test_error"]["median"])
    assert shown == [(r["width"], r["mode"]) for r in want]
    # Best errors: same code as the CLI's --table best.
    view.table_kind.setCurrentIndex(1)
    assert model.headerData(6, Qt.Orientation.Horizontal) == "best test MSE"
    best_row = next(r for r in rows if (r["width"], r["mode"]) == (7, "all"))
    texts = {(model.index(r, 0).data(), model.index(r, 1).data()): model.index(r, 6).data() for r in range(6)}
    b = best_row["best_test_error"]
    assert texts[("7", "all")] == f"{b['median']:.4g} [{b['q25']:.3g}, {b['q75']:.3g}]"
    # Ctrl+C: the selection as tab-separated text, with the header.
    t.clearSelection()
    t.selectRow(0)
    t.setFocus()
    qtbot.keyClick(t, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    text = QApplication.clipboard().text()
    lines = text.splitlines()
    assert lines[0].split("\t") == [c.replace("final", "best") for c in col]
    assert lines[1].split("\t") == [model.index(0, c).data() for c in range(7)]
    # Export: the CLI's results.csv, from the same writer.
    path = tmp_path / "results.csv"
    assert view.export_csv(str(path)) is None
    assert path.read_text() == results_csv(rows)
    with open(path, newline="") as f:
        assert list(csv.DictReader(f).fieldnames) == results_csv_columns()
    assert "Saved" in view.status.text()
    assert view.export_csv(str(tmp_path / "missing" / "x.csv")) is not None  # an error, said


def test_state_is_json_and_a_result_restores(view, qtbot, data):
    res = run_grid(qtbot, view, widths="3 5", modes=("output", "ridge"), seeds=2, steps=2000)
    view.c.select_cell(5, "output")
    view.seed_box.setCurrentIndex(1)
    view.c.set_step_index(2)
    state = view.c.view_state()
    grid = view.c.settings.to_json()
    assert json.loads(json.dumps(state)) == state and json.loads(json.dumps(grid)) == grid
    assert grid["widths"] == [3, 5] and grid["modes"] == ["output", "ridge"]
    assert grid["seeds"] == 2 and grid["steps"] == 2000 and grid["save_every"] == 500
    assert state["selected"] == [5, "output"] and state["shown_seed"] == 1 and state["step"] == 500
    assert res.settings == view.c.settings  # the result records what it ran with

    other = make_view(qtbot, data)
    other.c.restore(res.settings, state, res.runs, res.data)
    assert other.c.view_state() == state and other.c.settings == res.settings
    assert other.c.result.runs == res.runs
    assert other.small.cell(5, "output").run is res.run(5, "output", None, 1)
    xs, ys = other.small.cell(5, "output").prediction.getData()
    np.testing.assert_allclose(ys, res.run(5, "output", None, 1).network_at(500).predict(xs), rtol=0, atol=1e-6 * (1 + np.abs(ys).max()))
    assert other.table.model().rowCount() == 4
    other.c.clear()
    assert other.c.result is None and other.table.model().rowCount() == 0
    other.close()


def test_bad_settings_are_refused_without_running(view):
    view.widths.editor.setText("10 zero")
    err = view.run_grid()
    assert err and "not a whole number" in err and not view.c.running
    view.widths.editor.setText("10")
    for cb in view.mode_boxes.values():
        cb.setChecked(False)
    assert "at least one mode" in view.run_grid()
    assert not view.c.worker_running


def test_before_any_run_the_cells_show_the_current_data(view, data):
    assert view.c.result is None
    assert set(view.small.cells) == {(w, m, None if m == "ridge" else rs.Optimizer())
                                     for w in (10, 20, 40) for m in ALL_MODES}
    cell = view.small.cell(20, "all")
    xs, ys = cell.points.getData()
    np.testing.assert_array_equal(xs, data.x)
    assert cell.run is None and "not run yet" in cell.text.toPlainText()
    (x0, x1), (y0, y1) = cell.vb.viewRange()
    assert x0 <= 0 and x1 >= 1 and y0 <= -2.5 and y1 >= 2.5 and x1 - x0 < 1.2


def test_a_second_grid_replaces_the_first(view, qtbot):
    first = run_grid(qtbot, view, widths="3", seeds=1, steps=1000)
    plots = {k: c.plot for k, c in view.small.cells.items()}
    view.lr_all.set_value(0.05)
    second = run_grid(qtbot, view, widths="3", seeds=2, steps=2000)
    assert second is view.c.result and second is not first
    for (w, m, _o), cell in view.small.cells.items():
        assert cell.plot is plots[(w, m, _o)]  # same layout: the cells are reused
        assert cell.run is second.run(w, m, None, 0)
    assert second.run(3, "all", None, 0).settings.lr == 0.05
    assert "lr 0.05" in view.small.column_titles()[1]
    assert view.c.steps[-1] == 2000 and view.table.model().rowCount() == 3


def test_each_cells_truth_curve_has_no_vertical_drop_at_x_1(view, qtbot):
    """The cells draw the notebook's target as the studio does: through its limits where its
    formula is 0 at a multiple of 0.1 (x = 1 is in the test grid), not with a vertical drop."""
    run_grid(qtbot, view, widths="3", seeds=1, steps=1000)
    for cell in view.small.cells.values():
        tx, ty = cell.truth.getData()
        assert tx.size and np.flatnonzero(np.diff(tx) == 0).size == 0
        assert ty[-1] == pytest.approx(np.sin(12345 * 10), abs=1e-9)


def test_two_optimizers_show_in_the_table_and_a_cell_opens_as_it_ran(view, qtbot, data):
    """Typing two optimizers into the field gives a column per mode and optimizer (ridge once),
    their rows in the table, and a cell of the Adam column that is rs.train with Adam; opening it
    hands over that run and its initial network."""
    view.optimizers.editor.setText("sgd, adam lr=3e-3")
    assert view.optimizers.validate()
    adam = rs.Optimizer("adam", lr=3e-3)
    res = run_grid(qtbot, view, widths="4", modes=ALL_MODES, seeds=2, steps=1000, save_every=250)
    assert res.optimizers == (rs.Optimizer(), adam) and res.complete
    titles = view.small.column_titles()
    assert len(titles) == 5 and "Adam" in titles[1] and "lr 0.003" in titles[1] and "ridge" in titles[4]
    model = view.table.model()
    shown = [(model.index(r, 1).data(), model.index(r, 2).data()) for r in range(model.rowCount())]
    assert shown == [("output", "SGD lr 0.2"), ("output", "Adam lr 0.003"), ("all", "SGD lr 0.02"),
                     ("all", "Adam lr 0.003"), ("ridge", "")]
    run = res.run(4, "all", adam, 1)
    want = rs.train(rs.init_network(4, 1), data, "all", steps=1000, save_every=250, seed=1,
                    optimizer=adam)
    assert identical(run, want)
    # select the Adam column's cell with a click, show seed 1, and open it
    view.seed_box.setCurrentIndex(1)
    qtbot.mouseClick(view.small.viewport(), Qt.MouseButton.LeftButton,
                     pos=_cell_center(view, (4, "all", adam)))
    assert view.c.selected == (4, "all", adam)
    assert "Adam lr 0.003" in view.cell_title.text()
    # the loss pane shows the Adam cell's bands over its seeds, not the SGD cell's
    from relu_studio.core.summary import loss_bands
    np.testing.assert_array_equal(view.loss.bands["test_error"].median,
                                  loss_bands(res.cell(4, "all", adam), "test_error").median)
    opened = []
    view.c.openCell.connect(opened.append)
    view.open_button.click()
    assert len(opened) == 1
    w, m, seed, got, initial, cell_data = opened[0]
    assert (w, m, seed) == (4, "all", 1) and got is run and initial is run.initial
    assert got.settings.optimizer == adam and cell_data is res.data


def test_an_optimizer_cell_opened_in_the_studio_is_the_run_it_was(window, qtbot):
    """The main window: a momentum cell opened from Compare puts that run's initial network,
    final network and every snapshot into the studio, the undo text names the optimizer, and the
    studio's settings become the cell's optimizer and learning rate."""
    v = window.compare
    window.tabs.setCurrentIndex(1)
    v.optimizers.editor.setText("sgd, momentum 0.8")
    assert v.optimizers.validate()
    configure(v, widths="5", modes=("all",), seeds=1, steps=1500, save_every=500)
    with qtbot.waitSignal(v.c.gridFinished, timeout=TIMEOUT):
        assert v.run_grid() is None
    mom = rs.Optimizer("momentum", momentum=0.8)
    run = v.c.result.run(5, "all", mom, 0)
    assert v.c.open_cell(5, "all", mom)
    assert window.tabs.currentIndex() == 0
    c = window.c
    assert c.initial.equals(run.initial) and c.network.equals(run.final)
    assert len(c.history) == 1 + len(run)
    want = rs.train(rs.init_network(5, 0), v.c.result.data, "all", steps=1500, save_every=500,
                    seed=0, optimizer=mom)
    assert c.network.equals(want.final)
    assert "momentum 0.8 lr 0.02" in c.undo_stack.undoText()
    # The panel now trains as the cell did: pressing Train continues with momentum 0.8, lr 0.02.
    st = c.settings
    assert st.optimizer == mom.with_lr(None) and st.mode == "all" and st.lr_all == 0.02
