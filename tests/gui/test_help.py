"""Help inside the app: the shortcuts dialog lists every shortcut of the action table, the quick
start names the table's keys, and the lesson tour (a dock beside the canvas) applies each bundled
lesson's settings through the studio controller, runs its actions, points at views and refuses a
malformed lesson with a message naming the file and the step."""
import json

import numpy as np
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget
from studio_helpers import TIMEOUT

from relu_studio.core.lessons import NETWORK_KEYS, find_lessons
from relu_studio.ui.actions import ACTIONS, MENUS

NATIVE = QKeySequence.SequenceFormat.NativeText


def keys_of(spec):
    items = spec.shortcut if isinstance(spec.shortcut, tuple) else (spec.shortcut,)
    return " or ".join(QKeySequence(k).toString(NATIVE) for k in items if k is not None)


def test_the_help_menu_has_quick_start_lessons_and_shortcuts(window):
    assert MENUS["&Help"][:3] == ("quick_start", "lessons", "shortcuts")
    titles = [a.text() for m in window.menuBar().actions() if m.text() == "&Help" for a in m.menu().actions()]
    assert titles[:3] == ["Quick start", "Notebook lessons…", "Keyboard shortcuts"]
    for name in ("quick_start", "lessons", "shortcuts"):
        assert window.action(name).toolTip() and window.action(name).shortcut().toString()


def test_the_shortcuts_dialog_lists_every_shortcut_of_the_action_table(window):
    window.action("shortcuts").trigger()
    dialog = window.help._dialogs["shortcuts"]
    assert dialog.isVisible() and not dialog.isModal()
    shown = dialog.shown_rows()
    want = [(keys_of(s), s.text.replace("&", "").rstrip("…")) for s in ACTIONS if keys_of(s)]
    assert len(want) >= 20  # a sanity floor: the list itself comes from the table
    assert shown[:len(want)] == want  # every action with a shortcut, in the table's order
    assert ("Ctrl+Z", "Undo") in shown  # the undo stack's actions too
    assert len(shown) == len(want) + 2
    # Not hard-coded: a shortcut's key text is the action's own.
    assert {t: k for k, t in shown}["Train"] == window.action("train").shortcut().toString(NATIVE)


def test_the_quick_start_names_the_action_tables_keys(window):
    window.action("quick_start").trigger()
    text = window.help._dialogs["quick_start"].text.toPlainText()
    assert "Quick start" in text
    for name in ("train", "stop", "reset", "compare_tab"):
        assert window.action(name).shortcut().toString(NATIVE) in text


def open_tour(window):
    window.action("lessons").trigger()
    dock, tour, panel = window.help.dock, window.help.tour, window.help.panel
    assert isinstance(dock, QDockWidget) and dock.isVisible() and not dock.isFloating()
    return dock, tour, panel


def test_the_tour_is_a_dock_beside_the_canvas_that_covers_nothing(window, qtbot):
    dock, tour, panel = open_tour(window)
    qtbot.waitUntil(lambda: dock.width() > 0)
    canvas = window.canvas
    c_rect = canvas.geometry().translated(canvas.mapTo(window, canvas.rect().topLeft()) - canvas.pos())
    d_rect = dock.geometry()
    assert not c_rect.intersects(d_rect)
    assert window.canvas.isVisible() and window.units_table.isVisible()
    assert [panel.chooser.itemText(i) for i in range(panel.chooser.count())] == [les.title for les in find_lessons()[0]]
    assert tour.position == -1 and panel.next_button.text() == "Start ▶" and not panel.back_button.isEnabled()


def test_each_bundled_lesson_applies_its_settings_to_the_studio(window, qtbot):
    _dock, tour, panel = open_tour(window)
    c = window.c
    for li, lesson in enumerate(tour.lessons):
        tour.choose(li)
        assert tour.lesson is lesson and tour.position == -1
        for i, step in enumerate(lesson.steps):
            assert tour.next(actions=False) == []
            assert tour.position == i and panel.title.text().find(step.title.replace("&", "&amp;")) >= 0
            for k, v in step.settings.items():
                assert getattr(c.settings, k) == v, (lesson.title, step.title, k)
            if any(k in step.settings for k in NETWORK_KEYS):
                assert c.initial.width == c.settings.width
            if "n" in step.settings:
                assert c.data.n == c.settings.n
            if step.grid:
                for k, v in step.grid.items():
                    assert getattr(window.compare_controller.settings, k) == v
            if step.question:
                assert panel.question.isVisible() and step.question[:20] in panel.question.text()
            if step.look_at:
                outline = window.help.outline
                assert outline is not None and outline.isVisible()
                target, tab = window.help.target(step.look_at)
                assert outline.target() is target and window.tabs.currentIndex() == tab
        assert not panel.next_button.isEnabled()
        assert not c.busy and not window.compare_controller.running


def test_a_step_runs_its_actions_and_back_only_shows(window, qtbot):
    _dock, tour, _panel = open_tour(window)
    c = window.c

    def trains(s):  # a step that resets and trains with the steps set before it
        return s.actions == ("reset", "train") and "steps" not in s.settings
    lesson = next(les for les in tour.lessons if any(trains(s) for s in les.steps))
    tour.choose(tour.lessons.index(lesson))
    k = next(i for i, s in enumerate(lesson.steps) if trains(s))
    while tour.position < k - 1:
        tour.next(actions=False)
    c.set_setting("steps", 2000)  # keep the test short
    step = lesson.steps[k]
    with qtbot.waitSignal(c.runRecorded, timeout=TIMEOUT):
        assert tour.next() == []
    qtbot.waitUntil(lambda: c.run_state == "idle", timeout=TIMEOUT)
    assert c.history.step(len(c.history) - 1) == 2000 and c.settings.mode == step.settings.get("mode", c.settings.mode)
    n = len(c.history)
    tour.back()
    assert tour.position == k - 1 and len(c.history) == n and not c.busy  # Back runs nothing


def test_the_grid_step_runs_compare_and_points_at_the_kymographs(window, qtbot):
    dock, tour, _panel = open_tour(window)
    lesson = next(les for les in tour.lessons if any("run_grid" in s.actions for s in les.steps))
    tour.choose(tour.lessons.index(lesson))
    k = next(i for i, s in enumerate(lesson.steps) if "run_grid" in s.actions)
    while tour.position < k:
        tour.next(actions=False)
    cc = window.compare_controller
    cc.set_settings(cc.settings.changed(steps=2000, save_every=500))
    step = lesson.steps[k]
    with qtbot.waitSignal(cc.gridFinished, timeout=TIMEOUT):
        assert tour._call("run_grid", {}) is None
    assert set(cc.result.widths) == set(step.grid["widths"]) and cc.result.complete
    tour.do_step(actions=False)
    assert window.tabs.currentIndex() == 1
    assert window.help.outline.target() is window.help.target(step.look_at)[0]
    assert dock.isVisible()  # the tour stays beside Compare too


def test_a_malformed_lesson_is_refused_naming_file_and_step(window, tmp_path):
    _dock, tour, panel = open_tour(window)
    bad = tmp_path / "teacher.json"
    bad.write_text(json.dumps({"format": "relu-studio-lesson", "version": 1, "title": "Mine", "steps": [
        {"title": "One", "text": "fine"},
        {"title": "Two", "text": "bad width", "settings": {"width": -5}}]}))
    n = len(tour.lessons)
    before = window.c.settings
    err = panel.open_file(str(bad))
    assert err.startswith("teacher.json: step 2 (Two)") and "width" in err
    assert panel.message.isVisible() and "teacher.json: step 2 (Two)" in panel.message.text()
    assert len(tour.lessons) == n and window.c.settings == before
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"format": "relu-studio-lesson", "version": 1, "title": "Mine", "steps": [
        {"title": "One", "text": "Wider", "settings": {"width": 7}, "look_at": "units"}]}))
    assert panel.open_file(str(good)) is None
    assert panel.chooser.currentText() == "Mine" and tour.position == -1
    tour.next()
    assert window.c.network.width == 7 and np.all(np.isfinite(window.c.network.w1))
    assert window.help.outline.target() is window.units_table
