"""The parameter panel never discards what the user typed: Enter applies a data or network value
(one undo step), anything else leaves it in its field marked pending, Escape puts the value in
use back; ridge mode disables the fields it does not use and says why."""
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from studio_helpers import TIMEOUT, configure, wait_state

import relu_studio as rs


def line_of(box):
    """The line edit a user types into: a spin box's or combo box's, a NumberField's editor."""
    box = getattr(box, "editor", box)
    return box.lineEdit() if hasattr(box, "lineEdit") else box


def type_into(qtbot, box, text):
    """Focus a field, select its text and type ``text`` as a user does (no Enter)."""
    line = line_of(box)
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, text)


def press(box, key):
    QTest.keyClick(line_of(box), key)


def test_a_typed_width_applies_with_enter_as_one_undo_step(window, qtbot):
    p, c = window.panel, window.c
    steps_before = c.undo_stack.count()
    type_into(qtbot, p.width, "37")
    assert c.network.width == 20 and p.pending["width"].pending
    press(p.width, Qt.Key.Key_Return)
    assert c.network.width == 37 and c.settings.width == 37
    assert c.network.equals(rs.init_network(37, 0))
    assert c.undo_stack.count() == steps_before + 1
    assert c.undo_stack.undoText().startswith("Re-initialise")
    assert not p.pending["width"].pending and not p.network_pending.isVisibleTo(p)
    c.undo_stack.undo()  # one step takes it all back
    assert c.network.width == 20 and p.width.value() == 20


def test_enter_in_a_data_field_regenerates_once(window, qtbot):
    p, c = window.panel, window.c
    steps_before = c.undo_stack.count()
    type_into(qtbot, p.n, "120")
    type_into(qtbot, p.noise, "0.25")
    press(p.noise, Qt.Key.Key_Enter)
    assert c.data.n == 120 and c.data.noise == 0.25
    assert np.array_equal(c.data.x, rs.make_dataset(n=120, noise=0.25, seed=1).x)
    assert c.undo_stack.count() == steps_before + 1
    assert not p.data_pending.isVisibleTo(p)


def test_enter_in_an_unchanged_field_keeps_the_trained_history(window, qtbot):
    p, c = window.panel, window.c
    c.fit_ridge_now()
    hist, count = c.history, c.undo_stack.count()
    p.width.setFocus()
    press(p.width, Qt.Key.Key_Return)
    press(p.n, Qt.Key.Key_Return)
    assert c.undo_stack.count() == count and len(c.history) == len(hist) == 2


@pytest.mark.parametrize("new_mode", [1, 2])  # output layer only, ridge
def test_a_typed_width_survives_a_mode_change_marked_pending(window, qtbot, new_mode):
    p, c = window.panel, window.c
    type_into(qtbot, p.width, "50")
    type_into(qtbot, p.init_seed, "9")
    p.mode.setFocus()  # focus leaves the fields: they keep what was typed
    qtbot.mouseClick(p.mode, Qt.MouseButton.LeftButton)
    p.mode.setCurrentIndex(new_mode)
    assert c.settings.mode == p.mode.currentData()
    assert p.width.text() == "50" and p.init_seed.text() == "9"
    assert c.network.width == 20  # not applied ...
    assert p.pending["width"].pending and p.pending["init_seed"].pending  # ... and marked so
    assert p.network_pending.isVisibleTo(p)
    assert "Enter or Re-initialise" in p.network_pending.text()
    assert "Pending" in p.width.toolTip() and "Escape" in p.width.toolTip()
    assert "background" in line_of(p.width).styleSheet()
    # Settings signals for other fields (a learning rate, an undo of something else) leave it be.
    configure(c, steps=2000)
    c.fit_ridge_now()
    c.undo_stack.undo()
    assert p.width.text() == "50" and p.pending["width"].pending
    p.reinit.click()  # the button applies what is shown
    assert c.network.width == 50 and c.settings.init_seed == 9
    assert not p.pending["width"].pending and not p.network_pending.isVisibleTo(p)


def test_a_mode_changed_during_a_run_stays_when_the_run_is_recorded(window, qtbot):
    p, c = window.panel, window.c
    configure(c, steps=50_000_000, save_every=1000)
    type_into(qtbot, p.width, "44")
    c.start()
    wait_state(qtbot, c, "running")
    p.mode.setCurrentIndex(1)  # output layer only, mid-run
    c.stop()
    qtbot.waitUntil(lambda: c.run_state == "idle" and c.undo_stack.undoText().startswith("Train"),
                    timeout=TIMEOUT)
    assert c.settings.mode == "output" and p.mode.currentData() == "output"
    assert p.width.text() == "44" and p.pending["width"].pending


def test_escape_reverts_a_pending_field_and_only_it(window, qtbot):
    p, c = window.panel, window.c
    type_into(qtbot, p.width, "64")
    type_into(qtbot, p.noise, "0.3")
    type_into(qtbot, p.target, "sin(3*x)")
    press(p.width, Qt.Key.Key_Escape)
    assert p.width.text() == "20" and not p.pending["width"].pending
    assert not p.network_pending.isVisibleTo(p)
    assert p.noise.text() == "0.3" and p.pending["noise"].pending  # the others keep theirs
    press(p.target, Qt.Key.Key_Escape)
    assert p.target.text() == "piecewise_linear" and not p.pending["target"].pending
    assert p.data_pending.isVisibleTo(p)  # σ is still pending
    press(p.noise, Qt.Key.Key_Escape)
    assert p.noise.text() == "0.1" and not p.data_pending.isVisibleTo(p)
    assert c.network.width == 20 and c.data.noise == 0.1


def test_an_undo_that_changes_a_field_shows_the_value_in_use(window, qtbot):
    p, c = window.panel, window.c
    type_into(qtbot, p.width, "12")
    press(p.width, Qt.Key.Key_Return)
    c.undo_stack.undo()
    assert p.width.text() == "20" and not p.pending["width"].pending
    c.undo_stack.redo()
    assert p.width.text() == "12" and c.network.width == 12


def test_a_refused_value_stays_typed_with_its_reason(window, qtbot):
    p, c = window.panel, window.c
    type_into(qtbot, p.target, "2*x +")
    press(p.target, Qt.Key.Key_Return)
    assert c.settings.target == "piecewise_linear"
    assert p.target.text() == "2*x +" and p.target.reason.isVisibleTo(p)
    assert p.pending["target"].pending


def test_ridge_mode_disables_what_it_does_not_use_and_says_why(window, qtbot):
    p, c = window.panel, window.c
    p.mode.setCurrentIndex(2)  # ridge
    assert c.settings.mode == "ridge"
    for w in (p.steps, p.batch, p.save_every):
        assert not w.isEnabled()
        assert "not used in ridge mode" in w.toolTip()
    assert not p.lr.editor.isEnabled()
    assert p.lr.text() == "—" and "0.02" not in p.lr.text()
    assert "not used in ridge mode" in p.lr.editor.toolTip()
    assert p.lam.editor.isEnabled()
    p.mode.setCurrentIndex(1)  # output layer only: the fields come back with their values
    for w in (p.steps, p.batch, p.save_every):
        assert w.isEnabled() and "ridge" not in w.toolTip()
    assert p.lr.editor.isEnabled() and p.lr.text() == "0.2"
    assert "ridge" not in p.lr.editor.toolTip()
    p.mode.setCurrentIndex(0)
    assert p.lr.text() == "0.02" and c.settings.current_lr == 0.02
