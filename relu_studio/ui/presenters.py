"""What each studio view shows, read from the controller when its own signals say so.

One presenter per view: it subscribes to the controller's signals of what that view shows, and
redraws the view once per change (:class:`~relu_studio.ui.redraw.Redraw`). The views themselves
stay plain widgets with setters (the offscreen export canvas and Compare reuse them); the
numbers come from the core (dead units, curves, the ridge reference).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from ..core import loss_layout
from ..core.elbow_trails import elbow_trails, history_parameters
from ..core.kinks import target_kinks
from ..core.playback import snapshot_knee
from ..core.settings import CHOICES
from .redraw import Redraw

__all__ = ["CanvasPresenter", "LossPresenter", "UnitTablePresenter", "TimelinePresenter",
           "ReadoutPresenter", "ReadoutStripPresenter", "LIVE_SLOW_MS", "LIVE_RIDGE_MS"]

#: While training, the loss pane, the unit table and the readouts follow at most this often (ms).
LIVE_SLOW_MS = 100
#: While training or dragging, the ridge reference (a solve) is recomputed at most this often.
LIVE_RIDGE_MS = 250


class _Presenter(QObject):
    def __init__(self, controller, view, live_ms: int = 0):
        super().__init__(view)
        self.c = controller
        self.view = view
        self.redraw = Redraw(self.draw, self, live_ms)

    def draw(self) -> None:  # pragma: no cover - every presenter defines it
        raise NotImplementedError

    def _live(self) -> None:
        self.redraw.request(live=self.c.busy)

    def _now(self) -> None:
        self.redraw.request()


class CanvasPresenter(_Presenter):
    """The canvas: the data and the target's kinks, the shown (or dragged) network with its dead
    units, the initial network's elbows and the elbows' trails up to the shown snapshot."""

    def __init__(self, controller, canvas):
        super().__init__(controller, canvas)
        self._data = None
        self._kinks_of = None  # the target whose kinks are drawn
        self._initial = None
        self._trails_key = None
        c = controller
        for sig in (c.dataChanged, c.shownChanged, c.previewChanged, c.historyChanged):
            sig.connect(self._now)

    def set_trails_visible(self, on: bool) -> None:
        """Show or hide the elbow trails (computed only while shown)."""
        self.view.set_trails_visible(on)
        self._trails_key = None
        self.redraw.request()

    def draw(self) -> None:
        c, canvas = self.c, self.view
        p = c.preview
        data = p.data if p is not None else c.data
        if data is not self._data:
            # A dragged data point changes the points only; new data change the truth too.
            canvas.set_dataset(data, points_only=self._data is not None and data.x_test is self._data.x_test
                               and p is not None)
            self._data = data
        if data.target is not self._kinks_of:
            self._kinks_of = data.target
            canvas.set_kinks(target_kinks(data.target) if data.target is not None else ())
        if c.initial is not self._initial:
            self._initial = c.initial
            canvas.set_initial(c.initial)
        if p is not None:
            canvas.show_network(p.network, p.dead)
        else:
            net = c.shown_network
            canvas.show_network(net, net.dead_units(c.data.x))
        if canvas.trails_visible:
            self._draw_trails()

    def _draw_trails(self) -> None:
        c = self.c
        hist, i = c.history, c.shown_index
        key = self._trails_key
        if key is not None and key[0] is hist.base and key[1:] == (len(hist), i):
            return
        self._trails_key = (hist.base, len(hist), i)
        steps, w1, b1 = history_parameters(hist, i)
        self.view.set_trails(elbow_trails(steps, w1, b1), c.shown_step)


def draw_history_losses(pane, hist, span: int | None = None) -> np.ndarray:
    """A history's loss curves, run-start markers and edit marks in a loss pane (the window's, or
    an animation's); with ``span``, the step axis runs to it. Returns the snapshots' steps."""
    steps, train, full, test = hist.curves()
    tags, lrs = hist.tags_and_lrs()
    pane.set_curves(steps, train, full, test)
    pane.set_runs([(r.step, r.label, r.mode) for r in loss_layout.run_starts(steps, tags, lrs)])
    pane.set_marks({kind: (steps[i], full[i]) for kind, i in loss_layout.point_marks(tags).items()})
    if span is not None:
        pane.set_span(span, snapshot_knee(steps) if len(steps) > 2 else None)
    return steps


class LossPresenter(_Presenter):
    """The loss pane: the curves of the timeline over the planned steps of the run, each run's
    start (mode and lr), a mark per hand edit or ridge fit, the run a "start from the initial
    network" replaced (faint), the cursor at the shown step, the noise floor and the ridge
    reference of the shown (or dragged) network."""

    def __init__(self, controller, pane):
        super().__init__(controller, pane, LIVE_SLOW_MS)
        c = controller
        c.historyChanged.connect(self._live)
        c.shownChanged.connect(self._live)
        c.dataChanged.connect(self._now)
        c.previewChanged.connect(self._preview)
        c.settingChanged.connect(self._setting)
        self._ridge = Redraw(self._draw_references, self, LIVE_RIDGE_MS)
        self._previous = None  # the previous run drawn (it changes only with an undo step)

    def _setting(self, name: str) -> None:
        if name in ("lam", "steps"):  # the ridge reference; the span of the run to come
            self._now()

    def _preview(self):
        self._ridge.request(live=self.c.preview is not None)

    def draw(self) -> None:
        c, pane = self.c, self.view
        steps = draw_history_losses(pane, c.history)
        prev = c.previous
        if prev is not self._previous:
            self._previous = prev
            if prev is None:
                pane.set_previous((), (), (), None)
            else:
                pane.set_previous(prev.steps, prev.full_train_error, prev.test_error,
                                  loss_layout.previous_label(prev.steps, prev.tag_array, prev.lrs))
        knee = snapshot_knee(steps) if len(steps) > 2 else c.settings.save_every  # as the timeline's
        pane.set_span(loss_layout.step_span(int(steps[-1]), c.planned_last_step, c.settings.steps,
                                            prev.last_step if prev is not None else 0), knee)
        pane.set_cursor(c.shown_step)
        self._ridge.request(live=c.busy)

    def _draw_references(self) -> None:
        c = self.c
        p = c.preview
        if p is not None and c.ridge_follow:
            ridge = p.full_train_error  # the preview *is* the ridge fit: no second solve
        elif p is not None:
            ridge = c.ridge_best(p.network, p.data)
        else:
            ridge = c.ridge_best()
        self.view.set_references(c.data.noise_floor if c.data.target is not None else None, ridge)


class UnitTablePresenter(_Presenter):
    """The hidden-unit table: the shown network (it catches up with a drag when it ends)."""

    def __init__(self, controller, table):
        super().__init__(controller, table, LIVE_SLOW_MS)
        c = controller
        c.shownChanged.connect(self._live)
        c.dataChanged.connect(self._now)
        c.runStateChanged.connect(self._editable)

    def _editable(self, state: str) -> None:
        self.view.model_.editable = state != "running"

    def draw(self) -> None:
        c = self.c
        if c.preview is not None:
            return
        net = c.shown_network
        self.view.model_.set_network(net, net.dead_units(c.data.x))


class TimelinePresenter(_Presenter):
    """The timeline: how many snapshots, which one is shown, and the step it stands for."""

    def __init__(self, controller, timeline):
        super().__init__(controller, timeline)
        c = controller
        c.historyChanged.connect(self._now)
        c.shownChanged.connect(self._now)
        timeline.indexChanged.connect(c.show_snapshot)

    def draw(self) -> None:
        c, t = self.c, self.view
        hist = c.history
        count = len(hist)
        t.set_count(count, index=c.shown_index)
        total = hist.step(count - 1)
        snap = c.last_snapshot
        if c.busy and snap is not None:
            total = hist.base.last_step + snap.total
        t.set_label(c.shown_step, total, c.shown_index, count)


class ReadoutPresenter(_Presenter):
    """The status bar's numbers: step and losses of the shown snapshot (or of the drag), the
    ridge reference, the training speed (only while a run trains).

    With the ``status`` bar it also keeps messages from going stale: one about the newest state
    ("Finished 150,000 steps.") is cleared when another snapshot is shown by hand (a scrub,
    playback, an undo) and when a new run starts."""

    def __init__(self, controller, loss_label, rate_label, status=None):
        super().__init__(controller, loss_label, LIVE_SLOW_MS)
        self.rate_label = rate_label
        self.status = status
        c = controller
        for sig in (c.historyChanged, c.shownChanged):
            sig.connect(self._live)
        # During a drag the numbers follow at most every LIVE_SLOW_MS (the canvas follows every
        # event); the drag's end is drawn at once.
        c.previewChanged.connect(lambda: self.redraw.request(live=c.preview is not None))
        c.runStateChanged.connect(self._now)
        c.shownChanged.connect(self._shown_changed)
        c.runStateChanged.connect(self._run_state_changed)
        c.settingChanged.connect(lambda name: name in CHOICES and self._now())

    def _shown_changed(self) -> None:
        if self.status is not None and self.c.run_state != "running":  # not a live frame
            self.status.clearMessage()

    def _run_state_changed(self, state: str) -> None:
        if self.status is not None and state == "running":
            self.status.clearMessage()

    def draw(self) -> None:
        c = self.c
        p = c.preview
        if p is not None:
            ridge = p.full_train_error if c.ridge_follow else c.ridge_best(p.network, p.data)
            text = f"editing   train {p.full_train_error:.4g}   test {p.test_error:.4g}"
        else:
            hist, i = c.history, c.shown_index
            steps, train, full, test = hist.curves()
            parts = [f"step {int(steps[i]):,}"]
            if not np.isnan(train[i]):
                parts.append(f"minibatch {train[i]:.4g}")
            parts += [f"train {full[i]:.4g}", f"test {test[i]:.4g}"]
            text = "   ".join(parts)
            ridge = c.ridge_best()
        if ridge is not None:
            text += f"   ridge best {ridge:.4g}"
        method = c.settings.describe_training()  # only what differs from the notebook
        if method:
            text += f"   [{method}]"
        self.view.setText(text)
        rate = c.steps_per_second if c.run_state == "running" else 0.0
        self.rate_label.setText(f"{rate:,.0f} steps/s" if rate > 0 else "")


class ReadoutStripPresenter(_Presenter):
    """The big numbers above the canvas: step, train and test MSE of the shown snapshot (or of a
    drag in progress) and the ridge optimum of its hidden features."""

    def __init__(self, controller, strip):
        super().__init__(controller, strip, LIVE_SLOW_MS)
        c = controller
        for sig in (c.historyChanged, c.shownChanged):
            sig.connect(self._live)
        c.dataChanged.connect(self._now)
        c.settingChanged.connect(lambda name: name == "lam" and self._now())
        c.previewChanged.connect(lambda: self.redraw.request(live=c.preview is not None))

    def draw(self) -> None:
        c = self.c
        p = c.preview
        if p is not None:
            ridge = p.full_train_error if c.ridge_follow else c.ridge_best(p.network, p.data)
            self.view.set_values(c.shown_step, p.full_train_error, p.test_error, ridge, "editing")
            return
        hist, i = c.history, c.shown_index
        steps, _train, full, test = hist.curves()
        self.view.set_values(int(steps[i]), float(full[i]), float(test[i]), c.ridge_best())
