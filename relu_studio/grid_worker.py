"""The bridge between the Compare view and the core's experiment grid: a worker in a QThread.

The GUI creates a :class:`GridJob` (the grid's settings plus a thread-safe mailbox) and hands it
to :class:`GridWorker.run` through a queued signal. The worker calls the core's
:func:`~relu_studio.core.experiment.run_experiment` in its own thread (which trains the runs on
a pool of threads, one per core, with the GIL-free compiled kernels: many seeds as the lanes of
one batched kernel, few one run per thread). Its callbacks only store
numbers and finished runs in the job; the GUI polls the job on its own timer (about 10 Hz), so
the trainer never waits on the GUI and the GUI's event loop is never flooded. Cancelling sets
the job's ``threading.Event``: the threads stop within one chunk of steps (about 10 ms of
training, batched or not) and the runs finished so far are kept. The worker never touches a widget.
"""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot

from .core import kernel_preparation
from .core.dataset import Dataset
from .core.experiment import ExperimentResult, run_experiment
from .core.settings import GridSettings
from .training_worker import (
    KERNEL_POLL_MS,
    SHUTDOWN_MS,
    SwitchInterval,
    TrainingBridge,
    shutdown_thread,
)

__all__ = ["GridJob", "GridWorker", "GridThread"]


class GridJob:
    """One grid run: its settings, a cancel flag, and what the worker has reported so far.

    Worker threads write, the GUI thread reads with :meth:`take`.
    """

    def __init__(self, data: Dataset, settings: GridSettings):
        self.data = data
        self.settings = settings
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._new_runs: list = []  # (key, Run) finished since the last take()
        self.done_steps = 0
        self.total_steps = 0
        self.started = time.perf_counter()
        self.finished_at: float | None = None
        self.result: ExperimentResult | None = None
        self.error: str | None = None
        self.done = False

    # ------------------------------------------------------------------ worker threads
    def progress(self, done: int, total: int) -> None:
        """run_experiment's progress callback: only stores the numbers."""
        if done > self.done_steps:
            self.done_steps = done
        self.total_steps = total

    def on_run(self, key, run) -> None:
        with self._lock:
            self._new_runs.append((key, run))

    def finish(self, result: ExperimentResult | None, error: str | None) -> None:
        with self._lock:
            self.result, self.error = result, error
            self.finished_at = time.perf_counter()
            self.done = True

    # ------------------------------------------------------------------ GUI thread
    def take(self):
        """``(new_runs, done)``: the runs finished since the last call, and whether the job ended
        (then ``result`` or ``error`` is set and every run has been handed out)."""
        with self._lock:
            runs, self._new_runs = self._new_runs, []
            return runs, self.done

    @property
    def elapsed(self) -> float:
        end = self.finished_at if self.finished_at is not None else time.perf_counter()
        return end - self.started


class GridWorker(QObject):
    """Lives in a :class:`GridThread`; runs one job at a time (later jobs queue behind it)."""

    #: A job ended (one queued signal per grid, so the GUI collects the end without waiting
    #: for its next poll).
    jobDone = Signal()

    @Slot(object)
    def run(self, job: GridJob):
        if job.cancel.is_set():
            job.finish(None, None)
            self.jobDone.emit()
            return
        job.started = time.perf_counter()
        kernels = kernel_preparation.KERNELS
        while not kernels.wait_all(KERNEL_POLL_MS / 1000):  # the first compile: cancellable wait
            if job.cancel.is_set():
                job.finish(None, None)
                self.jobDone.emit()
                return
        try:
            result = run_experiment(job.data, settings=job.settings, progress=job.progress,
                                    cancel=job.cancel, on_run=job.on_run)
        except Exception as exc:  # bad settings (TrainingError) or a bug: reported, never raised
            job.finish(None, str(exc))
        else:
            job.finish(result, None)
        self.jobDone.emit()


class GridThread(QObject):
    """Owns the grid worker and its QThread. The thread starts with the first job and is ended
    by :meth:`shutdown` (the Compare view ends it after every grid, so none idles)."""

    _submit = Signal(object)

    def __init__(self, parent=None, worker: QObject | None = None, name: str = "relu-compare-grid"):
        """``worker``: the QObject whose ``run(job)`` slot does the work (default a
        :class:`GridWorker`; the Sweep view passes its own); jobs need a ``cancel`` Event."""
        super().__init__(parent)
        # The studio's test fixtures check that no bridge's thread outlives its window: this one
        # is registered with the training bridges (it has the same ``thread``/``shutdown``).
        TrainingBridge.instances.add(self)
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker = worker if worker is not None else GridWorker()
        self.worker.moveToThread(self.thread)
        self._submit.connect(self.worker.run)
        self.thread.finished.connect(SwitchInterval.release)
        self.job: GridJob | None = None

    def submit(self, job: GridJob) -> None:
        """Cancel any job in progress and queue ``job`` (it starts when the thread is free)."""
        if self.job is not None:
            self.job.cancel.set()
        self.job = job
        if not self.thread.isRunning():
            SwitchInterval.acquire()  # released when the thread ends (after this job)
            self.thread.start()
        self._submit.emit(job)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.set()

    def shutdown(self, timeout_ms: int = SHUTDOWN_MS) -> bool:
        """Cancel the job in progress and end the thread; True if it ended within the timeout.

        The pool notices the cancel flag within one chunk (about 10 ms of training), so this
        returns promptly even mid-grid; it never blocks longer than ``timeout_ms``.
        """
        self.cancel()
        return shutdown_thread(self, timeout_ms, self.thread.quit)
