"""The studio's state and its undoable operations, without Qt: each is a function of the state
that returns a new state (the old one is untouched), an undo step's name and a message."""
from __future__ import annotations

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core import studio
from relu_studio.core.dataset import DataError
from relu_studio.core.history import History
from relu_studio.core.settings import SettingsError, StudioSettings
from relu_studio.core.studio import StudioState


@pytest.fixture
def state():
    return StudioState.start(StudioSettings(width=6, steps=400, save_every=100))


def test_the_start_is_the_notebooks(state):
    assert state.data.n == 200 and state.data.target.spec == "piecewise_linear"
    assert state.initial.equals(rs.init_network(6, 0)) and state.network.equals(state.initial)
    assert len(state.history) == 1 and state.history.tags == ("init",)


def test_regenerate_restarts_the_history_from_the_current_network(state):
    run = rs.train(state.network, state.data, steps=400, save_every=100)
    trained = studio.record_run(state, run, run.final, 400).state
    change = studio.regenerate(trained, target="abs", n=50, noise=0.0, seed=3)
    new = change.state
    assert change.text == "Regenerate data" and "n = 50" in change.message
    assert new.data.n == 50 and new.data.target.spec == "abs" and new.settings.n == 50
    assert new.history.last.equals(run.final) and len(new.history) == 1  # from the current network
    assert new.initial is trained.initial
    assert trained.data.n == 200  # the old state is untouched
    with pytest.raises(SettingsError):
        studio.regenerate(state, n=0)
    with pytest.raises(DataError):
        studio.regenerate(state, target="1/x")  # not finite on [0, 1]


def test_reinitialise_and_reset(state):
    change = studio.reinitialise(state, width=9, seed=4)
    assert change.state.initial.equals(rs.init_network(9, 4))
    assert change.state.settings.width == 9 and change.state.settings.init_seed == 4
    assert change.text == "Re-initialise (width 9, seed 4)"
    run = rs.train(state.network, state.data, steps=400, save_every=100)
    trained = studio.record_run(state, run, run.final, 400).state
    back = studio.reset_to_initial(trained).state
    assert back.network.equals(state.initial) and len(back.history) == 1


def test_fit_ridge_now_is_the_cores_fit(state):
    change = studio.fit_ridge_now(state)
    assert change.state.network.equals(rs.fit_ridge(state.network, state.data, state.settings.lam))
    assert change.state.history.tags[-1] == "ridge" and change.text == "Fit output layer by ridge"


def test_record_run_keeps_each_snapshots_mode_and_where_the_run_stopped(state):
    trainer = rs.Trainer(state.network, state.data, mode="all", steps=400, save_every=100)
    trainer.advance(250)  # stopped between snapshots (200 and 300)
    change = studio.record_run(state, trainer.result(), trainer.network, trainer.step)
    hist = change.state.history
    assert hist.steps.tolist() == [0, 1, 100, 200, 250] and hist.last.equals(trainer.network)
    assert hist.tags == ("init", "all", "all", "all", "all")
    assert change.text == "Train 250 steps (all layers)"


def test_run_settings_use_a_new_seed_per_run_and_refuse_bad_ones(state):
    assert studio.run_settings(state, 0).seed == 0 and studio.run_settings(state, 3).seed == 3
    assert studio.run_settings(state).batch_size == 40 and studio.run_settings(state).lr == 0.02
    tiny = StudioState(state.settings, rs.make_dataset(n=3), state.initial, state.history)
    with pytest.raises(rs.TrainingError, match="n // 5"):
        studio.run_settings(tiny)


def test_imports(state):
    other = rs.init_network(6, 9)
    as_current = studio.import_network(state, other, as_initial=False).state
    assert as_current.network.equals(other) and as_current.initial is state.initial
    assert as_current.history.tags[-1] == "import"
    wider = studio.import_network(state, rs.init_network(8, 1), as_initial=False).state
    assert wider.initial.width == 8 and len(wider.history) == 1  # another width: a new timeline
    assert wider.settings.width == 8
    data = rs.make_dataset("sin(20x)", n=30)
    moved = studio.import_data(state, data, "Import data from x.csv")
    assert moved.text == "Import data from x.csv" and moved.state.data is data
    hist = History.start(other, state.data, "notebook").extended_with(History.start(other, state.data, "notebook", 5))
    imported = studio.import_history(state, hist).state
    assert imported.initial is state.initial and imported.history.steps.tolist() == [0, 0, 5]


def test_open_grid_cell_uses_the_cells_data_network_and_seed(state):
    data = rs.make_dataset("abs", n=60, seed=2)
    initial = rs.init_network(4, 2**31 + 5)
    run = rs.train(initial, data, mode="output", steps=200, save_every=100, seed=7)
    change = studio.open_grid_cell(state, initial, run, "output", 2**31 + 5, data)
    new = change.state
    assert new.data is data and new.initial is initial and new.network.equals(run.final)
    assert new.settings.init_seed == 2**31 + 5 and new.settings.mode == "output" and new.settings.width == 4
    # The panel's data values now describe the cell's data: regenerating them draws it again.
    s = new.settings
    again = rs.make_dataset(s.target, s.n, s.noise, s.data_seed)
    assert np.array_equal(again.x, data.x) and np.array_equal(again.y, data.y)
    ridge = studio.open_grid_cell(state, initial, rs.core.experiment.ridge_run(initial, data), "ridge", 0, data)
    assert ridge.state.history.tags == ("init", "ridge")


def test_an_opened_grid_run_brings_its_lambda_or_learning_rate_to_the_panel(state):
    """A sweep's ridge run at λ 1e-9 (or a Compare column's lr) opens with that λ (lr) in the
    panel, so the studio's ridge optimum and a continued run use the run's own value."""
    data = rs.make_dataset("abs", n=60, seed=2)
    initial = rs.init_network(4, 3)
    ridge = studio.open_grid_cell(state, initial, rs.core.experiment.ridge_run(initial, data, lam=1e-9),
                                  "ridge", 3, data).state
    assert ridge.settings.lam == 1e-9 and state.settings.lam != 1e-9
    assert ridge.network.equals(rs.fit_ridge(initial, data, ridge.settings.lam))
    run = rs.train(initial, data, mode="all", lr=0.05, steps=200, save_every=100)
    sgd = studio.open_grid_cell(state, initial, run, "all", 3, data).state
    assert sgd.settings.lr_all == 0.05 and sgd.settings.lr_output == state.settings.lr_output


def test_edits_become_the_newest_entry(state):
    edited = state.network.with_elbow(2, 0.33)
    preview = studio.preview_edit(edited, state.data, state.settings.lam, ridge_follow=True)
    assert preview.network.equals(rs.fit_ridge(edited, state.data, state.settings.lam))
    change = studio.commit_edit(state, preview, "Move elbow 2")
    assert change.state.network.equals(preview.network) and change.state.history.tags[-1] == "edit"
    net = studio.unit_with_value(state.network, 1, "out", 0.5)
    assert net.w2[1] == np.float32(0.5)
    with pytest.raises(ValueError):
        studio.unit_with_value(state.network, 1, "depth", 1.0)


def test_the_ridge_reference_is_recomputed_for_new_data_or_features(state):
    ref = studio.RidgeReference()
    net, data = state.network, state.data
    first = ref.value(net, data, 1e-5)
    assert first == pytest.approx(rs.core.ridge.ridge_mse(net, data, 1e-5))
    other = rs.make_dataset(n=200, seed=8)
    assert ref.value(net, other, 1e-5) == rs.core.ridge.ridge_mse(net, other, 1e-5)
    assert ref.value(net.with_elbow(0, 0.5), other, 1e-5) == rs.core.ridge.ridge_mse(
        net.with_elbow(0, 0.5), other, 1e-5)


def test_a_previews_test_error_is_computed_once_however_many_views_show_it(state, monkeypatch):
    calls = []
    real = studio.polyline_mse
    monkeypatch.setattr(studio, "polyline_mse", lambda *a: calls.append(1) or real(*a))
    p = studio.preview_edit(state.network.with_elbow(1, 0.4), state.data, state.settings.lam, False)
    assert calls == []  # a drag event does not compute it
    first, second = p.test_error, p.test_error
    assert first == second == real(p.network, state.data.x_test, state.data.y_test) and len(calls) == 1


# --------------------------------------------------------------------------- training choices
def test_reinitialise_uses_the_settings_init_and_activation():
    from relu_studio.core.activations import Activation
    from relu_studio.core.inits import Init, make_network

    s = StudioState.start().settings.changed(init=Init("kaiming", 0.5), activation=Activation("silu"))
    st = StudioState.start(s)
    want = make_network(Init("kaiming", 0.5), s.width, s.init_seed, st.data, Activation("silu"))
    assert st.initial.equals(want) and st.network.equals(want)
    ch = studio.reinitialise(st, width=7, seed=3, init=Init("quantiles"))
    assert ch.state.initial.equals(make_network(Init("quantiles"), 7, 3, st.data, Activation("silu")))
    assert "Elbows at data quantiles init" in ch.text


def test_changing_the_activation_keeps_the_parameters_and_restarts_the_history():
    from relu_studio.core.activations import Activation

    st = StudioState.start()
    ch = studio.set_activation(st, Activation("elu", alpha=0.5))
    net = ch.state.network
    assert net.activation == Activation("elu", alpha=0.5) == ch.state.settings.activation
    assert net.w1.tobytes() == st.network.w1.tobytes() and net.b2 == st.network.b2
    assert ch.state.initial.activation == net.activation
    # the history's errors are the new activation's (an independent float64 formula)
    w1, b1, w2 = (a.astype(np.float64) for a in (net.w1, net.b1, net.w2))
    z = st.data.x[:, None] * w1 + b1
    pred = np.where(z > 0, z, 0.5 * np.expm1(np.minimum(z, 0))) @ w2 + net.b2
    assert np.isclose(ch.state.history.full_train_error[-1], np.mean((pred - st.data.y) ** 2), rtol=1e-5)
    assert "centres" in ch.message


def test_an_imported_network_or_history_keeps_its_activation_and_the_panel_follows(state):
    """A GELU network from a .pt file is drawn and trained as GELU (the panel's activation
    becomes it): it cannot continue a ReLU timeline of the same width, so it starts a new one;
    undoing the activation change draws the earlier snapshots with their own activation."""
    from relu_studio.core.activations import Activation

    gelu = rs.init_network(state.network.width, 9).replace(activation=Activation("gelu"))
    ch = studio.import_network(state, gelu, as_initial=False).state
    assert ch.settings.activation == Activation("gelu") and ch.network.equals(gelu)
    assert len(ch.history) == 1 and ch.initial.equals(gelu)  # a new timeline
    hist = History.start(gelu, state.data, "notebook")
    imported = studio.import_history(state, hist).state
    assert imported.settings.activation == Activation("gelu")
    assert imported.network.activation == Activation("gelu") and imported.initial.equals(gelu)
    tanh = studio.set_activation(state, Activation("tanh")).state
    assert tanh.network.activation == Activation("tanh")
    assert state.network.activation == Activation()  # the state before keeps its own


def test_a_new_optimizer_brings_its_default_learning_rates():
    from relu_studio.core.optimizers import Optimizer

    s = StudioState.start().settings
    adam = studio.with_optimizer(s, Optimizer("adam"))
    assert (adam.lr_output, adam.lr_all) == (1e-3, 1e-3)
    tuned = studio.with_optimizer(adam.changed(lr_all=3e-3), Optimizer("adam", eps=1e-6))
    assert tuned.lr_all == 3e-3 and tuned.optimizer.eps == 1e-6  # same optimizer: lr kept
    back = studio.with_optimizer(tuned, Optimizer("sgd"))
    assert (back.lr_output, back.lr_all) == (0.2, 0.02)
    st = StudioState.start(adam)
    assert studio.run_settings(st).optimizer == Optimizer("adam", lr=1e-3)
    assert studio.run_settings(StudioState.start()).optimizer is None  # the notebook's SGD kernel
