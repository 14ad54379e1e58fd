"""The canvas: data, ground truth, prediction, every hidden unit, its elbow and slope handle,
and the lesson's marks: the target's kinks, the initial network's elbows and the elbows' trails.

It also turns mouse gestures into edit *intents* (signals): which elbow, handle, unit line or data
point was grabbed, and where it is being dragged, in data coordinates. What an intent means for
the network is decided elsewhere (``edit_tool``); the canvas only draws and hit-tests.

Nothing is drawn over the data that does not have to be: the legend sits in a row above the plot,
the slope handles in a gutter outside the data range (side by side where they would overlap).
A *figure* canvas (``Canvas(figure=True)``, what exports draw) has no handles, selection, hover
or hint at all.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGraphicsItem, QLabel

from ..core.dataset import Dataset
from ..core.editing import data_range, handle_layout
from ..core.elbow_trails import ElbowTrails, trail_heights
from ..core.geometry import prediction_polyline, unit_polylines
from ..core.lens.gradients import ElbowVelocity, handle_velocity
from ..core.network import Network
from ..core.truth_curve import truth_curve, truth_tooltip
from . import style

DEFAULT_VIEW = ((0.0, 1.0), (-2.5, 2.5))
#: The default view's room on either side of [0, 1] (a fraction of it), where the slope handles sit.
VIEW_MARGIN = 0.07
#: Slope handles: this far (px) outside the data range, lanes this far apart, at most this many.
HANDLE_GAP_PX, HANDLE_LANE_PX, HANDLE_LANES = 10.0, 9.0, 3
#: Above this width, only the selected unit's elbow trail is drawn.
MAX_TRAILS_SHOWN = 100
#: The trails reach this fraction of the view's height below the x axis (step 0 at the bottom).
TRAIL_DEPTH = 0.12
#: How close (px) the pointer must be to a kink line or the truth curve for their tooltips.
TIP_PX = 4.0
SAMPLE_PX = 20.0  # a legend entry's sample
#: How close (in screen pixels) the pointer must be to grab something.
GRAB_PX = {"elbow": 8.0, "handle": 8.0, "point": 7.0, "unitline": 5.0}
#: Above this width, only the selected unit's slope handle is drawn (hundreds would be clutter).
MAX_HANDLES_SHOWN = 60
#: The theory lens's arrows: an arrow shorter than this (px) is drawn as its head only; an elbow's
#: arrow runs this far (px) above the x axis (on it, it would hide in the axis line).
ARROW_MIN_PX, ARROW_LIFT_PX = 3.0, 7.0


class Markers(pg.ScatterPlotItem):
    """Scatter markers that leave clicks to the view box, which hit-tests everything in one place."""

    def mouseClickEvent(self, ev):
        ev.ignore()


class EditViewBox(pg.ViewBox):
    """A ViewBox that offers presses to the canvas first: grabbed items are dragged, else it pans.

    A right click during a drag cancels it (pyqtgraph's convention for draggable items).
    """

    def __init__(self, canvas: "Canvas"):
        super().__init__()
        self._canvas = canvas
        self._drag = None
        self._swallow = False  # after a cancel, ignore the rest of that drag

    def mouseDragEvent(self, ev, axis=None):
        c = self._canvas
        if ev.button() == Qt.MouseButton.LeftButton:
            if ev.isStart():
                self._swallow = False
                target = c.hit_test(self.mapToView(ev.buttonDownPos()), ev.modifiers())
                if target is not None:
                    self._drag = target
                    ev.accept()
                    c.editStarted.emit(target)
                    p = self.mapToView(ev.pos())
                    c.editMoved.emit(target, p.x(), p.y(), ev.modifiers())
                    return
            if self._swallow:
                ev.accept()
                if ev.isFinish():
                    self._swallow = False
                return
            if self._drag is not None:
                ev.accept()
                p = self.mapToView(ev.pos())
                if ev.isFinish():
                    target, self._drag = self._drag, None
                    c.editMoved.emit(target, p.x(), p.y(), ev.modifiers())
                    c.editFinished.emit(target)
                else:
                    c.editMoved.emit(self._drag, p.x(), p.y(), ev.modifiers())
                return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):
        c = self._canvas
        if ev.button() == Qt.MouseButton.RightButton and self._drag is not None:
            ev.accept()
            self._drag = None
            self._swallow = True
            c.editCancelled.emit()
            return
        p = self.mapToView(ev.pos())
        target = c.hit_test(p, ev.modifiers(), for_click=True)
        c.clicked.emit(target, p.x(), p.y(), ev.button(), ev.modifiers())
        ev.accept()


class Canvas(pg.PlotWidget):
    """Shows one network on one data set; recomputes the exact polylines when the view pans."""

    editStarted = Signal(object)  # target: ("elbow"|"handle"|"unitline", unit) or ("point", index)
    editMoved = Signal(object, float, float, object)  # target, x, y, keyboard modifiers
    editFinished = Signal(object)
    editCancelled = Signal()
    clicked = Signal(object, float, float, object, object)  # target or None, x, y, button, modifiers

    def __init__(self, parent=None, figure: bool = False):
        self.vb = EditViewBox(self)
        super().__init__(parent, viewBox=self.vb)
        self.figure = bool(figure)
        style.apply_plot_theme(self)
        self.setMenuEnabled(False)
        p = self.getPlotItem()
        # No grid: pyqtgraph's grid costs more to paint than everything else together, and the
        # notes' figures have none. The x axis (y = 0), where the elbows sit, is drawn instead.
        self.zero = pg.InfiniteLine(pos=0, angle=0, pen=style.pen(style.ELBOW, 1.0, alpha=140))
        p.addItem(self.zero)
        p.setLabel("bottom", "x")
        p.setLabel("left", "y")
        # A 1-px opaque dotted pen: wider or translucent dotted pens cost 4x more to paint.
        self.units = pg.PlotDataItem(pen=style.pen(style.UNITS, 1.0, Qt.PenStyle.DotLine),
                                     connect="finite", skipFiniteCheck=True)
        self.selected_unit = pg.PlotDataItem(pen=style.pen(style.SELECTED, 2.5), connect="finite")
        self.truth = pg.PlotDataItem(pen=style.pen(style.TRUTH, 2.0, Qt.PenStyle.DashLine))
        self.points = Markers(size=7, brush=pg.mkBrush(style.DATA), pen=pg.mkPen(None))
        self.prediction = pg.PlotDataItem(pen=style.pen(style.PREDICTION, 2.6))
        self.elbows = Markers(size=9, hoverable=not figure, tip=self._tip,
                              brush=pg.mkBrush(style.ELBOW), pen=pg.mkPen(None),
                              hoverSize=13, hoverPen=pg.mkPen("k", width=1.5))
        self.dead_elbows = Markers(size=9, hoverable=not figure, tip=self._tip,
                                   brush=pg.mkBrush(None), pen=style.pen(style.DEAD, 1.5),
                                   hoverSize=13, hoverPen=pg.mkPen("k", width=1.5))
        self.handles = Markers(symbol="d", size=9, hoverable=True, tip=self._handle_tip,
                               brush=pg.mkBrush(style.UNITS), pen=pg.mkPen(None), hoverSize=13)
        # The selected unit's elbow: drawn by its own item (filled grey, or hollow red when dead,
        # inside a pink ring), so the other elbows' item stays unchanged while it is dragged.
        self.selected_marker = Markers(size=15, brush=pg.mkBrush(None), pen=style.pen(style.SELECTED, 2.0))
        self.selected_elbow = Markers(size=9, brush=pg.mkBrush(style.ELBOW), pen=pg.mkPen(None))
        # The lesson's marks: where the target bends, where the elbows started, where they went.
        self.kinks = pg.PlotDataItem(pen=style.pen(style.KINK, 1.0, Qt.PenStyle.DashLine), connect="finite")
        self.ghosts = Markers(size=12, hoverable=not figure, tip=self._ghost_tip, brush=pg.mkBrush(None),
                              pen=style.pen(style.GHOST, 1.3), hoverSize=15,
                              hoverPen=pg.mkPen("k", width=1.5))
        self.trails = pg.PlotDataItem(pen=style.pen(style.TRAIL, 1.2), connect="finite")
        # The theory lens: an arrow on each elbow (where the full-batch gradient moves it, x per
        # 1000 steps) and on each slope handle (its change); the selected unit's active region.
        self.velocity = pg.PlotDataItem(pen=style.pen(style.VELOCITY, 2.0), connect="finite")
        self._velocity_heads = (np.zeros(0), np.zeros(0))  # where the arrows end (x, y)
        self.active_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(*style.ACTIVE),
                                                 pen=pg.mkPen(None))
        self.active_region.hide()
        z = {self.kinks: 0.5, self.units: 1, self.selected_unit: 2, self.trails: 2.5, self.truth: 3,
             self.points: 5, self.prediction: 6, self.ghosts: 8, self.handles: 9, self.elbows: 10,
             self.dead_elbows: 10, self.selected_elbow: 10, self.selected_marker: 11,
             self.active_region: -1, self.velocity: 12}
        interactive = (self.handles, self.selected_unit, self.selected_marker, self.selected_elbow,
                       self.active_region)
        for item, zv in z.items():
            item.setZValue(zv)
            if not (figure and item in interactive):  # a figure has no editing items at all
                p.addItem(item)
        if figure:  # markers drawn as paths, not from a pixmap atlas: an SVG stays vector
            for item in (self.points, self.elbows, self.dead_elbows, self.ghosts):
                item.setData(useCache=False)
        # Items that stay put while one unit is dragged are painted from a cached pixmap; the
        # dotted lines of a thousand units cost far more to stroke than to blit.
        else:
            for item in (self.units, self.truth, self.points, self.elbows, self.dead_elbows,
                         self.ghosts, self.kinks, p.getAxis("left"), p.getAxis("bottom")):
                item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.dead_sample = pg.ScatterPlotItem(symbol="o", size=9, pen=style.pen(style.DEAD, 1.5),
                                              brush=pg.mkBrush(None))
        # The legend: a row above the plot (never over the data), as many columns as fit.
        self.legend = style.legend_item()
        self.legend.updateSize = lambda: None  # sized by _place_legend (its own sizing feeds back)
        # Outside the view box nothing scales it on screen; in an export at a larger size it must
        # scale with the rest of the figure.
        self.legend.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.legend.setParentItem(p)
        self.legend.hoverEvent = lambda ev: None
        self.legend.mouseDragEvent = lambda ev: ev.ignore()
        self.hint = QLabel(self)
        self.hint.setStyleSheet("background: rgba(255,248,220,230); color: #5c4400; padding: 1px 8px;"
                                "border: 1px solid #e0c060; border-radius: 4px;")
        self.hint.hide()
        # What the theory lens has to say about the canvas (e.g. no arrows in output-only mode).
        self.lens_note = QLabel(self)
        self.lens_note.setWordWrap(True)
        self.lens_note.setStyleSheet("background: rgba(243,229,245,235); color: #4a148c; padding: 2px 8px;"
                                     "border: 1px solid #ce93d8; border-radius: 4px;")
        self.lens_note.hide()
        self.lens: ElbowVelocity | None = None  # the velocities drawn (None: the lens is off)
        self.net: Network | None = None
        self.data: Dataset | None = None
        self.dead = np.zeros(0, bool)
        self.scaled = False
        self.units_visible = True
        self.editable = True
        self.data_edit_mode = False
        self.selected: int | None = None
        self._handle_xy = (np.zeros(0), np.zeros(0))
        self.kink_xs: tuple[float, ...] = ()
        self.kinks_visible = True
        self.initial: Network | None = None
        self.ghosts_visible = True
        self.trail_data: ElbowTrails | None = None
        self.trail_step = 0.0
        self.trails_visible = False
        self.truth_tip = ""
        self._tip_set = ""  # the tooltip this canvas put on the view box (kinks, truth)
        self._legend_key = None
        p.vb.sigXRangeChanged.connect(lambda *_: self._redraw_network())
        p.vb.sigYRangeChanged.connect(lambda *_: self._redraw_marks())
        p.geometryChanged.connect(self._place_legend)
        if not figure:
            self.scene().sigMouseMoved.connect(self._hover)
        self._update_legend()
        self.reset_view()

    # ------------------------------------------------------------------ view
    def reset_view(self):
        """The notebook's view, [0, 1] x [-2.5, 2.5], with room at the sides for the slope handles."""
        (x0, x1), (y0, y1) = DEFAULT_VIEW
        mx, my = VIEW_MARGIN * (x1 - x0), 0.02 * (y1 - y0)
        self.vb.setRange(xRange=(x0 - mx, x1 + mx), yRange=(y0 - my, y1 + my), padding=0)

    def fit_view(self):
        """Fit the data, the truth and the prediction (units and elbows may lie outside)."""
        if self.data is None:
            return
        ys = [self.data.y]
        if self.data.target is not None:
            ys.append(self.data.y_test)
        if self.net is not None:
            ys.append(self.net.predict(self.data.x_test))
        y = np.concatenate(ys)
        x0, x1 = float(self.data.x_test.min()), float(self.data.x_test.max())
        mx = VIEW_MARGIN * (x1 - x0) if x1 > x0 else 0.5
        y0, y1 = float(np.min(y)), float(np.max(y))
        my = 0.06 * (y1 - y0) if y1 > y0 else 0.5
        self.vb.setRange(xRange=(x0 - mx, x1 + mx), yRange=(y0 - my, y1 + my), padding=0)

    def set_scaled(self, on: bool):
        self.scaled = bool(on)
        self._redraw_network()

    def set_units_visible(self, on: bool):
        self.units_visible = bool(on)
        self.units.setVisible(self.units_visible)
        self._update_legend()
        self._redraw_network()

    def set_editable(self, on: bool, reason: str = ""):
        """Whether elbows, handles and points can be grabbed; ``reason`` is shown when not."""
        self.editable = bool(on)
        self.hint.setText(reason)
        self.hint.setToolTip(reason)
        self.hint.setVisible(bool(reason) and not on and not self.figure)
        self._place_hint()

    def set_data_edit_mode(self, on: bool):
        self.data_edit_mode = bool(on)
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    def select_unit(self, j: int | None):
        self.selected = j
        self._redraw_network()
        self._redraw_active()

    # ------------------------------------------------------------------ the lesson's marks
    def set_kinks(self, xs) -> None:
        """The target's kinks (``core.kinks.target_kinks``), drawn as dashed vertical lines."""
        self.kink_xs = tuple(float(x) for x in xs)
        self._update_legend()
        self._redraw_marks()

    def set_kinks_visible(self, on: bool) -> None:
        self.kinks_visible = bool(on)
        self.kinks.setVisible(self.kinks_visible)
        self._update_legend()
        self._redraw_marks()

    def set_initial(self, net: Network | None) -> None:
        """The initial network: its elbows are drawn as hollow rings (where the elbows started)."""
        self.initial = net
        if net is None:
            self.ghosts.setData([], [])
        else:
            e = net.elbows
            idx = np.nonzero(np.isfinite(e))[0]
            self.ghosts.setData(x=e[idx], y=np.zeros(idx.size), data=idx)
        self._update_legend()

    def set_ghosts_visible(self, on: bool) -> None:
        self.ghosts_visible = bool(on)
        self.ghosts.setVisible(self.ghosts_visible)
        self._update_legend()

    def set_trails(self, trails: ElbowTrails | None, shown_step: float = 0.0) -> None:
        """Every elbow's path up to the shown snapshot (``core.elbow_trails``): drawn below the x
        axis, the step running from the trail's bottom (step 0) up to the shown elbow."""
        self.trail_data = trails
        self.trail_step = float(shown_step)
        self._redraw_marks()

    def set_trails_visible(self, on: bool) -> None:
        self.trails_visible = bool(on)
        self.trails.setVisible(self.trails_visible)
        self._update_legend()
        self._redraw_marks()

    # ------------------------------------------------------------------ the theory lens
    def set_lens(self, velocity: ElbowVelocity | None, note: str = "") -> None:
        """The theory lens's arrows for the shown network (``core.lens.gradients``; None: none)
        and a ``note`` in the plot's top right corner (e.g. why there are no arrows)."""
        self.lens = velocity
        self._lens_net = self.net  # the arrows belong to this network
        self._update_legend()  # (a no-op unless its entries change)
        show = bool(note) and not self.figure  # (every live frame comes here; the note seldom changes)
        if note != self.lens_note.text() or show == self.lens_note.isHidden():
            self.lens_note.setText(note)
            self.lens_note.setVisible(show)
            self._place_note()
        self._redraw_lens()
        self._redraw_active()

    def _redraw_lens(self) -> None:
        """The arrows, shafts and heads, as one NaN-separated polyline (vectorised: a frame of
        a thousand units costs one setData)."""
        v, net = self.lens, self.net
        if v is not None and net is not self.__dict__.get("_lens_net"):
            return  # a new network: its arrows come with the next set_lens (the old ones stay until then)
        self._velocity_heads = (np.zeros(0), np.zeros(0))
        if v is None or net is None or v.elbow.shape != (net.width,):
            self.velocity.setData([], [])
            return
        px, py = self._pixel_size()
        tails, tips, horizontal = [], [], []
        if v.moves_elbows:
            e = net.elbows
            ok = np.isfinite(e) & np.isfinite(v.elbow) & (v.elbow != 0)
            tails.append(np.column_stack([e[ok], np.zeros(ok.sum())]))
            tips.append(np.column_stack([e[ok] + v.elbow[ok], np.zeros(ok.sum())]))
            horizontal.append(np.ones(ok.sum(), bool))
        shown = self.handles.data["data"].astype(int) if len(self.handles.data) else np.zeros(0, int)
        if shown.size and (v.moves_elbows or self.scaled):
            bx, by = self._handle_xy
            dy = handle_velocity(net, v, bx, self.scaled)[shown]
            ok = np.isfinite(dy) & (dy != 0)
            tails.append(np.column_stack([bx[shown][ok], by[shown][ok]]))
            tips.append(np.column_stack([bx[shown][ok], by[shown][ok] + dy[ok]]))
            horizontal.append(np.zeros(ok.sum(), bool))
        if not tails:
            self.velocity.setData([], [])
            return
        t0, t1, hor = np.concatenate(tails), np.concatenate(tips), np.concatenate(horizontal)
        self._velocity_heads = (t1[:, 0], t1[:, 1])
        lift = np.where(hor, ARROW_LIFT_PX * py, 0.0)
        t0, t1 = t0 + np.column_stack([0 * lift, lift]), t1 + np.column_stack([0 * lift, lift])
        # in pixels: the direction of each arrow, its head a "V" 6 px long and 4 px to each side
        d = np.where(hor, np.sign(t1[:, 0] - t0[:, 0]), np.sign(t1[:, 1] - t0[:, 1]))
        back = np.where(hor[:, None], np.column_stack([-d * 6 * px, 4 * py + 0 * d]),
                        np.column_stack([4 * px + 0 * d, -d * 6 * py]))
        side = np.where(hor[:, None], np.column_stack([-d * 6 * px, -4 * py + 0 * d]),
                        np.column_stack([-4 * px + 0 * d, -d * 6 * py]))
        long_enough = np.where(hor, np.abs(t1[:, 0] - t0[:, 0]) / px,
                               np.abs(t1[:, 1] - t0[:, 1]) / py) >= ARROW_MIN_PX
        nan = np.full((t0.shape[0], 2), np.nan)
        shaft_start = np.where(long_enough[:, None], t0, t1)  # too short: the head alone
        pts = np.stack([shaft_start, t1, nan, t1 + back, t1, t1 + side, nan], axis=1).reshape(-1, 2)
        self.velocity.setData(pts[:, 0], pts[:, 1])

    def _redraw_active(self) -> None:
        """With the lens on, the selected unit's active region (where it passes a gradient) shaded."""
        net, j = self.net, self.selected
        if self.lens is None or net is None or j is None or j >= net.width or self.figure:
            self.active_region.hide()
            return
        w, e = float(net.w1[j]), float(net.elbows[j])
        (x0, x1), _ = self.vb.viewRange()
        if w == 0 or not np.isfinite(e):
            self.active_region.setVisible(float(net.b1[j]) > 0)
            self.active_region.setRegion((x0, x1))
            return
        lo, hi = (max(e, x0), x1) if w > 0 else (x0, min(e, x1))
        self.active_region.setVisible(hi > lo)
        self.active_region.setRegion((lo, hi))

    def velocity_arrows(self):
        """(xs, ys) of the lens's arrows as drawn (NaN-separated), and where they end (x, y; an
        elbow's arrow ends on the axis, y = 0, though it is drawn a few pixels above it)."""
        x, y = self.velocity.getData()
        empty = np.zeros(0)
        return ((empty, empty) if x is None else (x, y)), self._velocity_heads

    def _place_note(self) -> None:
        note = self.__dict__.get("lens_note")
        if note is None or not note.isVisible():
            return
        note.setMaximumWidth(max(160, self.width() // 2))
        note.adjustSize()
        r = self.vb.sceneBoundingRect()
        top = int(self.mapFromScene(r.topRight()).y()) if r.height() > 0 else 30
        note.move(max(0, self.width() - note.width() - 8), max(0, top + 4))

    def _redraw_marks(self) -> None:
        """What depends on the view's y range: the kink lines, the trails' depth, the handles."""
        (_x0, _x1), (y0, y1) = self.vb.viewRange()
        if self.kinks_visible and self.kink_xs:
            k = np.asarray(self.kink_xs)
            xs = np.repeat(k, 3)
            ys = np.tile([y0, y1, np.nan], k.size)
            xs[2::3] = np.nan
            self.kinks.setData(xs, ys)
        else:
            self.kinks.setData([], [])
        self._redraw_trails()
        self._redraw_handles()

    def _redraw_trails(self) -> None:
        t = self.trail_data
        if not self.trails_visible or t is None or t.x.size == 0:
            self.trails.setData([], [])
            return
        x, steps = t.x, t.steps
        if self.net is not None and self.net.width > MAX_TRAILS_SHOWN:
            # Hundreds of trails are a blur: only the selected unit's is drawn.
            keep = (t.units == (-2 if self.selected is None else self.selected)) | (t.units < 0)
            x, steps = x[keep], steps[keep]
        (_x0, _x1), (y0, y1) = self.vb.viewRange()
        self.trails.setData(x, trail_heights(steps, self.trail_step, TRAIL_DEPTH * (y1 - y0)))

    # ------------------------------------------------------------------ the legend
    def _legend_entries(self):
        entries = [(self.points, "training data")]
        if self.data is None or self.data.target is not None:
            entries.append((self.truth, "ground truth"))
        entries.append((self.prediction, "prediction"))
        if self.units_visible:
            entries.append((self.units, "hidden units"))
        mark = self._landmark()
        entries.append((self.elbows, f"{mark}s"))
        if self.net is None or self.net.activation.can_die:
            entries.append((self.dead_sample, "dead unit"))
        if self.ghosts_visible and self.initial is not None:
            entries.append((self.ghosts, f"initial {mark}s"))
        if self.kinks_visible and self.kink_xs:
            entries.append((self.kinks, "target's kinks"))
        if self.trails_visible:
            entries.append((self.trails, f"{mark} trails"))
        if not self.figure:
            entries.append((self.handles, "slope handles"))
        if self.lens is not None and self.lens.moves_elbows:
            entries.append((self.velocity, "gradient: x per 1000 steps"))
        return entries

    def _update_legend(self) -> None:
        entries = self._legend_entries()
        key = tuple(name for _item, name in entries)
        if key == self._legend_key:
            return
        self._legend_key = key
        self.legend.clear()
        for item, name in entries:
            self.legend.addItem(item, name)
        self._legend_columns = None
        self._place_legend()

    def _place_legend(self) -> None:
        """Lay the legend out in a row (or rows) above the plot, as wide as the plot allows."""
        legend = self.__dict__.get("legend")  # geometry changes arrive before __init__ has made it
        if legend is None:
            return
        p = self.getPlotItem()
        vb_rect = self.vb.geometry()
        avail = max(120.0, vb_rect.width() - 8)
        widths = [SAMPLE_PX + label.item.boundingRect().width() + 8 for _s, label in legend.items]
        cols = 1
        for c in range(len(widths), 0, -1):
            colw = [max(widths[i::c]) for i in range(c)]
            if sum(colw) <= avail:
                cols = c
                break
        if cols != getattr(self, "_legend_columns", None):
            legend.columnCount = -1  # force setColumnCount to lay the entries out again
            legend.setColumnCount(cols)
            self._legend_columns = cols
        legend.layout.invalidate()
        size = legend.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
        legend.resize(size)
        height = size.height() + 6
        p.layout.setRowFixedHeight(0, height)
        p.titleLabel.setMaximumHeight(0)
        legend.setPos(vb_rect.left() + 2, 2)
        self._place_hint()

    def _place_hint(self) -> None:
        """The hint (why editing is off) sits in the bottom left corner, beside the x axis's
        title: over no data, no legend entry, and the plot does not move when it comes or goes."""
        hint = self.__dict__.get("hint")
        if hint is None or not hint.isVisible():
            return
        room = max(80, self.width() // 2 - 24)  # up to the axis title in the middle
        fm = hint.fontMetrics()
        pad = 18  # the label's horizontal padding and border
        hint.setText(fm.elidedText(hint.toolTip(), Qt.TextElideMode.ElideRight, room - pad))
        hint.adjustSize()
        hint.move(4, max(0, self.height() - hint.height() - 2))

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        self._place_hint()
        self._place_note()

    def legend_scene_rect(self):
        """The legend's bounding box in scene coordinates."""
        return self.legend.mapRectToScene(self.legend.boundingRect())

    # ------------------------------------------------------------------ content
    def set_dataset(self, data: Dataset, points_only: bool = False):
        self.data = data
        self.points.setData(data.x, data.y, data=np.arange(data.n))
        if not points_only:
            if data.target is not None:
                curve = truth_curve(data.target, data.x_test, float(data.x_test.min()), float(data.x_test.max()))
                self.truth.setData(curve.x, curve.y)
                self.truth_tip = truth_tooltip(data.target, curve)
                self.truth.show()
            else:
                self.truth.setData([], [])
                self.truth_tip = ""
                self.truth.hide()
            self._update_legend()
        self._redraw_network()

    def show_network(self, net: Network, dead: np.ndarray):
        renamed = self.net is None or self.net.activation != net.activation
        self.net = net
        self.dead = np.asarray(dead, bool)
        if self.selected is not None and self.selected >= net.width:
            self.selected = None
        self._redraw_network()
        if renamed:  # "elbows" or "centres", a "dead unit" entry or none
            self._update_legend()

    def _redraw_network(self):
        net = self.net
        if net is None:
            return
        # Exactly the visible x range: lines reaching past it would dirty the axes on every redraw.
        (lo, hi), _ = self.vb.viewRange()
        xp, yp = prediction_polyline(net, lo, hi)
        self.prediction.setData(xp, yp)
        if self.units_visible:
            # The selected unit is drawn by its own item on top, so the others' item stays the
            # same while it is dragged (unscaled view) and is then painted from its cache.
            others = net
            j = self.selected
            if j is not None and j < net.width and net.width > 1:
                keep = np.arange(net.width) != j
                others = net.replace(w1=net.w1[keep], b1=net.b1[keep], w2=net.w2[keep])
            xu, yu = unit_polylines(others, lo, hi, scaled=self.scaled)
            old_x, old_y = self.units.xData, self.units.yData
            if not (old_x is not None and old_x.shape == xu.shape and np.array_equal(old_x, xu, equal_nan=True)
                    and np.array_equal(old_y, yu, equal_nan=True)):
                self.units.setData(xu, yu)
        e = net.elbows
        dead = self.dead if self.dead.shape == e.shape else np.zeros(e.shape, bool)
        j = self.selected if self.selected is not None and self.selected < net.width else None
        others = np.isfinite(e)
        if j is not None:
            others[j] = False
        for item, mask in ((self.elbows, ~dead & others), (self.dead_elbows, dead & others)):
            idx = np.nonzero(mask)[0]
            x = e[idx]
            old = item.data
            if len(old) == idx.size and np.array_equal(old["x"], x) and np.array_equal(old["data"].astype(int), idx):
                continue  # unchanged (e.g. the others while one elbow is dragged): keep its cache
            item.setData(x=x, y=np.zeros(idx.size), data=idx)
        self._redraw_handles()
        if j is not None:
            one = net.replace(w1=net.w1[j:j + 1], b1=net.b1[j:j + 1], w2=net.w2[j:j + 1])
            xs, ys = unit_polylines(one, lo, hi, scaled=self.scaled)
            self.selected_unit.setData(xs, ys)
            at = ([e[j]], [0.0]) if np.isfinite(e[j]) else ([], [])
            self.selected_marker.setData(*at)
            self.selected_elbow.setData(*at, data=[j] * len(at[0]),
                                        brush=pg.mkBrush(None) if dead[j] else pg.mkBrush(style.ELBOW),
                                        pen=style.pen(style.DEAD, 1.5) if dead[j] else pg.mkPen(None))
        else:
            self.selected_unit.setData([], [])
            self.selected_marker.setData([], [])
            self.selected_elbow.setData([], [])
        if self.trails_visible and net.width > MAX_TRAILS_SHOWN:
            self._redraw_trails()  # the selected unit's trail
        if self.lens is not None:  # (the arrows were redrawn with the handles)
            self._redraw_active()

    def _pixel_size(self):
        px, py = self.vb.viewPixelSize()
        ok = lambda v: np.isfinite(v) and v > 0  # noqa: E731  (before the first layout)
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return (px if ok(px) else (x1 - x0) / 500.0), (py if ok(py) else (y1 - y0) / 400.0)

    def _redraw_handles(self) -> None:
        net = self.net
        if net is None:
            return
        shown = np.arange(net.width) if net.width <= MAX_HANDLES_SHOWN else (
            np.array([self.selected]) if self.selected is not None and self.selected < net.width
            else np.zeros(0, int))
        px, py = self._pixel_size()
        hx, hy = handle_layout(net, *data_range(self.data), scaled=self.scaled, gap=HANDLE_GAP_PX * px,
                               lane=HANDLE_LANE_PX * px, min_dy=HANDLE_LANE_PX * py, lanes=HANDLE_LANES,
                               shown=shown)
        self._handle_xy = (hx, hy)
        if not self.figure:
            self.handles.setData(x=hx[shown], y=hy[shown], data=shown)
        if self.lens is not None:
            self._redraw_lens()

    # ------------------------------------------------------------------ what is drawn (public)
    def handle_positions(self):
        """(xs, ys) of every unit's slope handle as drawn (data coordinates)."""
        return self._handle_xy

    def point_positions(self):
        """(xs, ys) of the data points as drawn."""
        return self.points.getData()

    def prediction_data(self):
        """(xs, ys) of the prediction polyline as drawn."""
        return self.prediction.getData()

    def dead_units_drawn(self) -> np.ndarray:
        """The indices of the units drawn as dead (hollow red elbows), sorted."""
        return np.sort(np.asarray(self.dead_elbows.data["data"], dtype=int))

    def unit_lines(self):
        """(xs, ys) of the hidden units' polyline as drawn (NaN-separated, the selected one apart)."""
        return self.units.getData()

    def kink_positions(self) -> np.ndarray:
        """The x of every kink line drawn (empty when hidden)."""
        x, _y = self.kinks.getData()
        return np.zeros(0) if x is None or not self.kinks.isVisible() else x[np.isfinite(x)][::2]

    def ghost_positions(self) -> np.ndarray:
        """The x of every initial elbow drawn (hollow rings), in unit order."""
        if not self.ghosts.isVisible():
            return np.zeros(0)
        d = self.ghosts.data
        return np.asarray(d["x"], float)[np.argsort(np.asarray(d["data"], int), kind="stable")]

    def trail_lines(self):
        """(xs, ys) of the elbow trails as drawn (NaN-separated; empty when hidden)."""
        x, y = self.trails.getData()
        if x is None or not self.trails.isVisible():
            return np.zeros(0), np.zeros(0)
        return x, y

    def truth_line(self):
        """(xs, ys) of the ground truth as drawn."""
        return self.truth.getData()

    def elbow_positions(self) -> np.ndarray:
        """The x of every drawn elbow (alive, dead and the selected one)."""
        xs = [self.elbows.getData()[0], self.dead_elbows.getData()[0], self.selected_elbow.getData()[0]]
        return np.sort(np.concatenate([np.asarray(x, float) for x in xs]))

    # ------------------------------------------------------------------ hit testing
    def hit_test(self, pos, modifiers=None, for_click: bool = False):
        """What lies under ``pos`` (view coordinates), in priority order, or None."""
        net = self.net
        if net is None:
            return None
        px, py = self.vb.viewPixelSize()
        x, y = float(pos.x()), float(pos.y())

        def nearest(xs, ys, limit):
            if len(xs) == 0:
                return None
            d = np.hypot((np.asarray(xs) - x) / px, (np.asarray(ys) - y) / py)
            i = int(np.argmin(d))
            return i if d[i] <= limit else None

        if self.editable or for_click:
            e = net.elbows
            ok = np.nonzero(np.isfinite(e))[0]
            i = nearest(e[ok], np.zeros(ok.size), GRAB_PX["elbow"])
            if i is not None:
                return ("elbow", int(ok[i]))
            hx, hy = self._handle_xy
            shown = self.handles.data["data"].astype(int) if len(self.handles.data) else np.zeros(0, int)
            i = nearest(hx[shown], hy[shown], GRAB_PX["handle"])
            if i is not None:
                return ("handle", int(shown[i]))
        if self.data is not None and (self.data_edit_mode or for_click):
            i = nearest(self.data.x, self.data.y, GRAB_PX["point"])
            if i is not None:
                return ("point", i)
        if self.scaled and (self.editable or for_click):
            contrib = net.unit_outputs(np.array([x]), scaled=True)[:, 0]
            active = net.unit_outputs(np.array([x]))[:, 0] > 0
            if active.any():
                d = np.where(active, np.abs(contrib - y) / py, np.inf)
                j = int(np.argmin(d))
                if d[j] <= GRAB_PX["unitline"]:
                    return ("unitline", j)
        return None

    # ------------------------------------------------------------------ tooltips
    def _landmark(self) -> str:
        """What the marker at -b/w is called: "elbow" (a kink: ReLU, Leaky ReLU, |x|) or
        "centre" (a smooth activation's)."""
        return "elbow" if self.net is None else self.net.activation.landmark

    def _tip(self, x, y, data):
        net = self.net
        j = int(data)
        if net is None or j >= net.width:
            return ""
        state = "dead (never active on the data)" if j < self.dead.size and self.dead[j] else "alive"
        lens = ""
        v = self.lens
        if v is not None and j < v.elbow.size:
            g = v.gradients
            lens = (f"\ndL/dw = {g.w1[j]:.4g}   dL/db = {g.b1[j]:.4g}   dL/dw2 = {g.w2[j]:.4g}\n"
                    f"de = {v.elbow[j]:+.4g} per {v.per} steps at lr {v.lr:g} ({v.mode} layers"
                    f"{'' if v.mode == 'all' else ': the elbow stays'})")
        mark = self._landmark()
        if not net.activation.can_die:
            state = net.activation.describe()
        return (f"unit {j}\n{mark} {x:.4g}\nw = {net.w1[j]:.4g}\nb = {net.b1[j]:.4g}\n"
                f"output weight = {net.w2[j]:.4g}\n{state}{lens}\n(drag to move the {mark}; Shift snaps to data)")

    def _handle_tip(self, x, y, data):
        j = int(data)
        what = "output weight" if self.scaled else f"slope (the {self._landmark()} stays)"
        return f"unit {j}: drag vertically to change its {what}"

    def _ghost_tip(self, x, y, data):
        j = int(data)
        now = ""
        if self.net is not None and j < self.net.width and np.isfinite(self.net.elbows[j]):
            now = f"; now at {self.net.elbows[j]:.4g}"
        return f"unit {j} started here: initial {self._landmark()} at x = {x:.4g}{now}"

    def tip_at(self, x: float, y: float) -> str:
        """The tooltip of a kink line or the truth curve at view position (x, y), or ""."""
        px, py = self._pixel_size()
        if self.truth_tip and self.truth.isVisible():
            tx, ty = self.truth.getData()
            if tx is not None and len(tx) and tx[0] - TIP_PX * px <= x <= tx[-1] + TIP_PX * px:
                # Near the curve: within TIP_PX of one of its points (they are dense) or of its
                # height at x (a steep stretch).
                d = np.hypot((tx - x) / px, (ty - y) / py)
                if d.min() <= TIP_PX or abs(np.interp(x, tx, ty) - y) <= TIP_PX * py:
                    return self.truth_tip
        if self.kinks_visible and self.kink_xs:
            k = np.asarray(self.kink_xs)
            i = int(np.argmin(np.abs(k - x)))
            if abs(k[i] - x) <= TIP_PX * px:
                return (f"kink of the target at x = {k[i]:.4g}: its slope changes here, and an elbow "
                        "placed here lets the network bend with it")
        return ""

    def _hover(self, scene_pos) -> None:
        """Kink lines and the truth curve explain themselves; elbow and handle tips (set by their
        markers after this) take precedence."""
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            tip = ""
        else:
            p = self.vb.mapSceneToView(scene_pos)
            tip = self.tip_at(p.x(), p.y())
        current = self.vb.toolTip()
        if tip:
            if current in ("", self._tip_set):
                self.vb.setToolTip(tip)
                self._tip_set = tip
        elif self._tip_set and current == self._tip_set:
            self.vb.setToolTip("")
            self._tip_set = ""
