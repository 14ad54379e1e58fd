"""The Compare view's pure core: bands across seeds, elbow trajectories, the timeline's steps and
the results table as CSV (shared with the CLI)."""
import csv
import io

import numpy as np
import pytest

import relu_studio as rs
from relu_studio import cli
from relu_studio.core.experiment import ALL_MODES, run_experiment
from relu_studio.core.report import (format_table, results_csv, results_csv_columns, table_cells,
                                     table_headers, write_results_csv)
from relu_studio.core.summary import (METRICS, Band, cell_bands, elbow_trajectories, grid_steps,
                                      loss_bands)

ATTRS = [a for a, _ in METRICS]


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", 200, 0.1, 1)


@pytest.fixture(scope="module")
def grid(data):
    return run_experiment(data, widths=(4, 9), modes=ALL_MODES, seeds=5, steps=2000,
                          save_every=250, jobs=2)


# --------------------------------------------------------------------------- bands
@pytest.mark.parametrize("attr", ATTRS)
def test_bands_are_numpy_percentiles_across_seeds(grid, attr):
    for w in grid.widths:
        for m in ("output", "all"):
            runs = grid.cell(w, m)
            b = loss_bands(runs, attr)
            stack = np.stack([getattr(r, attr) for r in runs])
            assert isinstance(b, Band) and not b.constant
            np.testing.assert_array_equal(b.steps, runs[0].steps)
            # True quartiles (25th/75th percentile, linear interpolation), bit for bit.
            np.testing.assert_array_equal(b.q25, np.percentile(stack, 25, axis=0))
            np.testing.assert_array_equal(b.median, np.percentile(stack, 50, axis=0))
            np.testing.assert_array_equal(b.q75, np.percentile(stack, 75, axis=0))
            np.testing.assert_array_equal(b.median, np.median(stack, axis=0))
            assert np.all(b.q25 <= b.median) and np.all(b.median <= b.q75)
            assert b.seeds == 5 and np.all(b.count == 5)
            assert not b.median.flags.writeable


def test_cell_bands_has_every_metric(grid):
    bands = cell_bands(grid, 9, "all")
    assert set(bands) == set(ATTRS)
    for attr, b in bands.items():
        np.testing.assert_array_equal(b.median, loss_bands(grid.cell(9, "all"), attr).median)
    assert cell_bands(grid, 123, "all") == {}  # no such cell: nothing to draw


def test_ridge_band_is_one_constant_value(grid):
    b = loss_bands(grid.cell(9, "ridge"), "test_error")
    assert b.constant and b.steps.tolist() == [0]
    finals = [r.test_error[0] for r in grid.cell(9, "ridge")]
    assert (b.q25[0], b.median[0], b.q75[0]) == tuple(np.percentile(finals, [25, 50, 75]))


def test_bands_of_a_diverged_seed_summarise_the_runs_still_going(data):
    net = rs.init_network(6, 0)
    ok = [rs.train(rs.init_network(6, s), data, "all", 0.02, 600, save_every=100, seed=s) for s in (0, 1)]
    bad = rs.train(net, data, "all", 80.0, 600, save_every=100, seed=2)
    assert bad.diverged and len(bad) < len(ok[0])
    # Its snapshots: the regular ones before the divergence, then the diverging step itself.
    n = len(bad) - 1
    assert bad.steps[:n].tolist() == ok[0].steps[:n].tolist()
    assert bad.steps[-1] not in ok[0].steps
    b = loss_bands([*ok, bad], "test_error")
    np.testing.assert_array_equal(b.steps, ok[0].steps)
    assert b.count.tolist() == [3] * n + [2] * (len(ok[0]) - n)
    stack = np.stack([r.test_error for r in ok])
    np.testing.assert_array_equal(b.median[n:], np.percentile(stack[:, n:], 50, axis=0))
    full = np.stack([r.test_error[:n] for r in (*ok, bad)])
    np.testing.assert_array_equal(b.q75[:n], np.percentile(full, 75, axis=0))


def test_bands_refuse_what_cannot_be_summarised(grid, data):
    with pytest.raises(ValueError, match="metric"):
        loss_bands(grid.cell(4, "all"), "loss")
    with pytest.raises(ValueError, match="no runs"):
        loss_bands([], "test_error")
    other = rs.train(rs.init_network(4, 0), data, "all", steps=2000, save_every=500, seed=0)
    with pytest.raises(ValueError, match="snapshot steps"):
        loss_bands([*grid.cell(4, "all"), other], "test_error")


# --------------------------------------------------------------------------- elbows
def test_elbow_trajectories_are_minus_b_over_w_per_snapshot(grid):
    run = grid.run(9, "all", None, 3)
    steps, e = elbow_trajectories(run)
    assert steps.tolist() == run.steps.tolist() and e.shape == (len(run), 9)
    for i in range(len(run)):
        np.testing.assert_array_equal(e[i], run.snapshot(i).elbows)
        np.testing.assert_array_equal(e[i], -run.b1[i].astype(np.float64) / run.w1[i].astype(np.float64))
    steps0, e0 = elbow_trajectories(run, with_initial=True)
    assert steps0.tolist() == [0, *run.steps.tolist()] and e0.shape == (len(run) + 1, 9)
    np.testing.assert_array_equal(e0[0], run.initial.elbows)
    np.testing.assert_array_equal(e0[1:], e)


def test_output_layer_training_leaves_the_elbows_standing(grid):
    _s, e = elbow_trajectories(grid.run(9, "output", None, 0), with_initial=True)
    assert np.all(e == e[0])
    _s, e = elbow_trajectories(grid.run(9, "all", None, 0), with_initial=True)
    assert not np.all(e == e[0])


def test_zero_slope_units_have_infinite_elbows():
    run = rs.train(rs.Network([0.0, 1.0], [0.5, -0.5], [1.0, 1.0], 0.0),
                   rs.make_dataset("abs", n=20, noise=0.0), "output", steps=3, save_every=1)
    _s, e = elbow_trajectories(run)
    assert np.all(np.isinf(e[:, 0])) and np.all(e[:, 1] == 0.5)


def test_grid_steps_is_the_shared_timeline(grid):
    steps = grid_steps(grid)
    assert steps.tolist() == [0, 1, 250, 500, 750, 1000, 1250, 1500, 1750, 2000]
    assert grid_steps(grid, expected=[1, 3000]).tolist()[-1] == 3000
    empty = rs.ExperimentResult(grid.data, (3,), ("all",), (0,))
    assert grid_steps(empty).tolist() == [0]


# --------------------------------------------------------------------------- the table
def test_results_csv_columns_and_values(grid, tmp_path):
    rows = rs.results_table(grid)
    text = results_csv(rows)
    table = list(csv.DictReader(io.StringIO(text)))
    assert list(table[0]) == results_csv_columns() == [
        "width", "mode", "optimizer", "activation", "loss", "seeds",
        *[f"{m}_{k}_{s}" for m in ("train", "full_train", "test")
          for k in ("final", "best") for s in ("median", "q25", "q75")],
        "diverged"]
    assert [(r["width"], r["mode"]) for r in table] == [(str(w), m) for w in (4, 9) for m in ALL_MODES]
    # the notebook's SGD at each mode's learning rate; ridge has no optimizer
    assert [r["optimizer"] for r in table[:3]] == ["SGD lr 0.2", "SGD lr 0.02", ""]
    for row, r in zip(table, rows):
        for attr, name in (("train_error", "train"), ("full_train_error", "full_train"),
                           ("test_error", "test")):
            for kind in ("final", "best"):
                for stat in ("median", "q25", "q75"):
                    assert float(row[f"{name}_{kind}_{stat}"]) == r[f"{kind}_{attr}"][stat]
    path = write_results_csv(grid, tmp_path / "r.csv")
    assert path.read_text() == text
    write_results_csv(rows, tmp_path / "rows.csv")
    assert (tmp_path / "rows.csv").read_text() == text


def test_the_cli_writes_results_csv_with_the_core_writer():
    assert cli.results_csv is results_csv  # one writer: the CLI's results.csv and the GUI's export


def test_table_cells_are_the_printed_table(grid):
    rows = rs.results_table(grid)
    for kind in ("final", "best"):
        lines = format_table(rows, kind).splitlines()
        assert lines[0].split() == " ".join(table_headers(kind)).split()
        for row, line in zip(rows, lines[2:]):
            assert line.split() == " ".join(table_cells(row, kind)).split()


def test_a_result_rebuilt_from_its_runs(grid):
    from relu_studio.core.experiment import experiment_from_runs

    shuffled = dict(reversed(list(grid.runs.items())))
    res = experiment_from_runs(grid.data, shuffled)
    assert (res.widths, res.modes, res.seeds) == (grid.widths, grid.modes, grid.seeds)
    assert res.runs == grid.runs and not res.cancelled
    assert all(res.initial[k].equals(grid.initial[k]) for k in grid.initial)
    assert rs.results_table(res) == rs.results_table(grid)
    part = {k: v for k, v in grid.runs.items() if k[0] == 4}
    res = experiment_from_runs(grid.data, part, widths=(4, 9), modes=ALL_MODES, seeds=range(5))
    assert res.cancelled and res.widths == (4, 9) and len(res.runs) == 15
