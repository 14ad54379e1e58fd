"""The canvas's lesson marks computed in the core: elbow trails, the truth curve drawn through its
limits, which data set each snapshot was made on, the slope handles' gutter and lanes, and which
snapshots an animation's frames use (chosen in steps)."""
from __future__ import annotations

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core import studio
from relu_studio.core.editing import Drag, data_range, handle_layout, handle_positions
from relu_studio.core.elbow_trails import elbow_trails, history_parameters, trail_heights
from relu_studio.core.history import History, HistoryView
from relu_studio.core.io.animation import frame_indices, snapshot_at_step
from relu_studio.core.targets import get_target, piecewise_linear
from relu_studio.core.truth_curve import truth_curve, truth_tooltip


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)


def segments(xs, ys):
    """The drawn segments of a NaN-separated polyline, as ((x0, y0), (x1, y1)) pairs."""
    out = []
    for i in range(len(xs) - 1):
        p, q = (xs[i], ys[i]), (xs[i + 1], ys[i + 1])
        if np.all(np.isfinite(p)) and np.all(np.isfinite(q)):
            out.append((p, q))
    return out


# --------------------------------------------------------------------------- elbow trails
def test_trail_points_are_minus_b_over_w_of_every_snapshot(data):
    net = rs.init_network(7, 3)
    run = rs.train(net, data, mode="all", steps=3000, save_every=500, seed=0)
    hist = History.start(net, data).extended(run)
    t = elbow_trails(hist.steps, hist.w1, hist.b1)
    for j in range(hist.width):
        mine = t.x[t.units == j]
        ref = -hist.b1[:, j].astype(np.float64) / hist.w1[:, j].astype(np.float64)  # one unit, no breaks
        assert np.array_equal(mine, ref)
        assert np.array_equal(t.steps[t.units == j], hist.steps.astype(float))
    # Up to snapshot 3 only: four points per unit.
    t3 = elbow_trails(hist.steps, hist.w1, hist.b1, upto=3)
    assert np.count_nonzero(t3.units == 0) == 4 and t3.steps[np.isfinite(t3.steps)].max() == hist.steps[3]


def test_a_trail_breaks_where_w_is_zero_or_changes_sign():
    steps = np.arange(7) * 100
    w = np.array([[1.0], [2.0], [-1.0], [-2.0], [0.0], [3.0], [4.0]], np.float32)
    b = np.array([[-0.5], [-0.8], [0.3], [0.8], [0.1], [-0.6], [-2.0]], np.float32)
    t = elbow_trails(steps, w, b)
    with np.errstate(divide="ignore"):
        e = -b[:, 0].astype(np.float64) / w[:, 0].astype(np.float64)
    drawn = segments(t.x, t.steps)
    connected = {(int(p[1]), int(q[1])) for p, q in drawn}
    # Same sign on both ends: connected; across a sign change or a zero w: not.
    assert connected == {(0, 100), (200, 300), (500, 600)}
    for p, q in drawn:
        assert p[0] == e[int(p[1]) // 100] and q[0] == e[int(q[1]) // 100]
    assert not np.isfinite(t.x[t.steps == 400]).any()  # w = 0: no elbow at all


def test_long_histories_are_thinned_keeping_both_ends():
    m, h = 5000, 50
    rng = np.random.default_rng(0)
    w = rng.uniform(0.5, 1.0, (m, h)).astype(np.float32)
    b = -rng.uniform(0, 1, (m, h)).astype(np.float32) * w
    t = elbow_trails(np.arange(m), w, b, max_points=10_000)
    assert t.snapshots[0] == 0 and t.snapshots[-1] == m - 1 and t.snapshots.size <= 10_000 // h
    assert np.count_nonzero(np.isfinite(t.x)) <= 10_000


def test_trail_heights_put_the_shown_step_on_the_axis_and_step_0_at_the_depth():
    y = trail_heights([0, 10, 1000, 150_000, np.nan], 150_000, 0.5)
    assert y[0] == pytest.approx(-0.5) and y[3] == 0.0 and np.isnan(y[4])
    assert np.all(np.diff(y[:4]) > 0)  # later steps nearer the axis
    assert y[1] == pytest.approx(-0.5 * (1 - np.log1p(10) / np.log1p(150_000)))


def test_history_parameters_of_a_live_view_equal_the_frozen_history(data):
    net = rs.init_network(5, 1)
    base = History.start(net, data)
    trainer = rs.Trainer(net, data, mode="all", steps=3000, save_every=1000, seed=0)
    trainer.advance()
    view = HistoryView(base, trainer.result())
    frozen = view.frozen()
    for upto in (0, 2, len(view) - 1):
        s, w1, b1 = history_parameters(view, upto)
        assert np.array_equal(s, frozen.steps[:upto + 1])
        assert np.array_equal(w1, frozen.w1[:upto + 1]) and np.array_equal(b1, frozen.b1[:upto + 1])


# --------------------------------------------------------------------------- the truth curve
def test_the_notebook_target_is_drawn_through_its_limit_at_x_1(data):
    # By its formula the target is 0 at x = 1 (and at every multiple of 0.1); the pieces meet at
    # sin(12345 k). The data keep the formula's values; the curve is drawn at the limit.
    assert data.y_test[-1] == 0.0 and data.x_test[-1] == 1.0
    curve = truth_curve(data.target, data.x_test)
    assert curve.x[-1] == 1.0 and curve.y[-1] == pytest.approx(np.sin(12345 * 10), abs=1e-9)
    assert np.count_nonzero(curve.x == 1.0) == 1  # no second point: no vertical segment
    assert [m[0] for m in curve.moved] == [1.0]
    # Everywhere else the drawn curve is the formula itself.
    assert np.array_equal(curve.x[:-1], data.x_test[:-1]) and np.array_equal(curve.y[:-1], data.y_test[:-1])
    tip = truth_tooltip(data.target, curve)
    assert "x = 1" in tip and "multiple of 0.1" in tip and "test MSE" in tip


def test_interior_multiples_are_drawn_at_the_value_the_pieces_meet():
    x = np.linspace(0, 1, 11)  # exactly the multiples of 0.1
    curve = truth_curve(piecewise_linear, x)
    k = np.arange(11)
    want = np.sin(12345 * k)
    want[0] = 0.0  # at 0 the formula and its right limit agree (sin 0)
    assert np.allclose(curve.y, want, atol=1e-9) and np.array_equal(curve.x, x)


@pytest.mark.parametrize("spec", ["sin(20x)", "abs", "step", "square", "abs(x - 0.3)"])
def test_functions_without_isolated_points_are_drawn_as_they_are(spec):
    target = get_target(spec)
    x = np.linspace(0, 1, 1001)
    curve = truth_curve(target, x)
    assert curve.moved == () and np.array_equal(curve.y, target(x))


# --------------------------------------------------------------------------- data per snapshot
def test_the_history_knows_which_data_each_snapshot_was_made_on():
    state = studio.StudioState.start()
    state = studio.record_run(state, rs.train(state.network, state.data, steps=2000, save_every=1000),
                              state.network, 2000).state
    before = state.data
    n_before = len(state.history)
    moved = before.with_points(np.append(before.x, 0.5), np.append(before.y, 2.0))
    preview = studio.preview_edit(state.network, moved, 1e-5, False)
    state = studio.commit_edit(state, preview, "Add data point").state
    hist = state.history
    assert all(hist.data_at(i) is before for i in range(n_before))
    assert hist.data_at(n_before) is state.data and state.data.n == before.n + 1
    # Training on goes on with the new data; a view of a live run says so too.
    run = rs.train(state.network, state.data, steps=1000, save_every=500)
    longer = hist.extended(run)
    assert longer.data_at(len(longer) - 1) is state.data and longer.data_at(0) is before
    assert HistoryView(hist, run).data_at(len(hist) + 1) is state.data
    # New data restart the history, and with it what it knows.
    fresh = studio.regenerate(state, seed=2).state
    assert fresh.history.data == ((0, fresh.data),)


def test_a_history_from_a_file_does_not_claim_to_know_its_data(data):
    net = rs.init_network(3, 0)
    h = History.start(net, data)
    unknown = History(h.steps, h.train_error, h.full_train_error, h.test_error, h.w1, h.b1, h.w2, h.b2,
                      h.tags, h.lrs)
    assert unknown.data_at(0) is None
    later = unknown.appended(net, data, "edit")  # from here on it knows
    assert later.data_at(0) is None and later.data_at(1) is data


# --------------------------------------------------------------------------- slope handles
def test_handles_sit_in_a_gutter_outside_the_data_on_their_units_lines(data):
    net = rs.init_network(20, 0)
    lo, hi = data_range(data)
    gap = 0.03
    xs, ys = handle_layout(net, lo, hi, gap=gap)
    base_x, _ = handle_positions(net, lo, hi)
    assert np.all((xs == hi + gap) | (xs == lo - gap))
    assert np.array_equal(xs > 0.5, base_x == hi)  # the same side as the anchors at the data's ends
    assert np.allclose(ys, net.w1.astype(np.float64) * xs + net.b1.astype(np.float64), rtol=0, atol=1e-12)
    assert not np.any((xs >= lo) & (xs <= hi))  # never over the data's x range


def test_handles_that_would_overlap_go_side_by_side_in_lanes(data):
    net = rs.init_network(20, 0)
    lo, hi = data_range(data)
    gap, lane, min_dy = 0.03, 0.02, 0.15
    xs, ys = handle_layout(net, lo, hi, gap=gap, lane=lane, min_dy=min_dy, lanes=8)
    assert len(set(np.round(np.abs(xs - 0.5), 9))) > 1  # some moved out to a second lane
    for a in range(net.width):
        for b in range(a + 1, net.width):
            if abs(xs[a] - xs[b]) < 1e-12:  # the same lane on the same side: never overlapping
                assert abs(ys[a] - ys[b]) >= min_dy - 1e-12
    # Still on their lines, so dragging one vertically sets its slope from where it is drawn.
    assert np.allclose(ys, net.w1.astype(np.float64) * xs + net.b1.astype(np.float64), rtol=0, atol=1e-12)
    j = 4
    drag = Drag("handle", j, net, data, anchor=xs[j])
    moved, _ = drag.move(0.5, 1.25)
    assert moved.w1[j] == pytest.approx(1.25 / (xs[j] - net.elbows[j]), rel=1e-6)


# --------------------------------------------------------------------------- animation frames in steps
STEPS = np.array([0, 1] + list(range(1000, 150_001, 1000)))


def test_frames_are_chosen_in_steps():
    assert snapshot_at_step(STEPS, 0) == 0 and snapshot_at_step(STEPS, 2500) == 3  # step 2000
    idx = frame_indices(STEPS, 0, 150_000, 11)
    assert idx[0] == 0 and idx[-1] == len(STEPS) - 1 and len(idx) == 11
    assert [int(STEPS[i]) for i in idx[1:]] == list(range(15_000, 150_001, 15_000))
    part = frame_indices(STEPS, 20_000, 40_000, 3)
    assert [int(STEPS[i]) for i in part] == [20_000, 30_000, 40_000]
    assert frame_indices(STEPS, 500, 2500, 50) == [2, 3]  # only two snapshots in that range


def test_log_spacing_gives_the_early_steps_more_frames():
    even = frame_indices(STEPS, 0, 150_000, 30)
    log = frame_indices(STEPS, 0, 150_000, 30, "log")
    early = lambda idx: sum(STEPS[i] <= 30_000 for i in idx)  # noqa: E731
    assert len(log) == 30 and early(log) > 2 * early(even)
    assert log == sorted(set(log)) and log[0] == 0 and log[-1] == len(STEPS) - 1
    with pytest.raises(ValueError):
        frame_indices(STEPS, 0, 10, 3, "cubic")


# --------------------------------------------------------------------------- data per snapshot, on disk
def _edited_session():
    from relu_studio.core.io.session import Session

    state = studio.StudioState.start()
    state = studio.record_run(state, rs.train(state.network, state.data, steps=2000, save_every=1000),
                              state.network, 2000).state
    d = state.data
    moved = d.with_points(np.append(d.x, 0.5), np.append(d.y, 2.0))
    state = studio.commit_edit(state, studio.preview_edit(state.network, moved, 1e-5, False), "Add").state
    return Session(settings=state.settings, data=state.data, initial=state.initial, history=state.history), d


def test_a_saved_session_remembers_which_data_each_snapshot_was_made_on(tmp_path):
    from relu_studio.core.io.session import load_session, save_session

    session, before = _edited_session()
    back = load_session(save_session(session, tmp_path / "s.relustudio")).history
    n = len(session.history)
    assert [i for i, _d in back.data] == [0, n - 1]
    old = back.data_at(0)
    assert np.array_equal(old.x, before.x) and np.array_equal(old.y, before.y)
    assert old.x_test is not None and np.array_equal(old.x_test, before.x_test)
    new = back.data_at(n - 1)
    assert new.n == before.n + 1 and 2.0 in new.y and np.array_equal(new.x_test, before.x_test)


def test_the_sessions_own_data_are_not_stored_twice():
    import io
    import zipfile

    from relu_studio.core.io.session import Session, session_to_bytes

    state = studio.StudioState.start()
    raw = session_to_bytes(Session(settings=state.settings, data=state.data, initial=state.initial,
                                   history=state.history))
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        arrays = np.load(io.BytesIO(zf.read("arrays.npz")))
        assert arrays["history_data_sizes"].tolist() == [-1] and arrays["history_data_x"].size == 0


@pytest.mark.parametrize("change, why", [
    (lambda a: a.update(history_data_first=np.array([3, 1])), "must increase"),
    (lambda a: a.update(history_data_sizes=np.array([-1, 5])), "must hold"),
    (lambda a: a.pop("history_data_x"), "not all of"),
    (lambda a: a.update(history_data_y=np.full_like(a["history_data_y"], np.nan)), "NaN"),
])
def test_damaged_data_marks_are_refused_with_the_reason(tmp_path, change, why):
    import io
    import zipfile

    from relu_studio.core.io.session import SessionFileError, load_session, session_to_bytes

    session, _before = _edited_session()
    raw = session_to_bytes(session)
    src = zipfile.ZipFile(io.BytesIO(raw))
    arrays = dict(np.load(io.BytesIO(src.read("arrays.npz"))))
    change(arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path = tmp_path / "bad.relustudio"
    with zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            out.writestr(info.filename, buf.getvalue() if info.filename == "arrays.npz" else src.read(info))
    with pytest.raises(SessionFileError, match=why):
        load_session(path)
