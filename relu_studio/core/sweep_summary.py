"""A sweep's rows summarised for a plot: an error against one swept axis, the median and the
25-75 % band over seeds, one line per combination of the other swept settings.

Quartiles are numpy's 25th and 75th percentiles (linear interpolation), as in Compare.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .sweep_run import METRIC_COLUMNS
from .sweep_spec import SETTING_COLUMNS

__all__ = ["swept_axes", "SweepLine", "sweep_lines", "METRIC_LABELS", "X_AXES", "log_axis_apt"]

#: The axes a plot can run along (numeric settings), and the errors it can show.
X_AXES = ("width", "lr", "steps", "n", "noise", "lam")
METRIC_LABELS = {
    "final_test_mse": "final test MSE", "best_test_mse": "best test MSE",
    "final_full_train_mse": "final full-train MSE", "best_full_train_mse": "best full-train MSE",
    "final_train_mse": "final minibatch MSE", "best_train_mse": "best minibatch MSE",
}
assert set(METRIC_LABELS) == set(METRIC_COLUMNS)


def swept_axes(rows: list[dict]) -> tuple:
    """The settings columns with more than one value in ``rows`` (seed included; a blank cell,
    a setting the row's mode does not use, is no value)."""
    return tuple(c for c in SETTING_COLUMNS if len({r.get(c, "") for r in rows} - {""}) > 1)


@dataclass(frozen=True, eq=False)
class SweepLine:
    """One line of the plot: the other settings it holds (``label``, ``fixed``), and per x value
    the median and quartiles over the rows there (seeds), and those rows."""

    label: str
    fixed: dict
    x: np.ndarray
    median: np.ndarray
    q25: np.ndarray
    q75: np.ndarray
    rows: tuple  # per x value: the rows (dicts) it summarises

    def nearest_row(self, i: int, value: float | None = None) -> dict:
        """The row at x index ``i`` whose error is closest to ``value`` (default: the median)."""
        rows = self.rows[i]
        target = self.median[i] if value is None else value
        return min(rows, key=lambda r: abs(_num(r.get("_metric", "nan")) - target))


def _num(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def log_axis_apt(values) -> bool:
    """A log axis suits values that are all > 0 and span more than a factor of 20."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    return bool(v.size and v.min() > 0 and v.max() / v.min() > 20)


def sweep_lines(rows: list[dict], x_axis: str, metric: str = "final_test_mse") -> list[SweepLine]:
    """Lines of ``metric`` against ``x_axis``: rows grouped by the other swept settings (the seed
    is what the band is over), x ascending; rows whose x is blank (a ridge row on an lr axis)
    or whose error is not finite are left out."""
    if metric not in METRIC_COLUMNS:
        raise ValueError(f"unknown error column {metric!r}")
    others = [c for c in swept_axes(rows) if c not in (x_axis, "seed")]
    groups: dict = {}
    for r in rows:
        x, y = _num(r.get(x_axis)), _num(r.get(metric))
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        key = tuple(r.get(c, "") for c in others)
        groups.setdefault(key, {}).setdefault(x, []).append({**r, "_metric": r.get(metric)})
    lines = []
    for key in sorted(groups, key=lambda k: tuple((_num(v), v) for v in k)):
        by_x = groups[key]
        xs = np.array(sorted(by_x), dtype=np.float64)
        stats = np.array([np.percentile([_num(r[metric]) for r in by_x[x]], [25, 50, 75])
                          for x in xs])
        fixed = dict(zip(others, key))
        label = ", ".join(f"{c} {v if v != '' else '—'}" for c, v in fixed.items()) or "all runs"
        lines.append(SweepLine(label, fixed, xs, stats[:, 1], stats[:, 0], stats[:, 2],
                               tuple(tuple(by_x[x]) for x in xs)))
    return lines
