"""A Compare grid over several optimizers is saved in a session and reopens with every run under
its (width, mode, optimizer, seed) key, bit for bit; a session written before the optimizer axis
(run entries without "optimizer") still opens, its runs the grid's first optimizer's."""
import json
import zipfile

import numpy as np

import relu_studio as rs
from relu_studio.core.experiment import experiment_from_runs, run_experiment
from relu_studio.core.history import History
from relu_studio.core.io.session import Session, load_session, save_session
from relu_studio.core.settings import StudioSettings

ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2")
OPTS = (rs.Optimizer(), rs.Optimizer("adam", lr=2e-3), rs.Optimizer("momentum", nesterov=True))


def _session(grid):
    net = grid.initial[(3, 0)]
    return Session(settings=StudioSettings(), data=grid.data, initial=net,
                   history=History.start(net, grid.data), grid=grid.settings,
                   compare_runs=dict(grid.runs))


def test_a_grid_of_optimizers_round_trips_through_a_session(tmp_path):
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    grid = run_experiment(data, widths=(3,), modes=("all", "ridge"), seeds=2, steps=60,
                          save_every=20, optimizers=OPTS)
    path = save_session(_session(grid), tmp_path / "axis.relustudio")
    back = load_session(path)
    assert back.grid.optimizers == OPTS
    assert set(back.compare_runs) == set(grid.runs)
    for key, run in grid.runs.items():
        got = back.compare_runs[key]
        assert all(np.asarray(getattr(got, a)).tobytes() == np.asarray(getattr(run, a)).tobytes()
                   for a in ARRAYS), key
        assert got.settings.optimizer == run.settings.optimizer
    rebuilt = experiment_from_runs(back.compare_data or back.data, back.compare_runs, settings=back.grid)
    assert rebuilt.columns == grid.columns and rs.results_table(rebuilt) == rs.results_table(grid)
    with zipfile.ZipFile(path) as z:  # each optimizer's runs have their own member
        names = [n for n in z.namelist() if n.startswith("compare/w3_all")]
    assert len(names) == len(OPTS) * 2 == len(set(names))


def test_a_session_from_before_the_optimizer_axis_still_opens(tmp_path):
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    grid = run_experiment(data, widths=(3,), modes=("all", "ridge"), seeds=1, steps=40, save_every=20)
    path = save_session(_session(grid), tmp_path / "new.relustudio")
    old = tmp_path / "old.relustudio"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            raw = src.read(item)
            if item.filename == "compare.json":  # as the app wrote it before the axis
                doc = json.loads(raw)
                for e in doc["runs"]:
                    e.pop("optimizer")
                doc["settings"].pop("optimizers")
                raw = json.dumps(doc).encode()
            dst.writestr(item, raw)
    back = load_session(old)
    assert set(back.compare_runs) == {(3, "all", 0), (3, "ridge", 0)}
    assert back.grid.optimizers == (rs.Optimizer(),)
    rebuilt = experiment_from_runs(data, back.compare_runs, settings=back.grid)
    assert set(rebuilt.runs) == set(grid.runs) and not rebuilt.cancelled
