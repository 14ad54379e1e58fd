"""Training and test data: the notebook's generator and hand-edited point sets (files: core.io.data_csv)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .formula import FormulaError
from .settings import MAX_POINTS, SettingsError, check
from .targets import Target, get_target

__all__ = ["Dataset", "DataError", "make_dataset", "validated_points", "MAX_POINTS", "TEST_GRID",
           "FLOAT32_MAX"]

#: The largest magnitude a float32 holds: the network computes in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)

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
        x, y = validated_points(x, y)
        order = np.argsort(x, kind="stable")
        return replace(self, x=x[order], y=y[order], source="edited")



def validated_points(x, y):
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
    if np.abs(x).max() > FLOAT32_MAX or np.abs(y).max() > FLOAT32_MAX:
        raise DataError(f"the data contain values beyond float32's range (±{FLOAT32_MAX:.3g}), "
                        "where the network computes")
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
    try:
        n = check("n", n, "n")
        noise = check("noise", noise)
        seed = check("data_seed", seed)
    except SettingsError as exc:
        raise DataError(str(exc)) from None
    rng = np.random.RandomState(int(seed))
    x = np.sort(rng.rand(int(n), 1), axis=0).ravel()
    fx = target(x)
    with np.errstate(over="ignore", invalid="ignore"):
        y = fx + noise * rng.randn(int(n))
    x_test = np.sort(np.concatenate([x, np.linspace(0, 1, TEST_GRID)]))
    y_test = target(x_test)
    if not (np.all(np.isfinite(fx)) and np.all(np.isfinite(y_test))):
        bad = x_test[~np.isfinite(y_test)]
        where = f" (e.g. at x = {bad[0]:.4g})" if bad.size else ""
        raise DataError(f"the target '{target.spec}' is not finite everywhere on [0, 1]{where}")
    if np.abs(y_test).max() > FLOAT32_MAX:
        raise DataError(f"the target '{target.spec}' goes beyond float32's range "
                        f"(±{FLOAT32_MAX:.3g}) on [0, 1], where the network computes")
    with np.errstate(over="ignore"):
        too_big = not np.all(np.isfinite(y)) or np.abs(y).max() > FLOAT32_MAX
    if too_big:
        raise DataError(f"with noise σ = {noise:g} the targets go beyond float32's range "
                        f"(±{FLOAT32_MAX:.3g}); choose a smaller σ")
    return Dataset(x, y, x_test, y_test, target=target, noise=noise, seed=int(seed))
