"""A run stopped mid-way (its minibatch generator's and optimizer's state frozen in a resume
point, or in a session file) continues bit for bit as the uninterrupted run."""
import json

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core.history import History
from relu_studio.core.io.session import Session, SessionFileError, load_session, save_session
from relu_studio.core.optimizers import Optimizer
from relu_studio.core.run_resume import ResumePoint, capture
from relu_studio.core.settings import StudioSettings
from relu_studio.core.studio import StudioState, record_run
from relu_studio.core.training import Trainer

STEPS, EVERY = 2400, 500


def _setup(width=10):
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
    return data, rs.init_network(width, 0)


def _same_tail(full, resumed_run, k):
    """The uninterrupted run's snapshots after step k equal the resumed run's, bit for bit."""
    after = full.steps > k
    assert np.array_equal(full.steps[after], np.asarray(resumed_run.steps) + k)
    for name in ("w1", "b1", "w2", "b2", "train_error", "full_train_error", "test_error"):
        a, b = getattr(full, name)[after], getattr(resumed_run, name)
        assert a.tobytes() == np.asarray(b).tobytes(), name


def _json_round_trip(point: ResumePoint, width: int) -> ResumePoint:
    return ResumePoint.from_json(json.loads(json.dumps(point.to_json())), point.arrays(), width)


@pytest.mark.parametrize("opt", [None, Optimizer("adam"), Optimizer("momentum", nesterov=True),
                                 Optimizer("rmsprop", momentum=0.5, centered=True),
                                 Optimizer("adamw")])
@pytest.mark.parametrize("k", [1, 777, 1000])
def test_resumed_run_equals_the_uninterrupted_run(opt, k):
    data, net = _setup()
    kw = dict(mode="all", steps=STEPS, save_every=EVERY, seed=3, optimizer=opt)
    full = Trainer(net, data, **kw).run()
    first = Trainer(net, data, **kw)
    first.advance(k)
    point = _json_round_trip(capture(first), net.width)
    assert point.step == k and point.remaining == STEPS - k
    assert (point.optimizer_state is None) == (opt is None)
    rest = point.trainer(first.network, data)
    _same_tail(full, rest.run(), k)


def test_a_resumed_run_keeps_its_activation_and_loss():
    """A GELU network trained with Huber loss and Adam, stopped and resumed from the resume
    point's JSON, continues exactly: the loss travels with the point, the activation with the
    network."""
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
    net = rs.init_network(8, 0).replace(activation=rs.Activation("gelu"))
    kw = dict(mode="all", steps=STEPS, save_every=EVERY, seed=2, optimizer=Optimizer("adam"),
              loss=rs.Loss("huber", delta=0.05))
    full = Trainer(net, data, **kw).run()
    first = Trainer(net, data, **kw)
    first.advance(613)
    point = _json_round_trip(capture(first), net.width)
    assert point.settings.loss == rs.Loss("huber", delta=0.05)
    rest = point.trainer(first.network, data)
    assert rest.network.activation == rs.Activation("gelu")
    _same_tail(full, rest.run(), 613)


def test_a_resumed_run_paused_again_still_continues_exactly():
    data, net = _setup()
    kw = dict(mode="all", steps=STEPS, save_every=EVERY, seed=5, optimizer=Optimizer("adam", lr=3e-3))
    full = Trainer(net, data, **kw).run()
    a = Trainer(net, data, **kw)
    a.advance(300)
    b = capture(a).trainer(a.network, data)
    b.advance(950)
    point = capture(b, offset=300, total=STEPS)
    assert point.step == 1250 and point.settings.steps == STEPS
    c = _json_round_trip(point, net.width).trainer(b.network, data)
    _same_tail(full, c.run(), 1250)


def test_session_saved_mid_run_with_adam_reopens_and_continues_bit_identically(tmp_path):
    data, net = _setup(20)
    kw = dict(mode="all", steps=STEPS, save_every=EVERY, seed=0, optimizer=Optimizer("adam"))
    full = Trainer(net, data, **kw).run()

    k = 1111  # between two snapshots: the reached network is kept as an entry of its own
    settings = StudioSettings(width=20, optimizer=Optimizer("adam"), lr_all=1e-3,
                                 steps=STEPS, save_every=EVERY)
    state = StudioState(settings, data, net, History.start(net, data))
    tr = Trainer(state.network, data, **kw)
    tr.advance(k)
    saved = record_run(state, tr.result(), tr.network, tr.step).state
    path = save_session(Session(settings, data, net, saved.history, resume=capture(tr)),
                        tmp_path / "mid.relustudio")
    s = load_session(path)
    assert s.settings.optimizer == Optimizer("adam") and s.resume is not None
    assert s.history.last.equals(tr.network) and s.history.last_step == k
    rest = s.resume.trainer(s.history.last, s.data)
    _same_tail(full, rest.run(), k)


def _session_with_resume(tmp_path):
    data, net = _setup(4)
    tr = Trainer(net, data, steps=100, save_every=10, optimizer=Optimizer("adam"))
    tr.advance(15)
    st = StudioState(StudioSettings(width=4), data, net, History.start(net, data))
    hist = record_run(st, tr.result(), tr.network, tr.step).state.history
    return Session(st.settings, data, net, hist, resume=capture(tr))


def test_a_resume_point_that_does_not_fit_the_history_is_refused(tmp_path):
    import dataclasses
    s = _session_with_resume(tmp_path)
    s2 = dataclasses.replace(s, history=s.history.appended(s.history.last, s.data, "edit"))
    with pytest.raises(ValueError, match="does not belong to this history"):
        save_session(s2, tmp_path / "x.relustudio")
    bad = ResumePoint(s.resume.settings, s.resume.step, s.resume.rng_state,
                      (s.resume.optimizer_state[0][:, :, :2], s.resume.optimizer_state[1]))
    with pytest.raises(ValueError, match=r"float32 \(3, 4, 4\) buffers"):
        save_session(dataclasses.replace(s, resume=bad), tmp_path / "y.relustudio")
    path = save_session(s, tmp_path / "ok.relustudio")
    assert load_session(path).resume.step == 15


def test_sessions_without_a_run_in_progress_have_no_resume_point(tmp_path):
    path = save_session(Session.from_settings(), tmp_path / "plain.relustudio")
    assert load_session(path).resume is None
    with pytest.raises(SessionFileError):
        load_session(tmp_path / "missing.relustudio")
