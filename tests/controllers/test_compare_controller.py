"""The Compare controller with a mock view: the grid's settings field by field, a grid that
records what it ran with, a result replaced (never changed in place) as runs arrive."""
from __future__ import annotations

import pytest

import relu_studio as rs
from relu_studio.core.settings import GridSettings
from relu_studio.ui.compare_controller import CompareController

SIGNALS = ("settingsChanged", "gridChanged", "runsArrived", "selectionChanged", "stepChanged",
           "progressChanged", "runningChanged", "message", "gridFinished", "openCell")


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", 200, 0.1, 1)


@pytest.fixture
def c(qapp, data):
    ctl = CompareController(lambda: data)
    yield ctl
    assert ctl.shutdown() and not ctl.worker_running


def test_settings_change_field_by_field_and_bad_values_change_nothing(c, recorder):
    view = recorder(c, SIGNALS)
    assert c.set_field("widths", (3, 5)) is None
    assert view.events == [("settingsChanged", {"widths"})]
    view.clear()
    assert "at most 12 widths" in c.set_field("widths", tuple(range(1, 14)))
    assert "whole number" in c.set_field("steps", 0)
    assert view.events == [] and c.settings.widths == (3, 5)


def test_a_grid_records_its_settings_and_data_and_the_result_is_replaced(c, qtbot, recorder, data):
    c.set_settings(GridSettings(widths=(3,), modes=("all", "ridge"), seeds=2, steps=2000, save_every=500))
    view = recorder(c, SIGNALS)
    partial = []
    c.runsArrived.connect(lambda _cells: c.result is not None and partial.append(c.result))
    with qtbot.waitSignal(c.gridFinished, timeout=60_000) as done:
        assert c.run_grid() is None
    res = done.args[0]
    assert res is c.result and res.settings == c.settings and res.data is data
    assert len(res.runs) == 4 and not res.cancelled
    assert view.count("gridChanged") == 1 and view.events[-1][0] == "gridFinished"
    sizes = [len(r.runs) for r in partial]
    assert sizes == sorted(sizes) and sizes[-1] == 4
    assert all(len(r.runs) == n for r, n in zip(partial, sizes))  # each one kept what it had
    assert c.steps == [0, 1, 500, 1000, 1500, 2000] and c.step_index == len(c.steps) - 1
    assert not c.worker_running  # no thread idles between grids


def test_selection_seed_and_timeline_and_opening_a_cell(c, qtbot, data, recorder):
    c.set_settings(GridSettings(widths=(4,), modes=("output",), seeds=2, steps=1000, save_every=500))
    with qtbot.waitSignal(c.gridFinished, timeout=60_000):
        c.run_grid()
    view = recorder(c, SIGNALS)
    c.set_shown_seed(1)
    c.select_cell(4, "output")
    c.set_step_index(1)
    assert c.view_state() == {"shown_seed": 1, "selected": [4, "output"], "step": 1, "table": "final"}
    assert view.names() == ["runsArrived", "selectionChanged", "selectionChanged", "stepChanged"]
    opened = []
    c.openCell.connect(opened.append)
    assert c.open_cell(4, "output")
    w, m, seed, run, initial, cell_data = opened[0]
    assert (w, m, seed) == (4, "output", 1) and run is c.result.run(4, "output", None, 1)
    assert initial.equals(rs.init_network(4, 1)) and cell_data is data
    # A session restores the same grid, its data and what was shown.
    other = CompareController(lambda: None)
    try:
        other.restore(c.settings, c.view_state(), dict(c.result.runs), data)
        assert other.view_state() == c.view_state() and other.result.runs == c.result.runs
        assert other.result.data is data and other.settings == c.settings
    finally:
        assert other.shutdown()


def test_an_opened_cell_of_a_batched_grid_is_the_run_the_studio_trains(c, qtbot, data):
    """Enough seeds that the grid trains them as the lanes of one kernel: the cell opened in the
    studio is, bit for bit, the run the studio's own trainer makes from its network and seed."""
    from relu_studio.core.experiment import BATCH_MIN_SEEDS

    seeds = BATCH_MIN_SEEDS + 1
    c.set_settings(GridSettings(widths=(6,), modes=("output", "all"), seeds=seeds, steps=1500,
                                save_every=500))
    with qtbot.waitSignal(c.gridFinished, timeout=60_000):
        c.run_grid()
    c.set_shown_seed(seeds - 1)
    opened = []
    c.openCell.connect(opened.append)
    for mode in ("output", "all"):
        assert c.open_cell(6, mode)
        w, m, seed, run, initial, cell_data = opened[-1]
        assert (w, m, seed) == (6, mode, seeds - 1)
        again = rs.Trainer(initial, cell_data, mode=m, lr=run.settings.lr, steps=1500,
                           save_every=500, seed=seed)
        while not again.done:
            again.advance(400)  # the studio's chunked, pausable path
        ref = again.result()
        for name in ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2"):
            assert getattr(run, name).tobytes() == getattr(ref, name).tobytes(), (mode, name)

