"""The studio's controller with mock views: which signals each change sends (field by field, once),
what is an undo step, and that edits apply to the shown snapshot."""
from __future__ import annotations

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.ui.studio_controller import StudioController

SIGNALS = ("settingChanged", "dataChanged", "historyChanged", "shownChanged", "previewChanged",
           "runStateChanged", "message", "runRecorded")


@pytest.fixture
def c(qapp):
    ctl = StudioController()
    yield ctl
    assert ctl.shutdown()


def test_an_lr_change_is_one_field_and_no_undo_step(c, recorder):
    view = recorder(c, SIGNALS)
    assert c.set_learning_rate(0.05) is None
    assert view.events == [("settingChanged", "lr_all")]
    assert c.settings.lr_all == 0.05 and c.undo_stack.count() == 0
    view.clear()
    assert c.set_learning_rate(0.05) is None and view.events == []  # the same value: nothing
    err = c.set_setting("lr_all", -1.0)
    assert "learning rate" in err and view.events == [] and c.settings.lr_all == 0.05


def test_regenerate_says_what_changed_once_and_undo_says_it_back(c, recorder):
    view = recorder(c, SIGNALS)
    assert c.regenerate(n=50, seed=3) is None
    assert view.count("dataChanged") == 1 and view.count("historyChanged") == 1
    assert view.count("shownChanged") == 1
    assert sorted(e[1] for e in view.events if e[0] == "settingChanged") == ["data_seed", "n"]
    assert c.data.n == 50 and c.undo_stack.undoText() == "Regenerate data"
    view.clear()
    c.undo_stack.undo()
    assert c.data.n == 200 and view.count("dataChanged") == 1
    assert sorted(e[1] for e in view.events if e[0] == "settingChanged") == ["data_seed", "n"]
    assert c.regenerate(n=0) is not None and c.data.n == 200  # refused: nothing changes


def test_a_drag_previews_every_event_and_commits_one_undo_step(c, recorder):
    view = recorder(c, SIGNALS)
    base = c.network
    for e in (0.3, 0.35, 0.4):
        assert c.preview_edit(base.with_elbow(4, e)) is None
    assert view.count("previewChanged") == 3 and view.count("historyChanged") == 0
    assert c.shown_network.equals(base.with_elbow(4, 0.4)) and c.network.equals(base)
    view.clear()
    c.commit_edit("Move elbow 4")
    assert view.count("historyChanged") == 1 and view.count("shownChanged") == 1
    assert view.count("previewChanged") == 1 and view.count("dataChanged") == 0
    assert c.network.equals(base.with_elbow(4, 0.4)) and c.undo_stack.count() == 1
    assert c.history.base.tags[-1] == "edit"


def test_edits_apply_to_the_shown_snapshot(c, qtbot):
    with qtbot.waitSignal(c.runRecorded, timeout=60_000):
        c.set_setting("steps", 3000)
        c.start()
    qtbot.waitUntil(lambda: c.run_state == "idle")
    assert len(c.history) == 5
    c.show_snapshot(2)
    assert c.shown_index == 2 and not c.following
    shown = c.history.network(2)
    c.set_unit_value(1, "out", 0.75)
    assert c.network.equals(shown.with_unit(1, w2=np.float32(0.75)))
    assert c.following and c.shown_index == len(c.history) - 1  # the edit is the newest entry


def test_a_run_streams_frames_then_becomes_one_undo_step(c, qtbot, recorder):
    view = recorder(c, SIGNALS)
    c.set_setting("steps", 20_000)
    with qtbot.waitSignal(c.runRecorded, timeout=60_000):
        assert c.start() is None
    qtbot.waitUntil(lambda: c.run_state == "idle")
    states = [e[1] for e in view.events if e[0] == "runStateChanged"]
    assert states[0] == "running" and states[-1] == "idle"
    assert view.count("runRecorded") == 1 and c.undo_stack.undoText() == "Train 20,000 steps (all layers)"
    ref = rs.train(c.initial, c.data, mode="all", steps=20_000, seed=0)
    assert c.network.equals(ref.final)


def test_a_mode_change_mid_run_reaches_the_worker_and_tags_snapshots(c, qtbot):
    c.set_setting("steps", 50_000_000)
    c.start()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step > 3000, timeout=60_000)
    assert c.set_setting("mode", "output") is None
    qtbot.waitUntil(lambda: c.last_snapshot.run.settings.mode == "output", timeout=60_000)
    qtbot.waitUntil(lambda: len(c.history) > 8, timeout=60_000)
    c.stop()
    qtbot.waitUntil(lambda: c.run_state == "idle", timeout=10_000)
    tags = c.history.base.tags
    assert tags[0] == "init" and "all" in tags and "output" in tags
    assert tags.index("output") > tags.index("all")  # earlier snapshots keep the mode they had
    lrs = c.history.base.lrs
    assert set(lrs[np.array(tags) == "output"].tolist()) == {0.2}
