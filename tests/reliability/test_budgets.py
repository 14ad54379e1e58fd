"""Small inputs that would cost gigabytes are refused from the settings, before any work: runs
with too many snapshots, minibatch buffers too large, sessions that ask for either."""
from __future__ import annotations

import time

import pytest

import relu_studio as rs
from relu_studio import cli
from relu_studio.core.budget import snapshot_count
from relu_studio.core.settings import GridSettings, SettingsError, StudioSettings
from relu_studio.core.training import snapshot_steps


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset(n=200)


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=10**12), "between 1 and 1000000000"),
    (dict(steps=10**8, save_every=1), "100,000,000 snapshots of a width-400 network"),
    (dict(steps=1000, batch_size=10**6), "minibatch of 1,000,000 points"),
])
def test_the_engine_refuses_runs_beyond_the_budget_at_once(data, kwargs, message):
    t0 = time.perf_counter()
    with pytest.raises(rs.TrainingError, match=message):
        rs.Trainer(rs.init_network(400, 0), data, mode="all", **kwargs)
    assert time.perf_counter() - t0 < 5  # refused from the settings: nothing was allocated


def test_the_snapshot_count_is_counted_not_listed():
    for steps, every in ((1, 1), (250, 100), (300, 100), (40, 1000), (5, 1), (10**9, 7)):
        if steps < 10**6:
            assert snapshot_count(steps, every) == len(snapshot_steps(steps, every))
    assert snapshot_count(10**9, 1) == 10**9


def test_a_large_batch_draws_its_indices_in_small_pieces(data):
    """A batch of many points runs, and gives the same draws as the notebook's, whatever the piece."""
    run = rs.train(rs.init_network(2, 0), rs.make_dataset(n=60_000), mode="output", steps=40,
                   batch_size=200_000, save_every=10, seed=3)
    assert run.completed_steps == 40


def test_the_gui_and_session_settings_obey_the_same_budget():
    with pytest.raises(SettingsError, match="snapshots of a width-20 network"):
        StudioSettings().changed(steps=10**8, save_every=1)
    with pytest.raises(SettingsError, match="minibatch of 1,000,000 points on a width-1,000"):
        StudioSettings().changed(width=1000, batch_size=10**6)
    with pytest.raises(SettingsError, match="snapshots of a width-40 network"):
        GridSettings().changed(steps=10**8, save_every=1)


@pytest.mark.parametrize("argv, message", [
    (["--steps", "1e18"], "--steps must be a whole number between 1 and 1000000000"),
    (["--steps", "100000000", "--save-every", "1"], "snapshots of a width-40 network"),
    (["--batch-size", "1000000", "--widths", "1000"], "minibatch of 1,000,000 points"),
])
def test_the_cli_refuses_them_in_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_studio_says_so_instead_of_allocating(qapp):
    from relu_studio.ui.studio_controller import StudioController

    c = StudioController()
    try:
        err = c.set_setting("save_every", 1)
        assert err is None  # 150 001 snapshots of width 20: 40 MB, fine
        err = c.set_setting("steps", 10**8)
        assert err is not None and "snapshots" in err and c.settings.steps == 150_000
    finally:
        assert c.shutdown()
