"""Run histories on disk: lossless .npz round trips, the CSV export, atomic writes, bad files."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import relu_studio as rs
from relu_studio.core.io import run_files as hio
from relu_studio.core.experiment import ridge_run
from relu_studio.core.training import Run, TrainSettings

ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2",
          "modes", "lrs")


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)


@pytest.fixture(scope="module")
def sgd_run(data):
    return rs.train(rs.init_network(7, 3), data, "all", lr=0.02, steps=2000, save_every=500, seed=3)


def assert_same_run(a: Run, b: Run) -> None:
    """Bit-for-bit equality of every field, including dtypes and shapes."""
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name
    assert a.initial.equals(b.initial)
    assert a.settings == b.settings
    assert a.diverged_at == b.diverged_at
    assert a.message == b.message
    assert a.completed_steps == b.completed_steps
    assert a.extra == b.extra


def test_a_run_whose_mode_changed_keeps_each_snapshots_mode_and_lr(tmp_path, data):
    trainer = rs.Trainer(rs.init_network(5, 1), data, mode="all", steps=3000, save_every=500, seed=1)
    trainer.advance(1200)
    trainer.set_options(mode="output")
    trainer.advance()
    run = trainer.result()
    loaded = hio.load_run_npz(hio.save_run_npz(run, tmp_path / "switched.npz"))
    assert_same_run(run, loaded)
    assert loaded.modes.tolist() == ["all"] * 3 + ["output"] * 4  # steps 1, 500, 1000 | 1500 ...
    assert loaded.lrs.tolist() == [0.02] * 3 + [0.2] * 4


def test_run_files_without_per_snapshot_modes_still_load(tmp_path, sgd_run):
    """Files written before runs recorded a mode and lr per snapshot: the settings' for all."""
    import io
    import zipfile

    path = hio.save_run_npz(sgd_run, tmp_path / "old.npz")
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            if info.filename not in ("modes.npy", "lrs.npy"):
                dst.writestr(info, src.read(info))
    run = hio.run_from_npz_bytes(buf.getvalue(), "old.npz")
    assert run.modes.tolist() == ["all"] * len(run) and run.lrs.tolist() == [0.02] * len(run)


def test_sgd_run_round_trips_bit_for_bit(tmp_path, sgd_run):
    path = hio.save_run_npz(sgd_run, tmp_path / "run.npz")
    loaded = hio.load_run_npz(path)
    assert_same_run(sgd_run, loaded)
    assert len(loaded) == len(sgd_run) == 5  # steps 1, 500, 1000, 1500, 2000
    assert not loaded.w1.flags.writeable and not loaded.test_error.flags.writeable
    assert loaded.final.equals(sgd_run.final)


def test_ridge_run_round_trips(tmp_path, data):
    run = ridge_run(rs.init_network(9, 2), data, lam=1e-5, seed=2)
    loaded = hio.load_run_npz(hio.save_run_npz(run, tmp_path / "ridge.npz"))
    assert_same_run(run, loaded)
    assert loaded.settings.mode == "ridge" and loaded.settings.batch_size is None
    assert loaded.extra == {"lam": 1e-5}


def test_diverged_run_round_trips(tmp_path, data):
    run = rs.train(rs.init_network(5, 0), data, "all", lr=100.0, steps=2000, save_every=500)
    assert run.diverged
    loaded = hio.load_run_npz(hio.save_run_npz(run, tmp_path / "div.npz"))
    assert_same_run(run, loaded)
    assert loaded.diverged_at == run.diverged_at and "diverged" in loaded.message


def test_path_is_used_as_given(tmp_path, sgd_run):
    target = tmp_path / "history.bin"
    hio.save_run_npz(sgd_run, target)
    assert target.exists() and not (tmp_path / "history.bin.npz").exists()
    assert_same_run(sgd_run, hio.load_run_npz(target))


@settings(max_examples=25, deadline=None)
@given(m=st.integers(0, 6), h=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       diverged=st.one_of(st.none(), st.integers(1, 10**9)), special=st.booleans())
def test_arbitrary_runs_round_trip(m, h, seed, diverged, special):
    rng = np.random.default_rng(seed)
    errors = rng.standard_normal((3, m)) ** 2
    if special and m:
        errors[0, -1], errors[1, 0] = np.inf, np.nan
    net = rs.init_network(h, seed % 1000)
    run = Run(
        initial=net, settings=TrainSettings("output", 0.1 + seed / 2**32, 10**6, 7, 3, seed),
        steps=np.cumsum(rng.integers(1, 100, m)).astype(np.int64),
        train_error=errors[0], full_train_error=errors[1], test_error=errors[2],
        w1=rng.standard_normal((m, h)).astype(np.float32),
        b1=rng.standard_normal((m, h)).astype(np.float32),
        w2=rng.standard_normal((m, h)).astype(np.float32),
        b2=rng.standard_normal(m).astype(np.float32),
        diverged_at=diverged, message="ünïcode ✓", completed_steps=m * 3, extra={"k": [1, 2.5]},
    )
    with tempfile.TemporaryDirectory() as d:
        path = hio.save_run_npz(run, Path(d) / "r.npz")
        assert_same_run(run, hio.load_run_npz(path))


# --------------------------------------------------------------------------- bad files
def test_truncated_file_is_refused(tmp_path, sgd_run):
    path = hio.save_run_npz(sgd_run, tmp_path / "run.npz")
    raw = path.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 10, 30, 4):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match=rf"cut{cut}\.npz: the file is truncated or damaged"):
            hio.load_run_npz(bad)


def test_damaged_member_is_refused(tmp_path, sgd_run):
    path = hio.save_run_npz(sgd_run, tmp_path / "run.npz")
    raw = bytearray(path.read_bytes())
    i = raw.find(b"\x93NUMPY")  # inside the first stored array
    raw[i + 200: i + 260] = b"\xff" * 60
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="run.npz"):
        hio.load_run_npz(path)


def test_other_files_are_refused(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.npz: not a ReLU Studio run file"):
        hio.load_run_npz(text)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    with pytest.raises(ValueError, match="missing steps"):
        hio.load_run_npz(other)
    with pytest.raises(ValueError, match="cannot read the file"):
        hio.load_run_npz(tmp_path / "absent.npz")


def test_pickled_objects_are_refused(tmp_path, sgd_run):
    arrays = hio._run_arrays(sgd_run)
    arrays["settings"] = np.array([{"mode": "all"}], dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="pickled.npz"):
        hio.load_run_npz(path)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(w1=a["w1"][:, :2]), "'w1' has shape"),
    (lambda a: a.update(steps=a["steps"].astype(np.float64)), "'steps' has dtype"),
    (lambda a: a.update(steps=a["steps"][::-1].copy()), "not increasing"),
    (lambda a: a.update(settings=np.array(["{not json"])), "settings are unreadable"),
    (lambda a: a.update(settings=np.array(['{"mode": "all"}'])), "settings are incomplete"),
    (lambda a: a.update(meta=np.array(['{"format": "other"}'])), "not a ReLU Studio run file"),
    (lambda a: a.update(meta=np.array(['{"format": "relu-studio-run", "version": 99}'])), "newer"),
    (lambda a: a.update(initial_b1=a["initial_b1"][:1]), "inconsistent shapes"),
    (lambda a: a.update(diverged_at=np.array([1, 2])), "diverged_at"),
])
def test_inconsistent_contents_are_refused(tmp_path, sgd_run, change, message):
    arrays = hio._run_arrays(sgd_run)
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message):
        hio.load_run_npz(path)


# --------------------------------------------------------------------------- csv and writing
def test_csv_has_a_row_per_snapshot(sgd_run):
    text = hio.run_to_csv(sgd_run)
    lines = text.splitlines()
    assert lines[0] == "step,train_mse,full_train_mse,test_mse"
    assert len(lines) == len(sgd_run) + 1
    rows = [line.split(",") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == [1, 500, 1000, 1500, 2000]
    for col, name in enumerate(("train_error", "full_train_error", "test_error"), start=1):
        assert np.array_equal([float(r[col]) for r in rows], getattr(sgd_run, name))  # exact


def test_write_run_writes_both_files_atomically(tmp_path, sgd_run, data):
    npz, csv = hio.write_run(sgd_run, tmp_path, "w7_all_seed3")
    assert (npz.name, csv.name) == ("w7_all_seed3.npz", "w7_all_seed3.csv")
    assert_same_run(sgd_run, hio.load_run_npz(npz))
    assert csv.read_text() == hio.run_to_csv(sgd_run)
    # Overwriting replaces both; no temporary files are left behind.
    other = ridge_run(rs.init_network(4, 0), data)
    hio.write_run(other, tmp_path, "w7_all_seed3")
    assert_same_run(other, hio.load_run_npz(npz))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w7_all_seed3.csv", "w7_all_seed3.npz"]


def test_failed_write_keeps_the_old_file(tmp_path, sgd_run, data, monkeypatch):
    npz, _csv = hio.write_run(sgd_run, tmp_path, "run")
    before = npz.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hio.os, "replace", broken_replace)
    with pytest.raises(OSError):
        hio.write_run(ridge_run(rs.init_network(4, 0), data), tmp_path, "run")
    assert npz.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv", "run.npz"]


@pytest.mark.parametrize("stem", ["", "a/b", "..", "."])
def test_bad_stems_are_refused(tmp_path, sgd_run, stem):
    with pytest.raises(ValueError, match="invalid file stem"):
        hio.write_run(sgd_run, tmp_path, stem)


def test_history_io_needs_no_qt_or_torch():
    import subprocess
    import sys

    code = ("import sys; import relu_studio.core.io.run_files; "
            "bad = [m for m in ('torch', 'PySide6', 'numba') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
