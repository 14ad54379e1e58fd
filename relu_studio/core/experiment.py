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
           "ridge_run", "METRICS"]

ALL_MODES = ("output", "all", "ridge")
METRICS = (("train_error", "train"), ("full_train_error", "full train"), ("test_error", "test"))
PROGRESS_CHUNK = 10_000


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
        completed_steps=0, extra={"lam": float(lam)},
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
                   on_run: Callable[[tuple, Run], None] | None = None) -> ExperimentResult:
    """Run the grid. ``seeds`` is a count (seeds 0..k-1) or an explicit list.

    ``progress(done_steps, total_steps)`` is called from worker threads; ``cancel`` stops the grid
    between chunks (finished runs are kept); ``on_run(key, run)`` reports each finished run.
    """
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
            result.initial[(w, s)] = init_network(w, s)
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
            report(trainer.advance(PROGRESS_CHUNK))
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


def format_table(rows: list[dict], kind: str = "final") -> str:
    """A plain-text table: median [q25, q75] of each metric per width and mode."""
    heads = ["width", "mode", "seeds"] + [f"{kind} {label} MSE" for _a, label in METRICS]
    body = []
    for r in rows:
        cells = [str(r["width"]), r["mode"], str(r["seeds"])]
        for attr, _label in METRICS:
            s = r[f"{kind}_{attr}"]
            cells.append(f"{s['median']:.4g}" if r["seeds"] == 1 else
                         f"{s['median']:.4g} [{s['q25']:.3g}, {s['q75']:.3g}]")
        if r.get("diverged"):
            cells[1] += f" ({r['diverged']} diverged)"
        body.append(cells)
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)]
    line = lambda cells: "  ".join(c.rjust(widths[i]) if i != 1 else c.ljust(widths[i]) for i, c in enumerate(cells))  # noqa: E731
    out = [line(heads), line(["-" * w for w in widths])]
    out += [line(b) for b in body]
    return "\n".join(out)
