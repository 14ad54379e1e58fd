"""The one schema of settings: defaults are the notebook's, every limit is enforced the same way
wherever a setting enters (the engine, session files, the CLI, the GUI's fields)."""
from __future__ import annotations

import json
import re

import pytest

import relu_studio as rs
from relu_studio.core.settings import (DEFAULT_LR, LIMITS, MAX_SEED, MAX_WIDTH, MODE_INFO, MODES,
                                       GridSettings, SettingsError, StudioSettings, parse_widths)


def test_the_defaults_are_the_notebooks():
    s = StudioSettings()
    assert (s.target, s.n, s.noise, s.data_seed, s.width, s.init_seed, s.mode) == (
        "piecewise_linear", 200, 0.1, 1, 20, 0, "all")
    assert (s.lr_output, s.lr_all, s.steps, s.batch_size, s.save_every, s.lam) == (
        0.2, 0.02, 150_000, None, 1000, 1e-5)
    g = GridSettings()
    assert (g.widths, g.modes, g.seeds, g.steps, g.lr_output, g.lr_all) == (
        (10, 20, 40), ("output", "all", "ridge"), 1, 150_000, 0.2, 0.02)
    assert dict(DEFAULT_LR) == dict(rs.DEFAULT_LR) == {"output": 0.2, "all": 0.02}
    assert set(MODE_INFO) == set(MODES)


def test_settings_round_trip_through_json():
    s = StudioSettings(width=7, mode="output", lr_output=0.25, batch_size=9, target="sin(2*pi*x)")
    doc = json.loads(json.dumps(s.to_json()))
    assert doc["lr"] == {"output": 0.25, "all": 0.02}
    back, unknown = StudioSettings.from_json({**doc, "from_the_future": [1]})
    assert back == s and unknown == {"from_the_future": [1]}
    g = GridSettings(widths=(3, 5), modes=("all",), seeds=4, batch_size=None)
    assert GridSettings.from_json(json.loads(json.dumps(g.to_json()))) == g


@pytest.mark.parametrize("field, value, message", [
    ("width", 0, "the width must be a whole number between 1 and 100000, got 0"),
    ("width", MAX_WIDTH + 1, "got 100001"),
    ("width", 2.5, "whole number"),
    ("width", True, "got True"),
    ("data_seed", MAX_SEED + 1, "between 0 and 4294967295"),
    ("init_seed", -1, "init seed"),
    ("noise", float("nan"), "finite number >= 0"),
    ("lr_all", 0.0, "> 0"),
    ("steps", 10**12, "between 1 and 1000000000"),
    ("batch_size", 0, "batch size"),
    ("mode", "sideways", "one of output, all, ridge"),
    ("target", "__import__('os')", "the target"),
])
def test_every_limit_is_enforced_with_a_message_naming_the_setting(field, value, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        StudioSettings().changed(**{field: value})
    assert info.value.field in (field, "lr_all", "target", "mode")


def test_the_engine_the_session_reader_and_the_cli_share_the_limits(tmp_path):
    """One limit, one place: a value the schema refuses is refused by each entry point."""
    from relu_studio import cli
    from relu_studio.core.io.session import SessionFileError, load_session, save_session
    from relu_studio.core.io.session import Session

    data = rs.make_dataset(n=10)
    with pytest.raises(rs.TrainingError, match="1000000000"):
        rs.train(rs.init_network(2, 0), data, steps=LIMITS["steps"].hi + 1)
    with pytest.raises(ValueError, match="100000"):
        rs.init_network(MAX_WIDTH + 1)
    path = save_session(Session.from_settings(width=3), tmp_path / "s.relustudio")
    import zipfile

    bad = tmp_path / "bad.relustudio"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            raw = src.read(info)
            if info.filename == "settings.json":
                doc = json.loads(raw)
                doc["width"] = MAX_WIDTH + 1
                raw = json.dumps(doc).encode()
            dst.writestr(info, raw)
    with pytest.raises(SessionFileError, match="setting 'width' must be a whole number between 1 and 100000"):
        load_session(bad)
    assert cli.main(["--widths", str(MAX_WIDTH + 1)]) == 2


def test_widths_are_parsed_deduplicated_and_bounded():
    assert parse_widths("10 20, 40;10") == (10, 20, 40)
    with pytest.raises(SettingsError, match="not a whole number"):
        parse_widths("10 ten")
    with pytest.raises(SettingsError, match="at least one width"):
        parse_widths("  ")
    with pytest.raises(SettingsError, match="at most 12 widths"):
        parse_widths(" ".join(str(w) for w in range(1, 14)))


# --------------------------------------------------------------------------- training choices
def test_training_choices_default_to_the_notebooks_and_round_trip():
    from relu_studio.core.activations import Activation
    from relu_studio.core.inits import Init
    from relu_studio.core.losses import Loss
    from relu_studio.core.optimizers import Optimizer

    s = StudioSettings()
    assert (s.optimizer, s.activation, s.init, s.loss) == (Optimizer("sgd"), Activation("relu"),
                                                           Init("notebook", 1.0), Loss("mse"))
    assert s.is_notebook_training
    chosen = s.changed(optimizer=Optimizer("adam", betas=(0.8, 0.99), weight_decay=1e-4),
                       activation=Activation("leaky_relu", slope=0.1),
                       init=Init("kaiming", 0.5), loss=Loss("huber", 0.3))
    assert not chosen.is_notebook_training
    back, unknown = StudioSettings.from_json(json.loads(json.dumps(chosen.to_json())))
    assert back == chosen and unknown == {}
    # a learning rate given with the optimizer is not kept: the studio's are per mode
    assert s.changed(optimizer=Optimizer("adam", lr=0.5)).optimizer.lr is None
    # JSON forms (as a lesson file writes them) are accepted
    assert s.changed(activation="tanh", optimizer={"name": "rmsprop"}).activation == Activation("tanh")


def test_older_settings_without_choices_load_with_the_notebooks():
    old = StudioSettings().to_json()
    for k in ("optimizer", "activation", "init", "loss"):
        del old[k]
    back, unknown = StudioSettings.from_json(old)
    assert back == StudioSettings() and unknown == {}


@pytest.mark.parametrize("key,value,message", [
    ("optimizer", {"name": "lbfgs"}, "setting 'optimizer': the optimizer must be one of sgd"),
    ("optimizer", {"name": "adam", "betas": [0.9, 1.5]}, "setting 'optimizer': beta2 must be a number in"),
    ("optimizer", {"name": "sgd", "momentum": 0.9}, "setting 'optimizer': SGD has no setting 'momentum'"),
    ("activation", {"name": "softplus", "beta": 0}, "setting 'activation': softplus's beta must be > 0"),
    ("activation", 3, "setting 'activation': the activation must be a JSON object or a name, got 3"),
    ("init", {"name": "torch", "scale": -2}, "setting 'init': the output scale must be"),
    ("loss", {"name": "huber", "delta": 0}, "setting 'loss': Huber's delta must be"),
])
def test_bad_training_choices_are_refused_with_a_message(key, value, message):
    obj = StudioSettings().to_json()
    obj[key] = value
    with pytest.raises(SettingsError, match=re.escape(message)) as info:
        StudioSettings.from_json(obj)
    assert info.value.field == key
