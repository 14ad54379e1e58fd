"""The bridge between the Sweep view and the core's sweep runner: a worker in a QThread.

The GUI creates a :class:`SweepJob` (the runs, the output folder and a cancel flag) and hands it
to the worker through a queued signal. The worker calls :func:`~relu_studio.core.sweep_run.run_sweep`
on a local pool (one thread per core; no Dask in the app), which writes the rows to the folder as
they finish; its callbacks only store counts in the job, which the GUI polls on its own timer.
Cancelling sets the job's ``threading.Event``; the finished rows stay in the folder.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from .core.sweep_run import LocalExecutor, run_sweep
from .grid_worker import GridThread

__all__ = ["SweepJob", "SweepWorker", "SweepThread"]


class SweepJob:
    """One sweep: its runs and folder, a cancel flag, and the progress so far (worker writes,
    GUI reads)."""

    def __init__(self, runs: list, folder):
        self.runs = list(runs)
        self.folder = Path(folder)
        self.cancel = threading.Event()
        self.done_runs = 0
        self.total_runs = len(self.runs)
        self.outcome = None
        self.error: str | None = None
        self.done = False

    def progress(self, done: int, total: int) -> None:
        self.done_runs, self.total_runs = done, total


class SweepWorker(QObject):
    jobDone = Signal(object)  # the SweepJob

    @Slot(object)
    def run(self, job: SweepJob):
        try:
            job.outcome = run_sweep(job.runs, job.folder, LocalExecutor(), progress=job.progress,
                                    cancel=job.cancel)
        except Exception as exc:  # a full disk, a bad folder: reported, never raised
            job.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, (OSError, ValueError)) else str(exc)
        job.done = True
        self.jobDone.emit(job)


class SweepThread(GridThread):
    """Owns the sweep worker and its QThread (started with the first job, ended by shutdown):
    the Compare grid's thread life cycle with a :class:`SweepWorker`."""

    def __init__(self, parent=None):
        super().__init__(parent, SweepWorker(), "relu-sweep")
