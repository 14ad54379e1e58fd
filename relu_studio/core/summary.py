"""Summaries of an experiment grid: the results table (final and best MSE per width and mode,
median and quartiles over seeds), loss bands per cell, elbow trajectories, the shared timeline."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import read_only
from .experiment import ExperimentResult, optimizer_label
from .losses import Loss
from .training import Run

__all__ = ["results_table", "METRICS", "Band", "loss_bands", "cell_bands", "elbow_trajectories",
           "grid_steps"]

METRICS = (("train_error", "train"), ("full_train_error", "full train"), ("test_error", "test"))


def results_table(result: ExperimentResult) -> list[dict]:
    """One row per (width, mode, optimizer) cell: final and best MSE per metric, median and
    quartiles over seeds. ``row["optimizer"]`` is the cell's optimizer as it trained
    (``"Adam lr 0.001"``; ``""`` for ridge), ``row["optimizer_index"]`` its place in the grid's
    optimizers (None for ridge), ``row["activation"]`` and ``row["loss"]`` its runs' (``"ReLU"``,
    ``"MSE"``; no loss for ridge): rows come width by width, mode by mode, optimizer by optimizer.

    Quartiles are numpy's 25th and 75th percentiles (linear interpolation) across seeds.
    """
    rows = []
    for w in result.widths:
        for m, o in result.columns:
            runs = [r for r in result.cell(w, m, o) if len(r)]
            if not runs:
                continue
            loss = runs[0].settings.loss
            row = {"width": w, "mode": m, "optimizer": optimizer_label(runs[0]),
                   "optimizer_index": None if o is None else result.optimizers.index(o),
                   "activation": runs[0].initial.activation.describe(),
                   "loss": "" if m == "ridge" else (loss or Loss()).describe(),
                   "seeds": len(runs), "diverged": sum(r.diverged for r in runs)}
            for attr, _label in METRICS:
                final = np.array([getattr(r, attr)[-1] for r in runs], dtype=np.float64)
                best = np.array([np.nanmin(getattr(r, attr)) for r in runs], dtype=np.float64)
                for kind, vals in (("final", final), ("best", best)):
                    q25, med, q75 = np.percentile(vals, [25, 50, 75])
                    row[f"{kind}_{attr}"] = {"median": float(med), "q25": float(q25), "q75": float(q75)}
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- bands and elbows
@dataclass(frozen=True, eq=False)
class Band:
    """One metric of one cell across seeds, per snapshot: median and quartiles.

    ``q25``, ``median`` and ``q75`` are numpy's 25th, 50th and 75th percentiles (linear
    interpolation) over the seeds at each of ``steps``. ``count[i]`` is how many seeds have snapshot
    ``i`` (fewer only where a run diverged and stopped early: those snapshots summarise the runs
    still going; the diverging step's own snapshot is left out). ``constant`` marks a cell without training (ridge): a single value at step 0,
    to be drawn as a horizontal line.
    """

    steps: np.ndarray
    q25: np.ndarray
    median: np.ndarray
    q75: np.ndarray
    count: np.ndarray
    constant: bool = False

    @property
    def seeds(self) -> int:
        return int(self.count.max()) if self.count.size else 0


def loss_bands(runs, metric: str = "test_error") -> Band:
    """Median and quartiles of ``metric`` across ``runs`` (one cell's seeds) at every snapshot.

    ``metric`` is ``"train_error"`` (the minibatch MSE), ``"full_train_error"`` or
    ``"test_error"``. The runs must share their snapshot steps (a diverged run may stop early).
    """
    names = [a for a, _ in METRICS]
    if metric not in names:
        raise ValueError(f"metric must be one of {', '.join(names)}, got {metric!r}")
    runs = [r for r in runs if len(r)]
    if not runs:
        raise ValueError("no runs with snapshots to summarise")
    longest = max(runs, key=len)
    steps = np.asarray(longest.steps, dtype=np.int64)
    m = steps.size
    if all(np.array_equal(r.steps, steps) for r in runs):
        stack = np.stack([np.asarray(getattr(r, metric), dtype=np.float64) for r in runs])
        q25, med, q75 = np.percentile(stack, [25, 50, 75], axis=0)
        count = np.full(m, len(runs), dtype=np.int64)
    else:
        # A diverged run stops early; its last snapshot (the diverging step) lies off the
        # common steps and is left out. Every other snapshot must be one of the common steps.
        stack = np.full((len(runs), m), np.nan)
        for i, r in enumerate(runs):
            rs_ = np.asarray(r.steps, dtype=np.int64)
            j = np.minimum(np.searchsorted(steps, rs_), m - 1)
            hit = steps[j] == rs_
            off = np.nonzero(~hit)[0]
            prefix = np.array_equal(j[hit], np.arange(int(hit.sum())))
            if not prefix or (off.size and not (r.diverged and off.tolist() == [len(r) - 1])):
                raise ValueError("the runs do not share their snapshot steps")
            stack[i, j[hit]] = np.asarray(getattr(r, metric), dtype=np.float64)[hit]
        q25, med, q75 = np.nanpercentile(stack, [25, 50, 75], axis=0)
        count = np.sum(~np.isnan(stack), axis=0).astype(np.int64)
    constant = all(r.settings.mode == "ridge" for r in runs)
    return Band(read_only(steps.copy()), read_only(q25), read_only(med), read_only(q75), read_only(count),
                constant)


def cell_bands(result: ExperimentResult, width: int, mode: str, optimizer=None) -> dict:
    """``{metric: Band}`` for the three metrics of one (width, mode, optimizer) cell (empty if
    no run yet; ``optimizer`` None: the grid's first)."""
    runs = [r for r in result.cell(width, mode, optimizer) if len(r)]
    if not runs:
        return {}
    return {attr: loss_bands(runs, attr) for attr, _label in METRICS}


def elbow_trajectories(run: Run, with_initial: bool = False):
    """Every unit's elbow ``-b1 / w1`` at every snapshot: ``(steps (n,), elbows (n, H))``.

    ``with_initial`` prepends step 0 with the initial network's elbows. A unit with zero slope
    has an infinite (or NaN) elbow there.
    """
    steps = np.asarray(run.steps, dtype=np.int64)
    w1 = np.asarray(run.w1, dtype=np.float64).reshape(len(steps), -1)
    b1 = np.asarray(run.b1, dtype=np.float64).reshape(len(steps), -1)
    if with_initial:
        steps = np.concatenate([[0], steps]).astype(np.int64)
        w1 = np.vstack([run.initial.w1.astype(np.float64)[None], w1])
        b1 = np.vstack([run.initial.b1.astype(np.float64)[None], b1])
    with np.errstate(divide="ignore", invalid="ignore"):
        elbows = -b1 / w1
    return steps, elbows


def grid_steps(result: ExperimentResult, expected=None) -> np.ndarray:
    """The steps a shared timeline over the grid visits: 0 (the initial networks), every
    snapshot step of every run so far, and any ``expected`` steps (sorted, unique)."""
    parts = [np.zeros(1, np.int64)] + [np.asarray(r.steps, np.int64) for r in result.runs.values()]
    if expected is not None:
        parts.append(np.asarray(expected, np.int64))
    return np.unique(np.concatenate(parts))
