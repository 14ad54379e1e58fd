"""The Sweep tab: open a sweep's results, plot median and band against the swept axis, click a
point to open that run in the studio; run the double-descent preset in the worker."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from relu_studio.core.sweep_run import LocalExecutor, read_results, run_sweep
from relu_studio.core.sweep_spec import SweepSpec


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    spec = SweepSpec.from_values({"width": [2, 4, 8, 16, 32], "mode": ["output", "ridge"],
                                  "steps": 300, "n": 20, "seeds": 3}, {"save_every": 100})
    run_sweep(spec, folder, LocalExecutor(2))
    return folder


def test_open_plot_and_click_opens_the_run(window, qtbot, sweep_folder):
    window.tabs.setCurrentIndex(2)
    view, c = window.sweep, window.sweep_controller
    assert c.open_file(sweep_folder / "results.csv") is None
    assert [view.x_combo.itemText(i) for i in range(view.x_combo.count())] == ["width"]
    assert [line.label for line in c.lines] == ["mode output", "mode ridge"]
    rows = read_results(sweep_folder / "results.csv")
    ridge8 = [float(r["final_test_mse"]) for r in rows if r["mode"] == "ridge" and r["width"] == "8"]
    line = c.lines[1]
    i = list(line.x).index(8.0)
    assert line.median[i] == np.median(ridge8)  # the plotted value is the rows' median
    assert view.log_x.isChecked() is False  # widths 2..32 span 16x: linear
    assert len(view.points) == 2
    assert view.n_mark is not None and view.n_mark.value() == 20  # width = n marked (n = 20)

    # A real click on the ridge line's width-8 point opens that run in the studio.
    opened = []
    c.openRun.connect(opened.append)
    dots = view.points[1]
    vb = view.plot.getPlotItem().vb
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 32, timeout=2000)  # auto range applied
    qtbot.wait(50)
    x = np.log10(8.0) if view.log_x.isChecked() else 8.0
    y = np.log10(line.median[i]) if view.log_y.isChecked() else line.median[i]
    scene = vb.mapViewToScene(QPointF(x, y))
    pos = view.plot.mapFromScene(scene)
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=3000)
    width, mode, seed, run, initial, data = opened[0]
    assert (width, mode) == (8, "ridge") and data.n == 20
    row = next(r for r in rows if r["mode"] == "ridge" and r["width"] == "8" and r["seed"] == str(seed))
    assert float(run.test_error[-1]) == float(row["final_test_mse"])  # trained on demand: same run
    assert window.tabs.currentIndex() == 0 and window.c.history is not None
    assert dots is view.points[1]


def test_the_error_and_axis_choices_replot(window, sweep_folder):
    c = window.sweep_controller
    c.open_file(sweep_folder / "results.csv")
    view = window.sweep
    view.metric_combo.setCurrentIndex(view.metric_combo.findData("final_full_train_mse"))
    assert c.metric == "final_full_train_mse"
    assert "full-train" in view.plot.getPlotItem().getAxis("left").labelText
    # on log axes only 1, 2 and 5 times each decade are labelled: over 1..400, 9 labels that fit
    view.log_x.setChecked(True)
    axis = view.plot.getPlotItem().getAxis("bottom")
    ticks = np.log10(np.arange(1, 401))
    labels = [t for t in axis.logTickStrings(ticks, 1.0, None) if t]
    assert labels == ["1", "2", "5", "10", "20", "50", "100", "200"]
    assert view.n_mark.value() == pytest.approx(np.log10(20))  # in view coordinates
    view.metric_combo.setCurrentIndex(view.metric_combo.findData("final_test_mse"))


def test_a_file_that_is_not_a_sweep_is_refused_and_nothing_changes(window, tmp_path, sweep_folder):
    c = window.sweep_controller
    c.open_file(sweep_folder / "results.csv")
    before = c.lines
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    assert "not a sweep's results" in c.open_file(bad)
    assert c.lines is before and "not a sweep's results" in window.sweep.status.text()


def test_double_descent_preset_runs_in_the_worker(window, qtbot, tmp_path):
    c = window.sweep_controller
    window.tabs.setCurrentIndex(2)
    assert c.run_preset("Double descent", tmp_path) is None
    qtbot.waitUntil(lambda: not c.running and bool(c.rows), timeout=120_000)
    assert len(c.rows) == len(read_results(tmp_path / "results.csv")) > 1000
    assert c.x_axis == "width" and window.sweep.log_x.isChecked()  # 1..400: a log axis
    (line,) = c.lines
    assert line.x[0] == 1 and line.x[-1] == 400
