"""Session files (.relustudio): bit-for-bit round trips, atomic writes, and refusal of bad files."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import relu_studio as rs
from relu_studio.core.io.data_csv import data_to_csv
from relu_studio.core.io import run_files as hio
from relu_studio.core.io import session as sess
from relu_studio.core.experiment import run_experiment
from relu_studio.core.history import History
from relu_studio.core.settings import GridSettings, StudioSettings
from relu_studio.core.io.session import Session, SessionFileError, load_session, save_session
from session_compare import session_diff, session_equal

HISTORY_ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2")


# --------------------------------------------------------------------------- sessions to save
@pytest.fixture(scope="module")
def rich_session():
    """Hand-edited data, a history of several runs with a ridge fit, view toggles, a compare grid."""
    base = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    # hand edits: drag one point, add one, delete one
    x, y = np.array(base.x), np.array(base.y)
    y[10] += 0.75
    x, y = np.append(x[1:], 0.123456789), np.append(y[1:], -1.5)
    data = base.with_points(x, y)
    assert data.source == "edited" and data.n == 200
    net = rs.init_network(7, 3)
    h = History.start(net, data)
    run1 = rs.train(net, data, "all", lr=0.02, steps=2500, save_every=500, seed=3)
    h = h.extended(run1)
    run2 = rs.train(h.last, data, "output", lr=0.2, steps=1000, save_every=500, seed=4)
    h = h.extended(run2)
    h = h.appended(rs.fit_ridge(h.last, data), data, "ridge")
    settings = StudioSettings(width=7, init_seed=3, mode="output", steps=1000, batch_size=None,
                              lr_output=0.25, lr_all=0.02)
    view = {"scaled_units": True, "show_units": False, "timeline_index": 5,
            "ridge_follow": True, "view_range": [[0.0, 1.0], [-2.5, 2.5]], "note": "ünïcode ✓"}
    other = rs.make_dataset("sin(20x)", n=80, noise=0.2, seed=4)  # the grid's own data
    grid = run_experiment(other, widths=(3, 5), modes=("output", "all", "ridge"), seeds=2,
                          steps=600, save_every=200, jobs=2)
    return Session(settings=settings, data=data, initial=net, history=h, view=view,
                   grid=grid.settings, compare_view={"shown_seed": 1, "selected": [5, "all"],
                                                     "step": 400, "table": "best"},
                   compare_runs=dict(grid.runs), compare_data=other,
                   extra_settings={"future_key": {"kept": [1, 2]}})


def assert_bit_for_bit(a: Session, b: Session):
    assert session_diff(a, b) == []
    assert session_equal(a, b)
    for k in HISTORY_ARRAYS:
        x, y = getattr(a.history, k), getattr(b.history, k)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), k
    for k in ("x", "y", "x_test", "y_test"):
        assert getattr(a.data, k).tobytes() == getattr(b.data, k).tobytes(), k


# --------------------------------------------------------------------------- round trips
def test_default_session_round_trips(tmp_path):
    s = Session.from_settings(width=5)
    path = save_session(s, tmp_path / "default.relustudio")
    loaded = load_session(path)
    assert_bit_for_bit(s, loaded)
    assert loaded.settings == s.settings
    assert loaded.data.target.spec == "piecewise_linear"
    assert np.array_equal(loaded.data.truth(loaded.data.x_test), loaded.data.y_test)
    assert loaded.current.equals(s.initial) and loaded.initial.equals(s.initial)
    assert loaded.grid is None and loaded.compare_runs == {} and loaded.view == {}
    assert loaded.compare_data is None and loaded.compare_view == {}
    assert not loaded.history.w1.flags.writeable


def test_rich_session_round_trips_bit_for_bit(tmp_path, rich_session):
    s = rich_session
    loaded = load_session(save_session(s, tmp_path / "rich.relustudio"))
    assert_bit_for_bit(s, loaded)
    assert loaded.history.tags == s.history.tags
    assert loaded.history.tags[0] == "init" and loaded.history.tags[-1] == "ridge"
    assert set(loaded.history.tags) == {"init", "all", "output", "ridge"}
    # the learning rate that trained each snapshot (NaN where none did)
    lrs = {t: set(loaded.history.lrs[np.array(loaded.history.tags) == t].tolist())
           for t in ("all", "output")}
    assert lrs == {"all": {0.02}, "output": {0.2}}
    assert np.isnan(loaded.history.lrs[0]) and np.isnan(loaded.history.lrs[-1])
    assert loaded.history.steps[-1] == loaded.history.steps[-2]  # the ridge entry repeats the step
    assert np.isnan(loaded.history.train_error[0])
    assert loaded.current.equals(s.history.last)
    assert loaded.data.source == "edited" and 0.123456789 in loaded.data.x
    assert loaded.data.x_test.tobytes() == s.data.x_test.tobytes()
    assert loaded.extra_settings["future_key"] == {"kept": [1, 2]}  # unknown keys are kept
    assert loaded.settings == s.settings and loaded.settings.lr_output == 0.25
    assert loaded.view == s.view and loaded.grid == s.grid and loaded.compare_view == s.compare_view
    # the grid keeps the data it was trained on, bit for bit
    for k in ("x", "y", "x_test", "y_test"):
        assert getattr(loaded.compare_data, k).tobytes() == getattr(s.compare_data, k).tobytes()
    assert loaded.compare_data.target.spec == "sin(20x)"
    assert list(loaded.compare_runs) == list(s.compare_runs)  # same keys, same order
    for key, run in s.compare_runs.items():
        got = loaded.compare_runs[key]
        for k in HISTORY_ARRAYS:
            assert getattr(got, k).tobytes() == getattr(run, k).tobytes()
        assert got.initial.equals(run.initial) and got.settings == run.settings
        assert got.extra == run.extra
    # Saving the loaded session gives the same members (only the creation time may differ).
    again = load_session(save_session(loaded, tmp_path / "again.relustudio"))
    assert_bit_for_bit(s, again)


def test_sessions_written_before_per_snapshot_learning_rates_still_open(tmp_path, rich_session):
    path = save_session(rich_session, tmp_path / "new.relustudio")
    old = tmp_path / "old.relustudio"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for info in src.infolist():
            raw = src.read(info)
            if info.filename == "arrays.npz":
                with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
                    arrays = {k: npz[k] for k in npz.files if k != "history_lr"}
                buf = io.BytesIO()
                np.savez(buf, **arrays)
                raw = buf.getvalue()
            dst.writestr(info, raw)
    loaded = load_session(old)
    assert np.all(np.isnan(loaded.history.lrs)) and len(loaded.history.lrs) == len(loaded.history)
    assert session_diff(rich_session, loaded) == ["history.lrs"]


def test_csv_data_without_a_target_round_trips(tmp_path):
    csv_path = tmp_path / "points.csv"
    csv_path.write_text("x,y\n0.9,1.5\n0.1,-0.25\n0.5,0.3333333333333333\n0.7,2e-17\n0.3,1\n")
    data = rs.load_csv(csv_path)
    net = rs.init_network(4, 1)
    s = Session(settings=StudioSettings(), data=data, initial=net, history=History.start(net, data))
    loaded = load_session(save_session(s, tmp_path / "csv.relustudio"))
    assert_bit_for_bit(s, loaded)
    assert loaded.data.target is None and loaded.data.truth([0.5]) is None
    assert loaded.data.seed is None and loaded.data.source == "csv"


def test_formula_target_round_trips(tmp_path):
    s = Session.from_settings(target="sin(2*pi*x) + 0.3*x", n=50, noise=0.05, width=3)
    loaded = load_session(save_session(s, tmp_path / "f.relustudio"))
    assert_bit_for_bit(s, loaded)
    assert loaded.data.target.spec == s.data.target.spec and loaded.data.target.is_formula
    assert np.array_equal(loaded.data.truth(loaded.data.x_test), loaded.data.y_test)


def test_special_values_in_the_history_round_trip(tmp_path):
    data = rs.make_dataset("abs", n=20, noise=0.0, seed=0)
    net = rs.init_network(3, 0)
    run = rs.train(net, data, "all", lr=100.0, steps=400, save_every=100)  # diverges
    assert run.diverged
    h = History.start(net, data).extended(run)
    s = Session(settings=StudioSettings(width=3), data=data, initial=net, history=h)
    loaded = load_session(save_session(s, tmp_path / "div.relustudio"))
    assert_bit_for_bit(s, loaded)


@settings(max_examples=20, deadline=None)
@given(m=st.integers(1, 6), h=st.integers(1, 6), n=st.integers(1, 30), seed=st.integers(0, 2**32 - 1),
       special=st.booleans())
def test_arbitrary_sessions_round_trip(m, h, n, seed, special):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.standard_normal(n) * 10.0 ** rng.integers(-300, 300))
    y = rng.standard_normal(n)
    if special:
        x[0], y[-1] = -0.0, 5e-324  # signed zero and a subnormal survive bit for bit
    data = rs.Dataset(x, y, x.copy(), y.copy(), target=None, noise=0.0, seed=None, source="csv")
    errors = rng.standard_normal((3, m)) ** 2
    if special:
        errors[0, 0], errors[1, -1], errors[2, 0] = np.nan, np.inf, -0.0
    w = [rng.standard_normal((m, h)).astype(np.float32) for _ in range(3)]
    hist = History(np.cumsum(rng.integers(0, 5, m)).astype(np.int64), errors[0], errors[1],
                   errors[2], w[0], w[1], w[2], rng.standard_normal(m).astype(np.float32),
                   tuple(rng.choice(["init", "all", "output", "ridge", "edit"], m).tolist()))
    net = rs.Network(w[0][0], w[1][0], w[2][0], float(hist.b2[0]))
    s = Session(settings=StudioSettings(width=h, lr_all=0.5), data=data, initial=net, history=hist,
                view={"range": [float(x[0]), 1e308], "flag": special})
    raw = sess.session_to_bytes(s)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "s.relustudio"
        path.write_bytes(raw)
        assert_bit_for_bit(s, load_session(path))


def test_session_to_bytes_is_the_file(tmp_path, rich_session):
    raw = sess.session_to_bytes(rich_session)
    path = tmp_path / "b.relustudio"
    path.write_bytes(raw)
    assert_bit_for_bit(rich_session, load_session(path))


def test_the_archive_is_documented_and_readable_by_any_zip_tool(tmp_path, rich_session):
    path = save_session(rich_session, tmp_path / "doc.relustudio")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        assert names[0] == "manifest.json"
        assert {"settings.json", "view.json", "data.json", "history.json", "arrays.npz",
                "compare.json"} <= set(names)
        # one member per grid run, plus the data the grid was trained on
        assert sum(n.startswith("compare/w") for n in names) == len(rich_session.compare_runs)
        assert "compare/data.npz" in names
        with np.load(io.BytesIO(zf.read("arrays.npz")), allow_pickle=False) as npz:
            assert npz["history_w1"].dtype == np.float32 and npz["data_x"].dtype == np.float64
            assert npz["history_steps"].dtype == np.int64
    assert manifest["format"] == "relu-studio-session" and manifest["format_version"] == 1
    assert manifest["app_version"] == rs.__version__ and manifest["created"].endswith("+00:00")
    doc = (Path(__file__).resolve().parents[2] / "docs" / "session-format.md").read_text()
    for name in ("manifest.json", "arrays.npz", "history_w1", "format_version", "compare.json",
                 "compare/data.npz", "shown_seed"):
        assert name in doc


def test_session_equal_notices_a_single_bit(rich_session):
    s = rich_session
    w1 = np.array(s.history.w1)
    w1[3, 2] = np.nextafter(w1[3, 2], np.float32(np.inf))
    h = History(s.history.steps, s.history.train_error, s.history.full_train_error,
                s.history.test_error, w1, s.history.b1, s.history.w2, s.history.b2, s.history.tags,
                s.history.lrs)
    other = Session(s.settings, s.data, s.initial, h, s.view, s.grid, s.compare_view, s.compare_runs,
                    s.compare_data, s.extra_settings)
    assert session_diff(s, other) == ["history.w1"]
    assert not session_equal(s, other)


# --------------------------------------------------------------------------- writing safely
def test_interrupted_save_keeps_the_old_file(tmp_path, rich_session, monkeypatch):
    path = save_session(Session.from_settings(width=2), tmp_path / "s.relustudio")
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_session(rich_session, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.relustudio"]  # no temporary left behind
    assert_bit_for_bit(Session.from_settings(width=2), load_session(path))


@pytest.mark.parametrize("change, message", [
    (lambda s: s.view.update(bad=np.arange(3)), "view settings are not plain JSON"),
    (lambda s: s.extra_settings.update(future=float("nan")), "settings are not plain JSON"),
    (lambda s: setattr(s, "settings", {"width": 3}), "must be StudioSettings"),
    (lambda s: setattr(s, "initial", rs.init_network(4, 0)), "width 3 differs from the initial"),
    (lambda s: s.__dict__.update(grid=GridSettings(), compare_view={"step": -1}),
     "'step' must be a whole number"),
    (lambda s: s.__dict__.update(grid=GridSettings(steps=0)), "steps must be a whole number"),
    (lambda s: s.compare_runs.update({(3, "sideways", 0): None}), "(width, mode, seed)"),
])
def test_an_invalid_session_is_not_written(tmp_path, change, message):
    s = Session.from_settings(width=3)
    path = tmp_path / "never.relustudio"
    change(s)
    with pytest.raises((ValueError, TypeError), match=message):
        save_session(s, path)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- bad files
def members_of(path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_zip(path, members: dict):
    with zipfile.ZipFile(path, "w") as zf:
        for n, raw in members.items():
            zf.writestr(n, raw)
    return path


def arrays_of(members) -> dict:
    with np.load(io.BytesIO(members["arrays.npz"]), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def with_arrays(members, change) -> dict:
    arrays = arrays_of(members)
    change(arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return {**members, "arrays.npz": buf.getvalue()}


def with_json(members, name, change) -> dict:
    doc = json.loads(members[name])
    doc = change(doc) or doc
    return {**members, name: json.dumps(doc).encode()}


def _object_array(a):
    a["data_x"] = np.array([{"evil": 1}] * a["data_x"].size, dtype=object)


def _nan_data(a):
    a["data_y"] = a["data_y"].copy()
    a["data_y"][5] = np.nan


BROKEN_MEMBERS = {
    "missing member": (lambda m: {k: v for k, v in m.items() if k != "history.json"},
                       "incomplete session file: missing history.json"),
    "missing arrays": (lambda m: {k: v for k, v in m.items() if k != "arrays.npz"},
                       "missing arrays.npz"),
    "no manifest": (lambda m: {k: v for k, v in m.items() if k != "manifest.json"},
                    r"not a ReLU Studio session file \(no manifest.json\)"),
    "newer version": (lambda m: with_json(m, "manifest.json", lambda d: d.update(format_version=99)),
                      r"newer ReLU Studio \(session format version 99; this version reads up to 1\); "
                      "please update"),
    "other format": (lambda m: with_json(m, "manifest.json", lambda d: d.update(format="zip-of-cats")),
                     "not a ReLU Studio session file \\(format 'zip-of-cats'\\)"),
    "bad version": (lambda m: with_json(m, "manifest.json", lambda d: d.update(format_version="1")),
                    "format_version '1' is invalid"),
    "manifest not json": (lambda m: {**m, "manifest.json": b"{nope"}, "'manifest.json' is not valid JSON"),
    "object arrays": (lambda m: with_arrays(m, _object_array),
                      "'arrays.npz': 'data_x' holds pickled Python objects"),
    "x and y lengths": (lambda m: with_arrays(m, lambda a: a.update(data_y=a["data_y"][:-1])),
                        "the data have 200 x values but 199 y values"),
    "NaN data": (lambda m: with_arrays(m, _nan_data), "'data_y' contains NaN"),
    "history width": (lambda m: with_arrays(m, lambda a: a.update(history_w1=a["history_w1"][:, :2])),
                      r"'history_w1' has shape \(6, 2\); expected \(6, 7\) \(the history's width 2 "
                      "differs from the initial network's 7\\)"),
    "int parameters": (lambda m: with_arrays(m, lambda a: a.update(
        initial_w1=np.arange(7, dtype=np.int32))), "'initial_w1' has dtype int32"),
    "missing array": (lambda m: with_arrays(m, lambda a: a.pop("history_b2")),
                      "arrays.npz lacks history_b2"),
    "decreasing steps": (lambda m: with_arrays(m, lambda a: a.update(
        history_steps=a["history_steps"][::-1].copy())), "negative, decreasing"),
    "tags count": (lambda m: with_json(m, "history.json", lambda d: d.update(tags=["init"])),
                   "'tags' must list one string per snapshot \\(6\\)"),
    "bad setting": (lambda m: with_json(m, "settings.json", lambda d: d.update(mode="sideways")),
                    "settings.json: setting 'mode' must be one of output, all, ridge"),
    "bad target": (lambda m: with_json(m, "data.json", lambda d: d.update(target="__import__('os')")),
                   "data.json: the target \"__import__\\('os'\\)\" is not valid"),
    "compare run missing": (lambda m: {k: v for k, v in m.items() if k != "compare/w2_ridge_seed0.npz"},
                            "missing compare/w2_ridge_seed0.npz"),
    "compare run damaged": (lambda m: {**m, "compare/w2_ridge_seed0.npz": b"PK\x03\x04garbage"},
                            "compare/w2_ridge_seed0.npz: the file is truncated or damaged"),
    "view not an object": (lambda m: {**m, "view.json": b"[1, 2]"}, "'view.json' does not hold"),
}


@pytest.fixture(scope="module")
def small_members(tmp_path_factory):
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    net = rs.init_network(7, 0)
    run = rs.train(net, data, "all", steps=2000, save_every=500)
    grid = run_experiment(data, widths=(2,), modes=("ridge",), seeds=1)
    s = Session(settings=StudioSettings(), data=data, initial=net,
                history=History.start(net, data).extended(run), grid=grid.settings,
                compare_runs=dict(grid.runs))
    assert len(s.history) == 6
    path = save_session(s, tmp_path_factory.mktemp("good") / "good.relustudio")
    return members_of(path)


@pytest.mark.parametrize("case", list(BROKEN_MEMBERS))
def test_broken_session_files_are_refused(tmp_path, small_members, case):
    change, message = BROKEN_MEMBERS[case]
    path = write_zip(tmp_path / "broken.relustudio", change(dict(small_members)))
    with pytest.raises(SessionFileError, match=message) as info:
        load_session(path)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("broken.relustudio: ")


def test_unreadable_and_foreign_files_are_refused(tmp_path, small_members):
    good = write_zip(tmp_path / "good.relustudio", small_members)
    raw = good.read_bytes()
    cases = {
        "absent.relustudio": (None, "cannot read the file"),
        "empty.relustudio": (b"", "the file is empty"),
        "random.relustudio": (os.urandom(4096).replace(b"PK", b"pk"), "not a ReLU Studio session file"),
        "text.relustudio": (b"hello, I am a text file\n", "not a ReLU Studio session file"),
        "truncated.relustudio": (raw[: len(raw) // 2], "the file is truncated or damaged"),
        "tail.relustudio": (raw[:-40], "the file is truncated or damaged"),
    }
    for name, (content, message) in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(SessionFileError, match=message):
            load_session(tmp_path / name)
    npz = tmp_path / "run.npz"
    np.savez(npz, a=np.arange(3))
    with pytest.raises(SessionFileError, match="no manifest.json"):
        load_session(npz)
    with pytest.raises(SessionFileError, match="a folder, not a file"):
        load_session(tmp_path)  # a folder


def test_a_damaged_member_fails_its_checksum(tmp_path, small_members):
    path = tmp_path / "crc.relustudio"
    with zipfile.ZipFile(path, "w") as zf:  # stored, so the bytes can be flipped in place
        for n, raw in small_members.items():
            zf.writestr(n, raw, compress_type=zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    i = raw.find(b"\x93NUMPY")
    raw[i + 300: i + 340] = b"\x00" * 40
    path.write_bytes(bytes(raw))
    with pytest.raises(SessionFileError, match="the member 'arrays.npz' is damaged"):
        load_session(path)


def test_refusing_a_file_changes_nothing(tmp_path, rich_session, small_members):
    before = sess.session_to_bytes(rich_session)
    bad = write_zip(tmp_path / "bad.relustudio",
                    BROKEN_MEMBERS["history width"][0](dict(small_members)))
    listing = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SessionFileError):
        load_session(bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == listing
    # the session in memory is untouched (compare everything but the manifest's time stamp)
    after = sess.session_to_bytes(rich_session)
    assert members_without_time(before) == members_without_time(after)


def members_without_time(raw: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        out = {n: zf.read(n) for n in zf.namelist()}
    m = json.loads(out.pop("manifest.json"))
    m.pop("created")
    out["manifest.json"] = json.dumps(m).encode()
    return out


# --------------------------------------------------------------------------- csv exports
def test_history_and_data_csv_exports(rich_session):
    s = rich_session
    text = hio.export_history_csv(s.history)
    lines = text.splitlines()
    assert lines[0] == "step,train_mse,full_train_mse,test_mse"
    rows = [ln.split(",") for ln in lines[1:]]
    assert len(rows) == len(s.history)
    assert [int(r[0]) for r in rows] == s.history.steps.tolist()
    for col, name in enumerate(("train_error", "full_train_error", "test_error"), start=1):
        got = np.array([float(r[col]) for r in rows])
        assert got.tobytes() == np.asarray(getattr(s.history, name)).tobytes()  # exact, NaN too
    assert rows[0][1] == "nan"
    # a HistoryView and a Run export the same way
    from relu_studio.core.history import HistoryView

    assert hio.export_history_csv(HistoryView(s.history)) == text
    run = next(iter(s.compare_runs.values()))
    assert hio.export_history_csv(run) == hio.run_to_csv(run)

    data_text = data_to_csv(s.data)
    assert data_text.splitlines()[0] == "x,y"
    back = rs.load_csv(data_text, is_text=True)
    assert back.x.tobytes() == s.data.x.tobytes() and back.y.tobytes() == s.data.y.tobytes()


def test_session_modules_need_no_qt_or_torch():
    code = ("import sys; import relu_studio.core.io.session, relu_studio.core.io.autosave, "
            "relu_studio.core.io.torch_files; "
            "bad = [m for m in ('torch', 'PySide6', 'numba') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
