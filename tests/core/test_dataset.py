"""Data sets: the notebook's construction exactly, the other presets, typed formulas, CSV files."""
import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core.io.data_csv import data_to_csv
from relu_studio.core.dataset import MAX_POINTS
from notebook_reference import notebook_data, notebook_piecewise_linear


def _assert_notebook(data, f, n=200, noise=0.1, seed=1):
    X, y, X_test, y_test = notebook_data(f, n, noise, seed)
    assert np.array_equal(data.x, X.ravel())
    assert np.array_equal(data.y, y)
    assert np.array_equal(data.x_test, X_test.ravel())
    assert np.array_equal(data.y_test, y_test)


def test_piecewise_linear_is_the_notebook_data():
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
    _assert_notebook(data, notebook_piecewise_linear)
    assert data.n == 200 and data.x_test.size == 1200
    assert np.all(np.diff(data.x) >= 0) and np.all(np.diff(data.x_test) >= 0)
    assert data.noise_floor == pytest.approx(0.01)


def test_sin20x_is_the_notebook_data():
    data = rs.make_dataset("sin(20x)", 200, 0.1, 1)
    _assert_notebook(data, lambda x: np.sin(20 * x))
    for alias in ("sin20x", "sin(20*x)"):
        assert np.array_equal(rs.make_dataset(alias, 200, 0.1, 1).y, data.y)


@pytest.mark.parametrize("n, noise, seed", [(50, 0.0, 0), (1000, 0.3, 7), (1, 0.1, 2)])
def test_other_sizes_and_seeds_follow_the_same_recipe(n, noise, seed):
    data = rs.make_dataset("piecewise_linear", n, noise, seed)
    _assert_notebook(data, notebook_piecewise_linear, n, noise, seed)


def test_piecewise_linear_is_linear_interpolation_of_sin_12345k():
    f = rs.get_target("piecewise_linear")
    k = np.arange(11)
    # Approaching x = k/10 from either side the value tends to sin(12345 k); in between it is
    # linear. (Exactly at an x whose 10 x is an integer both floor/ceil terms vanish and the
    # notebook's formula gives 0: a one-point quirk that the engine reproduces faithfully.)
    d = 1e-9
    assert np.allclose(f(k[1:] / 10 - d), np.sin(12345 * k[1:]), atol=1e-6)
    assert np.allclose(f(k[:-1] / 10 + d), np.sin(12345 * k[:-1]), atol=1e-6)
    t = np.linspace(0.01, 0.99, 50)
    for j in range(10):
        x = (j + t) / 10
        expected = (1 - t) * np.sin(12345 * j) + t * np.sin(12345 * (j + 1))
        assert np.allclose(f(x), expected, atol=1e-12)
    assert f(np.array([0.0, 0.5, 1.0])).tolist() == [0.0, 0.0, 0.0]
    assert f.kinks == tuple(k / 10)


@pytest.mark.parametrize("name", ["abs", "step", "square", "sawtooth"])
def test_other_presets_exist_and_are_finite(name):
    assert name in rs.PRESETS
    data = rs.make_dataset(name, 100, 0.05, 3)
    assert np.all(np.isfinite(data.y)) and np.all(np.isfinite(data.y_test))
    assert np.all(np.abs(data.y_test) <= 1.0 + 1e-12)  # every preset lives in [-1, 1]
    assert data.target.spec == name and data.target.description


def test_preset_formulas():
    x = np.linspace(0, 1, 101)
    assert np.allclose(rs.get_target("abs")(x), 4 * np.abs(x - 0.5) - 1)
    assert np.array_equal(rs.get_target("step")(x), np.where(x < 0.5, -1.0, 1.0))
    assert np.allclose(rs.get_target("square")(x), 8 * (x - 0.5) ** 2 - 1)
    saw = rs.get_target("sawtooth")(x)
    assert saw.min() >= -1 and saw.max() < 1


def test_typed_formula_matches_numpy():
    data = rs.make_dataset("sin(2*pi*x) + 0.3*x", 200, 0.1, 1)
    _assert_notebook(data, lambda x: np.sin(2 * np.pi * x) + 0.3 * x)
    assert data.target.is_formula


@pytest.mark.parametrize("kwargs, match", [
    (dict(target="log(x - 2)"), "not finite"),
    (dict(target="1/x"), "not finite"),  # x_test contains 0
    (dict(target="nonsense("), "target"),
    (dict(n=0), "n must be"),
    (dict(n=2.5), "n must be"),
    (dict(n=True), "n must be"),
    (dict(n=MAX_POINTS + 1), "n must be"),
    (dict(noise=-0.1), "noise"),
    (dict(noise=float("nan")), "noise"),
    (dict(seed=-1), "seed"),
    (dict(seed=2**32), "seed"),
])
def test_make_dataset_refuses(kwargs, match):
    args = dict(target="piecewise_linear", n=20, noise=0.1, seed=1)
    args.update(kwargs)
    with pytest.raises(rs.DataError, match=match):
        rs.make_dataset(**args)


def test_dataset_arrays_are_read_only_and_with_points_sorts():
    data = rs.make_dataset("abs", 10, 0.1, 0)
    with pytest.raises(ValueError):
        data.x[0] = 3.0
    edited = data.with_points([0.9, 0.1, 0.5], [1.0, 2.0, 3.0])
    assert np.array_equal(edited.x, [0.1, 0.5, 0.9]) and np.array_equal(edited.y, [2.0, 3.0, 1.0])
    assert np.array_equal(edited.x_test, data.x_test) and edited.source == "edited"
    with pytest.raises(rs.DataError):
        data.with_points([0.1, np.nan], [1.0, 2.0])


# --------------------------------------------------------------------------- CSV
def test_csv_with_and_without_header(tmp_path):
    p1 = tmp_path / "with_header.csv"
    p1.write_text("x,y\n0.5,1.5\n0.1,-2\n0.3,3e-1\n")
    p2 = tmp_path / "plain.csv"
    p2.write_text("0.5,1.5\n0.1,-2\n0.3,3e-1\n")
    for p in (p1, p2):
        d = rs.load_csv(p)
        assert np.array_equal(d.x, [0.1, 0.3, 0.5])  # sorted by x, y carried along
        assert np.array_equal(d.y, [-2.0, 0.3, 1.5])
        assert np.array_equal(d.x_test, d.x) and np.array_equal(d.y_test, d.y)
        assert d.target is None and d.source == "csv" and d.truth(d.x) is None


@pytest.mark.parametrize("text", [
    "x;y\n0.1;1\n0.2;2\n",          # semicolons
    "x\ty\n0.1\t1\n0.2\t2\n",       # tabs
    "0.1 1\n0.2 2\n",               # spaces
    "0.1, 1\n0.2, 2\n",             # comma and space
    '"x","y"\n0.1,1\n0.2,2\n',      # quoted header
    "\ufeffx,y\n0.1,1\n0.2,2\n",     # byte-order mark
    "# a comment\nx,y\n\n0.1,1\n\n0.2,2\n",  # comments and blank lines
])
def test_csv_dialects(tmp_path, text):
    p = tmp_path / "d.csv"
    p.write_bytes(text.encode("utf-8"))
    d = rs.load_csv(p)
    assert np.array_equal(d.x, [0.1, 0.2]) and np.array_equal(d.y, [1.0, 2.0])


@pytest.mark.parametrize("text, match", [
    ("x,y\n0.1,1\n0.2,abc\n", "line 3"),
    ("x,y\n0.1,1\n0.2,2,3\n", "line 3: expected two columns"),
    ("0.1,1\n0.2\n", "line 2: expected two columns"),
    ("x,y\n0.1,1\n\n0.3,2\nfoo,bar\n", "line 5"),
    ("x,y\n0.1,nan\n", "NaN or infinite"),
    ("x,y\ninf,1\n", "NaN or infinite"),
    ("x,y\n", "no x,y points"),
    ("", "no x,y points"),
])
def test_csv_bad_rows(text, match):
    with pytest.raises(rs.DataError, match=match):
        rs.load_csv(text, is_text=True)


def test_csv_unreadable_files(tmp_path):
    with pytest.raises(rs.DataError, match="cannot read"):
        rs.load_csv(tmp_path / "missing.csv")
    p = tmp_path / "binary.csv"
    p.write_bytes(b"\xff\xfe\x00\x80garbage")
    with pytest.raises(rs.DataError, match="UTF-8"):
        rs.load_csv(p)


def test_csv_round_trip_is_exact():
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
    back = rs.load_csv(data_to_csv(data), is_text=True)
    assert np.array_equal(back.x, data.x) and np.array_equal(back.y, data.y)
