"""The studio's pace control and the timeline's playback, as a user drives them: the slider
throttles the worker to the rate it shows (on a fake clock), [ and ] and log time, the default
and the preference, the pace in a saved session, Compare at full speed whatever the studio's
pace, playback speed and log-time playback, and the log step axis."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from relu_studio.core.pace import DEFAULT_PACE, FULL_SPEED, Pace
from relu_studio.core.playback import log_positions
from relu_studio.core.settings import PLAYBACK_RATES
from relu_studio.ui.file_actions import app_settings
from relu_studio.ui.timeline import AXIS_RESOLUTION
from studio_helpers import TIMEOUT, configure, run_to_end, wait_state


class FakeClock:
    """Fake seconds for the worker's pace: each reading moves it on by ``tick``."""

    def __init__(self, t: float = 50.0, tick: float = 0.0):
        self.t0 = self.t = t
        self.tick = tick

    def __call__(self) -> float:
        now = self.t
        self.t += self.tick
        return now


def open_window(qtbot):
    from relu_studio.ui.main_window import MainWindow

    win = MainWindow(ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def set_rate(window, rate):
    pc = window.pace_control
    pc.slider.setValue(pc.ladder.index(rate) if rate is not None else len(pc.ladder))


def test_a_new_user_gets_a_watchable_pace_next_to_train(qtbot):
    app_settings().remove("pace")  # no preference yet
    win = open_window(qtbot)
    try:
        assert win.c.pace == DEFAULT_PACE and not DEFAULT_PACE.full_speed and DEFAULT_PACE.log_time
        pc = win.pace_control
        assert pc.value.text() == "500 steps/s" and pc.log.isChecked()
        assert win.action("pace_log").isChecked()
        assert pc.slider.toolTip() and pc.log.toolTip() and pc.value.toolTip()
        # in the toolbar, right after Train, Step and Stop
        acts = win.toolbar.actions()
        names = [a.objectName() for a in acts]
        i = names.index("action-stop")
        assert win.toolbar.widgetForAction(acts[i + 1]) is pc
        assert names[:3] == ["action-train", "action-step", "action-stop"]
    finally:
        win.close()


def test_the_slider_throttles_the_worker_to_the_rate_it_shows(window, qtbot):
    c = window.c
    clock = FakeClock(tick=0.01)  # 10 ms of fake time per reading: fast in real time
    c.bridge.worker.clock = clock
    set_rate(window, 2000)
    window.pace_control.log.setChecked(False)
    assert window.pace_control.value.text() == "2,000 steps/s"
    assert c.pace == Pace(2000)
    configure(c, steps=10_000_000)
    assert c.start() is None
    qtbot.waitUntil(lambda: clock.t - clock.t0 >= 3.0, timeout=TIMEOUT)
    c.pause()
    wait_state(qtbot, c, "paused")
    qtbot.wait(30)
    fake_elapsed = clock.t - clock.t0  # the pace was anchored at the first reading
    steps = c.last_snapshot.step
    assert steps <= 2000 * fake_elapsed + 1  # never ahead
    assert steps >= 0.9 * 2000 * fake_elapsed - 2000 * 0.05  # within 10 % (and a few readings)
    assert c.steps_per_second == pytest.approx(2000, rel=0.1)  # the readout: the rate reached
    c.stop()
    wait_state(qtbot, c, "idle")


def test_full_speed_at_the_slider_end_and_brackets_step_through_the_rungs(window, qtbot):
    pc, c = window.pace_control, window.c
    assert c.pace.full_speed and pc.value.text() == "full speed"  # the tests' preference
    assert not pc.log.isEnabled()  # log time shapes a schedule; full speed has none
    assert window.action("pace_slower").shortcut().toString() == "["
    assert window.action("pace_faster").shortcut().toString() == "]"
    window.action("pace_slower").trigger()
    assert c.pace.rate == pc.ladder[-1] and pc.log.isEnabled()
    window.action("pace_slower").trigger()
    assert c.pace.rate == pc.ladder[-2]
    window.action("pace_faster").trigger()
    window.action("pace_faster").trigger()
    window.action("pace_faster").trigger()  # stays at full speed
    assert c.pace.full_speed
    set_rate(window, 700)
    window.action("pace_log").setChecked(True)
    assert pc.log.isChecked() and c.pace == Pace(700, log_time=True)
    pc.log.setChecked(False)
    assert not window.action("pace_log").isChecked() and c.pace == Pace(700)
    qtbot.waitUntil(lambda: c.bridge.worker.pace == Pace(700), timeout=TIMEOUT)  # queued to the worker


def test_the_pace_is_a_preference_that_the_next_window_opens_with(window, qtbot):
    set_rate(window, 3000)
    window.pace_control.log.setChecked(True)
    window.timeline.speed.setCurrentIndex(PLAYBACK_RATES.index(5))
    window.timeline.log_play.setChecked(True)
    window.close()
    prefs = QSettings(app_settings().fileName(), QSettings.Format.IniFormat)
    assert float(prefs.value("pace/rate")) == 3000
    other = open_window(qtbot)
    try:
        assert other.c.pace == Pace(3000, log_time=True)
        assert other.pace_control.value.text() == "3,000 steps/s" and other.pace_control.log.isChecked()
        assert other.timeline.playback_rate == 5 and other.timeline.playback_log_time
        assert other.timeline._timer.interval() == 200
    finally:
        other.close()
    app_settings().setValue("pace/rate", "garbage")
    bad = open_window(qtbot)
    try:
        assert bad.c.pace == DEFAULT_PACE  # an unusable preference: the default, not an error
    finally:
        bad.close()


def test_a_session_keeps_its_pace_and_older_sessions_keep_the_users(window, qtbot, tmp_path):
    c = window.c
    set_rate(window, 1500)
    window.pace_control.log.setChecked(False)
    view = window.view_state()
    assert view["pace"] == {"rate": 1500.0, "log_time": False} and view["log_steps"] is False
    path = tmp_path / "paced.relustudio"
    assert window.files.save_to(path)
    set_rate(window, None)
    assert c.pace.full_speed
    assert window.files.open_path(path)
    assert c.pace == Pace(1500) and window.pace_control.value.text() == "1,500 steps/s"
    for unusable in ({"rate": 1e12}, {"rate": "fast"}, [1], {"rate": 500, "log_time": "no"}):
        window.apply_view_state({**view, "pace": unusable})
        assert c.pace == Pace(1500)  # refused: the pace stays
    older = {k: v for k, v in view.items() if k not in ("pace", "log_steps")}
    set_rate(window, 300)
    window.apply_view_state(older)
    assert c.pace == Pace(300)


def test_compare_runs_at_full_speed_whatever_the_studios_pace(window, qtbot):
    window.c.bridge.worker.clock = FakeClock(tick=0.0)  # the studio's time stands still
    set_rate(window, 100)
    cc = window.compare_controller
    view = window.compare
    view.widths.editor.setText("3")
    view.seeds.setValue(1)
    view.steps.setValue(2000)
    with qtbot.waitSignal(cc.gridFinished, timeout=TIMEOUT):
        assert view.run_grid() is None
    assert cc.result is not None and not cc.running


# --------------------------------------------------------------------------- playback
def test_playback_speed_sets_the_timer_interval(window):
    t = window.timeline
    assert t._timer.interval() == 40  # 25 snapshots per second, as before
    for rate in PLAYBACK_RATES:
        t.speed.setCurrentIndex(PLAYBACK_RATES.index(rate))
        assert t._timer.interval() == round(1000 / rate)
    assert t.speed.toolTip() and t.log_play.toolTip()


def tick(timeline):
    timeline._timer.timeout.emit()  # one tick of playback, without waiting for it


def test_log_time_playback_holds_the_early_snapshots(window, qtbot):
    c, t = window.c, window.timeline
    configure(c, steps=30_000, save_every=1000)
    run_to_end(qtbot, c)
    n = len(c.history)
    t.log_play.setChecked(True)
    t.toggle_play()  # at the end: starts again from the first snapshot
    assert c.shown_index == 0
    shown = []
    while t.play.isChecked() and len(shown) < 3 * n:
        tick(t)
        shown.append(c.shown_index)
    assert not t.play.isChecked() and shown[-1] == n - 1
    assert len(shown) <= n + 1  # as long as a linear playback
    assert shown.count(1) >= 5  # step 1 held for several ticks: early is slow
    assert np.all(np.diff(shown) >= 0)
    # linear playback: one snapshot per tick
    t.log_play.setChecked(False)
    t.toggle_play()
    linear = []
    while t.play.isChecked() and len(linear) < 3 * n:
        tick(t)
        linear.append(c.shown_index)
    assert linear[:-1] == list(range(1, n))


def test_the_log_step_axis_gives_the_early_steps_the_room(window, qtbot, monkeypatch):
    c, t = window.c, window.timeline
    configure(c, steps=30_000, save_every=1000)
    run_to_end(qtbot, c)
    told = []
    monkeypatch.setattr(window.loss, "set_log_steps", told.append, raising=False)
    action = window.action("log_steps")
    assert action.isCheckable() and action.toolTip() and action in window.menuBar().actions()[3].menu().actions()
    action.setChecked(True)
    assert t.log_steps and told == [True]
    steps = c.history.curves()[0]
    pos = log_positions(steps)
    i = int(np.searchsorted(steps, 5000))  # step 5000 of 30 000: far past a sixth of the slider
    assert pos[i] > 0.45
    t.slider.setValue(round(pos[i] * AXIS_RESOLUTION))  # the user drags there
    assert c.shown_index == i
    window.action("next").trigger()
    window.flush_views()
    assert c.shown_index == i + 1 and t.slider.value() == round(pos[i + 1] * AXIS_RESOLUTION)
    assert window.view_state()["log_steps"] is True
    action.setChecked(False)
    assert told == [True, False] and t.slider.maximum() == len(steps) - 1 and t.slider.value() == i + 1
