"""Comparing two sessions bit for bit (a test helper: the app never needs it)."""
from __future__ import annotations

import json

import numpy as np

HISTORY_ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2",
                  "lrs")
RUN_ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2",
              "modes", "lrs")


def _same_array(x, y) -> bool:
    x, y = np.asarray(x), np.asarray(y)
    return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def _norm_json(obj):
    return json.dumps(obj, sort_keys=True, allow_nan=True, default=repr)


def _data_meta(d):
    return (None if d.target is None else d.target.spec, float(d.noise), d.seed, d.source,
            _norm_json(d.extra))


def _same_data(a, b) -> list[str]:
    out = [k for k in ("x", "y", "x_test", "y_test") if not _same_array(getattr(a, k), getattr(b, k))]
    if _data_meta(a) != _data_meta(b):
        out.append("meta")
    return out


def session_diff(a, b) -> list[str]:
    """What differs between two sessions (empty: equal). Arrays are compared bit for bit
    (dtype, shape and bytes); JSON parts after a JSON round trip (tuples equal lists)."""
    out = []
    if a.settings != b.settings:
        out.append("settings")
    for part in ("view", "compare_view", "extra_settings"):
        if _norm_json(getattr(a, part)) != _norm_json(getattr(b, part)):
            out.append(part)
    if a.grid != b.grid:
        out.append("grid")
    out += [f"data.{k}" for k in _same_data(a.data, b.data)]
    if (a.compare_data is None) != (b.compare_data is None) or (
            a.compare_data is not None and _same_data(a.compare_data, b.compare_data)):
        out.append("compare_data")
    if not a.initial.equals(b.initial):
        out.append("initial")
    for k in HISTORY_ARRAYS:
        if not _same_array(getattr(a.history, k), getattr(b.history, k)):
            out.append(f"history.{k}")
    if tuple(a.history.tags) != tuple(b.history.tags):
        out.append("history.tags")
    if set(a.compare_runs) != set(b.compare_runs):
        out.append("compare_runs (keys)")
    else:
        for key, ra in a.compare_runs.items():
            rb = b.compare_runs[key]
            same = (all(_same_array(getattr(ra, k), getattr(rb, k)) for k in RUN_ARRAYS)
                    and ra.initial.equals(rb.initial) and ra.settings == rb.settings
                    and ra.diverged_at == rb.diverged_at and ra.message == rb.message
                    and ra.completed_steps == rb.completed_steps
                    and _norm_json(ra.extra) == _norm_json(rb.extra))
            if not same:
                out.append(f"compare_runs[{key}]")
    return out


def session_equal(a, b) -> bool:
    """True if the sessions are equal, arrays bit for bit (see :func:`session_diff`)."""
    return not session_diff(a, b)
