"""The Method group: the optimizer, activation, init and loss chosen in the panel are what the
studio trains and draws; hyper-parameters are checked with clear messages; a session saved
mid-run with Adam reopens and continues exactly."""
import numpy as np

import relu_studio as rs
from relu_studio.core.activations import ACTIVATIONS
from relu_studio.core.inits import INITS, Init, make_network
from relu_studio.core.optimizers import OPTIMIZERS, Optimizer
from studio_helpers import configure, run_to_end, wait_state


def choose(combo, key):
    combo.setCurrentIndex(combo.findData(key))


def type_into(field, text):
    field.editor.setText(text)
    field.validate()


def test_choosing_adam_in_the_panel_trains_with_adam(window, qtbot):
    c, ch = window.c, window.panel.choices
    choose(ch.optimizer, "adam")
    assert c.settings.optimizer == Optimizer("adam")
    # the learning rate field shows Adam's default (torch's 1e-3) for the mode
    assert c.settings.lr_all == 1e-3 and window.panel.lr.value() == 1e-3
    assert ch.hyper_form.isRowVisible(ch.fields["beta1"]) and not ch.hyper_form.isRowVisible(ch.fields["alpha"])
    configure(c, steps=2500, save_every=1000)
    initial, data = c.initial, c.data
    run_to_end(qtbot, c)
    ref = rs.train(initial, data, mode="all", steps=2500, save_every=1000, seed=c.settings.init_seed,
                   optimizer=Optimizer("adam"))
    plain = rs.train(initial, data, mode="all", lr=1e-3, steps=2500, save_every=1000,
                     seed=c.settings.init_seed)
    net = c.network
    for k in ("w1", "b1", "w2"):
        assert getattr(net, k).tobytes() == getattr(ref.final, k).tobytes()
    assert not np.array_equal(ref.final.w1, plain.final.w1)  # Adam is not SGD at Adam's lr
    # the optimizer belongs to the run: fixed while one is in progress, free again after
    assert ch.optimizer.isEnabled()
    window.flush_views()
    assert window.status_loss.text().endswith("[Adam]")  # the status bar names the optimizer
    choose(ch.optimizer, "sgd")
    window.flush_views()
    assert "[" not in window.status_loss.text()  # the notebook's: nothing added


def test_optimizer_activation_and_loss_are_fixed_while_a_run_is_in_progress(window, qtbot):
    c, ch = window.c, window.panel.choices
    choose(ch.activation, "leaky_relu")
    configure(c, steps=3000, save_every=1000)
    fixed = (ch.optimizer, ch.activation, ch.act_param, ch.loss)
    assert all(w.isEnabled() for w in fixed)
    assert c.start(pause_after=500) is None
    wait_state(qtbot, c, "paused")
    assert not any(w.isEnabled() for w in fixed)
    assert "fixed while a run is in progress" in ch.activation.toolTip()
    c.stop()
    wait_state(qtbot, c, "idle")
    assert all(w.isEnabled() for w in fixed)
    assert "fixed while" not in ch.activation.toolTip()


def test_hyper_parameter_fields_validate_with_clear_messages(window):
    c, ch = window.c, window.panel.choices
    choose(ch.optimizer, "adam")
    type_into(ch.fields["beta2"], "1.5")
    assert "beta2 must be a number in [0, 1), got 1.5" in ch.fields["beta2"].reason.text()
    assert c.settings.optimizer.betas == (0.9, 0.999)  # nothing changed
    type_into(ch.fields["eps"], "0")
    assert ch.fields["eps"].reason.text() == "must be > 0"
    type_into(ch.fields["beta1"], "abc")
    assert ch.fields["beta1"].reason.text() == "'abc' is not a number"
    type_into(ch.fields["beta1"], "0.8")  # refused while beta2 is wrong: its message stays
    assert c.settings.optimizer.betas == (0.9, 0.999)
    assert "beta2 must be" in ch.fields["beta2"].reason.text()
    type_into(ch.fields["beta2"], "0.99")
    assert c.settings.optimizer.betas == (0.8, 0.99)
    assert ch.fields["beta2"].reason.text() == ""
    assert c.settings.lr_all == 1e-3  # a hyper-parameter keeps the learning rate
    choose(ch.optimizer, "momentum")
    assert c.settings.optimizer == Optimizer("momentum") and c.settings.lr_all == 0.02
    assert ch.hyper_form.isRowVisible(ch.fields["nesterov"])
    ch.fields["nesterov"].setChecked(True)
    assert c.settings.optimizer.nesterov
    type_into(ch.fields["momentum"], "1")
    assert "momentum must be a number in (0, 1), got 1.0" in ch.fields["momentum"].reason.text()
    assert c.settings.optimizer.momentum == 0.9
    # a Huber delta of 0 is refused under its field
    choose(ch.loss, "huber")
    assert c.settings.loss.name == "huber" and ch.layout().isRowVisible(ch.delta)
    type_into(ch.delta, "0")
    assert ch.delta.reason.text() == "must be > 0" and c.settings.loss.delta == 1.0


def _drawn_prediction(window):
    window.flush_views()
    x, y = window.canvas.prediction.getData()
    return np.asarray(x, float), np.asarray(y, float)


def test_the_activation_choice_changes_the_drawn_curves_and_is_undoable(window):
    c, ch = window.c, window.panel.choices
    before = c.network
    x0, y0 = _drawn_prediction(window)
    assert window.units_table.model_.headerData(1, rs_horizontal()) == "elbow"
    choose(ch.activation, "tanh")
    assert c.settings.activation.name == "tanh"
    net = c.network
    assert net.activation.name == "tanh" and net.w1.tobytes() == before.w1.tobytes()
    x, y = _drawn_prediction(window)
    w1, b1, w2 = (a.astype(np.float64) for a in (net.w1, net.b1, net.w2))
    want = np.tanh(x[:, None] * w1 + b1) @ w2 + net.b2  # an independent float64 formula
    assert np.allclose(y, want, atol=1e-5)
    assert not np.allclose(np.interp(x, x0, y0), y, atol=1e-3)  # not the ReLU curve
    ux, uy = window.canvas.units.getData()
    ok = np.isfinite(uy)
    assert np.all(np.abs(uy[ok]) <= 1.0)  # tanh units lie in [-1, 1]
    assert window.units_table.model_.headerData(1, rs_horizontal()) == "centre"
    legend = [t for _item, t in window.canvas._legend_entries()]
    assert "centres" in legend and "dead unit" not in legend
    # Leaky ReLU shows its slope field; the slope is checked
    choose(ch.activation, "leaky_relu")
    assert ch.layout().isRowVisible(ch.act_param) and ch.act_param_label.text() == "Slope"
    type_into(ch.act_param, "0.2")
    assert c.settings.activation.slope == 0.2 and c.network.activation.slope == 0.2
    c.undo_stack.undo()
    c.undo_stack.undo()
    c.undo_stack.undo()
    assert c.settings.activation.name == "relu" and ch.activation.currentData() == "relu"
    assert c.network.equals(before)


def rs_horizontal():
    from PySide6.QtCore import Qt
    return Qt.Orientation.Horizontal


def test_the_chosen_init_makes_the_next_network(window):
    c, ch = window.c, window.panel.choices
    choose(ch.init, "quantiles")
    type_into(ch.scale, "0.5")
    assert c.settings.init == Init("quantiles", 0.5)
    window.panel.reinitialise_network()
    want = make_network(Init("quantiles", 0.5), c.settings.width, c.settings.init_seed, c.data)
    assert c.initial.equals(want) and c.network.equals(want)
    assert sorted(INITS) == sorted(ch.init.itemData(i) for i in range(ch.init.count()))
    assert [ch.optimizer.itemData(i) for i in range(ch.optimizer.count())] == list(OPTIMIZERS)
    assert [ch.activation.itemData(i) for i in range(ch.activation.count())] == list(ACTIVATIONS)


def save_paused_and_reopen(window, qtbot, path, optimizer: str, at: int):
    """Choose ``optimizer``, start a 3000-step run paused after ``at`` steps, save the session
    there, stop; returns a second window that opened the file."""
    from relu_studio.ui.main_window import MainWindow

    c = window.c
    choose(window.panel.choices.optimizer, optimizer)
    configure(c, steps=3000, save_every=1000)
    assert c.start(pause_after=at) is None
    wait_state(qtbot, c, "paused")
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step == at)
    assert window.files.save_to(path)
    c.stop()
    wait_state(qtbot, c, "idle")
    other = MainWindow(ask_to_save=False, autosave=False)
    qtbot.addWidget(other)
    other.show()
    assert other.files.open_path(path)
    return other


def test_a_session_saved_mid_run_with_adam_reopens_and_continues_exactly(window, qtbot, tmp_path):
    c = window.c
    initial, data, seed = c.initial, c.data, c.settings.init_seed
    other = save_paused_and_reopen(window, qtbot, tmp_path / "mid-run.relustudio", "adam", 1234)
    o = other.c
    assert o.settings.optimizer == Optimizer("adam") and other.panel.choices.optimizer.currentData() == "adam"
    assert o.history.step(len(o.history) - 1) == 1234
    run_to_end(qtbot, o)
    ref = rs.train(initial, data, mode="all", steps=3000, save_every=1000, seed=seed,
                   optimizer=Optimizer("adam"))
    hist = o.history
    steps = [hist.step(i) for i in range(len(hist))]
    for i, s in enumerate(ref.steps):  # every snapshot of the uninterrupted run, bit for bit
        j = steps.index(int(s))
        net, want = hist.network(j), ref.snapshot(i)
        assert net.w1.tobytes() == want.w1.tobytes() and net.b2 == want.b2, f"step {s}"
    assert o.network.w2.tobytes() == ref.final.w2.tobytes()
    other.close()


def test_an_opened_run_in_progress_is_continued_only_while_it_still_applies(window, qtbot, tmp_path):
    other = save_paused_and_reopen(window, qtbot, tmp_path / "paused.relustudio", "rmsprop", 500)
    o = other.c
    assert o.saved_run()[1].step == 500  # saving again keeps the run to continue
    assert o.set_learning_rate(0.005) is None  # the run was at RMSprop's 1e-2: a new run now
    assert o.saved_run()[1] is None
    assert o.start(pause_after=10, choice="continue") is None
    assert o.planned_last_step == 500 + 3000  # a whole new run, not the rest of the old one
    wait_state(qtbot, o, "paused")
    o.stop()
    wait_state(qtbot, o, "idle")
    other.close()
