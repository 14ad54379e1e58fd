"""The studio's controller: holds the session state, turns user intent into core calls, worker
commands and undoable state changes, and tells the views what changed. No model math here: the
core computes, the controller decides what to keep."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from ..core.dataset import Dataset, make_dataset
from ..core.editing import evaluate_edit
from ..core.geometry import polyline_mse
from ..core.history import History, HistoryView
from ..core.network import Network, init_network
from ..core.ridge import DEFAULT_LAMBDA, fit_ridge, ridge_mse
from ..core.session import Session
from ..core.training import DEFAULT_LR, TrainingError, TrainSettings
from ..worker import DIVERGED, FINISHED, IDLE, PAUSED, RUNNING, STOPPED, Snapshot, WorkerThread
from .undo import StateCommand, StudioState

__all__ = ["StudioController", "StudioSettings", "FRAME_MS"]

#: The GUI applies the newest training snapshot at most this often (about 60 Hz).
FRAME_MS = 16
#: Delay before the worker prepares the training kernel (after the window's first paint).
WARM_UP_DELAY_MS = 400


@dataclass(frozen=True)
class StudioSettings:
    """Everything the parameter panel sets. Defaults are the course notebook's."""

    target: str = "piecewise_linear"
    n: int = 200
    noise: float = 0.1
    data_seed: int = 1
    width: int = 20
    init_seed: int = 0
    mode: str = "all"  # "output", "all" or "ridge"
    lr: dict = field(default_factory=lambda: dict(DEFAULT_LR))  # per mode
    steps: int = 150_000
    batch_size: int | None = None  # None: n // 5
    save_every: int = 1000
    lam: float = DEFAULT_LAMBDA

    @property
    def current_lr(self) -> float:
        return self.lr.get(self.mode, DEFAULT_LR["all"])


@dataclass(frozen=True)
class Preview:
    """A hand edit in progress (a drag): shown at once, committed (undoably) when it ends."""

    network: Network
    data: Dataset
    full_train_error: float
    dead: object  # bool mask: units never active on the data

    @property
    def test_error(self) -> float:
        """Test MSE (computed on demand: it is not needed on every drag event)."""
        return polyline_mse(self.network, self.data.x_test, self.data.y_test)


class StudioController(QObject):
    dataChanged = Signal()
    networkChanged = Signal()  # the current network or the history changed (not a live frame)
    frame = Signal()  # a new live training frame was applied
    previewChanged = Signal()  # a drag in progress moved (or ended)
    stateChanged = Signal(str)  # idle / running / paused
    message = Signal(str, str)  # text, level: "info", "warning" or "error"
    settingsChanged = Signal()
    runRecorded = Signal()  # a run's history became part of the session
    # Commands to the worker: queued across threads, so they run between its chunks.
    _cmd_warm_up = Signal()
    _cmd_start = Signal(object, object, dict)
    _cmd_pause = Signal()
    _cmd_resume = Signal()
    _cmd_step = Signal(int)
    _cmd_stop = Signal()
    _cmd_options = Signal(dict)

    def __init__(self, settings: StudioSettings | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings or StudioSettings()
        self.data: Dataset = make_dataset(self.settings.target, self.settings.n,
                                          self.settings.noise, self.settings.data_seed)
        self.initial: Network = init_network(self.settings.width, self.settings.init_seed)
        self.history = HistoryView(History.start(self.initial, self.data))
        self.undo_stack = QUndoStack(self)
        self.ridge_follow = False
        self.preview: Preview | None = None
        self.state = IDLE
        self.steps_per_second = 0.0
        self.last_snapshot: Snapshot | None = None
        self._runs_started = 0
        self.runs_ended = 0  # counts finished, stopped and diverged runs
        self._token = 0  # tags the current run; frames of an abandoned run are ignored
        self._run_before: StudioState | None = None
        self._ridge_cache: tuple | None = None
        self._bridge = WorkerThread(self)
        self.worker = self._bridge.worker
        self.worker.stateChanged.connect(self._on_worker_state)
        self.worker.runEnded.connect(self._on_run_ended)
        self.worker.failed.connect(lambda text: self.message.emit(text, "error"))
        self._timer = QTimer(self)
        self._timer.setObjectName("relu-frame-timer")
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._poll)
        w = self.worker
        for sig, slot in ((self._cmd_warm_up, w.warm_up), (self._cmd_start, w.start),
                          (self._cmd_pause, w.pause), (self._cmd_resume, w.resume),
                          (self._cmd_step, w.step), (self._cmd_stop, w.stop),
                          (self._cmd_options, w.set_options)):
            sig.connect(slot)
        # Compile or load the kernel once the window is up: done at once, the worker's import of
        # numba would compete with the first paint for the interpreter lock.
        QTimer.singleShot(WARM_UP_DELAY_MS, self, self._cmd_warm_up.emit)

    # ------------------------------------------------------------------ queries
    @property
    def network(self) -> Network:
        """The current network: the newest entry of the history."""
        return self.history.network(len(self.history) - 1)

    @property
    def busy(self) -> bool:
        return self.state in (RUNNING, PAUSED)

    @property
    def can_edit(self) -> bool:
        """Hand edits are refused while a run is training (a paused run is ended by an edit)."""
        return self.state != RUNNING

    def ridge_reference(self, net: Network, data: Dataset | None = None) -> float | None:
        """Train MSE of the ridge fit on ``net``'s hidden features (cached for the same features)."""
        data = data or self.data
        key = (net.w1.tobytes(), net.b1.tobytes(), self.settings.lam)
        cache = self._ridge_cache
        # The data set itself is kept and compared by identity: an id() alone could be reused by
        # a new data set once the old one is freed, and show a stale "ridge best".
        if cache is None or cache[1] is not data or cache[0] != key:
            try:
                value = ridge_mse(net, data, self.settings.lam)
            except (ValueError, ArithmeticError):
                value = None
            self._ridge_cache = cache = (key, data, value)
        return cache[2]

    # ------------------------------------------------------------------ undoable state
    def snapshot_state(self) -> StudioState:
        return StudioState(self.data, self.initial, self.history.frozen(), self.settings)

    def _restore(self, st: StudioState) -> None:
        """Apply a whole state (from an undo command)."""
        self._end_run_for_change(record=False)
        self.preview = None
        data_changed = st.data is not self.data
        self.data, self.initial, self.settings = st.data, st.initial, st.settings
        self.history = HistoryView(st.history)
        if data_changed:
            self.dataChanged.emit()
        self.settingsChanged.emit()
        self.networkChanged.emit()

    def _push(self, text: str, after: StudioState, before: StudioState | None = None) -> None:
        self.undo_stack.push(StateCommand(self, text, before or self.snapshot_state(), after))

    # ------------------------------------------------------------------ sessions
    def to_session(self, view: dict | None = None, compare: dict | None = None,
                   compare_runs: dict | None = None) -> Session:
        """The whole session as core objects (a run in progress is included so far)."""
        st = self.snapshot_state()
        settings = {f.name: getattr(st.settings, f.name) for f in fields(StudioSettings)}
        settings["lr"] = dict(settings["lr"])
        return Session(settings=settings, data=st.data, initial=st.initial, history=st.history,
                       view=dict(view or {}), compare=compare, compare_runs=dict(compare_runs or {}))

    def load_session(self, session: Session) -> None:
        """Replace everything by ``session`` (not undoable: the undo history starts afresh)."""
        self._end_run_for_change(record=False)
        known = {f.name for f in fields(StudioSettings)}
        settings = StudioSettings(**{k: v for k, v in session.settings.items() if k in known})
        self.preview = None
        self._runs_started = 0
        self.undo_stack.clear()
        self._restore(StudioState(session.data, session.initial, session.history, settings))

    # ------------------------------------------------------------------ imports
    def import_network(self, net: Network, as_initial: bool) -> None:
        """A network from a file, as the new initial network or appended as the current one."""
        self._end_run_for_change()
        s = replace(self.settings, width=net.width)
        if as_initial:
            self._push(f"Import initial network (width {net.width})",
                       StudioState(self.data, net, History.start(net, self.data), s))
        elif net.width == self.network.width:
            self._push("Import network", StudioState(self.data, self.initial,
                                                     self.history.frozen().appended(net, self.data, "import"), s))
        else:  # another width cannot continue this timeline
            self._push(f"Import network (width {net.width})",
                       StudioState(self.data, net, History.start(net, self.data), s))

    def import_history(self, hist: History) -> None:
        """A notebook history: after the current initial network if the widths agree."""
        self._end_run_for_change()
        if hist.width == self.initial.width:
            initial, timeline = self.initial, History.start(self.initial, self.data).extended_with(hist)
        else:
            initial, timeline = hist.network(0), hist
        self._push(f"Import notebook history ({len(hist)} snapshots)",
                   StudioState(self.data, initial, timeline, replace(self.settings, width=hist.width)))

    def open_run(self, initial: Network, run, mode: str, seed: int, data: Dataset) -> None:
        """Show a finished run (e.g. a Compare cell) in the studio: its initial network and history."""
        self._end_run_for_change()
        start = History.start(initial, data)
        if mode == "ridge":
            hist = start.appended(run.final, data, "ridge")
        else:
            hist = start.extended(run)
        s = replace(self.settings, width=initial.width, init_seed=int(seed),
                    mode=mode if mode in ("output", "all", "ridge") else self.settings.mode)
        self._push(f"Open Compare cell (width {initial.width}, {_mode_text(mode)}, seed {seed})",
                   StudioState(data, initial, hist, s))

    def import_data(self, data: Dataset, label: str = "Import data") -> None:
        self._end_run_for_change()
        net = self.network
        self._push(label, StudioState(data, self.initial, History.start(net, data), self.settings))

    # ------------------------------------------------------------------ settings and data
    def update_settings(self, **changes) -> None:
        """Store panel values; lr and mode changes also reach a run in progress (history kept)."""
        old = self.settings
        if "lr" in changes and not isinstance(changes["lr"], dict):
            lr = dict(old.lr)
            lr[changes.get("mode", old.mode)] = float(changes["lr"])
            changes["lr"] = lr
        self.settings = replace(old, **changes)
        s = self.settings
        if self.busy and (s.mode != old.mode or s.current_lr != old.current_lr):
            if s.mode in ("output", "all"):
                self._cmd_options.emit({"mode": s.mode, "lr": s.current_lr})
                self.message.emit(f"Now training {_mode_text(s.mode)} at lr {s.current_lr:g}.", "info")
        self.settingsChanged.emit()

    def regenerate(self, target=None, n=None, noise=None, seed=None) -> str | None:
        """New data from the panel's values (hand edits are replaced); returns an error text."""
        s = self.settings
        new = replace(s, target=s.target if target is None else target, n=s.n if n is None else n,
                      noise=s.noise if noise is None else noise,
                      data_seed=s.data_seed if seed is None else seed)
        try:
            data = make_dataset(new.target, new.n, new.noise, new.data_seed)
        except ValueError as exc:
            return str(exc)
        self._end_run_for_change()
        net = self.network
        self._push("Regenerate data", StudioState(data, self.initial, History.start(net, data), new))
        self.message.emit(f"New data: {data.target.spec if data.target else 'file'}, n = {data.n}, "
                          f"σ = {data.noise:g}. The history restarts from the current network.", "info")
        return None

    def reinitialise(self, width=None, seed=None) -> str | None:
        s = self.settings
        width = s.width if width is None else int(width)
        seed = s.init_seed if seed is None else int(seed)
        try:
            net = init_network(width, seed)
        except ValueError as exc:
            return str(exc)
        self._end_run_for_change()
        self._runs_started = 0
        self._push(f"Re-initialise (width {width}, seed {seed})",
                   StudioState(self.data, net, History.start(net, self.data),
                               replace(s, width=width, init_seed=seed)))
        self.message.emit(f"New network: width {width}, init seed {seed}.", "info")
        return None

    def reset_to_initial(self) -> None:
        self._end_run_for_change()
        self._runs_started = 0
        self._push("Reset to the initial network",
                   StudioState(self.data, self.initial, History.start(self.initial, self.data), self.settings))
        self.message.emit("Back to the initial network; the history restarts.", "info")

    def fit_ridge_now(self) -> str | None:
        """Solve the current network's output layer in closed form (a new history entry)."""
        if self.state == RUNNING:
            return "Pause or stop training before fitting the output layer."
        self._end_run_for_change()
        try:
            net = fit_ridge(self.network, self.data, self.settings.lam)
        except ValueError as exc:
            return str(exc)
        hist = self.history.frozen().appended(net, self.data, "ridge")
        self._push("Fit output layer by ridge", StudioState(self.data, self.initial, hist, self.settings))
        self.message.emit(f"Output layer fitted by ridge (λ = {self.settings.lam:g}): "
                          f"train MSE {hist.full_train_error[-1]:.4g}.", "info")
        return None

    # ------------------------------------------------------------------ hand edits
    def set_ridge_follow(self, on: bool) -> None:
        self.ridge_follow = bool(on)

    def preview_edit(self, network: Network | None = None, data: Dataset | None = None) -> str | None:
        """Show an edit in progress (one drag event); with ridge follow, re-solve the output layer."""
        if not self.can_edit:
            return "Editing is off while training runs: pause (Space) or stop first."
        base = self.preview.network if self.preview else self.network
        net = network or base
        data = data or (self.preview.data if self.preview else self.data)
        try:
            net, full, dead = evaluate_edit(net, data, self.settings.lam, self.ridge_follow)
        except ValueError as exc:
            return str(exc)
        self.preview = Preview(net, data, full, dead)
        self.previewChanged.emit()
        return None

    def commit_edit(self, text: str) -> None:
        """End the drag: the previewed network/data become current (one undo step)."""
        p = self.preview
        if p is None:
            return
        self._end_run_for_change()
        hist = self.history.frozen().appended(p.network, p.data, "edit")
        self.preview = None
        self._push(text, StudioState(p.data, self.initial, hist, self.settings))
        self.previewChanged.emit()

    def cancel_edit(self) -> None:
        if self.preview is not None:
            self.preview = None
            self.previewChanged.emit()

    def apply_edit(self, text: str, network: Network | None = None, data: Dataset | None = None) -> str | None:
        """A one-shot edit (typed value, added or deleted point): preview and commit at once."""
        err = self.preview_edit(network, data)
        if err:
            self.message.emit(err, "warning")
            return err
        self.commit_edit(text)
        return None

    # ------------------------------------------------------------------ training commands
    def train_or_pause(self) -> None:
        """Space: start a run, pause it, or resume it."""
        if self.state == RUNNING:
            self.pause()
        elif self.state == PAUSED:
            self.resume()
        else:
            self.start()

    def start(self, pause_after: int | None = None) -> str | None:
        s = self.settings
        if self.busy:
            return "Training is already in progress."
        if s.mode == "ridge":
            return self.fit_ridge_now()
        try:
            TrainSettings(s.mode, s.current_lr, s.steps, s.batch_size, s.save_every).resolved(self.data.n)
        except TrainingError as exc:
            self.message.emit(str(exc), "error")
            return str(exc)
        self.cancel_edit()
        seed = (s.init_seed + self._runs_started) % 2**32
        self._runs_started += 1
        self._run_before = self.snapshot_state()
        self.history = HistoryView(self._run_before.history)
        params = dict(mode=s.mode, lr=s.current_lr, steps=s.steps, batch_size=s.batch_size,
                      save_every=s.save_every, seed=seed)
        if pause_after is not None:
            params["pause_after"] = pause_after
        self._token += 1
        params["token"] = self._token
        self.last_snapshot = None
        self._cmd_start.emit(self.network, self.data, params)
        self._timer.start()
        return None

    def pause(self):
        self._cmd_pause.emit()

    def resume(self):
        self._cmd_resume.emit()

    def step_once(self) -> None:
        """Advance by one snapshot interval, then pause (starts a paused run if idle)."""
        n = self.settings.save_every
        if self.state == PAUSED:
            self._cmd_step.emit(n)
        elif self.state == IDLE:
            self.start(pause_after=n)

    def stop(self):
        self._cmd_stop.emit()

    def shutdown(self) -> bool:
        """Stop training and the worker thread (window closing)."""
        self._timer.stop()
        return self._bridge.shutdown()

    # ------------------------------------------------------------------ worker feedback
    def _poll(self):
        snap = self.worker.take_latest()
        if snap is not None:
            self._apply(snap)

    def _apply(self, snap: Snapshot):
        if snap.token != self._token:
            return
        self.last_snapshot = snap
        self.steps_per_second = snap.steps_per_second
        self.history = HistoryView(self.history.base, snap.run)
        self.frame.emit()

    def _on_worker_state(self, state: str):
        shown = {RUNNING: RUNNING, PAUSED: PAUSED}.get(state, IDLE)
        if shown != self.state:
            self.state = shown
            self.stateChanged.emit(shown)

    def _on_run_ended(self, snap: Snapshot):
        self._timer.stop()
        self.worker.take_latest()  # older than the final snapshot
        if snap.token != self._token:
            return  # a run already ended by a change (its history was kept then)
        self.runs_ended += 1
        self._apply(snap)
        self._record_run(snap)
        level = {DIVERGED: "error", STOPPED: "info", FINISHED: "info"}.get(snap.state, "warning")
        text = snap.message
        if snap.state == DIVERGED:
            text += " The history up to that step is kept."
        self.message.emit(text, level)

    def _record_run(self, snap: Snapshot) -> None:
        """Make a run's history part of the session (one undo step: 'Train N steps')."""
        before = self._run_before or self.snapshot_state()
        st = snap.run.settings
        hist = before.history.extended(snap.run)
        if not snap.network.equals(hist.last):
            # Stopped or paused between snapshots: keep the parameters it had reached too.
            hist = hist.extended_with(History.start(snap.network, self.data, st.mode,
                                                    before.history.last_step + snap.step, st.lr))
        self._run_before = None
        self._push(f"Train {snap.step:,} steps ({_mode_text(snap.run.settings.mode)})",
                   StudioState(self.data, self.initial, hist, self.settings), before=before)
        self.runRecorded.emit()

    # ------------------------------------------------------------------ helpers
    def _end_run_for_change(self, record: bool = True):
        """A change while a run is in progress: end the run now, keeping its history so far."""
        if not self.busy:
            return
        snap = self.worker.take_latest() or self.last_snapshot
        self._token += 1  # the worker's own end-of-run report is now stale
        self._timer.stop()
        self.stop()
        if record and snap is not None and len(snap.run):
            self.runs_ended += 1
            self._record_run(snap)
            self.message.emit(f"The run was ended at step {snap.step:,} to apply the change; "
                              "its history is kept.", "info")
        self.state = IDLE
        self.stateChanged.emit(IDLE)


def _mode_text(mode: str) -> str:
    return {"output": "the output layer only", "all": "all layers", "ridge": "by ridge"}.get(mode, mode)
