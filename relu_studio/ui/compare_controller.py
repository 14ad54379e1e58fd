"""The Compare tab's controller: the grid's settings, its job, its result, what is selected and
the shared timeline. A QObject with no widgets: :class:`~relu_studio.ui.compare_view.CompareView`
presents it and forwards the user's intent.

The grid runs through :mod:`relu_studio.grid_worker` (the only bridge to the core's experiment
grid); the result is replaced, never changed in place, as runs arrive. The numbers the views
show (bands, trajectories, the results table) come from the core's :mod:`~relu_studio.core.summary`.
"""
from __future__ import annotations

import bisect
from typing import Callable

import numpy as np

from PySide6.QtCore import QObject, QTimer, Signal

from ..core.dataset import Dataset
from ..core.elbow_paths import elbow_paths, log_step_view
from ..core.experiment import ExperimentResult, experiment_from_runs
from ..core.report import write_results_csv
from ..core.settings import GridSettings, SettingsError, mode_phrase
from ..core.kinks import target_kinks
from ..core.summary import cell_bands, elbow_trajectories, grid_steps, results_table
from ..core.training import snapshot_steps
from ..grid_worker import GridJob, GridThread

__all__ = ["CompareController", "POLL_MS", "SGD_MODES"]

#: The modes whose elbows SGD moves (or could): the kymographs show these side by side. Ridge
#: solves the output layer of the initial network: its elbows are the output mode's at step 0.
SGD_MODES = ("output", "all")

#: The GUI collects progress and finished runs from the grid worker this often (about 10 Hz).
POLL_MS = 100


class CompareController(QObject):
    """See the module docstring. ``data_provider()`` gives the data a new grid trains on (the
    studio's current data)."""

    settingsChanged = Signal(object)  # the names of the grid's settings that changed
    gridChanged = Signal()  # a new grid layout (widths x modes, seeds), or none
    runsArrived = Signal(object)  # the (width, mode, optimizer) cells with new runs; None: all
    selectionChanged = Signal()  # the selected cell or the shown seed
    stepChanged = Signal()  # the shared timeline's step
    progressChanged = Signal(int, str)  # per mille, text
    runningChanged = Signal(bool)
    message = Signal(str, str)  # text, level
    gridFinished = Signal(object)  # the result (finished, cancelled or failed: None)
    openCell = Signal(object)  # (width, mode, seed, Run, initial Network, Dataset); the Run
    # knows its optimizer (run.settings.optimizer, None: the notebook's SGD)
    kymographOptionsChanged = Signal()  # the kymographs' log step axis

    def __init__(self, data_provider: Callable[[], Dataset], parent=None):
        super().__init__(parent)
        self.data_provider = data_provider
        self.settings = GridSettings()
        self.result: ExperimentResult | None = None
        self.selected: tuple | None = None  # (width, mode, optimizer) of the selected cell
        self.shown_seed = 0
        self.table_kind = "final"
        self.log_steps = True  # the kymographs' step axis (the migration is in the first 10 %)
        self._kinks_cache: tuple = (None, ())
        self.steps = [0]
        self.step_index = 0
        self._expected = None  # the snapshot steps a running grid will reach
        self._job: GridJob | None = None
        self._bridge = GridThread(self)
        self._poll_timer = QTimer(self)
        self._poll_timer.setObjectName("relu-compare-poll")
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self._poll)
        self._bridge.worker.jobDone.connect(self._poll)  # queued: runs in the GUI thread

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self._job is not None

    @property
    def worker_running(self) -> bool:
        """Whether the grid worker's thread runs (only while a grid does: none idles)."""
        return self._bridge.thread.isRunning()

    @property
    def step(self) -> int:
        """The shared timeline's step."""
        return self.steps[self.step_index] if self.steps else 0

    @property
    def data(self) -> Dataset | None:
        """The data of the grid shown (else the data a new grid would train on)."""
        return self.result.data if self.result is not None else self.data_provider()

    def set_settings(self, settings: GridSettings) -> str | None:
        """New grid settings (validated; a refusal is returned as text and changes nothing)."""
        try:
            settings = settings.validated()
        except SettingsError as exc:
            return str(exc)
        if settings != self.settings:
            old, self.settings = self.settings, settings
            self.settingsChanged.emit({f for f in settings.to_json()
                                       if getattr(old, f) != getattr(settings, f)})
        return None

    def set_field(self, name: str, value) -> str | None:
        try:
            return self.set_settings(self.settings.changed(**{name: value}))
        except SettingsError as exc:
            return str(exc)

    # ------------------------------------------------------------------ running
    def run_grid(self) -> str | None:
        """Start the grid of :attr:`settings` on the studio's data; returns an error text."""
        if self._job is not None:
            return self._say("A grid is already running: cancel it first.", "warning")
        data = self.data_provider()
        if data is None:
            return self._say("No data to train on.", "error")
        s = self.settings
        job = GridJob(data, s)
        self._job = job
        self._bridge.submit(job)  # training starts now, while the cells are laid out
        self._expected = snapshot_steps(s.steps, s.save_every) if s.sgd_modes else None
        self._install(ExperimentResult(data, s.widths, s.modes, s.seed_list, settings=s,
                                       optimizers=s.optimizers))
        self.runningChanged.emit(True)
        self.progressChanged.emit(0, "starting…")
        n = s.run_count
        self._say(f"Training {n} run{'s' if n != 1 else ''}…", "info")
        self._poll_timer.start()
        return None

    def cancel(self) -> None:
        """Stop the grid; the cells finished so far are kept."""
        if self._job is not None:
            self._job.cancel.set()
            self.progressChanged.emit(-1, "cancelling…")

    def shutdown(self) -> bool:
        """Stop any grid and its thread, and the poll timer (call before closing)."""
        ok = self._bridge.shutdown()
        if self._job is not None:
            self._poll()  # the worker has returned: keep what it finished
        self._poll_timer.stop()
        return ok

    def _poll(self):
        job = self._job
        if job is None:
            self._poll_timer.stop()
            return
        runs, done = job.take()
        if runs:
            self.result = self.result.with_runs(dict(runs))
            self._runs_arrived({k[:3] for k, _ in runs})
        res = self.result
        n_all = len(res.keys)
        if not done:
            total = job.total_steps or 0
            if total > 0 and not job.cancel.is_set():
                self.progressChanged.emit(int(1000 * min(1.0, job.done_steps / total)),
                                          f"{len(self.result.runs)}/{n_all} runs · %p%")
            return
        # The grid ended.
        self._poll_timer.stop()
        self._job = None
        self._bridge.shutdown()  # the worker has returned; no thread idles between grids
        self.runningChanged.emit(False)
        if job.error is not None:
            self.progressChanged.emit(0, "failed")
            self._say(f"The grid could not run: {job.error}", "error")
        elif job.result is not None:
            final = job.result
            self.result = final  # the same Run objects as reported one by one, plus every initial net
            if final.cancelled:
                self.progressChanged.emit(-1, f"cancelled · {len(final.runs)}/{n_all} runs")
                self._say(f"Cancelled after {job.elapsed:.2f} s: {len(final.runs)} of {n_all} runs "
                          "finished and are kept.", "warning")
            else:
                self.progressChanged.emit(1000, f"{n_all}/{n_all} runs · done")
                diverged = sum(r.diverged for r in final.runs.values())
                extra = f"; {diverged} diverged (see the table)" if diverged else ""
                self._say(f"{n_all} runs in {job.elapsed:.2f} s{extra}.", "warning" if diverged else "info")
            self._runs_arrived(None)
        else:  # cancelled before it started
            self.progressChanged.emit(0, "cancelled")
            self._say("Cancelled.", "warning")
        self.gridFinished.emit(self.result)

    # ------------------------------------------------------------------ showing a grid
    def restore(self, settings: GridSettings | None, view: dict, runs: dict, data: Dataset) -> None:
        """A saved grid (a session file): its settings, finished runs, data and what was shown."""
        self._stop_job()
        if settings is not None:
            self.set_settings(settings)
        else:
            self.set_settings(GridSettings())
        if runs:
            self._expected = None
            self._install(experiment_from_runs(data, runs, settings=settings))
            self._runs_arrived(None)
            n = len(self.result.runs)
            self.progressChanged.emit(1000 if not self.result.cancelled else 0,
                                      f"{n} runs" + (" (cancelled)" if self.result.cancelled else ""))
        else:
            self.clear()
        view = view or {}
        if view.get("table") in ("final", "best"):
            self.set_table_kind(view["table"])
        if self.result is not None:
            if view.get("shown_seed") in self.result.seeds:
                self.set_shown_seed(view["shown_seed"])
            sel = view.get("selected")
            if sel:  # (width, mode): the column of the grid's first optimizer
                self.select_cell(int(sel[0]), str(sel[1]))
            if view.get("step") is not None:
                self.set_step_index(max(0, bisect.bisect_right(self.steps, int(view["step"])) - 1))
        self._say("", "info")

    def clear(self) -> None:
        """No grid: the cells of the settings' grid on the current data, not run."""
        self._stop_job()
        self.result = None
        self.selected = None
        self.steps, self.step_index = [0], 0
        self.gridChanged.emit()
        self.progressChanged.emit(0, "")

    def _stop_job(self):
        if self._job is not None:
            self.shutdown()
            self._job = None
            self.runningChanged.emit(False)

    def view_state(self) -> dict:
        """What is shown, as JSON (saved beside the grid's settings in a session)."""
        return {"shown_seed": self.shown_seed,
                "selected": list(self.selected[:2]) if self.selected else None,
                "step": self.step if self.result is not None else None, "table": self.table_kind}

    def _install(self, result: ExperimentResult):
        """Lay out the cells of ``result`` (its runs are drawn by ``_runs_arrived``)."""
        self.result = result
        self.shown_seed = result.seeds[0] if result.seeds else 0
        self.selected = None
        self._update_steps(follow=True)
        self.gridChanged.emit()
        w = result.widths[-1]
        self.select_cell(w, "all" if "all" in result.modes else result.modes[0])

    def _update_steps(self, follow: bool = False):
        res = self.result
        at_end = self.step_index >= len(self.steps) - 1
        steps = [int(s) for s in grid_steps(res, self._expected)] if res is not None else [0]
        old_step = self.step
        self.steps = steps
        if follow or at_end:
            self.step_index = len(steps) - 1
        else:
            self.step_index = max(0, bisect.bisect_right(steps, old_step) - 1)

    def _runs_arrived(self, cells):
        self._update_steps()
        self.runsArrived.emit(cells)
        self.stepChanged.emit()

    # ------------------------------------------------------------------ columns
    def columns(self) -> tuple:
        """``(mode, optimizer)`` of each column of the grid shown (else of the settings' grid):
        each SGD mode once per optimizer, ridge once (optimizer None)."""
        if self.result is not None:
            return self.result.columns
        s = self.settings
        return tuple((m, o) for m in s.modes for o in ((None,) if m == "ridge" else s.optimizers))

    def optimizers(self) -> tuple:
        return self.result.optimizers if self.result is not None else self.settings.optimizers

    def column_optimizer_label(self, mode: str, optimizer) -> str:
        """A column's optimizer as it trains (``"Adam lr 0.001"``; ``""`` for ridge)."""
        if mode == "ridge":
            return ""
        if self.result is not None:
            return self.result.column_label(mode, optimizer)
        return self.settings.cell_optimizer(mode, optimizer).describe()

    def _column(self, mode: str, optimizer):
        """``optimizer`` of a column, None meaning the grid's first (ridge: None)."""
        if mode == "ridge":
            return None
        return self.optimizers()[0] if optimizer is None else optimizer

    # ------------------------------------------------------------------ selection and timeline
    def select_cell(self, width: int, mode: str, optimizer=None) -> None:
        """Show the losses and elbow trajectories of the (width, mode, optimizer) cell
        (``optimizer`` None: the grid's first)."""
        res = self.result
        if res is None or width not in res.widths or mode not in res.modes:
            return
        optimizer = self._column(mode, optimizer)
        if optimizer is not None and optimizer not in res.optimizers:
            return
        self.selected = (int(width), str(mode), optimizer)
        self.selectionChanged.emit()

    def set_shown_seed(self, seed: int) -> None:
        if self.result is not None and seed in self.result.seeds and seed != self.shown_seed:
            self.shown_seed = int(seed)
            self.runsArrived.emit(None)
            self.selectionChanged.emit()

    def set_step_index(self, i: int) -> None:
        """Move the shared timeline to its ``i``-th step (every cell follows)."""
        i = max(0, min(int(i), len(self.steps) - 1))
        if i != self.step_index:
            self.step_index = i
            self.stepChanged.emit()

    def set_table_kind(self, kind: str) -> None:
        if kind in ("final", "best") and kind != self.table_kind:
            self.table_kind = kind
            self.runsArrived.emit(set())

    def run_of(self, width: int, mode: str, optimizer=None):
        """The shown seed's run of a cell, or None (``optimizer`` None: the grid's first)."""
        res = self.result
        return None if res is None else res.run(width, str(mode), optimizer, self.shown_seed)

    def cell_bands(self, width: int, mode: str, optimizer=None) -> dict:
        return cell_bands(self.result, width, mode, optimizer) if self.result is not None else {}

    def trajectories(self, width: int, mode: str, optimizer=None):
        """``(steps, elbows)`` of the shown seed's run of a cell (None if it has not finished)."""
        run = self.run_of(width, mode, optimizer)
        return None if run is None else elbow_trajectories(run, with_initial=True)

    # ------------------------------------------------------------------ kymographs
    def set_log_steps(self, on: bool) -> None:
        """The kymographs' step axis: log (default) or linear."""
        if bool(on) != self.log_steps:
            self.log_steps = bool(on)
            self.kymographOptionsChanged.emit()

    def kymograph_modes(self) -> tuple:
        """The grid's modes that train by SGD, in :data:`SGD_MODES` order (the kymographs' columns)."""
        modes = self.result.modes if self.result is not None else self.settings.modes
        return tuple(m for m in SGD_MODES if m in modes)

    def kinks(self) -> tuple:
        """The target's kinks of the data shown (core.kinks: presets exactly, formulas found
        numerically), computed once per data set."""
        data = self.data
        if data is None or data.target is None:
            return ()
        if self._kinks_cache[0] is not data:
            self._kinks_cache = (data, target_kinks(data.target))
        return self._kinks_cache[1]

    def elbow_paths(self, width: int, mode: str, optimizer=None):
        """``(x, y)`` of the shown seed's run of a cell for its kymograph: every unit's elbow
        against the step from the initial network on (without step 0 on a log axis), broken
        where a slope changes sign (:func:`~relu_studio.core.elbow_paths.elbow_paths`); None if
        the run has not finished."""
        run = self.run_of(width, mode, optimizer)
        if run is None:
            return None
        steps = np.concatenate([[0], np.asarray(run.steps, dtype=np.int64)])
        w = np.vstack([run.initial.w1[None], np.asarray(run.w1).reshape(len(run), -1)])
        b = np.vstack([run.initial.b1[None], np.asarray(run.b1).reshape(len(run), -1)])
        if self.log_steps:
            keep = steps > 0
            steps, w, b = steps[keep], w[keep], b[keep]
        return elbow_paths(steps, w, b)

    def kymograph_range(self) -> tuple[float, float]:
        """The steps the kymographs show: the grid's whole span, or on a log axis from half a
        decade before the first regular snapshot (:func:`~relu_studio.core.elbow_paths.log_step_view`)."""
        last = float(self.steps[-1]) if self.steps else 1.0
        if not self.log_steps:
            return 0.0, max(last, 1.0)
        view = log_step_view(self.steps)
        return view if view is not None else (1.0, 10.0)

    def table_rows(self) -> list[dict]:
        return results_table(self.result) if self.result is not None else []

    def open_cell(self, width: int, mode: str, optimizer=None) -> bool:
        """Emit :attr:`openCell` with the cell's run of the shown seed; False if it has none."""
        run = self.run_of(width, mode, optimizer)
        if run is None:
            if self.result is not None:
                label = self.column_optimizer_label(mode, self._column(mode, optimizer))
                label = f" with {label}" if label and len(self.optimizers()) > 1 else ""
                self._say(f"H = {width}, {mode_phrase(mode)}{label}, seed {self.shown_seed} has "
                          "not finished.", "warning")
            return False
        self.openCell.emit((int(width), str(mode), self.shown_seed, run, run.initial, self.result.data))
        return True

    # ------------------------------------------------------------------ export
    def export_csv(self, path) -> str | None:
        """Write the results table as CSV (the CLI's results.csv columns); an error text or None."""
        if self.result is None or not self.result.runs:
            return self._say("Nothing to export yet: run the grid first.", "warning")
        try:
            write_results_csv(self.result, path)
        except OSError as exc:
            return self._say(f"Could not write {path}: {exc.strerror or exc}", "error")
        self._say(f"Saved the results table to {path}.", "info")
        return None

    def _say(self, text: str, level: str) -> str | None:
        self.message.emit(text, level)
        return text if level in ("error", "warning") and text else None
