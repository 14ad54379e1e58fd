"""The timeline's log step axis and log-time playback (core/playback.py), on the notebook's
snapshot steps (0, 1, 1000, ..., 150 000) against the closed form ln(1 + s/k)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from relu_studio.core.playback import (INDEX_SHARE, index_at, log_playback_tick, log_positions,
                                       nearest_index, snapshot_knee)
from relu_studio.core.training import snapshot_steps

NOTEBOOK = np.concatenate([[0], snapshot_steps(150_000, 1000)])  # the start, 1, 1000, ..., 150000


def test_the_knee_is_the_usual_snapshot_spacing():
    assert snapshot_knee(NOTEBOOK) == 1000
    assert snapshot_knee([0, 0, 0]) == 1.0 and snapshot_knee([5]) == 1.0


def test_log_positions_follow_the_closed_form():
    pos = log_positions(NOTEBOOK)
    n = NOTEBOOK.size
    i = int(np.searchsorted(NOTEBOOK, 30_000))
    want = (1 - INDEX_SHARE) * math.log(31) / math.log(151) + INDEX_SHARE * i / (n - 1)
    assert pos[i] == pytest.approx(want, rel=1e-12)
    assert pos[0] == 0 and pos[-1] == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.diff(pos) > 0)
    # the migration (first 30 000 of 150 000 steps) gets about two thirds of the axis
    assert 0.6 < pos[i] < 0.75


def test_every_snapshot_stays_reachable_also_several_at_one_step():
    steps = np.array([0, 1, 1000, 2000, 2000, 2000, 3000])  # e.g. hand edits after a run
    pos = log_positions(steps)
    assert np.all(np.diff(pos) > 0)
    assert [nearest_index(pos, p) for p in pos] == list(range(steps.size))
    assert index_at(pos, -1.0) == 0 and index_at(pos, 2.0) == steps.size - 1
    assert list(log_positions([7])) == [0.0] and list(log_positions([4, 4])) == [0.0, 1.0]


def test_log_playback_holds_early_snapshots_and_ends_in_as_many_ticks_as_linear():
    pos = log_positions(NOTEBOOK)
    n = NOTEBOOK.size
    shown, i, u = [0], 0, 0.0
    while i < n - 1:
        i, u = log_playback_tick(pos, i, u)
        shown.append(i)
        assert len(shown) <= n + 1
    assert len(shown) - 1 == n - 1  # n - 1 ticks, as one snapshot per tick
    assert np.all(np.diff(shown) >= 0)
    ticks_before = sum(1 for j in shown if NOTEBOOK[j] < 30_000)
    assert ticks_before == pytest.approx(pos[np.searchsorted(NOTEBOOK, 30_000)] * (n - 1), abs=2)
    # step 1 is held for many ticks (early: slow); the last snapshots are passed in groups (late: fast)
    assert shown.count(1) > 10 and shown[-1] - shown[-21] > 40


def test_playback_never_goes_back_after_a_scrub_ahead():
    pos = log_positions(NOTEBOOK)
    i, u = log_playback_tick(pos, 100, 0.0)  # the user moved to snapshot 100 during playback
    assert i >= 100 and u > pos[100]
