"""The theory lens's presenters: the canvas's arrows (every frame, they cost ~0.2 ms) and the
lens panel (throttled while training, like the loss pane). Both only run while the lens is on;
the numbers come from :mod:`relu_studio.core.lens`. The panel computes only its part on screen
(gradient features, distance to ridge, or the slice); a part is drawn when its tab is chosen."""
from __future__ import annotations

import numpy as np

from ..core.lens.gradient_features import gradient_features
from ..core.lens.gradients import elbow_velocity
from ..core.lens.loss_slice import loss_slice, parameter_path
from ..core.lens.ridge_distance import ridge_distances, thinned_indices
from ..core.lens.snapshots import snapshot_parameters
from .presenters import _Presenter

__all__ = ["CanvasLensPresenter", "LensPresenter", "lens_note", "TOP_K", "LENS_LIVE_MS"]

#: While training or dragging, the lens panel follows at most this often (ms): its redraw (an
#: SVD, a 200 x 200 slice, contours) costs ~20 ms, a twelfth of that per 60 Hz frame.
LENS_LIVE_MS = 250

#: How many singular vectors the panel draws.
TOP_K = 4

NOTES = {
    "output": "Output layer only: no arrows. The hidden layer gets no SGD step: every elbow's "
              "velocity is zero by construction (W: the output weights' change on the handles).",
    "ridge": "Ridge mode: the output layer is solved, not trained. No SGD step, no arrows.",
}


def lens_note(mode: str) -> str:
    """What the canvas says in ``mode`` (nothing in the all-layers mode: the arrows speak)."""
    return NOTES.get(mode, "")


def _shown_data(c):
    p = c.preview
    return p.data if p is not None else c.data


class CanvasLensPresenter(_Presenter):
    """Arrows on the canvas: each elbow's velocity and each slope handle's change (x per 1000
    steps at the current mode's learning rate), the unit tooltips' gradients; the canvas's note
    in the output-only and ridge modes."""

    def __init__(self, controller, canvas):
        super().__init__(controller, canvas)
        self.enabled = False
        c = controller
        for sig in (c.dataChanged, c.shownChanged, c.previewChanged, c.historyChanged):
            sig.connect(self._request)
        c.settingChanged.connect(self._setting)

    def _setting(self, name: str) -> None:
        if name in ("mode", "lr", "lr_output", "lr_all"):
            self._request()

    def _request(self) -> None:
        if self.enabled:
            self._now()

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        self.redraw.request()

    def draw(self) -> None:
        if not self.enabled:
            self.view.set_lens(None)
            return
        c = self.c
        mode = c.settings.mode
        if mode == "ridge":
            self.view.set_lens(None, lens_note(mode))
            return
        v = elbow_velocity(c.shown_network, _shown_data(c), lr=c.settings.current_lr, mode=mode)
        self.view.set_lens(v, lens_note(mode))


class LensPresenter(_Presenter):
    """The lens panel: the shown network's gradient features, the distance to the ridge optimum
    over the timeline (the cursor at the shown step) and the loss slice with the SGD path up to
    the shown snapshot. Throttled to LENS_LIVE_MS while a run trains or a drag moves."""

    def __init__(self, controller, panel):
        super().__init__(controller, panel, LENS_LIVE_MS)
        self.enabled = False
        c = controller
        for sig in (c.shownChanged, c.historyChanged, c.previewChanged):
            sig.connect(self._live_request)
        c.dataChanged.connect(self._request)
        c.settingChanged.connect(lambda name: name in ("lam", "mode") and self._request())
        panel.sliceChanged.connect(lambda *_: self._request())
        panel.partChanged.connect(lambda *_: self._request())
        self._ridge_key = None
        self._ridge = None
        self._ranges = None  # ((p1, p2), range1, range2) of the slice drawn
        self.error = ""

    def _live_request(self) -> None:
        if self.enabled:
            self.redraw.request(live=self.c.busy or self.c.preview is not None)

    def _request(self) -> None:
        if self.enabled:
            self._now()

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        if on:
            self.redraw.request()

    def draw(self) -> None:
        if not self.enabled:
            return
        c, panel = self.c, self.view
        net, data = c.shown_network, _shown_data(c)
        panel.set_width(net.width)
        f = gradient_features(net, data, k=TOP_K)
        panel.set_spectrum(f.singular_values[:f.rank], f.hidden_singular_values[:f.hidden_rank])
        panel.set_vectors(f.grid, f.vectors, data.x)
        share = (f"the top {f.k} directions hold {f.residual_fraction:.1%} of the residual"
                 if np.isfinite(f.residual_fraction) else "")
        panel.set_summary(f"J: {data.n} x {3 * net.width + 1}, rank {f.rank} (hidden features: "
                          f"{f.hidden_rank}); {share}")
        part = panel.shown_part()  # the others are drawn when shown: the ridge curve and the
        if part == "ridge":        # slice cost several times the SVD while a run trains
            self._draw_ridge()
        elif part == "slice":
            self._draw_slice(net, data)

    def _draw_ridge(self) -> None:
        """The distance to the ridge optimum over the timeline: at most ~400 snapshots (log
        spaced, with the shown one), each solved once (a run in progress only appends)."""
        c = self.c
        hist = c.history
        key = (id(c.data), c.settings.lam)
        if key != self._ridge_key:
            self._ridge_key, self._ridge = key, {}
        done = self._ridge
        snaps = snapshot_parameters(hist)
        idx = thinned_indices(len(snaps), keep=(c.shown_index,))

        def mark(i):  # a snapshot's identity: an undo or a new run changes it, recording it does not
            return (int(snaps.steps[i]), snaps.w1[i].tobytes(), snaps.b1[i].tobytes(),
                    snaps.w2[i].tobytes(), float(snaps.b2[i]))

        marks = {int(i): mark(i) for i in idx}
        todo = np.array([i for i in idx if done.get(int(i), (None,))[0] != marks[int(i)]], dtype=np.int64)
        if todo.size:
            r = ridge_distances(hist, c.data, c.settings.lam, indices=todo)
            for i, d in zip(todo.tolist(), r.distance.tolist()):
                done[i] = (marks[i], d)
        steps = snaps.steps[idx].astype(np.float64)
        dist = np.array([done[int(i)][1] for i in idx])
        note = ("Output layer only: convex, so the gap falls toward 0 (slowly along the directions "
                "the hidden features barely see)." if c.settings.mode == "output" else
                "The gap to the ridge optimum on each snapshot's own features "
                "(they move when all layers train).")
        self.view.set_ridge_distance(steps, dist, c.shown_step, note)

    def _kept_ranges(self, p1, p2, path):
        """The ranges drawn last time while they still hold the path (the view stays put while
        the path grows; no new search for the bowl's bottom), else (None, None): new ones."""
        kept = self._ranges
        if kept is None or kept[0] != (p1, p2):
            return None, None
        for (lo, hi), v in zip(kept[1:], path):
            v = v[np.isfinite(v)]
            if v.size and (v.min() < lo or v.max() > hi):
                return None, None
        return kept[1], kept[2]

    def _draw_slice(self, net, data) -> None:
        c, panel = self.c, self.view
        p1, p2 = panel.slice_parameters()
        try:
            hist = c.history
            upto = c.shown_index
            _s, a = parameter_path(hist, p1)
            _s, b = parameter_path(hist, p2)
            path = (a[:upto + 1], b[:upto + 1])
            s = loss_slice(net, data, p1, p2, *self._kept_ranges(p1, p2, path), around=path)
        except ValueError as exc:
            self.error = str(exc)
            panel.set_slice(None, note=str(exc))
            return
        self.error = ""
        self._ranges = ((p1, p2), (s.v1[0], s.v1[-1]), (s.v2[0], s.v2[-1]))
        convex = {p1[0], p2[0]} <= {"w2", "b2"}
        note = ("Output layer only: a convex bowl (linear regression on fixed features)." if convex
                else "Hidden-layer parameters: the slice need not be convex.")
        panel.set_slice(s, path, f"{note} Lowest point (x) {s.minimum_loss:.4g}, here (ring) "
                                 f"{s.current_loss:.4g}.")
