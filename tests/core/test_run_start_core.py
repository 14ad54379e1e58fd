"""Where a new run starts (core.run_start): when Train needs the choice, what each preference
does, and that "from the initial network" is exactly Reset: the same history, and a run from it
equal, array for array, to a fresh run of the initial network in the new mode."""
from __future__ import annotations

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core import run_start, studio
from relu_studio.core.settings import RUN_START_CHOICES, SettingsError, StudioSettings
from relu_studio.core.studio import StudioState

STEPS = 600


@pytest.fixture
def start():
    return StudioState.start(StudioSettings(width=6, steps=STEPS, save_every=200))


def trained(state: StudioState, run_number: int = 0) -> StudioState:
    """``state`` after one run of its settings (as the studio records it)."""
    st = studio.run_settings(state, run_number)
    run = rs.train(state.network, state.data, mode=st.mode, lr=st.lr, steps=st.steps,
                   save_every=st.save_every, seed=st.seed)
    return studio.record_run(state, run, run.final, st.steps).state


def test_nothing_to_choose_before_training_at_the_start_or_without_a_change(start):
    assert run_start.last_trained(start.history) is None
    assert run_start.start_question(start.with_settings(start.settings.changed(mode="output"))) is None
    after = trained(start)
    assert run_start.last_trained(after.history) == run_start.TrainedWith("all", 0.02)
    assert run_start.start_question(after) is None  # same mode and lr: Train continues
    reset = studio.reset_to_initial(after).state
    assert run_start.start_question(reset.with_settings(reset.settings.changed(mode="output"))) is None
    ridge = after.with_settings(after.settings.changed(mode="ridge"))
    assert run_start.start_question(ridge) is None  # ridge is no run
    for pref in RUN_START_CHOICES:
        assert run_start.start_plan(None, pref) == "continue"


def test_a_new_mode_lr_or_width_asks_and_each_preference_answers(start):
    after = trained(start)
    q = run_start.start_question(after.with_settings(after.settings.changed(mode="output")))
    assert q.changes == ("mode: all layers → output layer", "learning rate: 0.02 → 0.2")
    assert q.can_continue and q.before.mode == "all" and q.after.mode == "output"
    assert q.text == ("The network was last trained with all layers at lr 0.02; this run trains "
                      "the output layer only at lr 0.2.")
    assert {p: run_start.start_plan(q, p) for p in RUN_START_CHOICES} == {
        "ask": "ask", "initial": "initial", "continue": "continue"}
    with pytest.raises(SettingsError, match="run start"):
        run_start.start_plan(q, "sometimes")
    q = run_start.start_question(after.with_settings(after.settings.with_lr(0.05)))
    assert q.changes == ("learning rate: 0.02 → 0.05",)
    q = run_start.start_question(after.with_settings(after.settings.changed(width=9)))
    assert q.changes == ("width: 6 → 9",) and not q.can_continue and q.text.endswith("The width changed: 6 → 9.")
    assert run_start.start_plan(q, "continue") == "initial"  # another width cannot continue


def test_the_newest_sgd_step_counts_edits_and_ridge_fits_do_not(start):
    after = trained(start)
    fitted = studio.fit_ridge_now(after).state
    assert run_start.last_trained(fitted.history).mode == "all"
    # A mode changed during a run tags the snapshots after it: no change when it ends.
    trainer = rs.Trainer(start.network, start.data, mode="all", steps=STEPS, save_every=200)
    trainer.advance(300)
    trainer.set_options(mode="output", lr=0.2)
    trainer.advance(STEPS - 300)
    mixed = studio.record_run(start, trainer.result(), trainer.network, trainer.step).state
    mixed = mixed.with_settings(mixed.settings.changed(mode="output"))
    assert run_start.last_trained(mixed.history) == run_start.TrainedWith("output", 0.2)
    assert run_start.start_question(mixed) is None


def test_from_the_initial_network_is_reset_and_trains_like_a_fresh_run(start):
    after = trained(start)
    switched = after.with_settings(after.settings.changed(mode="output"))
    change = run_start.start_from_initial(switched)
    reset = studio.reset_to_initial(switched).state
    new = change.state
    assert new.initial is switched.initial and new.network.equals(switched.initial)
    for name in ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2"):
        np.testing.assert_array_equal(getattr(new.history, name), getattr(reset.history, name))
    assert new.history.tags == reset.history.tags == ("init",)
    assert new.previous is switched.history and reset.data is new.data
    # The run from it (run number 0, as after Reset) is a fresh output-layer run of the initial net.
    st = studio.run_settings(new, 0)
    run = rs.train(new.network, new.data, mode=st.mode, lr=st.lr, steps=st.steps,
                   save_every=st.save_every, seed=st.seed)
    got = studio.record_run(new, run, run.final, st.steps)
    want = rs.train(start.initial, start.data, mode="output", lr=0.2, steps=STEPS, save_every=200,
                    seed=start.settings.init_seed)
    hist = got.state.history
    np.testing.assert_array_equal(hist.steps[1:], want.steps)
    for name in ("train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2"):
        np.testing.assert_array_equal(getattr(hist, name)[1:], getattr(want, name))
    assert hist.tags[1:] == ("output",) * len(want) and got.state.previous is switched.history


def test_from_the_initial_network_at_a_new_width_is_the_notebooks_init(start):
    after = trained(start)
    wider = after.with_settings(after.settings.changed(width=9, init_seed=4))
    new = run_start.start_from_initial(wider).state
    assert new.initial.equals(rs.init_network(9, 4)) and new.network.equals(new.initial)


def test_the_previous_history_goes_with_new_data_or_a_new_initial_network(start):
    after = trained(start)
    switched = after.with_settings(after.settings.changed(mode="output"))
    new = run_start.start_from_initial(switched).state
    assert studio.reset_to_initial(new).state.previous is new.previous
    assert studio.fit_ridge_now(new).state.previous is new.previous
    moved = studio.commit_edit(new, studio.preview_edit(new.network.with_elbow(1, 0.4), new.data, 1e-5, False),
                               "Move elbow 1").state
    assert moved.previous is new.previous  # same data: still comparable
    points = new.data.with_points(new.data.x[:-1], new.data.y[:-1])
    edited = studio.commit_edit(new, studio.preview_edit(new.network, points, 1e-5, False), "Delete point")
    assert edited.state.previous is None  # the previous curves measured other points
    assert studio.regenerate(new, seed=5).state.previous is None
    assert studio.reinitialise(new, seed=5).state.previous is None
    assert studio.import_data(new, rs.make_dataset(n=20)).state.previous is None
