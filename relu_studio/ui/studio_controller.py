"""The studio's controller: a thin Qt adapter over the core's studio state.

It holds the :class:`~relu_studio.core.studio.StudioState`, applies the core's changes through a
``QUndoStack``, runs training through the :class:`~relu_studio.training_worker.TrainingBridge`
and tells the views, field by field, what changed. It computes nothing itself: every change is a
function of :mod:`relu_studio.core.studio`, so it is tested without Qt.

Signals (each view listens to those it shows):

- ``settingChanged(name)``: one field of :class:`~relu_studio.core.settings.StudioSettings`.
- ``dataChanged()``: the data set.
- ``historyChanged()``: the timeline's content (a change, or a new live frame of a run).
- ``shownChanged()``: the snapshot on screen (a scrub, or the newest one while following).
- ``previewChanged()``: a hand edit in progress moved (or ended).
- ``runStateChanged(state)``: idle, running or paused.
- ``message(text, level)``: info, warning or error for the user.
- ``runRecorded()``: a finished run became part of the session.
"""
from __future__ import annotations

from dataclasses import fields

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..core import run_start, studio
from ..core.dataset import Dataset
from ..core.history import HistoryView
from ..core.network import Network
from ..core.pace import FULL_SPEED, Pace
from ..core.settings import DEFAULT_RUN_START, SettingsError, StudioSettings, check_run_start, mode_phrase
from ..core.studio import Change, Preview, RidgeReference, StudioState
from ..core.training import TrainingError
from ..training_worker import (
    DIVERGED,
    FINISHED,
    IDLE,
    PAUSED,
    RUNNING,
    STOPPED,
    RunRequest,
    Snapshot,
    TrainingBridge,
)

__all__ = ["StudioController", "FRAME_MS"]

#: The GUI applies the newest training snapshot at most this often (about 60 Hz).
FRAME_MS = 16
#: Delay before the worker prepares the training kernel (after the window's first paint).
WARM_UP_DELAY_MS = 400


class StateCommand(QUndoCommand):
    """One undo step: swaps the controller between two states (``redo`` applies ``after``).

    A run started "from the initial network" is one undo step with the reset before it: the
    reset is pushed with a ``merge_key`` and the run's record, pushed with the same key, merges
    into it (one Ctrl+Z brings back the previous run's history)."""

    MERGE_ID = 14

    def __init__(self, controller: "StudioController", text: str, before: StudioState,
                 after: StudioState, merge_key: int | None = None):
        super().__init__(text)
        self._c = controller
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def id(self) -> int:
        return -1 if self.merge_key is None else self.MERGE_ID

    def mergeWith(self, other) -> bool:
        if not (isinstance(other, StateCommand) and self.merge_key is not None
                and other.merge_key == self.merge_key):
            return False
        self.after = other.after
        self.setText(f"{other.text()} from the initial network")
        return True

    def redo(self):
        self._c.restore(self.after)

    def undo(self):
        self._c.restore(self.before)


class StudioController(QObject):
    settingChanged = Signal(str)
    dataChanged = Signal()
    historyChanged = Signal()
    shownChanged = Signal()
    previewChanged = Signal()
    runStateChanged = Signal(str)
    message = Signal(str, str)  # text, level: "info", "warning" or "error"
    runRecorded = Signal()

    def __init__(self, settings: StudioSettings | None = None, parent=None):
        super().__init__(parent)
        self._state = StudioState.start(settings)
        self._live = None  # the run in progress (read-only views of its history), or None
        self._shown: int | None = None  # the snapshot on screen; None: the newest
        self.undo_stack = QUndoStack(self)
        self.ridge_follow = False
        self.preview: Preview | None = None
        self.run_state = IDLE
        self.steps_per_second = 0.0
        self.last_snapshot: Snapshot | None = None
        self._runs_started = 0
        self._token = 0  # tags the current run; frames of an abandoned run are ignored
        self._run_before: StudioState | None = None
        self._run_merge: int | None = None  # the merge key of a run started from the initial network
        self._planned_last_step: int | None = None  # where the run in progress will end
        #: What Train does after the mode, lr or width changed since the last run (see
        #: core.run_start): "ask", "initial" or "continue".
        self.start_preference = DEFAULT_RUN_START
        #: Asks the user (a StartQuestion -> "initial", "continue" or None to cancel); None: no
        #: one to ask, the default answer (start from the initial network) is taken.
        self.ask_start = None
        self._ridge = RidgeReference()
        self._resume = None  # (ResumePoint, the history it continues) of an opened session
        self.pace: Pace = FULL_SPEED  # the studio's pace control sets the user's pace
        self.bridge = TrainingBridge(self)
        w = self.bridge.worker
        w.stateChanged.connect(self._on_worker_state)
        w.runEnded.connect(self._on_run_ended)
        w.failed.connect(lambda text: self.message.emit(text, "error"))
        self._timer = QTimer(self)
        self._timer.setObjectName("relu-frame-timer")
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._poll)
        # Compile or load the kernel once the window is up (it runs on a thread of its own).
        QTimer.singleShot(WARM_UP_DELAY_MS, self, self.bridge.warm_up)

    # ------------------------------------------------------------------ what is there
    @property
    def state(self) -> StudioState:
        return self._state

    @property
    def settings(self) -> StudioSettings:
        return self._state.settings

    @property
    def data(self) -> Dataset:
        return self._state.data

    @property
    def initial(self) -> Network:
        return self._state.initial

    @property
    def history(self) -> HistoryView:
        """The timeline: the committed history followed by the run in progress."""
        return HistoryView(self._state.history, self._live)

    @property
    def network(self) -> Network:
        """The current network: the newest entry of the timeline."""
        h = self.history
        return h.network(len(h) - 1)

    @property
    def busy(self) -> bool:
        return self.run_state in (RUNNING, PAUSED)

    @property
    def can_edit(self) -> bool:
        """Hand edits are refused while a run is training (a paused run is ended by an edit)."""
        return self.run_state != RUNNING

    # ------------------------------------------------------------------ the snapshot on screen
    @property
    def following(self) -> bool:
        """True if the newest snapshot is shown (and newer ones will be, as they come)."""
        return self._shown is None

    @property
    def shown_index(self) -> int:
        n = len(self.history)
        return n - 1 if self._shown is None else min(self._shown, n - 1)

    @property
    def live_frame(self) -> Snapshot | None:
        """While a run is in progress and the newest snapshot is shown: the worker's newest
        frame, whose network may lie between two snapshots of the history. It is what the
        views draw, so that the network moves smoothly at a slow pace."""
        snap = self.last_snapshot
        if self.busy and self._shown is None and snap is not None and snap.token == self._token:
            return snap
        return None

    @property
    def shown_network(self) -> Network:
        """The network on screen: a drag in progress, else the live frame of a run in progress
        (when following), else the shown snapshot's."""
        if self.preview is not None:
            return self.preview.network
        live = self.live_frame
        return live.network if live is not None else self.history.network(self.shown_index)

    @property
    def shown_step(self) -> int:
        live = self.live_frame
        if live is not None:
            return self._state.history.last_step + live.step
        return self.history.step(self.shown_index)

    def show_snapshot(self, i: int) -> None:
        """Show snapshot ``i`` (clamped); the newest one means: follow new snapshots."""
        n = len(self.history)
        i = max(0, min(int(i), n - 1))
        new = None if i == n - 1 else i
        if new != self._shown:
            self._shown = new
            self.shownChanged.emit()

    @property
    def previous(self):
        """The history a run "from the initial network" replaced (drawn faintly), or None."""
        return self._state.previous

    @property
    def planned_last_step(self) -> int | None:
        """The step the run in progress will end at (None when no run is in progress)."""
        return self._planned_last_step

    def ridge_best(self, net: Network | None = None, data: Dataset | None = None) -> float | None:
        """Train MSE of the ridge fit on ``net``'s hidden features (default: the shown network)."""
        return self._ridge.value(net or self.shown_network, data or self.data, self.settings.lam)

    def say(self, text: str, level: str = "info") -> None:
        """Tell the user something (the window shows it): "info", "warning" or "error"."""
        self.message.emit(text, level)

    # ------------------------------------------------------------------ changing the state
    def apply(self, change: Change) -> None:
        """Make ``change`` one undo step. A change is computed from the state after the run in
        progress was ended (see :meth:`_run_change`), so there is none here."""
        self.undo_stack.push(StateCommand(self, change.text, self._state, change.state))
        if change.message:
            self.message.emit(change.message, "info")

    def restore(self, new: StudioState) -> None:
        """Put ``new`` in place (undo, redo, opening a file) and say what changed, field by field."""
        self._end_run_for_change(record=False)
        old, self._state = self._state, new
        self.preview = None
        if new.data is not old.data:
            self.dataChanged.emit()
        for f in fields(StudioSettings):
            if getattr(new.settings, f.name) != getattr(old.settings, f.name):
                self.settingChanged.emit(f.name)
        if new.history is not old.history:
            self._shown = None
            self.historyChanged.emit()
        self.shownChanged.emit()

    def _run_change(self, make, *args) -> str | None:
        """End a run in progress (its history is kept), then apply ``make(state, *args)``: the one
        way the studio's state changes. A refusal (bad input) is returned as text."""
        self._end_run_for_change()
        try:
            change = make(self._state, *args)
        except (ValueError, ArithmeticError) as exc:
            return str(exc)
        self.apply(change)
        return None

    # ------------------------------------------------------------------ settings (not undo steps)
    def set_setting(self, name: str, value) -> str | None:
        """Store one panel value; a new mode or learning rate also reaches a run in progress.
        Returns the reason if the value is refused (nothing changes then)."""
        old = self.settings
        try:
            new = old.changed(**{name: value})
        except (SettingsError, TypeError) as exc:
            return str(exc)
        if new == old:
            return None
        self._state = self._state.with_settings(new)
        self.settingChanged.emit(name)
        if self.busy and name in ("mode", "lr_output", "lr_all") and new.mode in ("output", "all") \
                and (new.mode, new.current_lr) != (old.mode, old.current_lr):
            self.bridge.set_options(new.mode, new.current_lr)
            self.message.emit(f"Now training {mode_phrase(new.mode)} at lr {new.current_lr:g}.", "info")
        return None

    def set_optimizer(self, optimizer) -> str | None:
        """Train with ``optimizer`` from the next run on (a new one brings its default learning
        rates); refused while a run is in progress. Returns the reason if refused."""
        if self.busy:
            return "Stop the run before changing the optimizer (its state belongs to the run)."
        old = self.settings
        try:
            new = studio.with_optimizer(old, optimizer)
        except (SettingsError, TypeError) as exc:
            return str(exc)
        self._state = self._state.with_settings(new)
        for f in ("optimizer", "lr_output", "lr_all"):
            if getattr(new, f) != getattr(old, f):
                self.settingChanged.emit(f)
        return None

    def set_activation(self, activation) -> str | None:
        """The hidden units compute ``activation`` (an undo step; parameters kept)."""
        if activation == self.settings.activation:
            return None
        return self._run_change(studio.set_activation, activation)

    def set_learning_rate(self, lr: float) -> str | None:
        """The learning rate of the current mode."""
        return self.set_setting("lr_output" if self.settings.mode == "output" else "lr_all", lr)

    # ------------------------------------------------------------------ undoable operations
    def regenerate(self, target=None, n=None, noise=None, seed=None) -> str | None:
        return self._run_change(studio.regenerate, target, n, noise, seed)

    def reinitialise(self, width=None, seed=None) -> str | None:
        err = self._run_change(studio.reinitialise, width, seed)
        if err is None:
            self._runs_started = 0
        return err

    def reset_to_initial(self) -> None:
        self._run_change(studio.reset_to_initial)
        self._runs_started = 0

    def fit_ridge_now(self) -> str | None:
        """Solve the current network's output layer in closed form (a new history entry)."""
        if self.run_state == RUNNING:
            return "Pause or stop training before fitting the output layer."
        return self._run_change(studio.fit_ridge_now)

    def import_network(self, net: Network, as_initial: bool) -> None:
        self._run_change(studio.import_network, net, as_initial)

    def import_history(self, hist) -> None:
        self._run_change(studio.import_history, hist)

    def import_data(self, data: Dataset, label: str = "Import data") -> None:
        self._run_change(studio.import_data, data, label)

    def open_run(self, initial: Network, run, mode: str, seed: int, data: Dataset) -> None:
        """Show a finished run (a Compare cell) in the studio: its data, network and history."""
        self._run_change(studio.open_grid_cell, initial, run, mode, seed, data)

    def load(self, settings: StudioSettings, data: Dataset, initial: Network, history,
             resume=None) -> None:
        """Replace everything (opening a session): not undoable, the undo history starts afresh.
        ``resume`` (a run in progress when the session was saved): Train continues it exactly."""
        self._end_run_for_change(record=False)
        self._runs_started = 0
        self.undo_stack.clear()
        initial = studio.with_activation(initial, settings.activation)
        self.restore(StudioState(settings, data, initial, history))
        self._resume = (resume, self._state.history) if resume is not None else None
        if resume is not None:
            self.message.emit(f"The session holds a run paused at step {resume.step:,} of "
                              f"{resume.settings.steps:,}: Train continues it exactly.", "info")

    def saved_run(self):
        """``(history, resume)`` for a session file: the history so far and, while a run is in
        progress (or one opened from a file has not been continued yet), how to continue it
        exactly (its network, where it stopped between snapshots, is the history's last entry)."""
        snap = self.last_snapshot
        if self.busy and snap is not None and snap.token == self._token and snap.resume is not None:
            before = self._run_before or self._state
            return studio.record_run(before, snap.run, snap.network, snap.step).state.history, snap.resume
        if self.busy:
            return self.history.frozen(), None
        return self._state.history, self._pending_resume()

    def _pending_resume(self):
        """The resume point of an opened session if it still applies: the history is the one it
        was saved with (no edit, run or undo since) and the panel trains as that run did."""
        if self._resume is None:
            return None
        point, hist = self._resume
        if self._state.history is not hist:
            self._resume = None
            return None
        try:
            now = studio.run_settings(self._state)
        except TrainingError:
            return None
        st = point.settings
        same = (now.mode, now.lr, now.optimizer, now.loss, now.batch_size, now.save_every) == \
            (st.mode, st.lr, st.optimizer, st.loss, st.batch_size, st.save_every)
        return point if same else None

    # ------------------------------------------------------------------ hand edits
    def set_ridge_follow(self, on: bool) -> None:
        self.ridge_follow = bool(on)

    def preview_edit(self, network: Network, data: Dataset | None = None) -> str | None:
        """Show an edit in progress (one drag event); with ridge follow, re-solve the output layer."""
        if not self.can_edit:
            return "Editing is off while training runs: pause (Space) or stop first."
        data = data or (self.preview.data if self.preview else self.data)
        try:
            self.preview = studio.preview_edit(network, data, self.settings.lam, self.ridge_follow)
        except ValueError as exc:
            return str(exc)
        self.previewChanged.emit()
        return None

    def commit_edit(self, text: str) -> None:
        """End the drag: the previewed network/data become current (one undo step)."""
        p = self.preview
        if p is None:
            return
        self.preview = None
        self._run_change(studio.commit_edit, p, text)
        self.previewChanged.emit()

    def cancel_edit(self) -> None:
        if self.preview is not None:
            self.preview = None
            self.previewChanged.emit()

    def apply_edit(self, text: str, network: Network | None = None, data: Dataset | None = None) -> str | None:
        """A one-shot edit (typed value, added or deleted point): preview and commit at once."""
        err = self.preview_edit(network or self.shown_network, data)
        if err:
            self.message.emit(err, "warning")
            return err
        self.commit_edit(text)
        return None

    def set_unit_value(self, unit: int, field: str, value: float) -> str | None:
        """A value typed into the unit table, applied to the shown network."""
        try:
            net = studio.unit_with_value(self.shown_network, unit, field, value)
        except ValueError as exc:
            self.message.emit(str(exc), "warning")
            return str(exc)
        return self.apply_edit(f"Set {studio.UNIT_FIELDS[field]} of unit {unit}", network=net,
                               data=self.data)

    # ------------------------------------------------------------------ training
    def train_or_pause(self) -> None:
        """Space: start a run, pause it, or resume it."""
        if self.run_state == RUNNING:
            self.pause()
        elif self.run_state == PAUSED:
            self.resume()
        else:
            self.start()

    def set_start_preference(self, value: str) -> None:
        """What Train does after a change of mode, lr or width: "ask", "initial" or "continue"."""
        self.start_preference = check_run_start(value)

    def start_question(self):
        """Why a new run needs the choice of where it starts (None: it continues)."""
        return run_start.start_question(self._state)

    def start(self, pause_after: int | None = None, choice: str | None = None) -> str | None:
        """Start a new run. After a change of mode, lr or width since the last run, it starts from
        the initial network or continues, as ``choice`` (else the preference, else the answer of
        :attr:`ask_start`) says. Returns why it did not start, or None."""
        if self.busy:
            return "Training is already in progress."
        if self.settings.mode == "ridge":
            return self.fit_ridge_now()
        resume = self._pending_resume()
        if resume is not None:
            return self._start_request(resume.settings, pause_after, resume)
        question = run_start.start_question(self._state)
        plan = run_start.start_plan(question, choice or self.start_preference)
        if plan == "ask":
            plan = self.ask_start(question) if self.ask_start is not None else run_start.DEFAULT_ANSWER
            if plan is None:
                return "Training was not started."
        from_initial = run_start.start_from_initial(self._state) if plan == "initial" else None
        state = from_initial.state if from_initial else self._state
        try:
            settings = studio.run_settings(state, 0 if from_initial else self._runs_started)
        except TrainingError as exc:
            self.message.emit(str(exc), "error")
            return str(exc)
        self.cancel_edit()
        self._token += 1
        self._run_merge = None
        if from_initial:  # what Reset does; the run's record merges into this undo step
            self._run_merge = self._token
            self.undo_stack.push(StateCommand(self, from_initial.text, self._state, from_initial.state,
                                              merge_key=self._run_merge))
            self._runs_started = 0
            self.message.emit(f"{from_initial.message} Training {mode_phrase(settings.mode)} at lr "
                              f"{settings.lr:g}.", "info")
        self._runs_started += 1
        return self._start_request(settings, pause_after)

    def _start_request(self, settings, pause_after, resume=None) -> None:
        """Hand the run to the worker (``resume``: continue a run opened from a session)."""
        if resume is not None:
            self.cancel_edit()
            self._token += 1
            self._run_merge = None
            self._runs_started += 1
            self.message.emit(f"Continuing the run from step {resume.step:,} of "
                              f"{resume.settings.steps:,}, exactly as if it had not stopped.", "info")
        self._resume = None
        self._run_before = self._state
        steps = settings.steps if resume is None else resume.remaining
        self._planned_last_step = self._state.history.last_step + steps
        self.last_snapshot = None
        self.bridge.start(RunRequest(self._state.network, self._state.data, settings,
                                     pause_after, self._token, resume))
        self._timer.start()
        return None

    def pause(self) -> None:
        self.bridge.pause()

    def resume(self) -> None:
        self.bridge.resume()

    def step_once(self) -> None:
        """Advance by one snapshot interval, then pause (starts a paused run if idle)."""
        n = self.settings.save_every
        if self.run_state == PAUSED:
            self.bridge.step(n)
        elif self.run_state == IDLE:
            self.start(pause_after=n)

    def stop(self) -> None:
        self.bridge.stop()

    def set_pace(self, pace: Pace) -> None:
        """Train at ``pace`` from now on, the run in progress too (its results do not change,
        only when its steps run). A new controller trains at full speed."""
        self.pace = pace
        self.bridge.set_pace(pace)

    def shutdown(self) -> bool:
        """Stop training and the worker thread (window closing); True if it ended in time."""
        self._timer.stop()
        return self.bridge.shutdown()

    # ------------------------------------------------------------------ worker feedback
    def _poll(self):
        snap = self.bridge.take_latest()
        if snap is not None:
            self._apply_frame(snap)

    def _apply_frame(self, snap: Snapshot):
        if snap.token != self._token:
            return
        self.last_snapshot = snap
        self.steps_per_second = snap.steps_per_second
        self._live = snap.run
        self.historyChanged.emit()
        if self._shown is None:
            self.shownChanged.emit()

    def _on_worker_state(self, state: str):
        shown = state if state in (RUNNING, PAUSED) else IDLE
        if shown != self.run_state:
            self.run_state = shown
            self.runStateChanged.emit(shown)

    def _on_run_ended(self, snap: Snapshot):
        self._timer.stop()
        self.bridge.take_latest()  # older than the final snapshot
        if snap.token != self._token:
            return  # a run already ended by a change (its history was kept then)
        self._apply_frame(snap)
        self._record_run(snap)
        level = {DIVERGED: "error", STOPPED: "info", FINISHED: "info"}.get(snap.state, "warning")
        text = snap.message
        if snap.state == DIVERGED:
            text += " The history up to that step is kept."
        self.message.emit(text, level)

    def _record_run(self, snap: Snapshot) -> None:
        # Settings chosen while the run trained (a mode, a learning rate) stay chosen: recording
        # the run must not put back those it started with.
        before = (self._run_before or self._state).with_settings(self._state.settings)
        merge, self._run_merge = self._run_merge, None
        self._run_before = None
        self._planned_last_step = None
        self._live = None
        change = studio.record_run(before, snap.run, snap.network, snap.step)
        self.undo_stack.push(StateCommand(self, change.text, before, change.state, merge_key=merge))
        self.runRecorded.emit()

    def _end_run_for_change(self, record: bool = True):
        """A change while a run is in progress: end the run now, keeping its history so far."""
        if not self.busy:
            return
        snap = self.bridge.take_latest() or self.last_snapshot
        self._token += 1  # the worker's own end-of-run report is now stale
        self._timer.stop()
        self.bridge.stop()
        self.run_state = IDLE
        if record and snap is not None and len(snap.run):
            self._record_run(snap)
            self.message.emit(f"The run was ended at step {snap.step:,} to apply the change; "
                              "its history is kept.", "info")
        else:
            self._live = None
            self._run_before = None
            self._run_merge = None
            self._planned_last_step = None
        self.runStateChanged.emit(IDLE)
