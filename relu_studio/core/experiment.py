"""The notebook's study as a grid: widths x modes x seeds, run on all cores, summarised in a table.

Each (width, seed) starts every mode from the *same* initial network, as the notebook does.
Mode "ridge" solves the output layer in closed form on the initial features (no SGD); it is
stored as a one-snapshot :class:`Run` at step 0 so every mode is summarised the same way.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from .dataset import Dataset
from .network import Network, init_network
from .ridge import DEFAULT_LAMBDA, fit_ridge
from .training import DEFAULT_LR, Run, Trainer, TrainingError, TrainSettings

__all__ = ["ExperimentResult", "run_experiment", "results_table", "format_table", "ALL_MODES",
           "ridge_run", "METRICS", "table_headers", "table_cells", "format_stat", "TABLE_KINDS",
           "results_csv", "results_csv_columns", "write_results_csv", "Band", "loss_bands",
           "cell_bands", "elbow_trajectories", "grid_steps", "experiment_from_runs"]

ALL_MODES = ("output", "all", "ridge")
METRICS = (("train_error", "train"), ("full_train_error", "full train"), ("test_error", "test"))
PROGRESS_CHUNK = 10_000


def progress_chunk(width: int) -> int:
    """Steps between progress reports and cancel checks: PROGRESS_CHUNK up to width 64, then
    fewer, so that a cancel takes effect within a fraction of a second at any width."""
    return max(500, min(PROGRESS_CHUNK, PROGRESS_CHUNK * 64 // max(int(width), 1)))


def _mse(net: Network, x, y) -> float:
    return float(np.mean((net.predict(x) - np.asarray(y)) ** 2))


def ridge_run(net: Network, data: Dataset, lam: float = DEFAULT_LAMBDA, seed: int = 0) -> Run:
    """The ridge fit of ``net``'s output layer as a one-snapshot run at step 0."""
    fitted = fit_ridge(net, data, lam)
    full = _mse(fitted, data.x, data.y)

    def one(a):
        a = np.asarray(a)[None]
        a.flags.writeable = False
        return a

    return Run(
        initial=net, settings=TrainSettings("ridge", 0.0, 0, None, 1, seed),
        steps=one(np.int64(0)), train_error=one(full), full_train_error=one(full),
        test_error=one(_mse(fitted, data.x_test, data.y_test)), w1=one(fitted.w1),
        b1=one(fitted.b1), w2=one(fitted.w2), b2=one(np.float32(fitted.b2)),
        completed_steps=0, extra={"lam": float(lam)}, lrs=one(np.nan),
    )


@dataclass
class ExperimentResult:
    """Runs keyed by ``(width, mode, seed)``; ``cancelled`` is True if the grid was stopped early."""

    data: Dataset
    widths: tuple
    modes: tuple
    seeds: tuple
    runs: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)  # (width, seed) -> Network
    cancelled: bool = False

    def cell(self, width: int, mode: str) -> list[Run]:
        return [self.runs[(width, mode, s)] for s in self.seeds if (width, mode, s) in self.runs]


def run_experiment(data: Dataset, widths: Iterable[int] = (10, 20, 40),
                   modes: Iterable[str] = ALL_MODES, seeds=1, steps: int = 150_000,
                   save_every: int = 1000, lr_output: float = DEFAULT_LR["output"],
                   lr_all: float = DEFAULT_LR["all"], batch_size: int | None = None,
                   lam: float = DEFAULT_LAMBDA, jobs: int | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None,
                   on_run: Callable[[tuple, Run], None] | None = None,
                   initial: Network | None = None) -> ExperimentResult:
    """Run the grid. ``seeds`` is a count (seeds 0..k-1) or an explicit list.

    ``progress(done_steps, total_steps)`` is called from worker threads; ``cancel`` stops the grid
    between chunks (finished runs are kept); ``on_run(key, run)`` reports each finished run.
    ``initial`` (e.g. a network read from a ``.pt`` file) replaces the notebook's initial network
    for every seed; the grid then has that network's width only, and a seed only chooses the
    minibatches.
    """
    if initial is not None:
        widths = (initial.width,)
    widths = tuple(int(w) for w in widths)
    modes = tuple(str(m).lower() for m in modes)
    bad = [m for m in modes if m not in ALL_MODES]
    if bad:
        raise TrainingError(f"unknown mode(s) {bad}; choose from {', '.join(ALL_MODES)}")
    if not widths or not modes:
        raise TrainingError("choose at least one width and one mode")
    seeds = tuple(range(int(seeds))) if isinstance(seeds, (int, np.integer)) else tuple(int(s) for s in seeds)
    if not seeds:
        raise TrainingError("choose at least one seed")
    result = ExperimentResult(data, widths, modes, seeds)
    for w in widths:
        for s in seeds:
            result.initial[(w, s)] = initial if initial is not None else init_network(w, s)
    for m in modes:  # validate settings up front, so a bad value fails before any work
        if m != "ridge":
            TrainSettings(m, lr_output if m == "output" else lr_all, steps, batch_size,
                          save_every, 0).resolved(data.n)

    sgd = [(w, m, s) for w in widths for m in modes if m != "ridge" for s in seeds]
    total = len(sgd) * steps
    done = [0]
    lock = threading.Lock()

    def report(k):
        with lock:
            done[0] += k
            d = done[0]
        if progress is not None:
            progress(d, total)

    for w in widths:
        for s in seeds:
            if "ridge" in modes:
                run = ridge_run(result.initial[(w, s)], data, lam, s)
                result.runs[(w, "ridge", s)] = run
                if on_run:
                    on_run((w, "ridge", s), run)

    def task(key):
        w, m, s = key
        trainer = Trainer(result.initial[(w, s)], data, mode=m,
                          lr=lr_output if m == "output" else lr_all, steps=steps,
                          batch_size=batch_size, save_every=save_every, seed=s)
        while not trainer.done:
            if cancel is not None and cancel.is_set():
                return key, None
            report(trainer.advance(progress_chunk(w)))
        return key, trainer.result()

    # Biggest runs first, so the cores finish together.
    order = sorted(sgd, key=lambda k: (-(k[0] * (2 if k[1] == "all" else 1)), k))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(order) or 1))
    if order:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="relu-grid") as pool:
            for fut in as_completed([pool.submit(task, k) for k in order]):
                key, run = fut.result()
                if run is None:
                    continue
                result.runs[key] = run
                if on_run:
                    on_run(key, run)
    result.cancelled = bool(cancel is not None and cancel.is_set()) and len(result.runs) < (
        len(sgd) + (len(widths) * len(seeds) if "ridge" in modes else 0)
    )
    return result


def results_table(result: ExperimentResult) -> list[dict]:
    """One row per (width, mode): final and best MSE per metric, median and quartiles over seeds.

    Quartiles are numpy's 25th and 75th percentiles (linear interpolation) across seeds.
    """
    rows = []
    for w in result.widths:
        for m in result.modes:
            runs = [r for r in result.cell(w, m) if len(r)]
            if not runs:
                continue
            row = {"width": w, "mode": m, "seeds": len(runs),
                   "diverged": sum(r.diverged for r in runs)}
            for attr, _label in METRICS:
                final = np.array([getattr(r, attr)[-1] for r in runs], dtype=np.float64)
                best = np.array([np.nanmin(getattr(r, attr)) for r in runs], dtype=np.float64)
                for kind, vals in (("final", final), ("best", best)):
                    q25, med, q75 = np.percentile(vals, [25, 50, 75])
                    row[f"{kind}_{attr}"] = {"median": float(med), "q25": float(q25), "q75": float(q75)}
            rows.append(row)
    return rows


def table_headers(kind: str = "final") -> list[str]:
    """Column titles of the results table (the CLI's printout and the Compare view's table)."""
    return ["width", "mode", "seeds"] + [f"{kind} {label} MSE" for _a, label in METRICS]


def format_stat(stats: dict, seeds: int) -> str:
    """One table cell: the median, with ``[q25, q75]`` when there are several seeds."""
    return (f"{stats['median']:.4g}" if seeds == 1 else
            f"{stats['median']:.4g} [{stats['q25']:.3g}, {stats['q75']:.3g}]")


def table_cells(row: dict, kind: str = "final") -> list[str]:
    """The text cells of one row of :func:`results_table`, as :func:`format_table` prints them."""
    cells = [str(row["width"]), row["mode"], str(row["seeds"])]
    for attr, _label in METRICS:
        cells.append(format_stat(row[f"{kind}_{attr}"], row["seeds"]))
    if row.get("diverged"):
        cells[1] += f" ({row['diverged']} diverged)"
    return cells


def format_table(rows: list[dict], kind: str = "final") -> str:
    """A plain-text table: median [q25, q75] of each metric per width and mode."""
    heads = table_headers(kind)
    body = [table_cells(r, kind) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)]
    line = lambda cells: "  ".join(c.rjust(widths[i]) if i != 1 else c.ljust(widths[i]) for i, c in enumerate(cells))  # noqa: E731
    out = [line(heads), line(["-" * w for w in widths])]
    out += [line(b) for b in body]
    return "\n".join(out)


# --------------------------------------------------------------------------- results as CSV
#: The kinds of summary in the results table: the last snapshot's error, or the lowest seen.
TABLE_KINDS = ("final", "best")
#: Column-name stems of the metrics in ``results.csv`` (the CLI's file and the Compare view's export).
CSV_METRIC_NAMES = (("train_error", "train"), ("full_train_error", "full_train"), ("test_error", "test"))
CSV_STATS = ("median", "q25", "q75")


def results_csv_columns() -> list[str]:
    """``width, mode, seeds``, then ``{metric}_{kind}_{stat}`` for every metric, kind and stat,
    then ``diverged``."""
    head = ["width", "mode", "seeds"]
    for _attr, name in CSV_METRIC_NAMES:
        for kind in TABLE_KINDS:
            head += [f"{name}_{kind}_{stat}" for stat in CSV_STATS]
    head.append("diverged")
    return head


def results_csv(rows: list[dict]) -> str:
    """The rows of :func:`results_table` as CSV text, every number at full float64 precision."""
    lines = [",".join(results_csv_columns())]
    for r in rows:
        cells = [str(r["width"]), r["mode"], str(r["seeds"])]
        for attr, _name in CSV_METRIC_NAMES:
            for kind in TABLE_KINDS:
                stats = r[f"{kind}_{attr}"]
                cells += [repr(float(stats[stat])) for stat in CSV_STATS]
        cells.append(str(r.get("diverged", 0)))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def write_results_csv(result_or_rows, path):
    """Write :func:`results_csv` of an :class:`ExperimentResult` (or of its table rows) to
    ``path`` atomically; returns the path."""
    from .history_io import atomic_write_text

    rows = results_table(result_or_rows) if isinstance(result_or_rows, ExperimentResult) else result_or_rows
    return atomic_write_text(path, results_csv(rows))


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


def _frozen(a):
    a = np.asarray(a)
    a.setflags(write=False)
    return a


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
    return Band(_frozen(steps.copy()), _frozen(q25), _frozen(med), _frozen(q75), _frozen(count),
                constant)


def cell_bands(result: ExperimentResult, width: int, mode: str) -> dict:
    """``{metric: Band}`` for the three metrics of one (width, mode) cell (empty if no run yet)."""
    runs = [r for r in result.cell(width, mode) if len(r)]
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


def experiment_from_runs(data: Dataset, runs: dict, widths=None, modes=None,
                         seeds=None) -> ExperimentResult:
    """An :class:`ExperimentResult` rebuilt from finished runs keyed ``(width, mode, seed)``
    (e.g. loaded from a session file). The orders default to widths and seeds ascending and the
    modes in :data:`ALL_MODES` order; ``cancelled`` is True if some cell of the grid has no run."""
    keys = [(int(w), str(m), int(s)) for (w, m, s) in runs]
    widths = tuple(int(w) for w in widths) if widths is not None else tuple(sorted({k[0] for k in keys}))
    if modes is None:
        present = {k[1] for k in keys}
        modes = tuple(m for m in ALL_MODES if m in present) + tuple(sorted(present - set(ALL_MODES)))
    modes = tuple(str(m) for m in modes)
    seeds = tuple(int(s) for s in seeds) if seeds is not None else tuple(sorted({k[2] for k in keys}))
    result = ExperimentResult(data, widths, modes, seeds)
    for (w, m, s), run in zip(keys, runs.values()):
        result.runs[(w, m, s)] = run
        result.initial.setdefault((w, s), run.initial)
    result.cancelled = any((w, m, s) not in result.runs for w in widths for m in modes for s in seeds)
    return result
