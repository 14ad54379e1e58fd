"""The Sweep view's controller (no widgets): a sweep's rows, the plotted axis and error, the lines,
running a small sweep in the worker, and opening a run in the studio."""
from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..core.sweep_run import HISTORIES, RESULTS_CSV, read_results, train_run
from ..core.sweep_spec import DOUBLE_DESCENT, RunSpec, SweepError, expand, spec_from_toml
from ..core.sweep_summary import X_AXES, log_axis_apt, sweep_lines, swept_axes
from ..sweep_worker import SweepJob, SweepThread

__all__ = ["SweepController", "SWEEP_PRESETS"]

#: The view's presets: name -> TOML text.
SWEEP_PRESETS = {"Double descent": DOUBLE_DESCENT}
POLL_MS = 100


class SweepController(QObject):
    rowsChanged = Signal()  # new rows (a file opened, runs arrived): axes and lines redrawn
    progressChanged = Signal(int, str)  # per mille, text
    runningChanged = Signal(bool)
    message = Signal(str, str)  # text, level ("info", "error")
    openRun = Signal(object)  # (width, mode, seed, Run, initial Network, Dataset)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[dict] = []
        self.path: Path | None = None
        self.x_axis = "width"
        self.metric = "final_test_mse"
        self.lines: list = []
        self._thread: SweepThread | None = None
        self._job: SweepJob | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._tmp = None

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self._job is not None and not self._job.done

    @property
    def axes(self) -> tuple:
        """The numeric swept axes a plot can run along (the seed is the band)."""
        return tuple(a for a in swept_axes(self.rows) if a in X_AXES)

    @property
    def log_x(self) -> bool:
        return any(log_axis_apt(line.x) for line in self.lines)

    # ------------------------------------------------------------------ opening and running
    def open_file(self, path) -> str | None:
        """Show a results file (CSV, or Parquet with pyarrow); on error nothing changes."""
        path = Path(path)
        try:
            rows = read_results(path)
        except SweepError as exc:
            return self._say(str(exc), "error")
        if not rows:
            return self._say(f"{path.name} holds no runs yet", "error")
        self.path = path
        self._set_rows(rows)
        self._say(f"{path.name}: {len(rows):,} runs", "info")
        return None

    def run_preset(self, name: str, folder=None) -> str | None:
        """Run a preset sweep in the worker, into ``folder`` (default: a temporary folder)."""
        spec = spec_from_toml(SWEEP_PRESETS[name], source=f"preset {name}")
        if folder is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="relu-sweep-")
            folder = self._tmp.name
        return self.run_runs(expand(spec), folder)

    def run_runs(self, runs: list, folder) -> str | None:
        if self.running:
            return self._say("a sweep is running: cancel it first", "error")
        if self._thread is None:
            self._thread = SweepThread(self)
        self._job = SweepJob(runs, folder)
        self.path = Path(folder) / RESULTS_CSV
        self.rows, self.lines = [], []
        self._thread.submit(self._job)
        self._timer.start()
        self.runningChanged.emit(True)
        self.progressChanged.emit(0, f"0 / {len(runs):,} runs")
        return None

    def cancel(self) -> None:
        if self._thread is not None:
            self._thread.cancel()

    def shutdown(self) -> bool:
        self._timer.stop()
        return self._thread.shutdown() if self._thread is not None else True

    def _poll(self) -> None:
        job = self._job
        if job is None:
            return
        total = max(job.total_runs, 1)
        self.progressChanged.emit(int(1000 * job.done_runs / total),
                                  f"{job.done_runs:,} / {job.total_runs:,} runs")
        if not job.done:
            return
        self._timer.stop()
        self.runningChanged.emit(False)
        if job.error:
            self._say(f"the sweep stopped: {job.error}", "error")
        if (job.folder / RESULTS_CSV).exists():
            try:
                self._set_rows(read_results(job.folder / RESULTS_CSV))
            except SweepError as exc:
                self._say(str(exc), "error")
        if job.outcome is not None:
            o = job.outcome
            state = "cancelled" if o.cancelled else "done"
            self._say(f"sweep {state}: {o.ran:,} runs in {o.wall:.1f} s", "info")

    # ------------------------------------------------------------------ what is plotted
    def _set_rows(self, rows: list[dict]) -> None:
        self.rows = rows
        axes = self.axes
        if axes and self.x_axis not in axes:
            self.x_axis = axes[0]
        self._update_lines()

    @property
    def training_points(self) -> int | None:
        """The number of training points n when every row shares one (the width at which the
        hidden features could first interpolate the data, marked on a width axis), else None."""
        ns = {str(r.get("n", "")) for r in self.rows}  # (a CSV's rows hold text)
        if len(ns) != 1:
            return None
        try:
            return int(ns.pop())
        except ValueError:
            return None

    def set_x_axis(self, axis: str) -> None:
        if axis != self.x_axis:
            self.x_axis = axis
            self._update_lines()

    def set_metric(self, metric: str) -> None:
        if metric != self.metric:
            self.metric = metric
            self._update_lines()

    def _update_lines(self) -> None:
        self.lines = sweep_lines(self.rows, self.x_axis, self.metric) if self.rows else []
        self.rowsChanged.emit()

    # ------------------------------------------------------------------ opening a run
    def open_point(self, line: int, index: int) -> str | None:
        """Open the run behind a point (the seed whose error is nearest the median) in the
        studio: its saved history if the sweep kept one, else trained now."""
        try:
            row = self.lines[line].nearest_row(index)
        except IndexError:
            return self._say("no such point", "error")
        return self.open_row(row)

    def open_row(self, row: dict) -> str | None:
        from ..core.io.run_files import HistoryFileError, load_run_npz
        from ..core.sweep_run import dataset_of

        try:
            spec = RunSpec.from_row(row)
            saved = None if self.path is None else self.path.parent / HISTORIES / f"{row.get('run_id')}.npz"
            if saved is not None and saved.exists():
                run = load_run_npz(saved)
                data, initial = dataset_of(spec), run.initial
            else:
                data, initial, run = train_run(spec)
        except (SweepError, HistoryFileError, ValueError) as exc:
            return self._say(f"cannot open this run: {exc}", "error")
        self.openRun.emit((spec.width, spec.mode, spec.seed, run, initial, data))
        return None

    def _say(self, text: str, level: str) -> str | None:
        self.message.emit(text, level)
        return text if level == "error" else None
