"""Figure and animation export: canvas or loss pane as PNG (size and DPI) or SVG, and the
training playback over a chosen snapshot range as a GIF (or MP4 with ffmpeg), with progress and
cancel. Frames are drawn by an offscreen canvas, so the window itself is not disturbed."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QFormLayout,
    QGraphicsItem,
    QProgressDialog,
)

from ..core.io.animation import (
    AnimationError,
    Cancelled,
    ffmpeg_path,
    write_gif,
    write_mp4,
)
from ..core.io.atomic import replacing
from .canvas import Canvas
from .fields import add_ok_cancel, spin_box

INCH_PER_METER = 39.3700787


def export_png(plot_widget: pg.PlotWidget, path, width: int, dpi: int = 96) -> Path:
    """Render ``plot_widget``'s plot at ``width`` pixels and save it as PNG tagged with ``dpi``."""
    exporter = pg.exporters.ImageExporter(plot_widget.getPlotItem())
    exporter.parameters()["width"] = int(width)
    img: QImage = exporter.export(toBytes=True)
    dpm = int(round(dpi * INCH_PER_METER))
    img.setDotsPerMeterX(dpm)
    img.setDotsPerMeterY(dpm)
    path = Path(path)
    with replacing(path) as tmp:
        if not img.save(str(tmp), "PNG"):
            raise OSError(f"cannot write {path}")
    return path


def export_svg(plot_widget: pg.PlotWidget, path) -> Path:
    """Vector SVG of what the plot shows, rendered by Qt's SVG generator.

    (pyqtgraph's own SVG exporter cannot parse the path data of current Qt 6 releases.)
    Items painted from a pixmap cache are switched to direct painting meanwhile, so every
    curve and marker stays a vector path.
    """
    path = Path(path)
    items = plot_widget.scene().items()
    modes = [it.cacheMode() for it in items]
    for it in items:
        it.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    try:
        with replacing(path) as tmp:  # written whole, then renamed: never half an SVG
            size = plot_widget.viewport().size()
            gen = QSvgGenerator()
            gen.setFileName(str(tmp))
            gen.setSize(size)
            gen.setViewBox(QRect(0, 0, size.width(), size.height()))
            gen.setTitle("ReLU Studio")
            painter = QPainter(gen)
            try:
                plot_widget.render(painter)
            finally:
                painter.end()
            if tmp.stat().st_size == 0:
                raise OSError(f"cannot write {path}")
    finally:
        for it, mode in zip(items, modes):
            it.setCacheMode(mode)
    return path


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
    """Snapshot range, frame rate and size of a playback animation."""

    def __init__(self, count: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export animation")
        form = QFormLayout(self)
        last = max(0, count - 1)
        self.first = spin_box(0, last, 0, "First snapshot of the animation")
        self.last = spin_box(0, last, last, "Last snapshot of the animation")
        self.every = spin_box(1, max(1, count), max(1, count // 150), "Use every k-th snapshot")
        self.fps = spin_box(1, 60, 15)
        self.width_px = spin_box(200, 3840, 800, suffix=" px")
        self.fmt = QComboBox()
        self.fmt.addItem("GIF", "gif")
        if ffmpeg_path():
            self.fmt.addItem("MP4 (ffmpeg)", "mp4")
        form.addRow("First snapshot", self.first)
        form.addRow("Last snapshot", self.last)
        form.addRow("Every", self.every)
        form.addRow("Frames per second", self.fps)
        form.addRow("Width", self.width_px)
        form.addRow("Format", self.fmt)
        add_ok_cancel(self, form)

    def indices(self) -> list[int]:
        a, b = sorted((self.first.value(), self.last.value()))
        idx = list(range(a, b + 1, self.every.value()))
        if idx[-1] != b:
            idx.append(b)
        return idx


def qimage_to_rgb(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.bytesPerLine() * h)
    return arr.reshape(h, img.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()


def render_frames(history, data, indices, width: int, scaled: bool, units_visible: bool,
                  view_range, progress=None):
    """Yield one RGB frame per snapshot index, drawn by an offscreen canvas of ``width`` px."""
    canvas = Canvas()
    canvas.resize(int(width), int(width * 0.6))
    canvas.set_scaled(scaled)
    canvas.set_units_visible(units_visible)
    canvas.set_dataset(data)
    (x0, x1), (y0, y1) = view_range
    canvas.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
    title = pg.TextItem(color="#333333", anchor=(1, 0))
    canvas.getPlotItem().addItem(title, ignoreBounds=True)
    try:
        for k, i in enumerate(indices):
            net = history.network(i)
            canvas.show_network(net, net.dead_units(data.x))
            title.setText(f"step {history.step(i):,}")
            title.setPos(x1, y1)
            img = canvas.grab().toImage()
            yield qimage_to_rgb(img)
            if progress is not None and progress(k) is False:
                raise Cancelled()
    finally:
        canvas.deleteLater()


def export_animation(parent, history, data, options: AnimationOptions, path, scaled: bool,
                     units_visible: bool, view_range) -> Path | None:
    """Run an animation export with a progress dialog; None if cancelled."""
    indices = options.indices()
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
                                    units_visible, view_range, tick(0)))
        dlg.setLabelText("Encoding…")
        writer = write_mp4 if options.fmt.currentData() == "mp4" else write_gif
        return writer(frames, path, fps=options.fps.value(), progress=tick(len(indices)))
    except Cancelled:
        return None
    except AnimationError:
        raise
    finally:
        dlg.close()
