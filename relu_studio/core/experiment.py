"""The notebook's study as a grid: widths x modes x optimizers x seeds, run on all cores.

Runs are keyed ``(width, mode, optimizer, seed)``: ``optimizer`` is one of the grid's
:class:`~.optimizers.Optimizer` values (``GridSettings.optimizers``, default plain SGD), None for
ridge (which has no optimizer: one cell per width, whatever the optimizers).

Plain-SGD runs train in blocks of LANES seeds, the runs of one (width, mode) as the SIMD lanes of
one kernel (:mod:`.batch_training`); a last block of fewer than BATCH_MIN_SEEDS seeds, and every
run :func:`needs_single_run` (momentum, Adam, ...), trains one run per thread (a
:class:`.training.Trainer`) on the same pool. Either way every run equals :func:`.training.train`
of it (same initial network, same minibatches), bit for bit.

Each (width, seed) starts every mode and optimizer from the *same* initial network, as the
notebook does. Mode "ridge" solves the output layer in closed form on the initial features (no
SGD); it is stored as a one-snapshot :class:`Run` at step 0 so every mode is summarised the same
way. Summaries: :mod:`.summary`; the table as text and CSV: :mod:`.report`.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

import numpy as np

from .activations import Activation
from .arrays import mse, read_only
from .dataset import Dataset
from .losses import Loss
from .network import Network, init_network
from .optimizers import Optimizer
from .ridge import fit_ridge
from .settings import DEFAULT_LAMBDA, DEFAULT_LR, MODES, GridSettings, SettingsError
from .batch_training import LANES, RunRequest, train_many
from .training import Run, Trainer, TrainingError, TrainSettings

__all__ = ["ExperimentResult", "run_experiment", "ALL_MODES", "ridge_run", "experiment_from_runs",
           "progress_chunk", "needs_single_run", "grid_key", "optimizer_label"]

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


def needs_single_run(request, activation=None) -> bool:
    """True if a run cannot train in the batched kernel (plain SGD, ReLU, MSE) and trains one run
    per thread instead. ``request`` is a :class:`.training.TrainSettings` (anything with
    ``optimizer`` and ``loss``), ``activation`` the network's (None: ReLU)."""
    opt, loss = getattr(request, "optimizer", None), getattr(request, "loss", None)
    return ((opt is not None and not opt.is_plain_sgd) or (loss is not None and not loss.is_mse)
            or (activation is not None and not activation.is_relu))


def grid_key(width: int, mode: str, optimizer: Optimizer | None, seed: int) -> tuple:
    """A run's key in a grid: ``(width, mode, optimizer, seed)``, the optimizer None for ridge."""
    return (int(width), str(mode), None if mode == "ridge" else optimizer, int(seed))


def optimizer_label(run: Run) -> str:
    """What a run trained with, as a column or a row names it: ``"SGD lr 0.02"``,
    ``"Adam lr 0.001"``, ``"momentum 0.9 lr 0.02"``; ``""`` for ridge."""
    st = run.settings
    if st.mode == "ridge":
        return ""
    opt = st.optimizer if st.optimizer is not None else Optimizer()
    return opt.with_lr(st.lr).describe()


def _plain_sgd() -> tuple:
    return (Optimizer(),)


@dataclass
class ExperimentResult:
    """Runs keyed by ``(width, mode, optimizer, seed)`` (see :func:`grid_key`), with the data
    and the settings they ran with; ``cancelled`` is True if the grid was stopped early.
    ``initial`` maps ``(width, seed)`` to the initial network every mode and optimizer of that
    width and seed started from."""

    data: Dataset
    widths: tuple
    modes: tuple
    seeds: tuple
    runs: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)  # (width, seed) -> Network
    cancelled: bool = False
    settings: GridSettings | None = None
    failures: dict = field(default_factory=dict)  # (width, mode, optimizer, seed) -> why no run
    optimizers: tuple = field(default_factory=_plain_sgd)

    def _opt(self, mode: str, optimizer):
        if mode == "ridge":
            return None
        return self.optimizers[0] if optimizer is None else optimizer

    def cell(self, width: int, mode: str, optimizer: Optimizer | None = None) -> list[Run]:
        """The runs of one cell over the seeds; ``optimizer`` None: the grid's first one."""
        o = self._opt(mode, optimizer)
        return [self.runs[k] for s in self.seeds if (k := (width, mode, o, s)) in self.runs]

    def run(self, width: int, mode: str, optimizer: Optimizer | None, seed: int) -> Run | None:
        return self.runs.get((int(width), mode, self._opt(mode, optimizer), int(seed)))

    @property
    def columns(self) -> tuple:
        """``(mode, optimizer)`` per column of the grid, mode by mode: each SGD mode once per
        optimizer, ridge once (optimizer None)."""
        return tuple((m, o) for m in self.modes
                     for o in ((None,) if m == "ridge" else self.optimizers))

    def column_label(self, mode: str, optimizer: Optimizer | None) -> str:
        """The optimizer part of a column's name (``"Adam lr 0.001"``), its learning rate the one
        the column trains with; ``""`` for ridge."""
        if mode == "ridge":
            return ""
        opt = self._opt(mode, optimizer)
        for w in self.widths:
            runs = self.cell(w, mode, opt)
            if runs:
                return optimizer_label(runs[0])
        grid = self.settings if self.settings is not None else GridSettings()
        return grid.cell_optimizer(mode, opt).describe()

    @property
    def keys(self) -> list:
        """Every run key of the grid, finished or not."""
        return [grid_key(w, m, o, s) for w in self.widths for m, o in self.columns for s in self.seeds]

    def with_runs(self, runs: dict, cancelled: bool | None = None) -> "ExperimentResult":
        """A new result with ``runs`` added (their initial networks too); this one is unchanged."""
        initial = dict(self.initial)
        for key, run in runs.items():
            initial.setdefault((key[0], key[-1]), run.initial)
        return ExperimentResult(self.data, self.widths, self.modes, self.seeds,
                                {**self.runs, **runs}, initial,
                                self.cancelled if cancelled is None else cancelled, self.settings,
                                dict(self.failures), self.optimizers)

    @property
    def complete(self) -> bool:
        return all(k in self.runs for k in self.keys)


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
                   optimizer: Optimizer | None = None,
                   optimizers: Iterable[Optimizer] | None = None,
                   activation: Activation | None = None,
                   loss: Loss | None = None) -> ExperimentResult:
    """Run the grid. ``seeds`` is a count (seeds 0..k-1) or an explicit list; ``settings`` (a
    :class:`GridSettings`) replaces widths, modes, seeds (a count), steps, save_every, the
    learning rates, batch_size, lam and optimizers.

    ``progress(done_steps, total_steps)`` is called from worker threads; ``cancel`` stops the grid
    between chunks (finished runs are kept); ``on_run(key, run)`` reports each finished run.
    ``initial`` (e.g. a network read from a ``.pt`` file) replaces the notebook's initial network
    for every seed; the grid then has that network's width only, and a seed only chooses the
    minibatches. Bad settings raise :class:`TrainingError` before any work.

    ``optimizers`` (or ``settings.optimizers``) is the optimizer axis: every SGD mode trains once
    with each, at that optimizer's learning rate (:meth:`GridSettings.lr_for`). ``optimizer``
    (one of momentum, Adam, AdamW, RMSprop) instead trains every SGD-mode run with it at the
    mode's learning rate (lr_output / lr_all), the command line's ``--optimizer``; None or plain
    ``Optimizer("sgd")`` is the notebook's SGD.

    ``activation`` and ``loss`` (or ``settings.activation``/``settings.loss``; default ReLU and
    MSE) apply to every run; an ``initial`` network keeps its own activation unless
    ``activation`` is given. Runs that are not plain SGD with ReLU and MSE train one per thread
    (:func:`needs_single_run`), each equal to ``train`` with the same choices bit for bit.
    """
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TrainingError(f"optimizer must be a relu_studio Optimizer or None, got {optimizer!r}")
    if optimizer is not None and optimizers is not None:
        raise TrainingError("pass optimizer (one, at the modes' learning rates) or optimizers, not both")
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
                batch_size=batch_size, lam=lam,
                optimizers=(Optimizer(),) if optimizers is None else tuple(optimizers)).validated()
        except SettingsError as exc:
            raise TrainingError(str(exc)) from None
    else:
        seed_list = None
        if optimizers is not None:
            try:
                settings = settings.changed(optimizers=tuple(optimizers))
            except SettingsError as exc:
                raise TrainingError(str(exc)) from None
    if optimizer is not None:
        settings = replace(settings, optimizers=(optimizer,))
    try:
        if activation is not None or initial is not None:
            settings = settings.changed(
                activation=activation if activation is not None else initial.activation)
        if loss is not None:
            settings = settings.changed(loss=loss)
    except SettingsError as exc:
        raise TrainingError(str(exc)) from None
    if initial is not None and settings.widths != (initial.width,):
        settings = replace(settings, widths=(initial.width,))
    seeds = seed_list if seed_list is not None else settings.seed_list
    if not seeds:
        raise TrainingError("choose at least one seed")
    widths, modes, opts = settings.widths, settings.modes, settings.optimizers
    steps, save_every, batch_size, lam = (settings.steps, settings.save_every, settings.batch_size,
                                          settings.lam)

    def lr_of(mode, opt):
        return settings.lr_for(mode) if optimizer is not None else settings.lr_for(mode, opt)

    def train_settings(mode, opt, seed=0):
        return TrainSettings(mode, lr_of(mode, opt), steps, batch_size, save_every, seed,
                             None if opt.is_plain_sgd else opt,
                             None if settings.loss.is_mse else settings.loss)

    result = ExperimentResult(data, widths, modes, seeds, settings=settings, optimizers=opts)
    for w in widths:
        for s in seeds:
            net = initial if initial is not None else init_network(w, s)
            if net.activation != settings.activation:
                net = net.replace(activation=settings.activation)
            result.initial[(w, s)] = net
    for m in settings.sgd_modes:  # validate settings up front, so a bad value fails before any work
        for o in opts:
            train_settings(m, o).resolved(data.n)

    sgd = [(w, m, o, s) for w in widths for m in settings.sgd_modes for o in opts for s in seeds]
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
                key = grid_key(w, "ridge", None, s)
                try:
                    run = ridge_run(result.initial[(w, s)], data, lam, s)
                except (ValueError, MemoryError) as exc:  # that cell only; the grid goes on
                    result.failures[key] = f"{type(exc).__name__}: {exc}"
                    continue
                result.runs[key] = run
                if on_run:
                    on_run(key, run)

    ordered = sorted(seeds)
    batched = len(ordered) // LANES * LANES
    if len(ordered) - batched >= BATCH_MIN_SEEDS:
        batched = len(ordered)
    batched_seeds = set(ordered[:batched])
    in_batch = [k for k in sgd if k[3] in batched_seeds
                and not needs_single_run(train_settings(k[1], k[2]), settings.activation)]
    if in_batch:
        requests = [RunRequest(k, result.initial[(k[0], k[3])], k[1], lr_of(k[1], k[2]), k[3])
                    for k in in_batch]
        batch = train_settings(in_batch[0][1], opts[0]).resolved(data.n).batch_size

        def store(key, run):
            with lock:
                result.runs[key] = run
            if on_run:
                on_run(key, run)

        train_many(requests, data, steps, batch, save_every, jobs=jobs, progress=report,
                   cancel=cancel, on_run=store)
    batched_keys = set(in_batch)
    single = [k for k in sgd if k not in batched_keys]
    if single and not (cancel is not None and cancel.is_set()):
        _train_one_per_thread(result, single, data, train_settings, jobs, report, cancel, on_run)
    result.cancelled = bool(cancel is not None and cancel.is_set()) and len(result.runs) < (
        len(sgd) + (len(widths) * len(seeds) if "ridge" in modes else 0)
    )
    return result


def _train_one_per_thread(result, keys, data, train_settings, jobs, report, cancel, on_run):
    """The grid's runs ``keys`` (width, mode, optimizer, seed), one :class:`Trainer` per run on
    a pool of ``jobs`` threads; ``train_settings(mode, optimizer, seed)`` says how each trains."""
    def task(key):
        w, m, o, s = key
        st = train_settings(m, o, s)
        trainer = Trainer(result.initial[(w, s)], data, mode=m, lr=st.lr, steps=st.steps,
                          batch_size=st.batch_size, save_every=st.save_every, seed=s,
                          optimizer=st.optimizer, loss=st.loss)
        while not trainer.done:
            if cancel is not None and cancel.is_set():
                return key, None
            report(trainer.advance(progress_chunk(w)))
        return key, trainer.result()

    # Biggest runs first, so the cores finish together (optimizer kernels cost more than SGD's).
    position = {o: i for i, o in enumerate(result.optimizers)}

    def cost(k):
        w, m, o, s = k
        return (-(w * (2 if m == "all" else 1) * (1 if o.is_plain_sgd else 2)), w, m, position[o], s)

    order = sorted(keys, key=cost)
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
                         seeds=None, settings: GridSettings | None = None,
                         optimizers=None) -> ExperimentResult:
    """An :class:`ExperimentResult` rebuilt from finished runs keyed ``(width, mode, optimizer,
    seed)`` (e.g. loaded from a session file; a key ``(width, mode, seed)`` of a file written
    before the optimizer axis is the grid's first optimizer, plain SGD by default). The orders
    default to ``settings``' (if given), else to widths and seeds ascending, the modes in
    :data:`ALL_MODES` order and the optimizers as they first appear; ``cancelled`` is True if
    some cell of the grid has no run."""
    if optimizers is None:
        if settings is not None:
            optimizers = settings.optimizers
        else:
            found = []
            for k in runs:
                if len(k) == 4 and k[2] is not None and k[2] not in found:
                    found.append(k[2])
            optimizers = tuple(found) or _plain_sgd()
    optimizers = tuple(optimizers)
    keys = []
    for k in runs:
        if len(k) == 3:
            w, m, s = k
            o = None if m == "ridge" else optimizers[0]
        else:
            w, m, o, s = k
        keys.append(grid_key(w, m, o, s))
    if widths is None:
        widths = settings.widths if settings is not None else sorted({k[0] for k in keys})
    if modes is None:
        present = {k[1] for k in keys}
        modes = (settings.modes if settings is not None else
                 tuple(m for m in ALL_MODES if m in present) + tuple(sorted(present - set(ALL_MODES))))
    if seeds is None:
        seeds = sorted({k[3] for k in keys}) if settings is None else settings.seed_list
    result = ExperimentResult(data, tuple(int(w) for w in widths), tuple(str(m) for m in modes),
                              tuple(int(s) for s in seeds), settings=settings, optimizers=optimizers)
    result = result.with_runs(dict(zip(keys, runs.values())))
    result.cancelled = not result.complete
    return result
