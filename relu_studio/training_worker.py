"""The bridge between the studio and the core's training: a worker that trains in its own QThread.

The worker runs the core's :class:`~relu_studio.core.training.Trainer` one short chunk at a time
(about 20 ms of work), returning to its thread's event loop between chunks so that commands sent
from the GUI (pause, step, stop, new learning rate, mode or pace) take effect within one chunk.

At a pace below full speed (:mod:`relu_studio.core.pace`, the studio's pace control) the worker
runs the steps that are due, in groups of about one frame, and waits for the next group on a
timer of its thread's event loop: it never sleeps, so pause, stop and closing the window are
handled at once. The pace changes only when steps run, never which: a paced run is bit for bit
the run at full speed.

After each chunk the worker publishes an immutable :class:`Snapshot` in a one-slot mailbox; the
GUI takes the newest one on its own timer and older ones are simply overwritten, so training
speed never floods the GUI's event loop. The worker never touches a widget.

:class:`TrainingBridge` is what the studio's controller holds: it owns the worker and its thread,
turns method calls into queued commands (``start(RunRequest)``, ``pause()``, ...) and shuts both
down within a bound, also mid-run or during the first kernel compile.
"""
from __future__ import annotations

import math
import sys
import threading
import time
import weakref
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from .core import kernel_preparation
from .core.dataset import Dataset
from .core.network import Network
from .core.pace import FULL_SPEED, Pace, PaceSchedule, RateMeter
from .core.run_resume import ResumePoint, capture
from .core.training import Run, Trainer, TrainSettings

__all__ = ["Snapshot", "RunRequest", "TrainingWorker", "TrainingBridge", "finish_stray_threads",
           "shutdown_thread", "SwitchInterval", "IDLE", "RUNNING", "PAUSED", "FINISHED",
           "DIVERGED", "STOPPED", "FAILED"]

IDLE, RUNNING, PAUSED, FINISHED, DIVERGED, STOPPED, FAILED = (
    "idle", "running", "paused", "finished", "diverged", "stopped", "failed")

#: Target wall time of one chunk; pause/stop latency is at most about this.
CHUNK_SECONDS = 0.020
#: The first chunk of a run does about this many multiply-adds (then the chunk adapts to time),
#: so that even a width-100 000 network's first chunk is short.
FIRST_CHUNK_OPS = 4_000_000
#: While the kernels are being prepared, the worker looks again this often (ms).
KERNEL_POLL_MS = 25
#: How long closing a window waits for its worker thread (ms); a worker is never busy longer
#: than one chunk, so this is only a bound.
SHUTDOWN_MS = 2000
#: A paced worker waiting for its next steps looks again at least this often (ms), so that a
#: clock that jumps cannot stall it; commands never wait for it.
MAX_PACE_WAIT_MS = 250


@dataclass(frozen=True)
class RunRequest:
    """A run for the worker: train ``network`` on ``data`` with ``settings`` (resolved engine
    settings), pausing after ``pause_after`` steps if given. ``token`` tags the run's snapshots."""

    network: Network
    data: Dataset
    settings: TrainSettings
    pause_after: int | None = None
    token: int = 0
    #: A run to continue exactly (``network`` is the one it reached; ``settings`` is ignored).
    resume: ResumePoint | None = None


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
    #: How to continue the run exactly from ``network`` (None once it ended): a session saved
    #: now keeps it.
    resume: ResumePoint | None = None


class SwitchInterval:
    """The interpreter's thread switch interval, shortened while a worker thread exists.

    Between chunks the worker needs the GIL briefly; with the default 5 ms it can wait that long
    each time while the GUI thread paints, which costs a third of the training speed. 0.5 ms keeps
    both threads moving. The previous value comes back when the last worker is gone.
    """

    FAST = 0.0005
    _users = 0
    _saved: float | None = None
    _lock = threading.Lock()

    @classmethod
    def acquire(cls) -> None:
        with cls._lock:
            if cls._users == 0:
                cls._saved = sys.getswitchinterval()
                if cls._saved > cls.FAST:
                    sys.setswitchinterval(cls.FAST)
            cls._users += 1

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            if cls._users == 0:
                return
            cls._users -= 1
            if cls._users == 0 and cls._saved is not None:
                sys.setswitchinterval(cls._saved)
                cls._saved = None


class TrainingWorker(QObject):
    """Lives in a QThread; driven by queued calls of its slots."""

    stateChanged = Signal(str)
    runEnded = Signal(object)  # the final Snapshot (finished, diverged or stopped)
    failed = Signal(str)
    warmedUp = Signal(float)  # seconds the kernel's preparation took

    def __init__(self, clock=time.monotonic):
        super().__init__()
        #: The clock the pace is kept by (seconds); tests put a fake one here.
        self.clock = clock
        self._pace: Pace = FULL_SPEED
        self._anchored: PaceSchedule | None = None  # the pace, anchored (made when steps are due)
        self._meter = RateMeter()
        self._kernels = kernel_preparation.KERNELS
        self._halted = threading.Event()  # set from any thread: drop everything, do nothing more
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
        self._offset, self._run_total = 0, None  # a resumed run: steps done before, its steps
        # A single-shot timer (a child, so it moves to the worker's thread with it) drives the
        # loop: QTimer.singleShot(0, callable) leaks a reference to None per call in PySide6 and
        # crashes the interpreter after enough chunks.
        self._ticker = QTimer(self)
        self._ticker.setObjectName("relu-worker-ticker")
        self._ticker.setSingleShot(True)
        self._ticker.setTimerType(Qt.TimerType.PreciseTimer)  # a paced wait ends on time
        self._ticker.timeout.connect(self._tick)
        self._warm_timer = QTimer(self)
        self._warm_timer.setObjectName("relu-worker-warm-up")
        self._warm_timer.setInterval(KERNEL_POLL_MS)
        self._warm_timer.timeout.connect(self._check_warm_up)

    # ------------------------------------------------------------------ mailbox (any thread)
    def take_latest(self) -> Snapshot | None:
        """The newest snapshot not yet taken (None if nothing new); older ones were dropped."""
        with self._lock:
            snap, self._latest = self._latest, None
            return snap

    @property
    def state(self) -> str:
        return self._state

    def request_halt(self) -> None:
        """Any thread: from now on the worker drops its run and does no more work."""
        self._halted.set()

    # ------------------------------------------------------------------ commands (worker thread)
    @Slot()
    def warm_up(self):
        """Start preparing the training kernel in the background (returns at once); ``warmedUp``
        or ``failed`` follows when it is ready."""
        self._kernels.start()
        self._warm_timer.start()

    @Slot()
    def _check_warm_up(self):
        if self._halted.is_set() or not self._kernels.ready.is_set():
            return
        self._warm_timer.stop()
        if self._kernels.error:
            self.failed.emit(self._kernels.error)
        else:
            self.warmedUp.emit(self._kernels.seconds or 0.0)

    @Slot(object)
    def start(self, request: RunRequest):
        """Begin a new run (see :class:`RunRequest`)."""
        self._token = request.token
        st = request.settings
        try:
            if request.resume is not None:
                self._trainer = request.resume.trainer(request.network, request.data)
                self._offset, self._run_total = request.resume.step, request.resume.settings.steps
            else:
                self._trainer = Trainer(request.network, request.data, mode=st.mode, lr=st.lr,
                                        steps=st.steps, batch_size=st.batch_size,
                                        save_every=st.save_every, seed=st.seed,
                                        optimizer=st.optimizer, loss=st.loss)
                self._offset, self._run_total = 0, None
        except Exception as exc:  # a bad setting or network: said, never raised
            self._trainer = None
            self.failed.emit(str(exc))
            self._set_state(IDLE)
            return
        self._pause_after = request.pause_after
        self._rate = 0.0
        self._unanchor()
        width, batch = request.network.width, self._trainer.settings.batch_size
        self._chunk = int(max(1, min(500, FIRST_CHUNK_OPS // max(1, width * batch))))
        self._set_state(RUNNING)
        self._publish()
        self._schedule(now=True)  # not after a wait left over from an earlier paced run

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
            self._unanchor()
            self._set_state(RUNNING)
            self._schedule(now=True)

    @Slot(int)
    def step(self, n_steps: int):
        """Run ``n_steps`` more steps of a paused run, then pause again."""
        if self._state == PAUSED and self._trainer is not None:
            self._pause_after = self._trainer.step + max(1, int(n_steps))
            self._unanchor()
            self._set_state(RUNNING)
            self._schedule(now=True)

    @Slot(object)
    def set_pace(self, pace: Pace):
        """Train at ``pace`` from now on (also the run in progress, from its current step)."""
        self._pace = pace if isinstance(pace, Pace) else FULL_SPEED
        self._unanchor()
        if self._state == RUNNING:
            self._schedule(now=True)  # a wait for the old pace is cut short

    @property
    def pace(self) -> Pace:
        return self._pace

    @Slot(str, float)
    def set_options(self, mode: str, lr: float):
        """Change the mode and learning rate of the run in progress (history and network kept)."""
        if self._trainer is not None and self._state in (RUNNING, PAUSED):
            try:
                self._trainer.set_options(mode=mode, lr=lr)
            except Exception as exc:
                self.failed.emit(str(exc))

    @Slot()
    def stop(self):
        """End the run now; its history so far is kept and reported by runEnded."""
        if self._trainer is not None and self._state in (RUNNING, PAUSED):
            self._end(STOPPED, "Training stopped.")

    @Slot()
    def halt(self):
        """Drop any run, stop the loop's timers (they belong to this thread) and end the thread."""
        self._halted.set()
        self._ticker.stop()
        self._warm_timer.stop()
        self._trainer = None
        self._state = IDLE
        self.thread().quit()

    # ------------------------------------------------------------------ the loop
    def _schedule(self, delay_ms: int = 0, now: bool = False):
        """Run the loop again after ``delay_ms``; ``now``: also if it was waiting longer."""
        if now and self._scheduled:
            self._ticker.stop()
            self._scheduled = False
        if not self._scheduled:
            self._scheduled = True
            self._ticker.start(delay_ms)

    def _unanchor(self):
        """The pace starts afresh from the run's current step at its next chunk."""
        self._anchored = None
        self._meter.reset()

    @Slot()
    def _tick(self):
        self._scheduled = False
        tr = self._trainer
        if self._halted.is_set() or self._state != RUNNING or tr is None:
            return
        if not self._kernels.ready.is_set():  # the first compile: wait without blocking the thread
            self._kernels.start()
            self._schedule(KERNEL_POLL_MS)
            return
        if self._kernels.error:
            self._end(FAILED, self._kernels.error)
            return
        k = self._chunk
        paced = not self._pace.full_speed
        if paced:
            due = self._due(tr.step)
            if due == 0:
                return
            if due is not None:
                k = min(k, due)
        if self._pause_after is not None:
            k = min(k, self._pause_after - tr.step)
        t0 = time.perf_counter()
        try:
            ran = tr.advance(k)
        except Exception as exc:  # pragma: no cover - a bug; keep the GUI alive and say so
            self._end(FAILED, f"Training failed: {exc}")
            return
        dt = max(time.perf_counter() - t0, 1e-6)
        if paced:
            # The rate reached on the wall clock (waits included); the chunk adapts only when it
            # was the limit (when catching up), as at full speed.
            self._meter.add(self.clock(), tr.step)
            self._rate = self._meter.rate
            if ran and ran >= self._chunk:
                self._chunk = int(min(100_000, max(20, self._chunk * CHUNK_SECONDS / dt)))
        elif ran:
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

    def _due(self, step: int) -> int | None:
        """At a pace: how many steps may run now (None: no limit); 0 means the loop waits, and
        its next turn is already scheduled."""
        now = self.clock()
        if self._anchored is None:
            self._anchored = PaceSchedule(self._pace, step, now)
            self._meter.add(now, step)
        k, wait = self._anchored.plan(step, now)
        if k == 0:
            self._schedule(min(MAX_PACE_WAIT_MS, max(1, math.ceil(wait * 1000))))
        return k

    def _end(self, state: str, message: str):
        self._set_state(state)
        snap = self._publish(message)
        self._trainer = None
        self.runEnded.emit(snap)

    def _publish(self, message: str = "") -> Snapshot:
        tr = self._trainer
        self._serial += 1
        resume = None if tr.done else capture(tr, self._offset, self._run_total)
        snap = Snapshot(self._serial, self._state, tr.step, tr.total_steps, tr.network, tr.result(),
                        self._rate, message, self._token, resume)
        with self._lock:
            self._latest = snap
        return snap

    def _set_state(self, state: str):
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)


# --------------------------------------------------------------------------- shutting down
#: Bridges whose thread did not end within the shutdown bound: kept alive (a QThread destroyed
#: while it runs aborts the process) until :func:`finish_stray_threads` at the app's exit.
_STRAYS: set = set()


def _keep_until_finished(bridge) -> None:
    _STRAYS.add(bridge)
    bridge.thread.finished.connect(lambda: _STRAYS.discard(bridge),
                                   Qt.ConnectionType.DirectConnection)


def finish_stray_threads(timeout_s: float = 30.0) -> bool:
    """At the app's exit (its windows are gone): wait up to ``timeout_s`` for worker threads that
    did not end when their window closed; True if none is left running."""
    deadline = time.monotonic() + timeout_s
    for bridge in list(_STRAYS):
        left_ms = max(0, int(1000 * (deadline - time.monotonic())))
        if bridge.thread.wait(left_ms):
            _STRAYS.discard(bridge)
    return not any(b.thread.isRunning() for b in _STRAYS)


def shutdown_thread(bridge, timeout_ms: int, stop) -> bool:
    """Call ``stop()`` (from this thread: it tells the worker to stop and its thread's event loop
    to end) and wait up to ``timeout_ms``; True if the thread ended.

    Never blocks longer than that: a worker that is still busy (at most one chunk, or numba's
    first compile in a pool thread) is left to finish on its own and kept alive meanwhile.
    """
    if not bridge.thread.isRunning():
        return True
    stop()
    if bridge.thread.wait(int(timeout_ms)):
        return True
    _keep_until_finished(bridge)
    return False


# --------------------------------------------------------------------------- the bridge
class TrainingBridge(QObject):
    """Owns a :class:`TrainingWorker` and its QThread; its methods are the worker's commands,
    queued to the worker's thread so they run between chunks."""

    _cmd_warm_up = Signal()
    _cmd_start = Signal(object)
    _cmd_pause = Signal()
    _cmd_resume = Signal()
    _cmd_step = Signal(int)
    _cmd_stop = Signal()
    _cmd_options = Signal(str, float)
    _cmd_pace = Signal(object)
    _cmd_halt = Signal()

    #: Every bridge ever made (weakly): lets tests prove no training thread outlives its window.
    instances: "weakref.WeakSet" = weakref.WeakSet()

    def __init__(self, parent=None):
        super().__init__(parent)
        TrainingBridge.instances.add(self)
        SwitchInterval.acquire()
        self._released = False
        self.thread = QThread()
        self.thread.setObjectName("relu-studio-trainer")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.thread)
        w = self.worker
        for sig, slot in ((self._cmd_warm_up, w.warm_up), (self._cmd_start, w.start),
                          (self._cmd_pause, w.pause), (self._cmd_resume, w.resume),
                          (self._cmd_step, w.step), (self._cmd_stop, w.stop),
                          (self._cmd_options, w.set_options), (self._cmd_pace, w.set_pace),
                          (self._cmd_halt, w.halt)):
            sig.connect(slot)
        self.thread.finished.connect(self._release)
        self.thread.start()

    # ------------------------------------------------------------------ commands
    def warm_up(self) -> None:
        self._cmd_warm_up.emit()

    def start(self, request: RunRequest) -> None:
        self._cmd_start.emit(request)

    def pause(self) -> None:
        self._cmd_pause.emit()

    def resume(self) -> None:
        self._cmd_resume.emit()

    def step(self, n_steps: int) -> None:
        self._cmd_step.emit(int(n_steps))

    def stop(self) -> None:
        self._cmd_stop.emit()

    def set_options(self, mode: str, lr: float) -> None:
        self._cmd_options.emit(str(mode), float(lr))

    def set_pace(self, pace: Pace) -> None:
        """Train at ``pace`` (see :mod:`relu_studio.core.pace`); full speed unless told."""
        self._cmd_pace.emit(pace)

    def take_latest(self) -> Snapshot | None:
        return self.worker.take_latest()

    # ------------------------------------------------------------------ shutting down
    def shutdown(self, timeout_ms: int = SHUTDOWN_MS) -> bool:
        """Stop training and the thread; True if the thread ended within ``timeout_ms``.

        The worker checks its halt flag before every chunk (about 20 ms of work) and never waits
        for the kernel's first compile on its own thread, so the thread normally ends at once.
        """
        def stop():
            self.worker.request_halt()
            self._cmd_halt.emit()  # queued: the worker stops its timers and its thread itself

        return shutdown_thread(self, timeout_ms, stop)

    def _release(self):
        if not self._released:
            self._released = True
            SwitchInterval.release()
