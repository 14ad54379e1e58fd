"""Typed formulas: a whitelist parser that refuses everything but arithmetic in x."""
import time

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core.formula import MAX_DEPTH, MAX_LENGTH

X = np.linspace(0, 1, 257)


@pytest.mark.parametrize("text, fn", [
    ("sin(2*pi*x) + 0.3*x", lambda x: np.sin(2 * np.pi * x) + 0.3 * x),
    ("x^2 - x**3", lambda x: x ** 2 - x ** 3),
    ("exp(-x) * cos(tau*x)", lambda x: np.exp(-x) * np.cos(2 * np.pi * x)),
    ("abs(x - 0.5) + sqrt(x)", lambda x: np.abs(x - 0.5) + np.sqrt(x)),
    ("max(x, 0.5) - min(x, 0.25)", lambda x: np.maximum(x, 0.5) - np.minimum(x, 0.25)),
    ("relu(x - 0.3) - 2*relu(x - 0.7)", lambda x: np.maximum(x - 0.3, 0) - 2 * np.maximum(x - 0.7, 0)),
    ("(x > 0.5) - (x <= 0.2)", lambda x: (x > 0.5).astype(float) - (x <= 0.2).astype(float)),
    ("step(x - 0.5)", lambda x: (x >= 0.5).astype(float)),
    ("frac(3*x) + floor(3*x) + ceil(x) + round(2*x)",
     lambda x: (3 * x - np.floor(3 * x)) + np.floor(3 * x) + np.ceil(x) + np.round(2 * x)),
    ("mod(x, 0.3) + x % 0.2", lambda x: np.mod(x, 0.3) + np.mod(x, 0.2)),
    ("atan2(x, 1 - x) + arctan(x) + tanh(-x) + log10(1 + x) + log2(1 + x) + log(e + x)",
     lambda x: np.arctan2(x, 1 - x) + np.arctan(x) + np.tanh(-x) + np.log10(1 + x)
     + np.log2(1 + x) + np.log(np.e + x)),
    ("-x + +x / 2", lambda x: -x + x / 2),
    ("3", lambda x: np.full_like(x, 3.0)),
    ("pi", lambda x: np.full_like(x, np.pi)),
])
def test_valid_expressions_match_numpy(text, fn):
    f = rs.parse_formula(text)
    out = f(X)
    assert out.shape == X.shape and out.dtype == np.float64
    assert np.array_equal(out, fn(X)), text
    assert rs.get_target(text).is_formula


def test_formula_keeps_the_shape_of_its_input():
    f = rs.parse_formula("2")
    assert f(np.zeros((3, 4))).shape == (3, 4)
    assert rs.parse_formula("x")(0.25).shape == ()


@pytest.mark.parametrize("text, match", [
    ("__import__('os')", "unknown function '__import__'"),
    ("__import__('os').system('true')", "only plain function calls"),
    ("x.real", "'Attribute' is not allowed"),
    ("().__class__", "'Attribute' is not allowed"),
    ("x[0]", "'Subscript' is not allowed"),
    ("lambda: 1", "'Lambda' is not allowed"),
    ("(lambda x: x)(x)", "only plain function calls"),
    ("[t for t in x]", "'ListComp' is not allowed"),
    ("y + 1", "unknown name 'y'"),
    ("os", "unknown name 'os'"),
    ("sin", "it is a function"),
    ("foo(x)", "unknown function 'foo'; known functions:"),
    ("eval('1')", "unknown function 'eval'"),
    ("sin(x=1)", "takes no keyword arguments"),
    ("max(x)", "takes 2 arguments, got 1"),
    ("sin(x, x)", "takes 1 argument, got 2"),
    ("'abc'", "only numbers"),
    ("b'abc'", "only numbers"),
    ("True + x", "only numbers"),
    ("1j * x", "only numbers"),
    ("x if x else 1", "'IfExp' is not allowed"),
    ("x @ x", "'MatMult' is not allowed"),
    ("x // 2", "'FloorDiv' is not allowed"),
    ("x & 1", "'BitAnd' is not allowed"),
    ("not x", "'Not' is not allowed"),
    ("~x", "'Invert' is not allowed"),
    ("x == 1", "only single comparisons"),
    ("0 < x < 1", "only single comparisons"),
    ("(y := 2)", "'NamedExpr' is not allowed"),
    ("f'{x}'", "'JoinedStr' is not allowed"),
    ("sin(*x)", "'Starred' is not allowed"),
    ("import os", "not a valid expression"),
    ("x; 1", "not a valid expression"),
    ("sin(x", "not a valid expression"),
    ("x\0", "not a valid expression"),
    ("", "empty"),
    ("   \n ", "empty"),
    ("x + " * 200 + "x", "too long"),
    ("-" * (MAX_DEPTH + 5) + "x", "nested too deeply"),
    ("1" + "0" * 400, "too large"),  # an int literal beyond float range (was an OverflowError)
])
def test_refused_with_a_helpful_message(text, match):
    with pytest.raises(rs.FormulaError, match=match) as info:
        rs.parse_formula(text)
    assert len(str(info.value)) > 10  # a sentence, not a bare token
    # make_dataset reports the same problem as a DataError naming the target
    with pytest.raises(rs.DataError, match="target"):
        rs.make_dataset(text, 10, 0.1, 0)


def test_non_text_is_refused():
    for value in (None, 3, b"x", ["x"]):
        with pytest.raises(rs.FormulaError, match="text"):
            rs.parse_formula(value)
        with pytest.raises(rs.FormulaError):
            rs.get_target(value)


def test_max_length_is_accepted():
    text = "+".join(["x"] * 40)
    assert len(text) < MAX_LENGTH
    assert np.array_equal(rs.parse_formula(text)(X), 40 * X)


def test_power_towers_do_not_hang():
    t0 = time.perf_counter()
    f = rs.parse_formula("9**9**9")
    assert np.all(np.isposinf(f(X)))
    g = rs.parse_formula("x**(9**9**9) + (10**400)*0")
    g(X)
    assert time.perf_counter() - t0 < 2.0
    # and a target that is infinite is refused when data are made from it
    with pytest.raises(rs.DataError, match="not finite"):
        rs.make_dataset("9**9**9", 10, 0.1, 0)


def test_evaluation_never_warns():
    f = rs.parse_formula("log(x) + 1/x + sqrt(x - 2)")
    with np.errstate(all="raise"):
        out = f(X)
    assert np.isnan(out[1:]).all() and not np.isfinite(out[0])
