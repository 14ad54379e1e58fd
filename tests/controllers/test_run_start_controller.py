"""Where Train starts after the mode changed, through the controller (no widget): from the
initial network by default, exactly as Reset + Train, one undo step back to the previous run;
"continue" appends; a remembered preference skips the question; a cancelled question changes
nothing."""
from __future__ import annotations

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core.settings import StudioSettings
from relu_studio.ui.studio_controller import StudioController

TIMEOUT = 60_000
STEPS = 3000
ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2")


@pytest.fixture
def c(qapp):
    ctl = StudioController(StudioSettings(steps=STEPS, save_every=1000))
    yield ctl
    assert ctl.shutdown()


def run(qtbot, c, **kw):
    with qtbot.waitSignal(c.runRecorded, timeout=TIMEOUT):
        assert c.start(**kw) is None
    qtbot.waitUntil(lambda: c.run_state == "idle", timeout=TIMEOUT)


def never_asked(question):
    raise AssertionError(f"asked although the preference says what to do: {question}")


def test_a_mode_switch_then_train_starts_from_the_initial_network_like_reset_and_train(c, qtbot):
    run(qtbot, c)
    all_layers = c.state.history
    assert c.set_setting("mode", "output") is None
    assert c.start_question().changes[0] == "mode: all layers → output layer"
    run(qtbot, c)  # default preference "ask", nobody to ask: the default answer, the initial network
    hist = c.state.history
    assert hist.network(0).equals(c.initial) and hist.steps[0] == 0
    assert hist.tags == ("init",) + ("output",) * 4
    fresh = rs.train(c.initial, c.data, mode="output", lr=0.2, steps=STEPS, save_every=1000,
                     seed=c.settings.init_seed)
    np.testing.assert_array_equal(hist.steps[1:], fresh.steps)
    for name in ARRAYS[1:]:
        np.testing.assert_array_equal(getattr(hist, name)[1:], getattr(fresh, name))
    assert c.previous is all_layers
    # One undo step: the reset and the run together.
    assert c.undo_stack.count() == 2
    assert c.undo_stack.undoText() == "Train 3,000 steps (the output layer only) from the initial network"
    c.undo_stack.undo()
    assert c.state.history is all_layers and c.previous is None and c.settings.mode == "output"
    c.undo_stack.redo()
    assert c.state.history is hist
    # Reset + Train gives the same run, array for array.
    c.undo_stack.undo()
    c.reset_to_initial()
    run(qtbot, c)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(c.state.history, name), getattr(hist, name))


def test_continue_appends_to_the_trained_network(c, qtbot):
    run(qtbot, c)
    before = c.state.history
    asked = []
    c.ask_start = lambda q: asked.append(q) or "continue"
    c.set_setting("mode", "output")
    run(qtbot, c)
    assert len(asked) == 1 and asked[0].can_continue
    hist = c.state.history
    assert len(hist) == len(before) + 4
    assert hist.steps[len(before):].tolist() == [STEPS + s for s in (1, 1000, 2000, 3000)]
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(hist, name)[:len(before)], getattr(before, name))
    np.testing.assert_array_equal(hist.w1[-1], before.w1[-1])  # output layer only: w1 stands still
    assert c.previous is None and c.undo_stack.undoText() == "Train 3,000 steps (the output layer only)"


def test_a_remembered_choice_skips_the_question(c, qtbot):
    run(qtbot, c)
    c.ask_start = never_asked
    c.set_start_preference("initial")
    c.set_setting("mode", "output")
    run(qtbot, c)
    assert len(c.state.history) == 5 and c.state.history.network(0).equals(c.initial)
    c.set_start_preference("continue")
    c.set_setting("mode", "all")
    run(qtbot, c)
    assert len(c.state.history) == 9 and c.state.history.tags[-1] == "all"
    with pytest.raises(ValueError, match="run start"):
        c.set_start_preference("maybe")


def test_a_cancelled_question_changes_nothing(c, qtbot):
    run(qtbot, c)
    hist, count = c.state.history, c.undo_stack.count()
    c.ask_start = lambda q: None
    c.set_setting("lr_all", 0.05)
    assert c.start() == "Training was not started."
    assert c.state.history is hist and c.undo_stack.count() == count and c.run_state == "idle"
    assert c.planned_last_step is None
