"""Runs that start where the student expects, and the loss pane that shows them: the question
after a mode switch (its default starts from the initial network, Ctrl+Z brings the run before
back), the remembered choice, and the pane's frame, dot, run markers, edit marks, legend and
reference labels, on the linear and the log step axis."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from relu_studio.core.loss_layout import log_step_position
from relu_studio.ui import run_start
from relu_studio.ui.run_start import StartChoiceDialog
from studio_helpers import TIMEOUT, configure, run_to_end, wait_state


@pytest.fixture(autouse=True)
def default_preference():
    """Every test starts (and leaves the settings file) with the default: ask."""
    run_start.app_settings().remove(run_start.PREFERENCE_KEY)
    yield
    run_start.app_settings().remove(run_start.PREFERENCE_KEY)


def answer_question(qtbot, seen: list, button: str | None = None, remember: bool = False):
    """When the question shows, note its text and answer it: Enter (its default) or a button."""
    def act():
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, StartChoiceDialog):
            QTimer.singleShot(20, act)
            return
        seen.append(dlg.question_label.text())
        dlg.remember.setChecked(remember)
        if button is None:
            QTest.keyClick(dlg, Qt.Key.Key_Return)
        else:
            getattr(dlg, button).click()
    QTimer.singleShot(0, act)


def train_after_question(qtbot, window, seen, **answer):
    answer_question(qtbot, seen, **answer)
    with qtbot.waitSignal(window.c.runRecorded, timeout=TIMEOUT):
        window.action("train").trigger()
    wait_state(qtbot, window.c, "idle")


# ---------------------------------------------------------------- where the run starts
def test_a_mode_switch_and_train_asks_and_its_default_starts_from_the_initial_network(window, qtbot):
    c = window.c
    configure(c, steps=3000, save_every=1000)
    run_to_end(qtbot, c)
    all_layers = c.state.history
    window.panel.mode.setCurrentIndex(1)  # output layer only
    seen = []
    train_after_question(qtbot, window, seen)
    assert len(seen) == 1 and "last trained with all layers at lr 0.02; this run trains the output layer only " \
        "at lr 0.2" in seen[0]
    hist = c.state.history
    assert hist.network(0).equals(c.initial) and hist.steps.tolist() == [0, 1, 1000, 2000, 3000]
    assert set(hist.tags[1:]) == {"output"}
    window.flush_views()
    assert "previous run: all layers · lr 0.02" in window.loss.legend.names()
    prev_x, prev_y = window.loss.previous_full.getData()
    np.testing.assert_array_equal(prev_x, all_layers.steps)
    window.action("undo").trigger()  # Ctrl+Z: the run before, as it was
    assert c.state.history is all_layers
    window.flush_views()
    assert not any(n.startswith("previous run") for n in window.loss.legend.names())
    assert len(window.loss.previous_full.getData()[0] or []) == 0


def test_continue_and_remember_my_choice(window, qtbot, monkeypatch):
    c = window.c
    configure(c, steps=2000, save_every=1000)
    run_to_end(qtbot, c)
    n = len(c.history)
    window.panel.mode.setCurrentIndex(1)
    seen = []
    train_after_question(qtbot, window, seen, button="continue_button", remember=True)
    assert len(c.history) == n + 3 and c.history.step(len(c.history) - 1) == 4000  # appended
    assert c.start_preference == "continue" and run_start.load_preference() == "continue"
    assert window.action("start_continue").isChecked() and not window.action("start_ask").isChecked()
    # Remembered: the next change trains without asking.
    monkeypatch.setattr(StartChoiceDialog, "exec", lambda self: pytest.fail("asked again"))
    window.panel.mode.setCurrentIndex(0)
    run_to_end(qtbot, c)
    assert c.history.step(len(c.history) - 1) == 6000
    # The Training menu changes it back.
    window.action("start_ask").trigger()
    assert c.start_preference == "ask" and run_start.load_preference() == "ask"
    window.action("start_initial").trigger()
    assert c.start_preference == "initial" and not window.action("start_ask").isChecked()


# ---------------------------------------------------------------- the loss pane
def _x_range(pane):
    return pane.getPlotItem().vb.viewRange()[0]


def test_the_frame_runs_to_the_planned_steps_and_a_single_point_is_a_dot(window, qtbot):
    c, pane = window.c, window.loss
    window.flush_views()
    x0, x1 = _x_range(pane)
    span = c.settings.steps
    assert -0.05 * span <= x0 <= 0 and span <= x1 <= 1.05 * span  # not -200 000 .. 200 000
    for item in (pane.full, pane.test):
        x, y = item.getData()
        assert len(x) == 1 and item.opts["symbol"] == "o"
        # The dot is whole inside the plot (the range leaves it room).
        p = pane.getPlotItem().vb.mapViewToScene(QPointF(x[0], y[0]))
        rect = pane.getPlotItem().vb.sceneBoundingRect()
        assert rect.top() + 3.5 <= p.y() <= rect.bottom() - 3.5
    configure(c, steps=50_000_000, save_every=1000)
    c.start()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step > 2000, timeout=TIMEOUT)
    window.flush_views()
    x0, x1 = _x_range(pane)
    assert x0 <= 0 and 50_000_000 <= x1 <= 1.05 * 50_000_000  # the curve grows into a fixed frame
    assert pane.full.opts["symbol"] is None
    c.stop()
    wait_state(qtbot, c, "idle")
    window.flush_views()
    reached = c.history.step(len(c.history) - 1)
    assert reached <= _x_range(pane)[1] <= 1.05 * reached
    # A zoom of the user's holds while scrubbing, until a new frame (here: Reset).
    vb = pane.getPlotItem().vb
    vb.setXRange(0, 1000, padding=0)
    vb.sigRangeChangedManually.emit([True, True])  # what a wheel or a drag in the plot sends
    c.show_snapshot(1)
    window.flush_views()
    assert _x_range(pane)[1] == pytest.approx(1000)
    c.reset_to_initial()
    window.flush_views()
    assert _x_range(pane)[1] >= c.settings.steps


def test_each_run_start_is_marked_with_its_mode_and_each_edit_with_a_mark(window, qtbot):
    c, pane = window.c, window.loss
    c.set_start_preference("continue")
    configure(c, steps=3000, save_every=1000)
    run_to_end(qtbot, c)
    window.panel.mode.setCurrentIndex(1)
    run_to_end(qtbot, c)
    for unit, elbow in ((3, 0.5), (7, 0.25), (11, 0.75)):
        assert c.set_unit_value(unit, "elbow", elbow) is None
    window.flush_views()
    markers = pane.run_markers()
    assert [(s, label) for s, label, _line, _text in markers] == [
        (0, "all layers · lr 0.02"), (3000, "output layer · lr 0.2")]
    vb = pane.getPlotItem().vb
    for step, label, line, text in markers:
        assert line.isVisible() and line.value() == step
        line_x = vb.mapViewToScene(QPointF(step, 0)).x()
        assert text.isVisible() and text.text() == label  # room enough: not shortened
        assert abs(text.sceneBoundingRect().left() - line_x - 3) < 1  # the label starts at its marker
        assert text.sceneBoundingRect().bottom() <= vb.sceneBoundingRect().top() + 1  # above the plot
    steps, values = pane.mark_points("edit")
    h = c.history
    assert steps.tolist() == [6000] * 3
    np.testing.assert_allclose(values, h.base.full_train_error[-3:])
    assert "hand edit" in pane.legend.names()


def test_legend_and_reference_labels_stay_off_the_curves_after_a_default_run(window, qtbot):
    c, pane = window.c, window.loss
    run_to_end(qtbot, c)  # the notebook's run: 150 000 steps, all layers
    window.flush_views()
    points = pane.points_in_scene()
    assert len(points) > 400
    legend = pane.legend.sceneBoundingRect()
    assert legend.width() > 50
    inside = [(x, y) for x, y in points if legend.contains(QPointF(x, y))]
    assert not inside, f"{len(inside)} curve points under the legend"
    scene_view = pane.mapToScene(pane.viewport().rect()).boundingRect()
    assert scene_view.contains(legend)  # nothing of it cut off
    vb = pane.getPlotItem().vb.sceneBoundingRect()
    rects = []
    for name, line in (("floor", pane.floor), ("ridge", pane.ridge)):
        label = pane.ref_labels[name]
        assert label.isVisible() and line.isVisible()
        r = label.sceneBoundingRect()
        assert r.left() >= vb.right() and scene_view.contains(r)  # at the axis edge, outside the plot
        line_y = pane.getPlotItem().vb.mapViewToScene(QPointF(0, line.value())).y()
        assert abs(r.center().y() - line_y) <= r.height()  # beside its line
        assert not any(r.contains(QPointF(x, y)) for x, y in points)
        rects.append(r)
    assert not rects[0].intersects(rects[1])


def test_log_steps_put_step_0_at_the_axis_start(window, qtbot):
    c, pane = window.c, window.loss
    configure(c, steps=20_000, save_every=1000)
    run_to_end(qtbot, c)
    window.flush_views()
    c.show_snapshot(5)
    window.flush_views()
    steps = c.history.curves()[0]
    window.action("log_steps").trigger()  # View > Log step axis (L): the timeline and this pane
    assert pane.log_steps and window.timeline.log_steps
    np.testing.assert_allclose(pane.full.getData()[0], log_step_position(steps, 1000))  # the knee
    x0, x1 = _x_range(pane)
    end = float(log_step_position(20_000, 1000))
    assert -0.05 * end <= x0 <= 0 and end <= x1 <= 1.05 * end  # step 0 at the axis start
    assert pane.cursor.value() == pytest.approx(float(log_step_position(c.shown_step, 1000)))
    assert pane.run_markers()[0][2].value() == 0.0
    axis = pane.step_axis
    ticks = axis.tickValues(x0, x1, 500)
    labels = axis.tickStrings(ticks[0][1], 1.0, 1.0)
    assert labels == ["0", "1k", "2k", "5k", "10k", "20k"]
    assert pane.curves()["test"][0] is not None and np.array_equal(pane.curves()["test"][0], steps)
    pane.set_log_steps(False)  # the method itself, both ways
    assert not pane.log_steps
    np.testing.assert_array_equal(pane.full.getData()[0], steps)
    assert pane.cursor.value() == c.shown_step and _x_range(pane)[1] >= 20_000
    pane.set_log_steps(True)
    np.testing.assert_allclose(pane.full.getData()[0], log_step_position(steps, 1000))
