"""Training and test data: the notebook's generator, CSV files, and hand-edited point sets."""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .formula import FormulaError
from .targets import Target, get_target

__all__ = ["Dataset", "DataError", "make_dataset", "load_csv", "MAX_POINTS", "TEST_GRID"]

MAX_POINTS = 1_000_000
#: The notebook's extra test inputs: ``linspace(0, 1, 1000)``.
TEST_GRID = 1000


class DataError(ValueError):
    """Data that cannot be used; the message says why."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training points ``(x, y)`` (x sorted) and the test set ``(x_test, y_test)``.

    For generated data the test set is the notebook's: the training inputs plus
    ``linspace(0, 1, 1000)``, sorted, with noise-free targets. ``target`` is None for data read
    from a file; then the test set is the training set itself.
    """

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    target: Target | None = None
    noise: float = 0.0
    seed: int | None = None
    source: str = "generated"
    extra: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for name in ("x", "y", "x_test", "y_test"):
            a = np.array(getattr(self, name), dtype=np.float64, copy=True).ravel()
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        if self.x.shape != self.y.shape:
            raise DataError(f"x has {self.x.size} values but y has {self.y.size}")
        if self.x_test.shape != self.y_test.shape:
            raise DataError("the test inputs and targets differ in length")

    @property
    def n(self) -> int:
        return int(self.x.size)

    @property
    def noise_floor(self) -> float:
        """σ², the expected MSE of the true function on noisy training data."""
        return float(self.noise) ** 2

    def truth(self, x) -> np.ndarray | None:
        """The noise-free target at ``x`` (None when the data came from a file)."""
        return None if self.target is None else self.target(np.asarray(x, dtype=np.float64))

    def with_points(self, x, y) -> "Dataset":
        """The same data set with its training points replaced (hand edits); the test set stays."""
        x, y = _validated_xy(x, y)
        order = np.argsort(x, kind="stable")
        return replace(self, x=x[order], y=y[order], source="edited")

    def to_csv(self) -> str:
        """The training points as CSV text with an ``x,y`` header (full float64 precision)."""
        buf = io.StringIO()
        buf.write("x,y\n")
        for xi, yi in zip(self.x, self.y):
            buf.write(f"{float(xi)!r},{float(yi)!r}\n")  # float(): numpy 2 reprs are np.float64(...)
        return buf.getvalue()


def _validated_xy(x, y):
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise DataError(f"x has {x.size} values but y has {y.size}")
    if x.size == 0:
        raise DataError("the data set has no points")
    if x.size > MAX_POINTS:
        raise DataError(f"too many points ({x.size}; at most {MAX_POINTS})")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise DataError("the data contain NaN or infinite values")
    return x, y


def make_dataset(target="piecewise_linear", n: int = 200, noise: float = 0.1, seed: int = 1) -> Dataset:
    """The notebook's data: ``rng = RandomState(seed)``; ``X = sort(rng.rand(n))``;
    ``y = f(X) + noise * rng.randn(n)``; test inputs = X plus ``linspace(0, 1, 1000)``, sorted,
    with targets ``f(x_test)``. ``target`` is a preset name, a formula in x, or a :class:`Target`.
    """
    if not isinstance(target, Target):
        try:
            target = get_target(target)
        except FormulaError as exc:
            raise DataError(f"target: {exc}") from None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_POINTS:
        raise DataError(f"n must be a whole number between 1 and {MAX_POINTS}, got {n!r}")
    noise = float(noise)
    if not math.isfinite(noise) or noise < 0:
        raise DataError(f"the noise σ must be a finite number >= 0, got {noise}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise DataError(f"the data seed must be a whole number in [0, 2**32), got {seed!r}")
    rng = np.random.RandomState(int(seed))
    x = np.sort(rng.rand(int(n), 1), axis=0).ravel()
    fx = target(x)
    y = fx + noise * rng.randn(int(n))
    x_test = np.sort(np.concatenate([x, np.linspace(0, 1, TEST_GRID)]))
    y_test = target(x_test)
    if not (np.all(np.isfinite(fx)) and np.all(np.isfinite(y_test))):
        bad = x_test[~np.isfinite(y_test)]
        where = f" (e.g. at x = {bad[0]:.4g})" if bad.size else ""
        raise DataError(f"the target '{target.spec}' is not finite everywhere on [0, 1]{where}")
    return Dataset(x, y, x_test, y_test, target=target, noise=noise, seed=int(seed))


def load_csv(path_or_text, *, is_text: bool = False) -> Dataset:
    """Read ``x,y`` points from a CSV file (a header row is optional; extra columns are refused).

    The test set is the training set itself (a file has no ground truth).
    """
    if is_text:
        text, name = str(path_or_text), "the CSV text"
    else:
        path = Path(path_or_text)
        name = path.name
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read {name}: {exc.strerror or exc}") from None
        if len(raw) > 200 * 1024 * 1024:
            raise DataError(f"{name} is too large for a data set")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"{name} is not a UTF-8 text file") from None
    xs, ys = [], []
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    for lineno, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        cells = [c.strip() for c in row if c.strip() != ""]
        if not cells or cells[0].startswith("#"):
            continue
        if len(cells) != 2:
            raise DataError(f"{name}, line {lineno}: expected two columns x,y, found {len(cells)}")
        try:
            xv, yv = float(cells[0]), float(cells[1])
        except ValueError:
            if not xs:  # a header row
                continue
            raise DataError(f"{name}, line {lineno}: '{cells[0]},{cells[1]}' is not a pair of numbers") from None
        xs.append(xv)
        ys.append(yv)
    if not xs:
        raise DataError(f"{name} contains no x,y points")
    try:
        x, y = _validated_xy(xs, ys)
    except DataError as exc:
        raise DataError(f"{name}: {exc}") from None
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    return Dataset(x, y, x.copy(), y.copy(), target=None, noise=0.0, seed=None, source="csv")
