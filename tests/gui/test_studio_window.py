"""The studio window: live training, pause/resume, scrubbing, ridge, closing, divergence."""
import numpy as np
import relu_studio as rs

from relu_studio.core.geometry import unit_polylines
from relu_studio.core.ridge import fit_ridge
from relu_studio.core.training import train
from studio_helpers import TIMEOUT, configure, run_to_end, wait_state


def test_opens_on_the_notebook_defaults(window):
    c = window.c
    s = c.settings
    assert (s.target, s.n, s.noise, s.width, s.mode, s.current_lr) == ("piecewise_linear", 200, 0.1, 20, "all", 0.02)
    assert c.network.width == 20 and len(c.history) == 1
    (x0, x1), (y0, y1) = window.canvas.getPlotItem().vb.viewRange()
    assert x0 <= 0 and x1 >= 1 and y0 <= -2.5 and y1 >= 2.5 and x1 - x0 < 1.2
    xs, ys = window.canvas.point_positions()
    np.testing.assert_array_equal(xs, c.data.x)
    np.testing.assert_array_equal(ys, c.data.y)


def test_training_streams_snapshots_and_finishes_like_the_core(window, qtbot):
    c = window.c
    configure(c, steps=30_000, save_every=1000)
    run_to_end(qtbot, c)
    assert len(c.history) == 1 + 31  # the start plus steps 1, 1000, ..., 30000
    # The GUI's run is the core's run with the same settings and seed, bit for bit.
    ref = train(c.history.network(0), c.data, mode="all", lr=0.02, steps=30_000, save_every=1000, seed=0)
    assert c.network.equals(ref.final)
    steps, _tr, full, test = c.history.curves()
    np.testing.assert_array_equal(steps[1:], ref.steps)
    np.testing.assert_array_equal(test[1:], ref.test_error)
    # The loss pane shows the same curves.
    window.flush_views()
    drawn_steps, drawn_test = window.loss.curves()["test"]
    np.testing.assert_allclose(drawn_test, test)
    np.testing.assert_array_equal(drawn_steps, steps)


def test_pause_holds_and_resume_continues(window, qtbot):
    c = window.c
    configure(c, steps=50_000_000, save_every=1000)
    window.action("train").trigger()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step > 5000, timeout=TIMEOUT)
    window.action("train").trigger()  # Space: pause
    wait_state(qtbot, c, "paused")
    qtbot.wait(50)
    held = c.last_snapshot.step
    qtbot.wait(300)
    assert c.last_snapshot.step == held
    assert window.action("train").text() == "Resume"
    window.action("train").trigger()
    qtbot.waitUntil(lambda: c.last_snapshot.step > held + 1000, timeout=TIMEOUT)
    window.action("stop").trigger()
    wait_state(qtbot, c, "idle")
    assert c.history.step(len(c.history) - 1) >= held


def test_step_runs_one_snapshot_interval_then_pauses(window, qtbot):
    c = window.c
    configure(c, steps=100_000, save_every=500)
    window.action("step").trigger()
    qtbot.waitUntil(lambda: c.run_state == "paused" and c.last_snapshot is not None
                    and c.last_snapshot.step == 500, timeout=TIMEOUT)
    window.action("step").trigger()
    qtbot.waitUntil(lambda: c.run_state == "paused" and c.last_snapshot.step == 1000, timeout=TIMEOUT)
    window.action("stop").trigger()
    wait_state(qtbot, c, "idle")
    assert c.history.step(len(c.history) - 1) == 1000


def test_scrubbing_shows_that_snapshot_and_keeps_the_network(window, qtbot):
    c = window.c
    configure(c, steps=20_000, save_every=1000)
    run_to_end(qtbot, c)
    current = c.network
    for i in (0, 5, len(c.history) // 2, len(c.history) - 1):
        window.timeline.set_index(i)  # what dragging the slider does
        window.flush_views()
        assert c.shown_index == i
        net = c.history.network(i)
        xs, ys = window.canvas.prediction_data()
        # The canvas walks the polyline in float64; predict() uses float32 hidden activations
        # (like torch), so they agree to float32 round-off on values of order 1.
        np.testing.assert_allclose(ys, net.predict(xs), rtol=0, atol=1e-6 * (1 + np.abs(ys).max()))
        np.testing.assert_allclose(window.canvas.elbow_positions(), np.sort(net.elbows[np.isfinite(net.elbows)]))
        np.testing.assert_array_equal(window.canvas.dead_units_drawn(), np.nonzero(net.dead_units(c.data.x))[0])
        ux, uy = window.canvas.unit_lines()
        (x0, x1), _ = window.canvas.getPlotItem().vb.viewRange()
        rx, ry = unit_polylines(net, x0, x1)
        np.testing.assert_allclose(uy, ry, equal_nan=True)
        assert window.loss.cursor.value() == c.history.step(i)
        assert c.network.equals(current)  # scrubbing never changes the trained network


def test_fit_ridge_now_equals_the_core(window):
    c = window.c
    before = c.network
    window.action("ridge").trigger()
    want = fit_ridge(before, c.data, c.settings.lam)
    window.flush_views()
    xs, ys = window.canvas.prediction_data()
    np.testing.assert_allclose(ys, want.predict(xs), rtol=0, atol=1e-6 * (1 + np.abs(ys).max()))
    assert c.network.equals(want)
    assert len(c.history) == 2 and c.history.base.tags[-1] == "ridge"


def test_changing_lr_or_mode_mid_run_keeps_network_and_history(window, qtbot):
    c = window.c
    configure(c, steps=50_000_000, save_every=1000)
    c.start()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step > 3000, timeout=TIMEOUT)
    n_before = len(c.history)
    window.panel.lr.editor.setText("0.005")
    window.panel.lr.validate()
    window.panel.mode.setCurrentIndex(1)  # output layer only
    assert c.settings.mode == "output"
    # The worker applies the change between chunks; its snapshots then carry the new settings.
    qtbot.waitUntil(lambda: c.last_snapshot.run.settings.mode == "output", timeout=TIMEOUT)
    assert c.last_snapshot.run.settings.lr == 0.2  # output mode has its own (notebook) lr
    assert len(c.history) >= n_before
    snap = c.last_snapshot
    qtbot.waitUntil(lambda: c.last_snapshot.step > snap.step + 10_000, timeout=TIMEOUT)
    # Output layer only: the hidden layer no longer moves, the output layer does.
    np.testing.assert_array_equal(c.last_snapshot.network.w1, snap.network.w1)
    assert not np.array_equal(c.last_snapshot.network.w2, snap.network.w2)
    # The history is continuous: one run, steps increasing.
    steps = c.history.curves()[0]
    assert np.all(np.diff(steps) > 0)
    c.stop()
    wait_state(qtbot, c, "idle")


def test_closing_mid_run_stops_the_worker(qtbot):
    from relu_studio.ui.main_window import MainWindow

    win = MainWindow(ask_to_save=False)
    qtbot.addWidget(win)
    win.show()
    c = win.c
    configure(c, steps=50_000_000)
    c.start()
    wait_state(qtbot, c, "running")
    qtbot.waitUntil(lambda: c.last_snapshot is not None, timeout=TIMEOUT)
    win.close()
    assert not c.bridge.thread.isRunning()


def test_closing_during_the_first_kernel_compile_does_not_wait_for_it(qtbot, monkeypatch):
    """The first compile takes seconds and cannot be interrupted; closing the window meanwhile
    (here: a compile that lasts until the test ends it) must end the worker thread at once."""
    import threading

    from relu_studio.core import kernel_preparation
    from relu_studio.ui.main_window import MainWindow

    gate = threading.Event()
    slow = kernel_preparation.KernelPreparation(prepare=lambda: gate.wait(30))
    monkeypatch.setattr(kernel_preparation, "KERNELS", slow)
    win = MainWindow(ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    c = win.c
    try:
        c.start()
        wait_state(qtbot, c, "running")  # waiting for the kernel, not training
        qtbot.wait(100)
        assert slow.running
        assert c.last_snapshot is None or c.last_snapshot.step == 0
        win.close()
        assert c.bridge.thread.isFinished() and not gate.is_set()
    finally:
        gate.set()
        assert slow.finish(10)


def test_divergence_stops_keeps_history_and_says_what_to_try(window, qtbot):
    c = window.c
    configure(c, lr=50.0, steps=100_000, save_every=100)
    run_to_end(qtbot, c)
    assert window.banner.isVisible()
    text = window.banner.text()
    assert "diverged at step" in text and "learning rate" in text
    steps, _tr, full, _te = c.history.curves()
    assert steps[-1] < 100_000 and len(c.history) >= 2
    assert np.all(np.isfinite(c.network.w1))


def test_invalid_entries_are_refused_at_the_field(window):
    p, c = window.panel, window.c
    p.noise.editor.setText("-1")
    assert not p.noise.validate() and p.noise.reason.isVisible()
    assert "≥ 0" in p.noise.reason.text()
    p.lr.editor.setText("abc")
    assert not p.lr.validate() and "not a number" in p.lr.reason.text()
    assert c.settings.current_lr == 0.02
    p.target.editor.setCurrentText("__import__('os').system('echo hi')")
    assert not p.target.validate()
    assert p.target.reason.isVisible()
    data_before = c.data
    p.regenerate_data()  # refused: the fields are invalid
    assert c.data is data_before


def test_regenerate_and_reinitialise(window):
    p, c = window.panel, window.c
    p.target.editor.setCurrentText("sin(2*pi*x) + 0.3*x")
    assert p.target.validate()
    p.n.setValue(120)
    p.regenerate.click()
    assert c.data.n == 120 and c.data.target.spec == "sin(2*pi*x) + 0.3*x"
    window.flush_views()
    xs, _ys = window.canvas.point_positions()
    assert xs.size == 120
    p.width.setValue(7)
    p.reinit.click()
    assert c.network.width == 7 and len(c.history) == 1
    window.flush_views()
    assert window.canvas.elbow_positions().size == 7


def test_worker_mailbox_keeps_only_the_newest_snapshot(qtbot):
    from relu_studio.core.dataset import make_dataset
    from relu_studio.core.network import init_network
    from relu_studio.core.training import TrainSettings
    from relu_studio.training_worker import RunRequest, TrainingBridge

    bridge = TrainingBridge()
    w = bridge.worker
    data = make_dataset(n=50)
    try:
        settings = TrainSettings("all", None, 10_000_000, None, 100, 0).resolved(data.n)
        bridge.start(RunRequest(init_network(5, 0), data, settings))
        qtbot.waitUntil(lambda: w.state == "running", timeout=TIMEOUT)
        qtbot.wait(300)
        first = w.take_latest()
        assert first is not None
        qtbot.wait(200)
        second = w.take_latest()
        assert second.serial > first.serial + 1  # several chunks ran; only the newest was kept
        assert second.step > first.step
        assert w.take_latest() is None
        bridge.stop()
        qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    finally:
        assert bridge.shutdown()


def test_seeds_reach_2_32_minus_1_in_the_panel_as_in_the_core(window):
    p, c = window.panel, window.c
    top = 2**32 - 1
    p.init_seed.setValue(top)
    p.width.setValue(4)
    p.reinit.click()
    assert c.settings.init_seed == top and c.network.equals(rs.init_network(4, top))
    p.data_seed.setValue(top)
    p.regenerate.click()
    assert c.data.seed == top and np.array_equal(c.data.x, rs.make_dataset(n=200, seed=top).x)
    p.init_seed.setValue(2**32)  # one past the last seed: held at the limit
    assert p.init_seed.value() == top


def test_opening_a_compare_cell_keeps_its_seed(window):
    c = window.c
    seed = 2**31 + 5
    data = c.data
    initial = rs.init_network(3, seed)
    run = rs.train(initial, data, mode="all", steps=50, save_every=10, seed=seed)
    c.open_run(initial, run, "all", seed, data)
    assert c.settings.init_seed == seed and c.network.equals(run.final)


def test_ridge_reference_follows_a_new_data_set_at_a_reused_address(qapp):
    """A new data set may be allocated where a freed one was (same id()): the reference must
    still be computed on the new data, not taken from the cache of the old one."""
    from relu_studio.core.ridge import ridge_mse
    from relu_studio.ui.studio_controller import StudioController

    c = StudioController()
    try:
        net = c.network
        d = rs.make_dataset("sin(20x)", n=30, noise=0.5, seed=0)
        reused = 0
        for seed in range(1, 40):
            assert c.ridge_best(net, d) == ridge_mse(net, d, c.settings.lam), seed
            nxt = rs.make_dataset("sin(20x)", n=30, noise=0.5, seed=seed)
            arrays = (nxt.x, nxt.y, nxt.x_test, nxt.y_test)
            old = id(d)
            del nxt
            del d  # freed last, so CPython usually gives its address to the next Dataset
            d = rs.Dataset(*arrays, noise=0.5, seed=seed)
            reused += id(d) == old
        print(f"\n{reused} of 39 data sets reused the previous one's address")
    finally:
        assert c.shutdown()
