"""Figure and animation export."""
import numpy as np
import pytest
from PIL import Image

from relu_studio.core.io.animation import Cancelled, write_gif
from relu_studio.ui.exporting import export_png, export_svg, qimage_to_rgb, render_frames
from studio_helpers import configure, run_to_end


def test_png_has_the_chosen_width_and_dpi(window, tmp_path):
    out = export_png(window.canvas, tmp_path / "canvas.png", width=1200, dpi=300)
    with Image.open(out) as img:
        assert img.size[0] == 1200
        assert round(img.info["dpi"][0]) == 300
    out = export_png(window.loss, tmp_path / "loss.png", width=900, dpi=96)
    with Image.open(out) as img:
        assert img.size[0] == 900


def test_svg_export_is_an_svg_with_the_curves(window, tmp_path):
    out = export_svg(window.canvas, tmp_path / "canvas.svg")
    text = out.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "<path" in text


def test_animation_frames_follow_the_snapshots_and_gif_round_trips(window, qtbot, tmp_path):
    c = window.c
    configure(c, steps=5000, save_every=1000)
    run_to_end(qtbot, c)
    idx = [0, 2, len(c.history) - 1]
    frames = list(render_frames(c.history, c.data, idx, 400, False, True, ((0, 1), (-2.5, 2.5))))
    assert len(frames) == 3 and frames[0].shape[1] == 400 and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[2])  # the network moved between snapshots
    out = write_gif(frames, tmp_path / "run.gif", fps=10)
    with Image.open(out) as gif:
        assert gif.n_frames == 3 and gif.size == (400, frames[0].shape[0])


def test_cancelled_gif_leaves_no_file(tmp_path):
    frames = [np.zeros((20, 30, 3), np.uint8) for _ in range(5)]
    with pytest.raises(Cancelled):
        write_gif(frames, tmp_path / "x.gif", progress=lambda i: i < 2)
    assert list(tmp_path.iterdir()) == []


def test_qimage_to_rgb_reads_pixels(window):
    img = window.canvas.grab().toImage()
    rgb = qimage_to_rgb(img)
    assert rgb.shape == (img.height(), img.width(), 3)
    px = img.pixelColor(5, 5)
    assert tuple(rgb[5, 5]) == (px.red(), px.green(), px.blue())


def test_an_animations_loss_pane_frames_the_whole_run_with_its_markers(window, qtbot, monkeypatch):
    """The loss pane under each frame shows the run as the window's does: the step axis from 0 to
    the last step (not the empty pane's 0..1), the run's start marked, the cursor at the frame."""
    from relu_studio.ui import loss_pane

    c = window.c
    configure(c, steps=6000, save_every=1000)
    run_to_end(qtbot, c)
    panes = []
    real_init = loss_pane.LossPane.__init__
    monkeypatch.setattr(loss_pane.LossPane, "__init__",
                        lambda self, *a, **k: (real_init(self, *a, **k), panes.append(self))[0])
    frames = render_frames(c.history, c.data, [1], 400, False, True, ((0, 1), (-2.5, 2.5)), loss=True)
    next(frames)
    (pane,) = panes
    (x0, x1), _ = pane.vb.viewRange()
    assert x0 <= 0 and 6000 <= x1 < 6000 * 1.1
    assert [step for step, *_ in pane.run_markers()] == [0]
    assert pane.cursor.value() == c.history.step(1)
    frames.close()
