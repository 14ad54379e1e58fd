"""The one bridge between the GUI and the core: a QObject that trains in its own QThread.

The worker runs the core's :class:`~relu_studio.core.training.Trainer` one short chunk at a time
(about 10 ms of work), returning to its thread's event loop between chunks so that commands sent
from the GUI (pause, step, stop, new learning rate) take effect within one chunk. After each chunk
it publishes an immutable :class:`Snapshot` in a one-slot mailbox; the GUI takes the newest one on
its own timer and older ones are simply overwritten, so training speed never floods the GUI's
event loop. The worker never touches a widget.
"""
from __future__ import annotations

import sys
import threading
import time
import weakref
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from .core.dataset import Dataset
from .core.network import Network
from .core.training import Run, Trainer

__all__ = ["Snapshot", "TrainingWorker", "WorkerThread"]

IDLE, RUNNING, PAUSED, FINISHED, DIVERGED, STOPPED, FAILED = (
    "idle", "running", "paused", "finished", "diverged", "stopped", "failed")

#: Target wall time of one chunk; pause/stop latency is at most about this.
CHUNK_SECONDS = 0.020
#: The interpreter's thread switch interval while a worker exists. Between chunks the worker needs
#: the GIL briefly; with the default 5 ms it can wait that long each time while the GUI thread
#: paints, which costs a third of the training speed. 0.5 ms keeps both threads moving.
SWITCH_INTERVAL = 0.0005


@dataclass(frozen=True)
class Snapshot:
    """What the GUI needs to draw one frame of a run in progress (all fields immutable)."""

    serial: int
    state: str
    step: int  # steps done in this run
    total: int  # steps this run will do
    network: Network
    run: Run  # read-only views of the trainer's history so far
    steps_per_second: float
    message: str = ""
    token: int = 0  # the controller's tag for the run this snapshot belongs to


class TrainingWorker(QObject):
    """Lives in a QThread; driven by queued calls of its slots."""

    stateChanged = Signal(str)
    runEnded = Signal(object)  # the final Snapshot (finished, diverged or stopped)
    failed = Signal(str)
    warmedUp = Signal(float)  # seconds the JIT warm-up took

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._latest: Snapshot | None = None
        self._serial = 0
        self._trainer: Trainer | None = None
        self._state = IDLE
        self._chunk = 500
        self._pause_after: int | None = None
        self._rate = 0.0
        self._scheduled = False
        self._token = 0
        # A zero-interval single-shot timer (a child, so it moves to the worker's thread with it)
        # drives the loop: QTimer.singleShot(0, callable) leaks a reference to None per call in
        # PySide6 and crashes the interpreter after enough chunks.
        self._ticker = QTimer(self)
        self._ticker.setObjectName("relu-worker-ticker")
        self._ticker.setSingleShot(True)
        self._ticker.setInterval(0)
        self._ticker.timeout.connect(self._tick)

    # ------------------------------------------------------------------ mailbox (any thread)
    def take_latest(self) -> Snapshot | None:
        """The newest snapshot not yet taken (None if nothing new); older ones were dropped."""
        with self._lock:
            snap, self._latest = self._latest, None
            return snap

    @property
    def state(self) -> str:
        return self._state

    # ------------------------------------------------------------------ commands (worker thread)
    @Slot()
    def warm_up(self):
        """Compile or load the cached training kernel, off the GUI thread."""
        t0 = time.perf_counter()
        try:
            from .core.dataset import make_dataset
            from .core.network import init_network

            Trainer(init_network(2, 0), make_dataset("abs", n=10, noise=0.0), steps=3, save_every=1).run()
        except Exception as exc:  # pragma: no cover - reported to the user
            self.failed.emit(f"Could not prepare the training kernel: {exc}")
            return
        self.warmedUp.emit(time.perf_counter() - t0)

    @Slot(object, object, dict)
    def start(self, net: Network, data: Dataset, settings: dict):
        """Begin a new run from ``net``; ``settings`` are :class:`Trainer` keyword arguments."""
        settings = dict(settings)
        pause_after = settings.pop("pause_after", None)
        self._token = settings.pop("token", 0)
        try:
            self._trainer = Trainer(net, data, **settings)
        except Exception as exc:
            self._trainer = None
            self.failed.emit(str(exc))
            self._set_state(IDLE)
            return
        self._pause_after = pause_after
        self._rate = 0.0
        self._set_state(RUNNING)
        self._publish()
        self._schedule()

    @Slot()
    def pause(self):
        if self._state == RUNNING:
            # Publish first: whoever sees the state change finds the paused run's snapshot ready.
            self._state = PAUSED
            self._publish()
            self.stateChanged.emit(PAUSED)

    @Slot()
    def resume(self):
        if self._state == PAUSED and self._trainer is not None:
            self._pause_after = None
            self._set_state(RUNNING)
            self._schedule()

    @Slot(int)
    def step(self, n_steps: int):
        """Run ``n_steps`` more steps of a paused run, then pause again."""
        if self._state == PAUSED and self._trainer is not None:
            self._pause_after = self._trainer.step + max(1, int(n_steps))
            self._set_state(RUNNING)
            self._schedule()

    @Slot(dict)
    def set_options(self, options: dict):
        """Change lr and/or mode of the run in progress (history and network are kept)."""
        if self._trainer is not None and self._state in (RUNNING, PAUSED):
            try:
                self._trainer.set_options(**options)
            except Exception as exc:
                self.failed.emit(str(exc))

    @Slot()
    def stop(self):
        """End the run now; its history so far is kept and reported by runEnded."""
        if self._trainer is not None and self._state in (RUNNING, PAUSED):
            self._end(STOPPED, "Training stopped.")

    @Slot()
    def halt(self):
        """Drop any run and stop the loop's timer (in this thread, before the thread quits)."""
        self._ticker.stop()
        self._trainer = None
        self._state = IDLE

    # ------------------------------------------------------------------ the loop
    def _schedule(self):
        if not self._scheduled:
            self._scheduled = True
            self._ticker.start()

    @Slot()
    def _tick(self):
        self._scheduled = False
        tr = self._trainer
        if self._state != RUNNING or tr is None:
            return
        k = self._chunk
        if self._pause_after is not None:
            k = min(k, self._pause_after - tr.step)
        t0 = time.perf_counter()
        try:
            ran = tr.advance(k)
        except Exception as exc:  # pragma: no cover - a bug; keep the GUI alive and say so
            self._end(FAILED, f"Training failed: {exc}")
            return
        dt = max(time.perf_counter() - t0, 1e-6)
        if ran:
            rate = ran / dt
            self._rate = rate if self._rate == 0 else 0.8 * self._rate + 0.2 * rate
            self._chunk = int(min(100_000, max(20, self._chunk * CHUNK_SECONDS / dt)))
        if tr.diverged_at is not None:
            self._end(DIVERGED, tr.message)
            return
        if tr.done:
            self._end(FINISHED, f"Finished {tr.step:,} steps.")
            return
        if self._pause_after is not None and tr.step >= self._pause_after:
            self._pause_after = None
            self._state = PAUSED
            self._publish()
            self.stateChanged.emit(PAUSED)
            return
        self._publish()
        self._schedule()

    def _end(self, state: str, message: str):
        self._set_state(state)
        snap = self._publish(message)
        self._trainer = None
        self.runEnded.emit(snap)

    def _publish(self, message: str = "") -> Snapshot:
        tr = self._trainer
        self._serial += 1
        snap = Snapshot(self._serial, self._state, tr.step, tr.total_steps, tr.network, tr.result(),
                        self._rate, message, self._token)
        with self._lock:
            self._latest = snap
        return snap

    def _set_state(self, state: str):
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)


class WorkerThread(QObject):
    """Owns the worker and its QThread; ``shutdown()`` stops both cleanly (also mid-run)."""

    _halt = Signal()

    #: Every bridge ever made (weakly): lets tests prove no training thread outlives its window.
    instances: "weakref.WeakSet[WorkerThread]" = weakref.WeakSet()

    def __init__(self, parent=None):
        super().__init__(parent)
        WorkerThread.instances.add(self)
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self.thread = QThread()
        self.thread.setObjectName("relu-studio-trainer")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.thread)
        # Blocking: shutdown() returns only once the worker has let go of its run and timer.
        self._halt.connect(self.worker.halt, Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.start()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop training and the thread; True if the thread ended within the timeout."""
        if not self.thread.isRunning():
            return True
        # The worker returns to its event loop between chunks (about 20 ms): there it drops the
        # run in progress, which is what closing the window mid-run means, and the loop ends.
        self._halt.emit()
        self.thread.quit()
        ok = self.thread.wait(timeout_ms)
        return bool(ok)
