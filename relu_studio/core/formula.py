"""Typed target formulas in ``x``, parsed and evaluated by a whitelist (never ``eval``).

The text is parsed into Python's syntax tree, every node is checked against a short whitelist,
and the tree is walked by our own evaluator on float64 numpy arrays. Anything else (attributes,
subscripts, lambdas, comprehensions, unknown names or functions) is refused with one message
naming the problem.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Formula", "FormulaError", "parse_formula", "FUNCTIONS", "CONSTANTS"]

MAX_LENGTH = 500
MAX_DEPTH = 60

FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "exp": np.exp, "log": np.log,
    "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt, "abs": np.abs, "sign": np.sign,
    "floor": np.floor, "ceil": np.ceil, "round": np.round,
    "relu": lambda a: np.maximum(a, 0.0),
    "step": lambda a: (a >= 0).astype(np.float64),
    "frac": lambda a: a - np.floor(a),
}
BINARY_FUNCTIONS = {"min": np.minimum, "max": np.maximum, "atan2": np.arctan2, "mod": np.mod}
CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}

_BINOPS = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
    ast.Pow: np.power, ast.Mod: np.mod,
}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}
_COMPARE = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal}


class FormulaError(ValueError):
    """A typed formula that cannot be used; the message says why."""


@dataclass(frozen=True)
class Formula:
    """A validated formula; call it with an array of x values."""

    text: str
    _tree: ast.Expression

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            out = _evaluate(self._tree.body, x)
        return np.broadcast_to(np.asarray(out, dtype=np.float64), x.shape).copy()


def parse_formula(text: str) -> Formula:
    """Parse ``text`` (e.g. ``"sin(2*pi*x) + 0.3*x"``) into a :class:`Formula` or raise FormulaError."""
    if not isinstance(text, str):
        raise FormulaError("the formula must be text")
    src = text.strip().replace("^", "**")
    if not src:
        raise FormulaError("the formula is empty; type an expression in x, e.g. sin(2*pi*x)")
    if len(src) > MAX_LENGTH:
        raise FormulaError(f"the formula is too long ({len(src)} characters, at most {MAX_LENGTH})")
    if "\0" in src:  # Python 3.10's ast.parse raises ValueError (not SyntaxError) for these
        raise FormulaError("the formula is not a valid expression: it contains a null character")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        col = f" at character {exc.offset}" if exc.offset else ""
        raise FormulaError(f"the formula is not a valid expression{col}: {exc.msg}") from None
    _check(tree.body, 0)
    formula = Formula(text.strip(), tree)
    # Evaluate once on a probe grid so type problems surface now, not when drawing.
    formula(np.linspace(0.0, 1.0, 5))
    return formula


def _check(node: ast.AST, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise FormulaError("the formula is nested too deeply")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise FormulaError(f"only numbers may appear as constants, not {node.value!r}")
        try:
            float(node.value)
        except OverflowError:  # an integer literal beyond the float range
            raise FormulaError(
                f"the number {str(node.value)[:12]}... is too large; write it as a decimal like 1e300"
            ) from None
    elif isinstance(node, ast.Name):
        if node.id != "x" and node.id not in CONSTANTS:
            hint = " (it is a function: call it, e.g. sin(x))" if node.id in FUNCTIONS else ""
            raise FormulaError(
                f"unknown name '{node.id}'{hint}; use x, {', '.join(CONSTANTS)} and functions"
            )
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise FormulaError(f"the operator '{type(node.op).__name__}' is not allowed")
        _check(node.left, depth + 1)
        _check(node.right, depth + 1)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise FormulaError(f"the operator '{type(node.op).__name__}' is not allowed")
        _check(node.operand, depth + 1)
    elif isinstance(node, ast.Compare):
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            raise FormulaError("only single comparisons <, <=, >, >= are allowed (they give 0 or 1)")
        _check(node.left, depth + 1)
        _check(node.comparators[0], depth + 1)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise FormulaError("only plain function calls like sin(x) are allowed")
        name = node.func.id
        if node.keywords:
            raise FormulaError(f"{name}() takes no keyword arguments")
        if name in FUNCTIONS:
            arity = 1
        elif name in BINARY_FUNCTIONS:
            arity = 2
        else:
            known = ", ".join(sorted([*FUNCTIONS, *BINARY_FUNCTIONS]))
            raise FormulaError(f"unknown function '{name}'; known functions: {known}")
        if len(node.args) != arity:
            raise FormulaError(f"{name}() takes {arity} argument{'s' if arity > 1 else ''}, got {len(node.args)}")
        for a in node.args:
            _check(a, depth + 1)
    else:
        raise FormulaError(f"'{type(node).__name__}' is not allowed in a formula")


def _evaluate(node: ast.AST, x: np.ndarray):
    if isinstance(node, ast.Constant):
        return float(node.value)  # floats only: 9**9**9 overflows to inf instead of hanging
    if isinstance(node, ast.Name):
        return x if node.id == "x" else CONSTANTS[node.id]
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_evaluate(node.left, x), _evaluate(node.right, x))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, x))
    if isinstance(node, ast.Compare):
        op = _COMPARE[type(node.ops[0])]
        return op(_evaluate(node.left, x), _evaluate(node.comparators[0], x)).astype(np.float64)
    if isinstance(node, ast.Call):
        args = [_evaluate(a, x) for a in node.args]
        fn = FUNCTIONS.get(node.func.id) or BINARY_FUNCTIONS[node.func.id]
        return fn(*[np.asarray(a, dtype=np.float64) for a in args])
    raise FormulaError(f"'{type(node).__name__}' is not allowed in a formula")  # pragma: no cover
