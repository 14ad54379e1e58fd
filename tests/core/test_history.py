"""The studio's history: each snapshot keeps the mode and learning rate that trained it."""
from __future__ import annotations

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core.history import History


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)


def test_switching_mode_mid_run_tags_only_the_snapshots_after_the_switch(data):
    net = rs.init_network(6, 2)
    trainer = rs.Trainer(net, data, mode="all", steps=4000, save_every=1000, seed=2)
    trainer.advance(2000)
    trainer.set_options(mode="output")  # no lr given: the output layer's default, 0.2
    assert trainer.settings.lr == 0.2
    trainer.advance()
    hist = History.start(net, data).extended(trainer.result())
    assert hist.tags == ("init", "all", "all", "all", "output", "output")
    assert np.isnan(hist.lrs[0]) and hist.lrs[1:].tolist() == [0.02, 0.02, 0.02, 0.2, 0.2]
    # The snapshots after the switch really were output-only steps: the hidden layer stood still.
    assert np.array_equal(hist.w1[3], hist.w1[5]) and not np.array_equal(hist.w1[1], hist.w1[3])


def test_set_options_keeps_the_lr_unless_the_mode_changes(data):
    trainer = rs.Trainer(rs.init_network(3, 0), data, mode="all", lr=0.05, steps=100)
    trainer.set_options(mode="all")
    assert trainer.settings.lr == 0.05
    trainer.set_options(lr=0.01)
    assert (trainer.settings.mode, trainer.settings.lr) == ("all", 0.01)
    trainer.set_options(mode="output", lr=0.3)
    assert (trainer.settings.mode, trainer.settings.lr) == ("output", 0.3)
    trainer.set_options(mode="all")
    assert trainer.settings.lr == 0.02


def test_a_one_mode_run_is_tagged_with_its_mode(data):
    run = rs.train(rs.init_network(3, 0), data, mode="output", steps=300, save_every=100, seed=0)
    hist = History.start(run.initial, data).extended(run)
    assert hist.tags == ("init",) + ("output",) * 4 and hist.lrs[1:].tolist() == [0.2] * 4
    assert hist.extended(run, "import").tags[-4:] == ("import",) * 4  # an explicit tag wins
