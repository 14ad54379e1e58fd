"""The widths x modes x seeds grid: same runs as rs.train, honest summaries, cancellable."""
import threading

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core.batch_training import LANES
from relu_studio.core.experiment import ALL_MODES, BATCH_MIN_SEEDS, PROGRESS_CHUNK, ridge_run
from relu_studio.core.report import format_table

RUN_ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2")


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", 200, 0.1, 1)


@pytest.fixture(scope="module")
def grid(data):
    return rs.run_experiment(data, widths=(3, 10), modes=ALL_MODES, seeds=4, steps=300,
                             save_every=100, jobs=2)


def identical(a, b):
    return all(getattr(a, k).tobytes() == getattr(b, k).tobytes() for k in RUN_ARRAYS)


def test_grid_reproduces_train(data, grid):
    assert not grid.cancelled
    assert set(grid.runs) == {rs.grid_key(w, m, rs.Optimizer(), s)
                              for w in (3, 10) for m in ALL_MODES for s in range(4)}
    for (w, m, _o, s), run in grid.runs.items():
        init = grid.initial[(w, s)]
        assert init.equals(rs.init_network(w, s))
        assert run.initial is init  # every mode of a (width, seed) starts from the same network
        if m == "ridge":
            continue
        ref = rs.train(rs.init_network(w, s), data, mode=m, steps=300, save_every=100, seed=s)
        assert identical(run, ref), (w, m, s)
        assert run.settings.lr == rs.DEFAULT_LR[m]


@pytest.mark.parametrize("seeds", [BATCH_MIN_SEEDS, LANES + 1])
def test_a_batched_grid_reproduces_train(data, seeds):
    """From BATCH_MIN_SEEDS seeds on the runs train as the lanes of blocks (the last seeds alone
    when too few are left for a block): every run is still the one rs.train gives, bit for bit."""
    res = rs.run_experiment(data, widths=(3, 10), modes=("output", "all"), seeds=seeds, steps=300,
                            save_every=100, jobs=2)
    assert res.complete and not res.cancelled
    for (w, m, _o, s), run in res.runs.items():
        if s in (0, BATCH_MIN_SEEDS - 1, seeds - 1):
            ref = rs.train(rs.init_network(w, s), data, mode=m, steps=300, save_every=100, seed=s)
            assert identical(run, ref), (w, m, s)
            assert run.initial is res.initial[(w, s)] and run.settings == ref.settings


def test_ridge_cells_are_the_ridge_fit(data, grid):
    for s in range(4):
        run = grid.run(10, "ridge", None, s)
        fitted = rs.fit_ridge(grid.initial[(10, s)], data, rs.DEFAULT_LAMBDA)
        assert run.steps.tolist() == [0] and run.final.equals(fitted)
        test = np.mean((fitted.predict(data.x_test) - data.y_test) ** 2)
        assert run.test_error[0] == pytest.approx(test, rel=1e-12)
        assert run.train_error[0] == run.full_train_error[0]
    r = ridge_run(grid.initial[(3, 0)], data, lam=1e-2, seed=0)
    assert r.extra["lam"] == 1e-2 and r.settings.mode == "ridge"


def test_results_table_percentiles(grid):
    rows = rs.results_table(grid)
    assert [(r["width"], r["mode"]) for r in rows] == [(w, m) for w in (3, 10) for m in ALL_MODES]
    for row in rows:
        runs = grid.cell(row["width"], row["mode"])
        assert row["seeds"] == len(runs) == 4 and row["diverged"] == 0
        for attr in ("train_error", "full_train_error", "test_error"):
            final = np.array([getattr(r, attr)[-1] for r in runs])
            best = np.array([np.min(getattr(r, attr)) for r in runs])
            for kind, vals in (("final", final), ("best", best)):
                q25, med, q75 = np.percentile(vals, [25, 50, 75])
                cell = row[f"{kind}_{attr}"]
                assert (cell["q25"], cell["median"], cell["q75"]) == (q25, med, q75)
                assert cell["q25"] <= cell["median"] <= cell["q75"]


def test_format_table_lists_every_width_and_mode(grid):
    rows = rs.results_table(grid)
    for kind in ("final", "best"):
        text = format_table(rows, kind)
        lines = text.splitlines()
        assert len(lines) == 2 + len(rows)
        assert f"{kind} test MSE" in lines[0]
        for row, line in zip(rows, lines[2:]):
            cells = line.split()
            assert cells[0] == str(row["width"]) and cells[1] == row["mode"]
            assert f"{row[f'{kind}_test_error']['median']:.4g}" in line
            assert "[" in line  # several seeds: quartiles are shown
    assert format_table([]).count("\n") == 1  # header and rule only


def test_single_seed_table_has_no_quartiles(data):
    res = rs.run_experiment(data, widths=(4,), modes=("output",), seeds=[5], steps=50, save_every=10)
    rows = rs.results_table(res)
    assert len(rows) == 1 and rows[0]["seeds"] == 1
    text = format_table(rows)
    assert "[" not in text and "output" in text and " 4 " in f" {text} "
    ref = rs.train(rs.init_network(4, 5), data, mode="output", steps=50, save_every=10, seed=5)
    assert identical(res.run(4, "output", None, 5), ref)


def test_explicit_seed_list_and_learning_rates(data):
    res = rs.run_experiment(data, widths=(5,), modes=("all",), seeds=[2, 7], steps=120,
                            save_every=40, lr_all=0.05, batch_size=10, jobs=1)
    assert res.seeds == (2, 7)
    for s in (2, 7):
        ref = rs.train(rs.init_network(5, s), data, mode="all", lr=0.05, steps=120, save_every=40,
                       batch_size=10, seed=s)
        assert identical(res.run(5, "all", None, s), ref)


def test_diverged_runs_are_counted(data):
    res = rs.run_experiment(data, widths=(20,), modes=("all",), seeds=2, steps=200, lr_all=50)
    rows = rs.results_table(res)
    assert rows[0]["diverged"] == 2
    assert "2 diverged" in format_table(rows)


def test_progress_and_on_run(data):
    seen, finished = [], []
    lock = threading.Lock()

    def progress(done, total):
        with lock:
            seen.append((done, total))

    res = rs.run_experiment(data, widths=(3, 6), modes=("output", "all", "ridge"), seeds=2,
                            steps=PROGRESS_CHUNK + 10, save_every=5000, progress=progress,
                            on_run=lambda key, run: finished.append(key), jobs=2)
    total = 2 * 2 * 2 * (PROGRESS_CHUNK + 10)
    assert all(t == total for _d, t in seen)
    assert max(d for d, _t in seen) == total
    assert sorted(finished) == sorted(res.runs)


def test_cancel_stops_and_keeps_finished_runs(data):
    """One seed: the runs train one per thread; cancelling keeps the run that was finishing."""
    cancel = threading.Event()
    steps = 2 * PROGRESS_CHUNK
    finished = []

    def progress(done, total):
        if done >= steps:  # the first run has just finished its last chunk
            cancel.set()

    res = rs.run_experiment(data, widths=(5,), modes=("output", "all", "ridge"), seeds=1,
                            steps=steps, save_every=5000, jobs=1, cancel=cancel,
                            progress=progress, on_run=lambda k, r: finished.append(k))
    assert res.cancelled
    sgd = [k for k in res.runs if k[1] != "ridge"]
    # one worker: the run that was finishing completes; the others stop before starting
    assert len(sgd) == 1
    (key,) = sgd
    w, m, _o, s = key
    ref = rs.train(rs.init_network(w, s), data, mode=m, steps=steps, save_every=5000, seed=s)
    assert identical(res.runs[key], ref) and res.runs[key].completed_steps == steps
    # the ridge cells are computed before any SGD and are kept too
    assert {k for k in res.runs if k[1] == "ridge"} == {(5, "ridge", None, 0)}
    assert sorted(finished) == sorted(res.runs)
    # a table can still be made from what finished
    assert {r["mode"] for r in rs.results_table(res)} == {m, "ridge"}


def test_cancel_of_a_batched_grid_keeps_the_finished_block(data):
    """Many seeds: the runs train in blocks of LANES; cancelling after the first block keeps its
    runs (each equal to its run alone) and starts no other."""
    cancel = threading.Event()
    steps = 3000
    seeds = LANES + 3
    finished = []

    def progress(done, total):
        if done >= LANES * steps:  # the first block has just finished its last chunk
            cancel.set()

    res = rs.run_experiment(data, widths=(5,), modes=("all", "ridge"), seeds=seeds, steps=steps,
                            save_every=1000, jobs=1, cancel=cancel, progress=progress,
                            on_run=lambda k, r: finished.append(k))
    assert res.cancelled
    sgd = sorted(k for k in res.runs if k[1] != "ridge")
    assert sgd == [(5, "all", rs.Optimizer(), s) for s in range(LANES)]
    for s in (0, LANES - 1):
        ref = rs.train(rs.init_network(5, s), data, mode="all", steps=steps, save_every=1000, seed=s)
        assert identical(res.run(5, "all", None, s), ref)
    assert sorted(finished) == sorted(res.runs)
    assert len([k for k in res.runs if k[1] == "ridge"]) == seeds


def test_cancel_before_start(data):
    cancel = threading.Event()
    cancel.set()
    res = rs.run_experiment(data, widths=(5,), modes=("all",), seeds=3, steps=100, cancel=cancel)
    assert res.cancelled and res.runs == {} and rs.results_table(res) == []


@pytest.mark.parametrize("kwargs, match", [
    (dict(modes=("foo",)), "must be one of output, all, ridge"),
    (dict(modes=()), "at least one"),
    (dict(widths=()), "at least one"),
    (dict(seeds=0), "the number of seeds must be a whole number between 1 and 1000"),
    (dict(seeds=[]), "at least one seed"),
    (dict(widths=tuple(range(1, 14))), "at most 12 widths"),
    (dict(steps=0), "steps"),
    (dict(lr_all=-1.0), "learning rate"),
])
def test_bad_grids_fail_before_any_work(data, kwargs, match):
    args = dict(widths=(3,), modes=("output", "all"), seeds=1, steps=10)
    args.update(kwargs)
    with pytest.raises(rs.TrainingError, match=match):
        rs.run_experiment(data, **args)


def test_a_given_initial_network_starts_every_seed_and_mode():
    data = rs.make_dataset()
    net = rs.init_network(6, 42).with_elbow(0, 0.5)
    res = rs.run_experiment(data, widths=(99,), modes=("output", "all", "ridge"), seeds=2,
                            steps=300, save_every=100, initial=net)
    assert res.widths == (6,)
    for s in (0, 1):
        assert res.initial[(6, s)] is net
        for m in ("output", "all"):
            want = rs.train(net, data, m, rs.DEFAULT_LR[m], 300, save_every=100, seed=s)
            got = res.run(6, m, None, s)
            assert np.array_equal(got.w1, want.w1) and np.array_equal(got.test_error, want.test_error)
        assert res.run(6, "ridge", None, s).final.equals(rs.fit_ridge(net, data))


def test_cancel_checks_come_more_often_for_wide_networks():
    from relu_studio.core.experiment import progress_chunk

    assert progress_chunk(10) == PROGRESS_CHUNK == progress_chunk(64)
    assert progress_chunk(1000) * 1000 <= PROGRESS_CHUNK * 64  # about the same work per chunk
    assert progress_chunk(100_000) == 500
