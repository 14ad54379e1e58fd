"""Figure and animation export: canvas or loss pane (or both as one figure) as PNG (size and
DPI) or SVG, and the training playback over a chosen range of steps as a GIF (or MP4 with ffmpeg),
with progress and cancel.

Exports are figures, not screenshots: the canvas is drawn by an offscreen *figure* copy
(:func:`figure_canvas`), which has no slope handles, selection, hover or hint, so the window
itself is neither shown in them nor disturbed. An animation draws each frame on the data set of
its own snapshot where the history knows it (a hand edit of the points changes the data from
that snapshot on), else on the current data.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGraphicsItem,
    QLabel,
    QProgressDialog,
)
from superqt import QLargeIntSpinBox

from ..core.io.animation import (
    AnimationError,
    Cancelled,
    ffmpeg_path,
    frame_indices,
    write_gif,
    write_mp4,
)
from ..core.io.atomic import replacing
from ..core.ridge import ridge_mse
from .canvas import Canvas
from .fields import add_ok_cancel, spin_box

INCH_PER_METER = 39.3700787
#: The loss pane's height in a combined animation frame, as a fraction of the canvas's.
LOSS_FRACTION = 0.45


def figure_canvas(source: Canvas, width: int | None = None, height: int | None = None) -> Canvas:
    """An offscreen figure copy of ``source``: the same data, network, marks, toggles and view,
    without handles, selection, hover or hint; laid out at ``width`` x ``height`` (default:
    the source's size). The caller deletes it (``deleteLater``)."""
    fig = Canvas(figure=True)
    fig.resize(int(width or max(200, source.width())), int(height or max(150, source.height())))
    fig.set_scaled(source.scaled)
    fig.set_units_visible(source.units_visible)
    fig.set_kinks_visible(source.kinks_visible)
    fig.set_ghosts_visible(source.ghosts_visible)
    fig.set_trails_visible(source.trails_visible)
    if source.data is not None:
        fig.set_dataset(source.data)
    fig.set_kinks(source.kink_xs)
    fig.set_initial(source.initial)
    fig.set_trails(source.trail_data, source.trail_step)
    if source.net is not None:
        fig.show_network(source.net, source.dead)
    (x0, x1), (y0, y1) = source.vb.viewRange()
    lay_out(fig)
    fig.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
    lay_out(fig)
    return fig


def lay_out(widget) -> None:
    """Make an offscreen widget lay itself out at its size (a hidden widget's resize is pending
    until it is shown or rendered)."""
    widget.grab()
    QApplication.sendPostedEvents()


def _as_figure(plot_widget):
    """The plot to export: a figure copy of a canvas (and whether it must be deleted after)."""
    if isinstance(plot_widget, Canvas) and not plot_widget.figure:
        return figure_canvas(plot_widget), True
    return plot_widget, False


def _plot_image(plot_widget, width: int) -> QImage:
    exporter = pg.exporters.ImageExporter(plot_widget.getPlotItem())
    exporter.parameters()["width"] = int(width)
    return exporter.export(toBytes=True)


def _save_png(img: QImage, path, dpi: int) -> Path:
    dpm = int(round(dpi * INCH_PER_METER))
    img.setDotsPerMeterX(dpm)
    img.setDotsPerMeterY(dpm)
    path = Path(path)
    with replacing(path) as tmp:
        if not img.save(str(tmp), "PNG"):
            raise OSError(f"cannot write {path}")
    return path


def export_png(plot_widget: pg.PlotWidget, path, width: int, dpi: int = 96) -> Path:
    """Render ``plot_widget``'s plot (a canvas as a figure) at ``width`` pixels and save it as
    PNG tagged with ``dpi``."""
    plot, temporary = _as_figure(plot_widget)
    try:
        return _save_png(_plot_image(plot, width), path, dpi)
    finally:
        if temporary:
            plot.deleteLater()


def export_figure_png(canvas: Canvas, loss: pg.PlotWidget, path, width: int, dpi: int = 96) -> Path:
    """The canvas (as a figure) above the loss pane, both ``width`` pixels wide, as one PNG."""
    fig, temporary = _as_figure(canvas)
    try:
        top, bottom = _plot_image(fig, width), _plot_image(loss, width)
    finally:
        if temporary:
            fig.deleteLater()
    return _save_png(stack_images([top, bottom], _background(fig)), path, dpi)


def _background(plot_widget) -> QColor:
    return plot_widget.backgroundBrush().color()


def stack_images(images, background: QColor) -> QImage:
    """Images one above the other (left-aligned) on ``background``."""
    w = max(img.width() for img in images)
    h = sum(img.height() for img in images)
    out = QImage(w, h, QImage.Format.Format_ARGB32)
    out.fill(background)
    painter = QPainter(out)
    try:
        y = 0
        for img in images:
            painter.drawImage(0, y, img)
            y += img.height()
    finally:
        painter.end()
    return out


def _write_svg(widgets, path) -> Path:
    """Vector SVG of ``widgets`` one above the other, rendered by Qt's SVG generator.

    (pyqtgraph's own SVG exporter cannot parse the path data of current Qt 6 releases.)
    Items painted from a pixmap cache are switched to direct painting meanwhile, so every
    curve and marker stays a vector path.
    """
    path = Path(path)
    items = [it for w in widgets for it in w.scene().items()]
    modes = [it.cacheMode() for it in items]
    for it in items:
        it.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    try:
        with replacing(path) as tmp:  # written whole, then renamed: never half an SVG
            sizes = [w.viewport().size() for w in widgets]
            width = max(sz.width() for sz in sizes)
            height = sum(sz.height() for sz in sizes)
            gen = QSvgGenerator()
            gen.setFileName(str(tmp))
            gen.setSize(QRect(0, 0, width, height).size())
            gen.setViewBox(QRect(0, 0, width, height))
            gen.setTitle("ReLU Studio")
            # The widgets' own resolution: cached drawings (QPicture: the axes) are replayed
            # scaled by the ratio of resolutions, and the generator's default (72 dpi) would
            # shrink the axes against the data.
            gen.setResolution(int(round(widgets[0].logicalDpiX())))
            painter = QPainter(gen)
            try:
                y = 0
                for w, sz in zip(widgets, sizes):
                    painter.save()
                    painter.translate(0, y)
                    w.render(painter)
                    painter.restore()
                    y += sz.height()
            finally:
                painter.end()
            if tmp.stat().st_size == 0:
                raise OSError(f"cannot write {path}")
    finally:
        for it, mode in zip(items, modes):
            it.setCacheMode(mode)
    return path


def export_svg(plot_widget: pg.PlotWidget, path) -> Path:
    """Vector SVG of what the plot shows (a canvas as a figure: no handles or selection)."""
    plot, temporary = _as_figure(plot_widget)
    try:
        return _write_svg([plot], path)
    finally:
        if temporary:
            plot.deleteLater()


def export_figure_svg(canvas: Canvas, loss: pg.PlotWidget, path) -> Path:
    """The canvas (as a figure, as wide as the loss pane) above the loss pane, as one SVG."""
    fig = figure_canvas(canvas, width=loss.width() or canvas.width())
    try:
        return _write_svg([fig, loss], path)
    finally:
        fig.deleteLater()


class PngOptions(QDialog):
    """Size and DPI of a PNG export."""

    def __init__(self, default_width: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("PNG export")
        form = QFormLayout(self)
        self.width_px = spin_box(200, 8000, default_width, suffix=" px")
        self.dpi = QComboBox()
        for d in (96, 150, 200, 300, 600):
            self.dpi.addItem(f"{d} dpi", d)
        self.dpi.setCurrentIndex(3)
        form.addRow("Width", self.width_px)
        form.addRow("Resolution", self.dpi)
        add_ok_cancel(self, form)


class AnimationOptions(QDialog):
    """Range of steps, number and spacing of frames, frame rate and size of a playback
    animation. It speaks in steps; :meth:`indices` turns them into snapshots."""

    def __init__(self, steps, parent=None, fps: int = 15):
        super().__init__(parent)
        self.setWindowTitle("Export animation")
        self.steps = np.asarray(steps, dtype=np.int64)
        last = int(self.steps[-1]) if self.steps.size else 0
        interval = _typical_interval(self.steps)
        form = QFormLayout(self)
        self.first = _step_box(last, 0, "The animation starts at the first snapshot at or after "
                               "this step")
        self.last = _step_box(last, last, "The animation ends at the snapshot at or before this step")
        for box in (self.first, self.last):
            box.setSingleStep(max(1, interval))
        self.frames = spin_box(1, max(1, self.steps.size), min(200, max(1, self.steps.size)),
                               "How many frames (each a different snapshot; fewer if the range "
                               "holds fewer snapshots)")
        self.spacing = QComboBox()
        self.spacing.addItem("Even in steps", "even")
        self.spacing.addItem("Log steps: early steps slower", "log")
        self.spacing.setToolTip("Even: one frame every so many steps. Log: frames spaced evenly "
                                "in log(1 + step), so the first steps, where the elbows move "
                                "most, get more of the animation")
        self.fps = spin_box(1, 60, fps, "Frames per second of the animation")
        self.width_px = spin_box(200, 3840, 800, "Width of the animation", suffix=" px")
        self.with_loss = QCheckBox("Loss pane below the canvas")
        self.with_loss.setToolTip("Each frame shows the loss curves too, with a cursor at the frame's step")
        self.fmt = QComboBox()
        self.fmt.addItem("GIF", "gif")
        if ffmpeg_path():
            self.fmt.addItem("MP4 (ffmpeg)", "mp4")
        self.fmt.setToolTip("GIF plays anywhere; MP4 (with ffmpeg installed) is smaller")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        form.addRow("From step", self.first)
        form.addRow("To step", self.last)
        form.addRow("Frames", self.frames)
        form.addRow("Spacing", self.spacing)
        form.addRow("Frames per second", self.fps)
        form.addRow("Width", self.width_px)
        form.addRow("", self.with_loss)
        form.addRow("Format", self.fmt)
        form.addRow(self.summary)
        for w in (self.first, self.last, self.frames, self.fps):
            w.valueChanged.connect(self._summarise)
        self.spacing.currentIndexChanged.connect(self._summarise)
        add_ok_cancel(self, form)
        self._summarise()

    def indices(self) -> list[int]:
        """The snapshots that become frames, in order."""
        return frame_indices(self.steps, self.first.value(), self.last.value(), self.frames.value(),
                             self.spacing.currentData())

    def _summarise(self) -> None:
        idx = self.indices()
        if not idx:
            self.summary.setText("No snapshots in this range.")
            return
        a, b = int(self.steps[idx[0]]), int(self.steps[idx[-1]])
        n = len(idx)
        seconds = n / max(1, self.fps.value())
        if self.spacing.currentData() == "even" and n > 1:
            how = f", one frame about every {round((b - a) / (n - 1)):,} steps"
        else:
            how = ""
        self.summary.setText(f"{n} frames: steps {a:,} to {b:,}{how}; {seconds:.1f} s at "
                             f"{self.fps.value()} frames/s.")


def _step_box(last: int, value: int, tip: str) -> QLargeIntSpinBox:
    """A step field from 0 to ``last`` (a history can pass a QSpinBox's 2**31 - 1 steps)."""
    box = QLargeIntSpinBox()
    box.setRange(0, max(0, int(last)))
    box.setValue(int(value))
    box.setKeyboardTracking(False)  # (no thousands separators: superqt's box formats with str())
    box.setToolTip(f"{tip} (0 .. {int(last):,})")
    return box


def _typical_interval(steps) -> int:
    d = np.diff(np.asarray(steps))
    d = d[d > 0]
    return int(np.median(d)) if d.size else 1


def qimage_to_rgb(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.bytesPerLine() * h)
    return arr.reshape(h, img.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()


def render_frames(history, data, indices, width: int, scaled: bool, units_visible: bool,
                  view_range, progress=None, *, like: Canvas | None = None, loss: bool = False,
                  lam: float | None = None):
    """Yield one RGB frame per snapshot index, drawn by an offscreen figure canvas of ``width``
    px: each on its snapshot's own data (``history.data_at``) where the history knows it, else
    on ``data``. ``like`` gives the marks to draw (kinks, initial elbows, trails); ``loss`` adds
    the loss curves below, with a cursor at the frame's step and, with ``lam``, the ridge
    optimum of the frame's features."""
    from .loss_pane import LossPane
    from .presenters import draw_history_losses

    canvas = Canvas(figure=True)
    canvas.resize(int(width), int(width * 0.6))
    canvas.set_scaled(scaled)
    canvas.set_units_visible(units_visible)
    if like is not None:
        canvas.set_kinks_visible(like.kinks_visible)
        canvas.set_ghosts_visible(like.ghosts_visible)
        canvas.set_trails_visible(like.trails_visible)
        canvas.set_kinks(like.kink_xs)
        canvas.set_initial(like.initial)
    else:
        canvas.set_kinks_visible(False)
        canvas.set_ghosts_visible(False)
    pane = None
    if loss:
        pane = LossPane()
        pane.resize(int(width), int(width * 0.6 * LOSS_FRACTION))
        last = int(history.curves()[0][-1])
        draw_history_losses(pane, history, span=last)
    lay_out(canvas)
    (x0, x1), (y0, y1) = view_range
    canvas.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
    title = pg.TextItem(color="#333333", anchor=(1, 0))
    canvas.getPlotItem().addItem(title, ignoreBounds=True)
    shown_data = None
    trails = None
    if like is not None and like.trails_visible:
        from ..core.elbow_trails import elbow_trails, history_parameters
    try:
        for k, i in enumerate(indices):
            frame_data = data_of_snapshot(history, i, data)
            if frame_data is not shown_data:
                canvas.set_dataset(frame_data, points_only=shown_data is not None
                                   and frame_data.x_test is shown_data.x_test)
                shown_data = frame_data
            net = history.network(i)
            if like is not None and like.trails_visible:
                trails = elbow_trails(*history_parameters(history, i))
                canvas.set_trails(trails, history.step(i))
            canvas.show_network(net, net.dead_units(frame_data.x))
            title.setText(f"step {history.step(i):,}")
            title.setPos(x1, y1)
            img = canvas.grab().toImage()
            if pane is not None:
                pane.set_cursor(history.step(i))
                ridge = None
                if lam is not None:
                    try:
                        ridge = ridge_mse(net, frame_data, lam)
                    except (ValueError, ArithmeticError):
                        ridge = None
                pane.set_references(frame_data.noise_floor if frame_data.target is not None else None, ridge)
                img = stack_images([img, pane.grab().toImage()], _background(canvas))
            yield qimage_to_rgb(img)
            if progress is not None and progress(k) is False:
                raise Cancelled()
    finally:
        canvas.deleteLater()
        if pane is not None:
            pane.deleteLater()


def data_of_snapshot(history, i: int, current):
    """The data set snapshot ``i`` was made on, if the history knows it; else ``current``."""
    known = getattr(history, "data_at", None)
    found = known(i) if known is not None else None
    return found if found is not None else current


def export_animation(parent, history, data, options: AnimationOptions, path, scaled: bool,
                     units_visible: bool, view_range, like: Canvas | None = None,
                     lam: float | None = None) -> Path | None:
    """Run an animation export with a progress dialog; None if cancelled."""
    indices = options.indices()
    if not indices:
        raise AnimationError("there are no snapshots in the chosen range of steps")
    dlg = QProgressDialog("Rendering frames…", "Cancel", 0, 2 * len(indices), parent)
    dlg.setWindowTitle("Export animation")
    dlg.setWindowModality(Qt.WindowModality.WindowModal)
    dlg.setMinimumDuration(300)

    def tick(offset):
        def f(k):
            dlg.setValue(offset + k + 1)
            QApplication.processEvents()
            return not dlg.wasCanceled()
        return f

    try:
        frames = list(render_frames(history, data, indices, options.width_px.value(), scaled,
                                    units_visible, view_range, tick(0), like=like,
                                    loss=options.with_loss.isChecked(), lam=lam))
        dlg.setLabelText("Encoding…")
        writer = write_mp4 if options.fmt.currentData() == "mp4" else write_gif
        return writer(frames, path, fps=options.fps.value(), progress=tick(len(indices)))
    except Cancelled:
        return None
    except AnimationError:
        raise
    finally:
        dlg.close()
