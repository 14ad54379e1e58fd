"""Sweeps: the description (TOML, ranges, checks), rows checked against independent references,
resume after an interruption, the double-descent preset."""
from __future__ import annotations

import csv
import threading

import numpy as np
import pytest

from relu_studio.core.sweep_run import (COLUMNS, TIMING_COLUMNS, LocalExecutor, read_results,
                                        run_batch, run_sweep)
from relu_studio.core.sweep_spec import (DOUBLE_DESCENT, SweepError, SweepSpec, expand,
                                         parse_range, spec_from_toml)


def deterministic(path):
    """The rows of a results file without the measured columns."""
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in read_results(path)]


TINY = {"width": [2, 5], "mode": ["output", "all", "ridge"], "steps": 300, "n": 20, "seeds": 3}


# --------------------------------------------------------------------------- the description
def test_ranges():
    assert parse_range("3:6", "width", "w") == [3, 4, 5, 6]
    assert parse_range("0:1:5", "noise", "s") == [0.0, 0.25, 0.5, 0.75, 1.0]
    w = parse_range("1:1000:log40", "width", "w")
    assert w[0] == 1 and w[-1] == 1000 and w == sorted(set(w)) and 30 < len(w) <= 40
    ratios = np.diff(np.log(parse_range("1e-6:1e-2:log5", "lam", "l")))
    assert np.allclose(ratios, np.log(10))


@pytest.mark.parametrize("values, message", [
    ({"width": "0:10"}, "--widths: every value must be a whole number between 1 and 100000, got 0"),
    ({"width": "1:1000:logx"}, "is not a value or a range START:STOP[:[log]COUNT]"),
    ({"lam": "0:1e-3:log5"}, "a log range needs START and STOP > 0"),
    ({"noise": "0:1"}, "give a count for a range of noise"),
    ({"mode": ["ridge", "sgd"]}, "every mode must be one of output, all, ridge, got 'sgd'"),
    ({"lr": [0.1, -1]}, "every value must be a finite number > 0, got -1"),
    ({"width": "1:100000", "seed": "0:999"}, "at most 1,000,000"),
    ({"depth": 3}, "unknown setting"),
])
def test_bad_values_are_refused_with_the_reason(values, message):
    labels = {"width": "--widths"}
    with pytest.raises(SweepError) as err:
        SweepSpec.from_values(values, labels=labels)
    assert message in str(err.value)


def test_toml_file_and_its_errors_name_the_key():
    spec = spec_from_toml(DOUBLE_DESCENT, "dd.toml")
    runs = expand(spec)
    assert {r.mode for r in runs} == {"ridge"} and {r.n for r in runs} == {40}
    assert {r.lam for r in runs} == {1e-9} and {r.seed for r in runs} == set(range(30))
    assert min(r.width for r in runs) == 1 and max(r.width for r in runs) == 400
    assert spec.swept == ("width", "seed")
    with pytest.raises(SweepError, match=r"sweep\.width in my\.toml: every value must be a whole"):
        spec_from_toml('[sweep]\nwidth = [10, 2.5]\n', "my.toml")
    with pytest.raises(SweepError, match="my.toml: not valid TOML"):
        spec_from_toml('[sweep\nwidth = 1', "my.toml")
    with pytest.raises(SweepError, match="unknown table 'swep'"):
        spec_from_toml('[swep]\nwidth = 1', "my.toml")


def test_a_list_of_grids_and_settings_a_mode_does_not_use():
    spec = spec_from_toml('[sweep]\nwidth = 4\nseeds = 2\nmode = "ridge"\nlr = [0.1, 0.2]\n'
                          '[[runs]]\nmode = "ridge"\n[[runs]]\nmode = "all"\nlam = [1, 2]\n', "t")
    runs = expand(spec)
    # ridge has no lr: the two lrs give the same ridge runs; SGD has no λ: the two λ are one run
    assert sorted((r.mode, r.lr, r.lam) for r in runs if r.seed == 0) == [
        ("all", 0.1, None), ("all", 0.2, None), ("ridge", None, 1e-5)]


# --------------------------------------------------------------------------- the rows
def test_rows_equal_independent_references(tmp_path):
    """A ridge row's errors equal numpy's lstsq on the augmented system [F; √λ I] (an independent
    solver of the same ridge problem); an SGD row's equal train()'s history."""
    import relu_studio as rs

    spec = SweepSpec.from_values({"width": [3, 7], "mode": ["all", "ridge"], "steps": 400, "n": 25,
                                  "lam": 1e-3, "seeds": 2}, {"save_every": 100})
    run_sweep(spec, tmp_path, LocalExecutor(2))
    rows = read_results(tmp_path / "results.csv")
    assert len(rows) == 8 and list(rows[0]) == list(COLUMNS)
    data = rs.make_dataset("piecewise_linear", n=25, noise=0.1, seed=1)
    for row in rows:
        net = rs.init_network(int(row["width"]), int(row["seed"]))
        if row["mode"] == "ridge":
            h = np.maximum(np.outer(data.x, net.w1).astype(np.float32) + net.b1, 0).astype(np.float64)
            f = np.hstack([h, np.ones((data.n, 1))])
            aug = np.vstack([f, np.sqrt(1e-3) * np.eye(f.shape[1])])
            rhs = np.concatenate([data.y, np.zeros(f.shape[1])])
            c = np.linalg.lstsq(aug, rhs, rcond=None)[0].astype(np.float32)
            pred = (np.maximum(np.outer(data.x_test, net.w1).astype(np.float32) + net.b1, 0)
                    @ c[:-1] + c[-1])
            assert float(row["final_test_mse"]) == pytest.approx(
                np.mean((pred - data.y_test) ** 2), rel=1e-5)
        else:
            run = rs.train(net, data, mode="all", lr=0.02, steps=400, save_every=100,
                           seed=int(row["seed"]))
            assert float(row["final_test_mse"]) == float(run.test_error[-1])
            assert float(row["best_full_train_mse"]) == float(np.min(run.full_train_error))
            assert int(row["steps"]) == 400 and row["lam"] == ""


def test_an_interrupted_sweep_resumes_without_repeating_finished_runs(tmp_path):
    spec = SweepSpec.from_values(TINY)
    full = tmp_path / "full"
    run_sweep(spec, full, LocalExecutor(1))
    part = tmp_path / "part"
    cancel = threading.Event()
    seen = []

    def stop_after_some(rows):
        seen.extend(rows)
        if len(seen) >= 5:
            cancel.set()

    first = run_sweep(spec, part, LocalExecutor(1), cancel=cancel, on_rows=stop_after_some)
    assert first.cancelled and 5 <= first.ran < first.planned
    kept = deterministic(part / "results.csv")
    assert len(kept) == first.ran  # every finished row was written
    second_rows = []
    second = run_sweep(spec, part, LocalExecutor(2), on_rows=second_rows.extend)
    assert second.skipped == first.ran and second.ran == second.planned - first.ran
    again = {r["run_id"] for r in second_rows} & {r["run_id"] for r in kept}
    assert not again  # nothing trained twice
    assert deterministic(part / "results.csv") == deterministic(full / "results.csv")


def test_histories_are_kept_and_reload_bit_for_bit(tmp_path):
    from relu_studio.core.io.run_files import load_run_npz
    from relu_studio.core.sweep_run import train_run
    from relu_studio.core.sweep_spec import RunSpec

    spec = SweepSpec.from_values({"width": 4, "mode": "output", "steps": 300, "n": 20}, {"save_every": 100})
    run_sweep(spec, tmp_path, LocalExecutor(1), histories=True)
    (row,) = read_results(tmp_path / "results.csv")
    saved = load_run_npz(tmp_path / "histories" / f"{row['run_id']}.npz")
    _data, _net, again = train_run(RunSpec.from_row(row))  # "open this run" without a history
    assert np.array_equal(saved.test_error, again.test_error) and np.array_equal(saved.w1, again.w1)
    assert float(row["final_test_mse"]) == float(saved.test_error[-1])


def test_a_results_file_that_is_not_a_sweep_is_refused(tmp_path):
    bad = tmp_path / "results.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(SweepError, match="not a sweep's results"):
        read_results(bad)
    with pytest.raises(SweepError, match="not a sweep's results"):
        run_sweep(SweepSpec.from_values(TINY), tmp_path)
    assert bad.read_text() == "a,b\n1,2\n"  # untouched


def test_parquet_holds_the_same_rows(tmp_path):
    pytest.importorskip("pyarrow")
    run_sweep(SweepSpec.from_values(TINY), tmp_path, LocalExecutor(2))
    assert deterministic(tmp_path / "results.parquet") == deterministic(tmp_path / "results.csv")


def test_batches_of_any_size_give_the_same_rows():
    runs = expand(SweepSpec.from_values(TINY))
    whole = [r for r, _ in run_batch(runs)]
    one_by_one = [r for run in runs for r, _ in run_batch([run])]
    strip = (lambda rows: sorted(({k: v for k, v in r.items() if k not in TIMING_COLUMNS}
                                  for r in rows), key=lambda r: r["run_id"]))
    assert strip(whole) == strip(one_by_one)


# --------------------------------------------------------------------------- double descent
def test_double_descent_preset(tmp_path):
    """The preset shows the interpolation onset: median test MSE climbs steeply between n/2 and 2n
    from its under-parameterised minimum.

    Measured (see the README): minimum 0.044 at width 14, 0.06 at 32, 0.21 at 43; the maximum of
    the median (0.45) comes later, near width 200, because on 1-D data a ReLU unit's feature only
    adds a new direction when its elbow falls in a gap between data points not yet split twice,
    so the features' rank reaches n well after width n.
    """
    spec = spec_from_toml(DOUBLE_DESCENT, "preset")
    run_sweep(spec, tmp_path, LocalExecutor(2))
    rows = read_results(tmp_path / "results.csv")
    n = 40
    by_width = {}
    for r in rows:
        by_width.setdefault(int(r["width"]), []).append(float(r["final_test_mse"]))
    widths = sorted(by_width)
    med = {w: float(np.median(by_width[w])) for w in widths}
    under = min(med[w] for w in widths if w <= n // 2)
    onset = max(med[w] for w in widths if n // 2 <= w <= 2 * n)
    assert onset > 3 * under
    small = min(widths, key=med.get)
    assert small < n // 2 + 5  # the sweet spot is under-parameterised


# --------------------------------------------------------------------------- the command line
def test_sweep_command_line_writes_resumes_and_refuses_bad_values(tmp_path, capsys):
    from relu_studio import sweep_cli

    out = tmp_path / "out"
    argv = ["--widths", "2", "4", "--modes", "ridge", "all", "--steps", "200", "--n", "20",
            "--seeds", "2", "--out", str(out), "--jobs", "2"]
    assert sweep_cli.main(argv) == 0
    first = capsys.readouterr()
    assert "8 runs: 0 already done, 8 trained" in first.out and "runs/s" in first.err
    assert len(read_results(out / "results.csv")) == 8
    assert sweep_cli.main(argv + ["--seeds", "3"]) == 0  # one more seed: only its 4 runs
    assert "12 runs: 8 already done, 4 trained" in capsys.readouterr().out
    toml = tmp_path / "s.toml"
    toml.write_text("[sweep]\nwidth = '1:3'\nmode = 'ridge'\nn = 0\n")
    assert sweep_cli.main([str(toml), "--out", str(tmp_path / "t")]) == 2
    assert ("error: sweep.n in s.toml: every value must be a whole number between 1 and 1000000, "
            "got 0") in capsys.readouterr().err
    assert sweep_cli.main(["--dask", "cluster", "--out", str(tmp_path / "t")]) == 2
    assert "expected local:N" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()
