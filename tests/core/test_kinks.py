"""Kinks of a target: presets exactly, formulas found numerically (checked against kinks known in
closed form)."""
import numpy as np
import pytest

from relu_studio.core.kinks import find_kinks, target_kinks
from relu_studio.core.targets import get_target, piecewise_linear

H = 1 / 20_000  # the search grid's step: kinks must be placed well inside one step


@pytest.mark.parametrize("formula, kinks", [
    ("abs(x - 0.3)", [0.3]),
    ("2*relu(x - 0.5) + x", [0.5]),
    ("x**2 + 0.01*abs(x - 0.61803)", [0.61803]),          # a small kink on a curved function
    ("abs(x - 0.25) + abs(x - 0.75)", [0.25, 0.75]),
    ("max(sin(6*x), 0.2)", [np.arcsin(0.2) / 6, (np.pi - np.arcsin(0.2)) / 6]),
    ("sin(20*x)", []),
    ("exp(-x) * cos(9*x)", []),
    ("x", []),
])
def test_formula_kinks_are_found_where_the_closed_form_puts_them(formula, kinks):
    found = target_kinks(get_target(formula))
    assert len(found) == len(kinks), found
    for f, k in zip(found, kinks):
        assert abs(f - k) < 0.05 * H, (f, k)


def test_the_notebook_target_found_numerically_matches_its_preset_kinks():
    found = find_kinks(piecewise_linear)
    preset = target_kinks(get_target("piecewise_linear"))
    interior = [k for k in preset if 0 < k < 1]
    assert np.allclose(found, interior, atol=1e-9)


def test_jumps_are_marked_once_and_rough_functions_not_at_all():
    found = target_kinks(get_target("step(x - 0.4)"))
    assert len(found) == 1 and abs(found[0] - 0.4) <= H
    assert target_kinks(get_target("floor(200*x)")) == ()  # 199 jumps: a staircase, not kinks


def test_presets_keep_their_exact_kinks():
    assert target_kinks(get_target("abs")) == (0.5,)
    assert target_kinks(get_target("sin(20x)")) == ()
