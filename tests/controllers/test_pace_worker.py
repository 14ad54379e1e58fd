"""The training worker at a pace: throttled by a fake clock to the set rate, unthrottled at full
speed, bit-identical results at any pace, commands answered at once while it waits, and the
studio's controller drawing the live network between snapshots."""
from __future__ import annotations

import time

import numpy as np
import pytest

from relu_studio.core import kernel_preparation
from relu_studio.core.dataset import make_dataset
from relu_studio.core.network import init_network
from relu_studio.core.pace import FRAME_SECONDS, FULL_SPEED, Pace
from relu_studio.core.training import TrainSettings, train
from relu_studio.training_worker import PAUSED, RUNNING, STOPPED, RunRequest, TrainingWorker
from relu_studio.ui.studio_controller import StudioController

TIMEOUT = 60_000
ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2")


class FakeClock:
    """Seconds that pass only when the test says so (``tick``: also by this much per reading)."""

    def __init__(self, t: float = 1000.0, tick: float = 0.0):
        self.t, self.tick, self.calls = t, tick, 0

    def __call__(self) -> float:
        self.calls += 1
        now = self.t
        self.t += self.tick
        return now


@pytest.fixture(scope="module")
def data():
    return make_dataset()  # the notebook's data


@pytest.fixture(scope="module", autouse=True)
def kernels():
    assert kernel_preparation.KERNELS.wait(120)


def drive(worker: TrainingWorker, clock: FakeClock, request: RunRequest, until: float, pace: Pace):
    """Run the worker's loop by hand on the fake clock: each tick runs what is due; a wait the
    worker asks for moves the clock instead of the test sleeping. Returns [(time, step)] and the
    waits asked for (ms)."""
    waits: list[int] = []
    worker._schedule = lambda delay_ms=0, now=False: waits.append(delay_ms)
    worker.set_pace(pace)
    worker.start(request)
    trace = [(clock.t, 0)]
    while clock.t < until and worker.state == RUNNING:
        n = len(waits)
        worker._tick()
        tr = worker._trainer
        if tr is not None:
            trace.append((clock.t, tr.step))
        if len(waits) > n and waits[-1] > 0:
            clock.t += waits[-1] / 1000
    return trace, waits


def request(data, steps=10_000_000, save_every=1000, width=20):
    settings = TrainSettings("all", None, steps, None, save_every, 0).resolved(data.n)
    return RunRequest(init_network(width, 0), data, settings)


@pytest.mark.parametrize("pace", [Pace(500), Pace(2000), Pace(30_000), Pace(500, log_time=True)], ids=str)
def test_the_worker_runs_the_set_rate_per_fake_second(qapp, data, pace):
    clock = FakeClock()
    worker = TrainingWorker(clock=clock)
    t0 = clock.t
    trace, waits = drive(worker, clock, request(data), t0 + 8.0, pace)
    times, steps = np.array(trace, dtype=float).T
    for sec in range(1, 8):  # steps done in each fake second, within 10 % of the pace's
        a, b = np.interp([t0 + sec - 1, t0 + sec], times, steps)
        want = pace.steps_at(sec) - pace.steps_at(sec - 1)
        assert abs((b - a) - want) <= 0.1 * want, (sec, b - a, want)
    assert any(w > 0 for w in waits)
    # the readout's rate is the rate reached on that clock
    assert worker._rate == pytest.approx(pace.rate_at(steps[-1]), rel=0.1)
    # the steps come in groups of about one frame (plus the timer's 1 ms), so snapshots arrive
    # smoothly at a slow pace
    groups = np.diff(steps)
    groups = groups[groups > 0]
    assert groups.max() <= pace.rate_at(steps[-1]) * (FRAME_SECONDS + 0.001) + 1


def test_full_speed_never_waits_nor_reads_the_pace_clock(qapp, data):
    clock = FakeClock()
    worker = TrainingWorker(clock=clock)
    _trace, waits = drive(worker, clock, request(data, steps=30_000), clock.t + 1.0, FULL_SPEED)
    assert worker.state == "finished" and waits and all(w == 0 for w in waits)
    assert clock.calls == 0


def test_a_paced_run_is_the_unpaced_run_bit_for_bit(qapp, data):
    clock = FakeClock()
    worker = TrainingWorker(clock=clock)
    req = request(data, steps=12_000, save_every=500)
    ended = []
    worker.runEnded.connect(ended.append)
    trace, _ = drive(worker, clock, req, clock.t + 1e6, Pace(500, log_time=True))
    assert ended and ended[0].state == "finished" and len(trace) > 100  # many small chunks
    paced = ended[0].run
    ref = train(req.network, data, mode="all", steps=12_000, save_every=500, seed=0)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(paced, name), getattr(ref, name), err_msg=name)


# --------------------------------------------------------------------------- through the thread
@pytest.fixture
def c(qapp):
    ctl = StudioController()
    yield ctl
    assert ctl.shutdown()


def run_and_wait(qtbot, c):
    with qtbot.waitSignal(c.runRecorded, timeout=TIMEOUT):
        assert c.start() is None
    qtbot.waitUntil(lambda: c.run_state == "idle", timeout=TIMEOUT)


def test_paced_and_full_speed_studio_runs_are_array_equal(qapp, qtbot):
    histories = []
    for pace in (FULL_SPEED, Pace(3000, log_time=True), Pace(700)):
        ctl = StudioController()
        try:
            ctl.bridge.worker.clock = FakeClock(tick=0.004)  # fast in real time, paced all the same
            ctl.set_pace(pace)
            ctl.set_setting("steps", 8000)
            ctl.set_setting("save_every", 250)
            run_and_wait(qtbot, ctl)
            histories.append(ctl.state.history)
        finally:
            assert ctl.shutdown()
    first = histories[0]
    assert len(first) == 1 + 33
    for h in histories[1:]:
        for name in ARRAYS:
            np.testing.assert_array_equal(getattr(h, name), getattr(first, name), err_msg=name)


def test_pause_stop_and_close_answer_at_once_while_the_worker_waits(c, qtbot):
    w = c.bridge.worker
    w.clock = FakeClock(tick=0.0)  # time stands still: the worker waits for ever for its steps
    c.set_pace(Pace(100))
    c.set_setting("steps", 1_000_000)
    c.start()
    qtbot.waitUntil(lambda: c.run_state == RUNNING and c.last_snapshot is not None, timeout=TIMEOUT)
    qtbot.wait(100)
    assert c.last_snapshot.step == 0  # nothing is due at t = 0
    with qtbot.waitSignal(w.stateChanged, timeout=5000, check_params_cb=lambda s: s == PAUSED):
        c.pause()
    with qtbot.waitSignal(w.stateChanged, timeout=5000, check_params_cb=lambda s: s == RUNNING):
        c.resume()
    # a new pace takes effect during the run: full speed, and the steps come at once
    c.set_pace(FULL_SPEED)
    qtbot.waitUntil(lambda: c.last_snapshot.step > 5000, timeout=TIMEOUT)
    c.set_pace(Pace(100))  # standing still again
    with qtbot.waitSignal(w.runEnded, timeout=5000) as ended:
        c.stop()
    assert ended.args[0].state == STOPPED


def test_closing_while_the_worker_waits_ends_its_thread(qapp, qtbot):
    ctl = StudioController()
    ctl.bridge.worker.clock = FakeClock(tick=0.0)
    ctl.set_pace(Pace(100))
    ctl.set_setting("steps", 1_000_000)
    ctl.start()
    qtbot.waitUntil(lambda: ctl.run_state == RUNNING and ctl.last_snapshot is not None, timeout=TIMEOUT)
    assert ctl.shutdown()  # the wait is a timer of the worker's own loop: halted at once
    assert ctl.bridge.thread.isFinished()


def test_a_real_paced_run_never_runs_ahead_of_its_pace(c, qtbot):
    """The one real-time check: an upper bound only, which a slow machine cannot break."""
    rate = 4000
    c.set_pace(Pace(rate))
    c.set_setting("steps", 10_000_000)
    t0 = time.monotonic()  # before the worker anchors its pace
    c.start()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step > 0, timeout=TIMEOUT)
    qtbot.wait(600)
    c.pause()
    qtbot.waitUntil(lambda: c.run_state == PAUSED, timeout=TIMEOUT)
    elapsed = time.monotonic() - t0  # at least as long as the run ran
    qtbot.wait(50)
    assert 0 < c.last_snapshot.step <= rate * elapsed + 1
    assert c.steps_per_second <= 1.1 * rate


def test_the_studio_draws_the_live_network_between_snapshots(c, qtbot):
    c.bridge.worker.clock = FakeClock(tick=0.0005)
    c.set_pace(Pace(2000))
    c.set_setting("steps", 1_000_000)
    c.start()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step % 1000 not in (0, 1)
                    and c.last_snapshot.step > 1000, timeout=TIMEOUT)
    c.pause()
    qtbot.waitUntil(lambda: c.run_state == PAUSED, timeout=TIMEOUT)
    qtbot.wait(50)
    snap = c.last_snapshot
    assert c.following and c.shown_network.equals(snap.network) and c.shown_step == snap.step
    assert c.history.step(len(c.history) - 1) < snap.step  # between two snapshots of the history
    c.show_snapshot(1)  # scrubbed back: the snapshot, not the live network
    assert c.shown_network.equals(c.history.network(1)) and c.shown_step == c.history.step(1)
    c.stop()
    qtbot.waitUntil(lambda: c.run_state == "idle", timeout=TIMEOUT)
    # the run ended between snapshots: where it stopped is the newest entry, shown as before
    assert c.shown_network.equals(snap.network) and c.shown_step == snap.step
