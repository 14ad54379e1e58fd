"""Running a sweep: runs -> tidy result rows, batched, on any executor, resumable.

One run gives one row: its settings (:data:`~.sweep_spec.SETTING_COLUMNS`) and final and best
minibatch-train, full-train and test MSE, where it diverged, and the model-steps per second of
the batch that trained it. A row depends only on the run's settings (the data, the initial
network and the minibatches all come from them), so a local pool and a Dask cluster write the
same rows bit for bit -- except ``steps_per_s``, a measurement (:data:`TIMING_COLUMNS`).

The runs are trained through the core's public grid API (:func:`~.experiment.run_experiment`,
which trains the SGD runs and fits ridge), a batch of runs with the same data and settings per
call, so a faster grid kernel speeds sweeps up too.

:func:`run_sweep` plans the runs, skips those already in the results file (resume), sends the
rest in batches to an executor (:class:`LocalExecutor` here; :mod:`.sweep_dask` for a Dask
cluster), and rewrites the results file atomically as rows arrive (at most once a second, and
at the end): a crash or a kill loses at most that second's rows, never the file.
"""
from __future__ import annotations

import csv
import functools
import io
import math
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .settings import DEFAULT_LAMBDA, DEFAULT_LR
from .sweep_spec import SETTING_COLUMNS, RunSpec, SweepError, SweepSpec, expand, format_value

__all__ = ["RESULT_COLUMNS", "METRIC_COLUMNS", "TIMING_COLUMNS", "COLUMNS", "run_batch",
           "make_batches", "train_run", "SweepResults", "LocalExecutor", "run_sweep",
           "SweepOutcome", "read_results", "RESULTS_CSV", "RESULTS_PARQUET", "HISTORIES",
           "parquet_available", "dataset_of"]

#: The error columns of a row, final and best (lowest over the snapshots) of each metric.
METRIC_COLUMNS = ("final_train_mse", "best_train_mse", "final_full_train_mse",
                  "best_full_train_mse", "final_test_mse", "best_test_mse")
RESULT_COLUMNS = (*METRIC_COLUMNS, "diverged_at", "message", "run_id")
#: Measured, not computed: the only columns that differ between two runs of the same sweep.
TIMING_COLUMNS = ("steps_per_s",)
COLUMNS = (*SETTING_COLUMNS, *RESULT_COLUMNS, *TIMING_COLUMNS)
RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
HISTORIES = "histories"
#: Rows are rewritten to disk at most this often (seconds) while a sweep runs.
FLUSH_INTERVAL = 1.0
#: A batch holds about this much work (in :attr:`RunSpec.cost` units: ~0.2 s on one core) ...
BATCH_COST = 1.5e7
#: ... and at most this many runs.
MAX_BATCH_RUNS = 2000
_ATTRS = (("train_error", "train"), ("full_train_error", "full_train"), ("test_error", "test"))


@functools.lru_cache(maxsize=32)
def _dataset(target: str, n: int, noise: float, data_seed: int):
    from .dataset import make_dataset

    return make_dataset(target, n, noise, data_seed)


def dataset_of(run_spec: RunSpec):
    """The data set a run trains on (made once per process for each data setting)."""
    return _dataset(*run_spec.data_key)


def _float(v) -> str:
    return repr(float(v))


def _row(run_spec: RunSpec, run, rate: float | None) -> dict:
    row = run_spec.settings_row()
    for attr, name in _ATTRS:
        values = np.asarray(getattr(run, attr), dtype=np.float64)
        row[f"final_{name}_mse"] = _float(values[-1])
        with np.errstate(invalid="ignore"):
            best = np.nanmin(values) if np.any(np.isfinite(values)) else math.nan
        row[f"best_{name}_mse"] = _float(best)
    row["diverged_at"] = "" if run.diverged_at is None else str(int(run.diverged_at))
    row["message"] = run.message or ""
    row["run_id"] = run_spec.run_id
    row["steps_per_s"] = "" if rate is None else f"{rate:.0f}"
    return row


def _failed_row(run_spec: RunSpec, why: str) -> dict:
    row = run_spec.settings_row()
    row.update({c: "nan" for c in METRIC_COLUMNS})
    row.update(diverged_at="", message=f"no run: {why}", run_id=run_spec.run_id, steps_per_s="")
    return row


def _groups(runs: Iterable[RunSpec]) -> list[tuple[tuple, list[int], list[RunSpec]]]:
    """Runs grouped so each group is one run_experiment call: same data and settings, a full
    product of widths (at most 12) x seeds (at most 1000)."""
    by_setting: dict = {}
    for r in runs:
        k = (r.data_key, r.mode, r.lr, r.steps, r.batch_size, r.save_every, r.lam)
        by_setting.setdefault(k, {}).setdefault(r.width, []).append(r)
    out = []
    for k, widths in by_setting.items():
        by_seeds: dict = {}
        for w, rs in widths.items():
            by_seeds.setdefault(tuple(r.seed for r in rs), []).append(w)
        for seeds, ws in by_seeds.items():
            for i in range(0, len(ws), 12):
                for j in range(0, len(seeds), 1000):
                    chunk_w, chunk_s = ws[i:i + 12], list(seeds[j:j + 1000])
                    members = [r for w in chunk_w for r in widths[w] if r.seed in set(chunk_s)]
                    out.append((k, chunk_w, members))
    return out


def run_batch(runs: list[RunSpec], jobs: int = 1, cancel: threading.Event | None = None,
              histories: bool = False) -> list[tuple[dict, bytes | None]]:
    """Train ``runs`` and return ``(row, history)`` for each finished one (``history``: the
    run's ``.npz`` bytes if asked for, else None). Runs cancelled before they finished are
    left out. Used on whatever process runs the batch (a thread here, a Dask worker there)."""
    from .experiment import grid_key, run_experiment
    from .io.run_files import run_to_npz_bytes

    out = []
    for (data_key, mode, lr, steps, batch, save_every, lam), widths, members in _groups(runs):
        if cancel is not None and cancel.is_set():
            break
        try:
            data = _dataset(*data_key)
        except ValueError as exc:
            out.extend((_failed_row(r, str(exc)), None) for r in members)
            continue
        seeds = sorted({r.seed for r in members})
        lr_value = lr if lr is not None else DEFAULT_LR["all"]
        t0 = time.perf_counter()
        result = run_experiment(
            data, widths=tuple(widths), modes=(mode,), seeds=seeds,
            steps=steps or 1, save_every=save_every or 1, lr_output=lr_value, lr_all=lr_value,
            batch_size=batch, lam=DEFAULT_LAMBDA if lam is None else lam, jobs=jobs, cancel=cancel)
        wall = time.perf_counter() - t0
        rate = None
        if mode != "ridge" and wall > 0:
            rate = steps * sum(1 for r in members if result.run(r.width, mode, None, r.seed) is not None) / wall
        for r in members:
            key = grid_key(r.width, mode, result.optimizers[0], r.seed)
            run = result.runs.get(key)
            if run is None:
                why = result.failures.get(key)
                if why is not None:
                    out.append((_failed_row(r, why), None))
                continue
            out.append((_row(r, run, rate), run_to_npz_bytes(run) if histories else None))
    return out


def train_run(run_spec: RunSpec):
    """``(data, initial_network, run)`` of one run with its whole history (e.g. to open a
    sweep's row in the studio when no history was kept). Same numbers as the sweep's row."""
    from .experiment import grid_key, run_experiment

    data = _dataset(*run_spec.data_key)
    lr = run_spec.lr if run_spec.lr is not None else DEFAULT_LR["all"]
    result = run_experiment(
        data, widths=(run_spec.width,), modes=(run_spec.mode,), seeds=[run_spec.seed],
        steps=run_spec.steps or 1, save_every=run_spec.save_every or 1, lr_output=lr, lr_all=lr,
        batch_size=run_spec.batch_size,
        lam=DEFAULT_LAMBDA if run_spec.lam is None else run_spec.lam, jobs=1)
    key = grid_key(run_spec.width, run_spec.mode, result.optimizers[0], run_spec.seed)
    if key not in result.runs:
        raise SweepError(result.failures.get(key, "the run did not finish"))
    return data, result.initial[(run_spec.width, run_spec.seed)], result.runs[key]


def make_batches(runs: list[RunSpec], workers: int = 1, batch_cost: float = BATCH_COST,
                 max_runs: int = MAX_BATCH_RUNS) -> list[list[RunSpec]]:
    """Runs in batches of about ``batch_cost`` work (fewer when there is little work, so every
    worker gets several), neighbours in the plan kept together (they share data and settings)."""
    if not runs:
        return []
    total = sum(r.cost for r in runs)
    target = max(min(batch_cost, total / max(1, 4 * workers)), 1.0)
    batches, cur, cost = [], [], 0.0
    for r in runs:
        if cur and (cost + r.cost > target or len(cur) >= max_runs):
            batches.append(cur)
            cur, cost = [], 0.0
        cur.append(r)
        cost += r.cost
    if cur:
        batches.append(cur)
    return batches


# --------------------------------------------------------------------------- the results file
def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def _typed_columns(rows: list[dict], columns) -> dict:
    """Column -> list of Python values (ints, floats or str; None for an empty cell)."""
    int_cols = {"n", "data_seed", "width", "steps", "batch_size", "save_every", "seed",
                "diverged_at"}
    float_cols = {"noise", "lr", "lam", "steps_per_s", *METRIC_COLUMNS}
    out = {}
    for c in columns:
        vals = [r.get(c, "") for r in rows]
        if c in int_cols:
            out[c] = [int(v) if v != "" else None for v in vals]
        elif c in float_cols:
            out[c] = [float(v) if v != "" else None for v in vals]
        else:
            out[c] = [str(v) for v in vals]
    return out


def read_results(path) -> list[dict]:
    """The rows of a sweep's results file (CSV, or Parquet when pyarrow is installed) as dicts of
    text, as the CSV holds them. SweepError if the file cannot be read or is not a sweep's."""
    from .budget import BudgetError, check_regular_file

    path = Path(path)
    try:
        check_regular_file(path, f"the results file {path.name}", 200 * 2**20)
    except BudgetError as exc:
        raise SweepError(str(exc)) from None
    except OSError as exc:
        raise SweepError(f"{path.name}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".parquet":
        if not parquet_available():
            raise SweepError(f"{path.name}: reading Parquet needs pyarrow (pip install pyarrow); "
                             f"open the {RESULTS_CSV} beside it instead")
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow's errors have many types
            raise SweepError(f"{path.name}: not a readable Parquet file: {exc}") from None
        cols = table.column_names
        data = table.to_pydict()
        rows = [{c: format_value(data[c][i]) if data[c][i] is not None else "" for c in cols}
                for i in range(table.num_rows)]
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SweepError(f"{path.name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        reader = csv.DictReader(io.StringIO(text))
        cols = reader.fieldnames or []
        rows = [dict(r) for r in reader]
    missing = [c for c in SETTING_COLUMNS if c not in cols]
    if missing:
        raise SweepError(f"{path.name}: not a sweep's results (no column {missing[0]!r})")
    for r in rows:
        if None in r or any(v is None for v in r.values()):
            raise SweepError(f"{path.name}: a row has a different number of cells than the header")
    return rows


class SweepResults:
    """The rows of a sweep's output folder: ``results.csv`` (always), ``results.parquet`` (when
    pyarrow is installed) and ``histories/<run_id>.npz`` (when asked for). Rows already in the
    folder's CSV are loaded, so a sweep resumes where it stopped."""

    def __init__(self, folder, order: list[tuple] | None = None):
        self.folder = Path(folder)
        self.csv_path = self.folder / RESULTS_CSV
        self.rows: dict[tuple, dict] = {}
        self._order = {k: i for i, k in enumerate(order or [])}
        if self.csv_path.exists():
            for row in read_results(self.csv_path):
                self.rows[tuple(row.get(c, "") for c in SETTING_COLUMNS)] = row

    def __contains__(self, key) -> bool:
        return key in self.rows

    def add(self, row: dict) -> None:
        self.rows[tuple(row[c] for c in SETTING_COLUMNS)] = row

    def write_history(self, run_id: str, data: bytes) -> None:
        from .io.atomic import atomic_write_bytes

        folder = self.folder / HISTORIES
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / f"{run_id}.npz", data)

    def ordered(self) -> list[dict]:
        """Rows in the plan's order (rows of other plans after them, as found)."""
        n = len(self._order)
        keyed = [(self._order.get(k, n + i), row) for i, (k, row) in enumerate(self.rows.items())]
        return [row for _, row in sorted(keyed, key=lambda t: t[0])]

    def csv_text(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        for row in self.ordered():
            w.writerow({c: row.get(c, "") for c in COLUMNS})
        return buf.getvalue()

    def flush(self, parquet: bool = False) -> None:
        """Write the CSV (and the Parquet file) atomically."""
        from .io.atomic import atomic_write, atomic_write_text

        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.csv_path, self.csv_text())
        if parquet and parquet_available():
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table(_typed_columns(self.ordered(), COLUMNS))
            atomic_write(self.folder / RESULTS_PARQUET, lambda f: pq.write_table(table, f))


# --------------------------------------------------------------------------- executors
class LocalExecutor:
    """Batches on a pool of threads in this process (the compiled kernel and numpy's solvers
    release the GIL), one batch per thread at a time."""

    def __init__(self, jobs: int | None = None):
        self.jobs = max(1, int(jobs or os.cpu_count() or 1))

    @property
    def workers(self) -> int:
        return self.jobs

    def describe(self) -> str:
        return f"{self.jobs} local thread{'s' if self.jobs != 1 else ''}"

    def run(self, batches: list, histories: bool, cancel: threading.Event):
        """Yield ``(index, [(row, history), ...])`` per batch, as batches finish."""
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="relu-sweep") as pool:
            pending = {}
            it = iter(enumerate(batches))

            def submit_next():
                for i, batch in it:
                    if cancel.is_set():
                        return
                    pending[pool.submit(run_batch, batch, 1, cancel, histories)] = i
                    return

            for _ in range(self.jobs * 2):
                submit_next()
            while pending:
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    yield i, fut.result()
                    submit_next()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` did: runs planned, already in the file, trained now, failed."""

    planned: int
    skipped: int
    ran: int
    failed: int
    cancelled: bool
    folder: Path
    wall: float
    model_steps: int


def run_sweep(spec: SweepSpec | list, folder, executor=None, *, histories: bool = False,
              progress: Callable[[int, int], None] | None = None,
              cancel: threading.Event | None = None, parquet: bool = True,
              flush_interval: float = FLUSH_INTERVAL,
              on_rows: Callable[[list], None] | None = None) -> SweepOutcome:
    """Run every run of ``spec`` (a :class:`SweepSpec` or a list of :class:`RunSpec`) that is not
    yet in ``folder``'s results, on ``executor`` (default: :class:`LocalExecutor`), writing rows
    as they arrive. ``progress(done, total)`` counts runs of this call; ``cancel`` stops after
    the batches in progress (their finished runs are kept); ``on_rows(rows)`` sees new rows."""
    runs = expand(spec) if isinstance(spec, SweepSpec) else list(spec)
    results = SweepResults(folder, [r.key for r in runs])
    todo = [r for r in runs if r.key not in results]
    cancel = cancel or threading.Event()
    executor = executor or LocalExecutor()
    batches = make_batches(todo, executor.workers)
    done = failed = model_steps = 0
    t0 = time.perf_counter()
    last_flush = time.monotonic()
    if progress:
        progress(0, len(todo))
    results.folder.mkdir(parents=True, exist_ok=True)
    try:
        for _i, items in executor.run(batches, histories, cancel):
            rows = []
            for row, history in items:
                results.add(row)
                rows.append(row)
                if history is not None:
                    results.write_history(row["run_id"], history)
                if row["message"].startswith("no run:"):
                    failed += 1
                elif row["steps"]:
                    model_steps += int(row["steps"])
            done += len(items)
            if on_rows and rows:
                on_rows(rows)
            if progress:
                progress(done, len(todo))
            if time.monotonic() - last_flush >= flush_interval:
                results.flush()
                last_flush = time.monotonic()
    finally:
        results.flush(parquet=parquet)
    return SweepOutcome(len(runs), len(runs) - len(todo), done, failed,
                        cancel.is_set() and done < len(todo), results.folder,
                        time.perf_counter() - t0, model_steps)
