"""The loss pane's layout, computed in the core: the step span, the log step axis, run starts and
edit marks from a real studio history, and labels moved apart without overlapping."""
from __future__ import annotations

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core import loss_layout as ll
from relu_studio.core import studio
from relu_studio.core.playback import INDEX_SHARE, log_positions, snapshot_knee
from relu_studio.core.settings import StudioSettings
from relu_studio.core.studio import StudioState


def test_the_span_is_the_planned_end_else_the_last_step_else_the_next_run():
    assert ll.step_span(0, None, 150_000) == 150_000  # nothing trained: the run to come
    assert ll.step_span(0, 150_000, 999) == 150_000  # a run in progress: its planned end
    assert ll.step_span(150_000, 300_000, 150_000) == 300_000  # a second run continues
    assert ll.step_span(42_000, None, 150_000) == 42_000  # stopped early: what was reached
    assert ll.step_span(0, None, 5_000, reference_last_step=150_000) == 150_000  # previous run fits
    assert ll.step_span(0, None, 0) == 1


def test_log_steps_are_the_timelines_and_put_step_0_at_the_axis_start():
    pos = ll.log_step_position([0, 1000, 30_000, 150_000], knee=1000)
    np.testing.assert_allclose(pos, np.log([1, 2, 31, 151]), rtol=1e-15)
    # The timeline's slider (core.playback) places the snapshots by the same curve.
    steps = np.r_[0, 1, np.arange(1000, 150_001, 1000)]
    slider = log_positions(steps)
    u = ll.log_step_position(steps, snapshot_knee(steps))
    by_index = np.arange(steps.size) / (steps.size - 1)
    np.testing.assert_allclose(slider, (1 - INDEX_SHARE) * u / u[-1] + INDEX_SHARE * by_index, rtol=1e-12)
    assert np.all(np.diff(ll.log_step_position(np.arange(0, 2000), 1000)) > 0)
    major, minor = ll.log_step_ticks(150_000, knee=1000)
    assert [label for _, label in major] == ["0", "1k", "2k", "5k", "10k", "20k", "50k", "100k"]
    for p, label in major[1:]:
        step = int(label[:-1]) * 1000
        assert p == pytest.approx(np.log1p(step / 1000), abs=1e-12)
    assert [p for p, _ in minor] == pytest.approx(np.log1p(np.array([1, 2, 5, 10, 20, 50, 100, 200, 500]) / 1000))
    assert all(label == "" for _, label in minor)
    assert [lab for _, lab in ll.log_step_ticks(7, knee=1)[0]] == ["0", "1", "2", "5"]


@pytest.fixture
def state():
    return StudioState.start(StudioSettings(width=5, steps=500, save_every=100))


def _run(state, steps, mode="all", lr=0.02, seed=0, switch=None):
    trainer = rs.Trainer(state.network, state.data, mode=mode, lr=lr, steps=steps, save_every=100, seed=seed)
    if switch is not None:
        at, new_mode, new_lr = switch
        trainer.advance(at)
        trainer.set_options(mode=new_mode, lr=new_lr)
    trainer.advance()
    return studio.record_run(state, trainer.result(), trainer.network, trainer.step).state


def test_run_starts_and_marks_of_a_studio_history(state):
    s = _run(state, 500)  # snapshots 1, 100..500            indices 1..6
    s = studio.commit_edit(s, studio.preview_edit(s.network.with_elbow(0, 0.5), s.data, 1e-5, False),
                           "Move elbow 0").state  # index 7, step 500
    s = _run(s, 500, seed=1)  # the same settings again, after the edit: indices 8..13 (steps 501..1000)
    s = studio.fit_ridge_now(s).state  # index 14, step 1000
    s = _run(s, 400, seed=2, switch=(250, "output", 0.2))  # 1001, 1100, 1200, [1300, 1400]: output from 1250
    h = s.history
    starts = ll.run_starts(h.steps, h.tags, h.lrs)
    # Independent reference: walk the tags by hand.
    want, prev = [], None
    for i, (tag, lr) in enumerate(zip(h.tags, h.lrs)):
        if tag in ("all", "output") and (tag, lr) != prev:
            want.append((i, int(h.steps[i - 1]), tag, float(lr)))
        prev = (tag, lr) if tag in ("all", "output") else None
    assert [(r.index, r.step, r.mode, r.lr) for r in starts] == want
    assert [(r.step, r.label) for r in starts] == [
        (0, "all layers · lr 0.02"), (500, "all layers · lr 0.02"), (1000, "all layers · lr 0.02"),
        (1200, "output layer · lr 0.2")]
    marks = ll.point_marks(h.tags)
    assert marks["edit"].tolist() == [7] and marks["ridge"].tolist() == [14] and marks["import"].size == 0
    assert ll.previous_label(h.steps, h.tags, h.lrs) == \
        "previous runs: all layers · lr 0.02 … output layer · lr 0.2"
    first = _run(state, 500)
    assert ll.previous_label(first.history.steps, first.history.tags, first.history.lrs) == \
        "previous run: all layers · lr 0.02"


def test_run_starts_of_a_live_view_match_the_frozen_history(state):
    trainer = rs.Trainer(state.network, state.data, mode="output", lr=0.2, steps=500, save_every=100)
    trainer.advance(300)
    view = rs.core.history.HistoryView(state.history, trainer.result())
    tags, lrs = view.tags_and_lrs()
    frozen = view.frozen()
    assert tags.tolist() == list(frozen.tags) and np.array_equal(lrs, frozen.lrs, equal_nan=True)
    assert ll.run_starts(view.curves()[0], tags, lrs) == ll.run_starts(frozen.steps, frozen.tags, frozen.lrs)


@pytest.mark.parametrize("seed", range(20))
def test_spread_labels_never_overlap_keep_order_and_move_only_when_needed(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    centres = rng.uniform(0, 100, n)
    heights = rng.uniform(5, 20, n)
    out = ll.spread_labels(centres, heights, 0.0, 100.0)
    order = np.argsort(centres, kind="stable")
    top, bottom = out[order] - heights[order] / 2, out[order] + heights[order] / 2
    assert np.all(top[1:] >= bottom[:-1] - 1e-9)  # no overlap, order kept
    if heights.sum() <= 100:
        assert top[0] >= -1e-9 and bottom[-1] <= 100 + 1e-9
    alone = ll.spread_labels(centres[:1], heights[:1], -1e9, 1e9)
    assert alone[0] == centres[0]  # nothing to avoid: not moved
    far = ll.spread_labels([10.0, 50.0], [8.0, 8.0], 0.0, 100.0)
    np.testing.assert_array_equal(far, [10.0, 50.0])
