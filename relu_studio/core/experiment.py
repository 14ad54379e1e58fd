"""The notebook's study as a grid: widths x modes x seeds, run on all cores.

Blocks of LANES seeds train together, the runs of one (width, mode) as the SIMD lanes of one
kernel (:mod:`.batch_training`); a last block of fewer than BATCH_MIN_SEEDS seeds trains one run
per thread. Either way every run equals :func:`.training.train` of it, bit for bit.

Each (width, seed) starts every mode from the *same* initial network, as the notebook does.
Mode "ridge" solves the output layer in closed form on the initial features (no SGD); it is
stored as a one-snapshot :class:`Run` at step 0 so every mode is summarised the same way.
Summaries: :mod:`.summary`; the table as text and CSV: :mod:`.report`.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

import numpy as np

from .arrays import mse, read_only
from .dataset import Dataset
from .network import Network, init_network
from .optimizers import Optimizer
from .ridge import fit_ridge
from .settings import DEFAULT_LAMBDA, DEFAULT_LR, MODES, GridSettings, SettingsError
from .batch_training import LANES, RunRequest, train_many
from .training import Run, Trainer, TrainingError, TrainSettings

__all__ = ["ExperimentResult", "run_experiment", "ALL_MODES", "ridge_run", "experiment_from_runs",
           "progress_chunk"]

#: Every mode of a grid (core.settings.MODES).
ALL_MODES = MODES
PROGRESS_CHUNK = 10_000
#: The runs of a (width, mode) train together, LANES seeds at a time, as the SIMD lanes of one
#: kernel (core.batch_training); a last block of fewer than BATCH_MIN_SEEDS seeds trains one run
#: per thread instead (a block costs the same however few of its lanes are runs; measured on this
#: project's 2-core machine, a block of 8 runs is ~1.2x faster than 8 single runs, of 6 ~0.9x).
#: Both paths give the same bits.
BATCH_MIN_SEEDS = 8


def progress_chunk(width: int) -> int:
    """Steps between progress reports and cancel checks: PROGRESS_CHUNK up to width 64, then
    fewer, so that a cancel takes effect within a fraction of a second at any width."""
    return max(500, min(PROGRESS_CHUNK, PROGRESS_CHUNK * 64 // max(int(width), 1)))


def ridge_run(net: Network, data: Dataset, lam: float = DEFAULT_LAMBDA, seed: int = 0) -> Run:
    """The ridge fit of ``net``'s output layer as a one-snapshot run at step 0."""
    fitted = fit_ridge(net, data, lam)
    full = mse(fitted.predict(data.x), data.y)

    def one(a):
        return read_only(np.asarray(a)[None])

    return Run(
        initial=net, settings=TrainSettings("ridge", 0.0, 0, None, 1, seed),
        steps=one(np.int64(0)), train_error=one(full), full_train_error=one(full),
        test_error=one(mse(fitted.predict(data.x_test), data.y_test)), w1=one(fitted.w1),
        b1=one(fitted.b1), w2=one(fitted.w2), b2=one(np.float32(fitted.b2)),
        completed_steps=0, extra={"lam": float(lam)}, lrs=one(np.nan),
    )


@dataclass
class ExperimentResult:
    """Runs keyed by ``(width, mode, seed)``, with the data and the settings they ran with;
    ``cancelled`` is True if the grid was stopped early. ``initial`` maps ``(width, seed)`` to
    the initial network every mode of that width and seed started from."""

    data: Dataset
    widths: tuple
    modes: tuple
    seeds: tuple
    runs: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)  # (width, seed) -> Network
    cancelled: bool = False
    settings: GridSettings | None = None
    failures: dict = field(default_factory=dict)  # (width, mode, seed) -> why that cell has no run

    def cell(self, width: int, mode: str) -> list[Run]:
        return [self.runs[(width, mode, s)] for s in self.seeds if (width, mode, s) in self.runs]

    def with_runs(self, runs: dict, cancelled: bool | None = None) -> "ExperimentResult":
        """A new result with ``runs`` added (their initial networks too); this one is unchanged."""
        initial = dict(self.initial)
        for (w, _m, s), run in runs.items():
            initial.setdefault((w, s), run.initial)
        return ExperimentResult(self.data, self.widths, self.modes, self.seeds,
                                {**self.runs, **runs}, initial,
                                self.cancelled if cancelled is None else cancelled, self.settings,
                                dict(self.failures))

    @property
    def complete(self) -> bool:
        return all((w, m, s) in self.runs for w in self.widths for m in self.modes for s in self.seeds)


def run_experiment(data: Dataset, widths: Iterable[int] = (10, 20, 40),
                   modes: Iterable[str] = ALL_MODES, seeds=1, steps: int = 150_000,
                   save_every: int = 1000, lr_output: float = DEFAULT_LR["output"],
                   lr_all: float = DEFAULT_LR["all"], batch_size: int | None = None,
                   lam: float = DEFAULT_LAMBDA, jobs: int | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None,
                   on_run: Callable[[tuple, Run], None] | None = None,
                   initial: Network | None = None,
                   settings: GridSettings | None = None,
                   optimizer: Optimizer | None = None) -> ExperimentResult:
    """Run the grid. ``seeds`` is a count (seeds 0..k-1) or an explicit list; ``settings`` (a
    :class:`GridSettings`) replaces widths, modes, seeds (a count), steps, save_every, the
    learning rates, batch_size and lam.

    ``progress(done_steps, total_steps)`` is called from worker threads; ``cancel`` stops the grid
    between chunks (finished runs are kept); ``on_run(key, run)`` reports each finished run.
    ``initial`` (e.g. a network read from a ``.pt`` file) replaces the notebook's initial network
    for every seed; the grid then has that network's width only, and a seed only chooses the
    minibatches. Bad settings raise :class:`TrainingError` before any work.

    ``optimizer`` (momentum, Adam, AdamW, RMSprop) trains every SGD-mode run with it, at the
    mode's learning rate (lr_output / lr_all), one run per thread (the batched kernels know plain
    SGD only); None or plain ``Optimizer("sgd")`` is the notebook's SGD.
    """
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TrainingError(f"optimizer must be a relu_studio Optimizer or None, got {optimizer!r}")
    if optimizer is not None and optimizer.is_plain_sgd:
        optimizer = None
    if settings is None:
        explicit = not isinstance(seeds, (int, np.integer))
        seed_list = tuple(int(s) for s in seeds) if explicit else None
        try:
            settings = GridSettings(
                widths=(initial.width,) if initial is not None else tuple(widths),
                modes=tuple(modes), seeds=max(1, len(seed_list)) if explicit else seeds,
                steps=steps, save_every=save_every, lr_output=lr_output, lr_all=lr_all,
                batch_size=batch_size, lam=lam).validated()
        except SettingsError as exc:
            raise TrainingError(str(exc)) from None
    else:
        seed_list = None
    if initial is not None and settings.widths != (initial.width,):
        settings = replace(settings, widths=(initial.width,))
    seeds = seed_list if seed_list is not None else settings.seed_list
    if not seeds:
        raise TrainingError("choose at least one seed")
    widths, modes = settings.widths, settings.modes
    steps, save_every, batch_size, lam = (settings.steps, settings.save_every, settings.batch_size,
                                          settings.lam)
    lr_output, lr_all = settings.lr_output, settings.lr_all
    result = ExperimentResult(data, widths, modes, seeds, settings=settings)
    for w in widths:
        for s in seeds:
            result.initial[(w, s)] = initial if initial is not None else init_network(w, s)
    for m in modes:  # validate settings up front, so a bad value fails before any work
        if m != "ridge":
            TrainSettings(m, settings.lr_for(m), steps, batch_size, save_every, 0,
                          optimizer).resolved(data.n)

    sgd = [(w, m, s) for w in widths for m in modes if m != "ridge" for s in seeds]
    jobs = max(1, jobs or os.cpu_count() or 1)
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
                try:
                    run = ridge_run(result.initial[(w, s)], data, lam, s)
                except (ValueError, MemoryError) as exc:  # that cell only; the grid goes on
                    result.failures[(w, "ridge", s)] = f"{type(exc).__name__}: {exc}"
                    continue
                result.runs[(w, "ridge", s)] = run
                if on_run:
                    on_run((w, "ridge", s), run)

    ordered = sorted(seeds)
    batched = len(ordered) // LANES * LANES
    if len(ordered) - batched >= BATCH_MIN_SEEDS:
        batched = len(ordered)
    batched_seeds = set(ordered[:batched]) if optimizer is None else set()
    if batched_seeds and sgd:
        requests = [RunRequest((w, m, s), result.initial[(w, s)], m, settings.lr_for(m), s)
                    for (w, m, s) in sgd if s in batched_seeds]
        batch = TrainSettings(sgd[0][1], None, steps, batch_size, save_every, 0).resolved(data.n).batch_size

        def store(key, run):
            with lock:
                result.runs[key] = run
            if on_run:
                on_run(key, run)

        train_many(requests, data, steps, batch, save_every, jobs=jobs, progress=report,
                   cancel=cancel, on_run=store)
    single = [key for key in sgd if key[2] not in batched_seeds]
    if single and not (cancel is not None and cancel.is_set()):
        _train_one_per_thread(result, single, data, steps, save_every, batch_size, lr_output,
                              lr_all, jobs, report, cancel, on_run, optimizer)
    result.cancelled = bool(cancel is not None and cancel.is_set()) and len(result.runs) < (
        len(sgd) + (len(widths) * len(seeds) if "ridge" in modes else 0)
    )
    return result


def _train_one_per_thread(result, sgd, data, steps, save_every, batch_size, lr_output, lr_all,
                          jobs, report, cancel, on_run, optimizer=None):
    """The grid's SGD runs, one :class:`Trainer` per run on a pool of ``jobs`` threads."""
    def task(key):
        w, m, s = key
        trainer = Trainer(result.initial[(w, s)], data, mode=m,
                          lr=lr_output if m == "output" else lr_all, steps=steps,
                          batch_size=batch_size, save_every=save_every, seed=s, optimizer=optimizer)
        while not trainer.done:
            if cancel is not None and cancel.is_set():
                return key, None
            report(trainer.advance(progress_chunk(w)))
        return key, trainer.result()

    # Biggest runs first, so the cores finish together.
    order = sorted(sgd, key=lambda k: (-(k[0] * (2 if k[1] == "all" else 1)), k))
    jobs = min(jobs, len(order) or 1)
    if order:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="relu-grid") as pool:
            for fut in as_completed([pool.submit(task, k) for k in order]):
                key, run = fut.result()
                if run is None:
                    continue
                result.runs[key] = run
                if on_run:
                    on_run(key, run)


def experiment_from_runs(data: Dataset, runs: dict, widths=None, modes=None,
                         seeds=None, settings: GridSettings | None = None) -> ExperimentResult:
    """An :class:`ExperimentResult` rebuilt from finished runs keyed ``(width, mode, seed)``
    (e.g. loaded from a session file). The orders default to ``settings``' (if given), else to
    widths and seeds ascending and the modes in :data:`ALL_MODES` order; ``cancelled`` is True
    if some cell of the grid has no run."""
    keys = [(int(w), str(m), int(s)) for (w, m, s) in runs]
    if widths is None:
        widths = settings.widths if settings is not None else sorted({k[0] for k in keys})
    if modes is None:
        present = {k[1] for k in keys}
        modes = (settings.modes if settings is not None else
                 tuple(m for m in ALL_MODES if m in present) + tuple(sorted(present - set(ALL_MODES))))
    if seeds is None:
        seeds = sorted({k[2] for k in keys}) if settings is None else settings.seed_list
    result = ExperimentResult(data, tuple(int(w) for w in widths), tuple(str(m) for m in modes),
                              tuple(int(s) for s in seeds), settings=settings)
    result = result.with_runs(dict(zip(keys, runs.values())))
    result.cancelled = not result.complete
    return result
