"""Run files, sessions and ``.pt`` exports keep a network's activation and a run's loss; files
without them (older ones, the notebook's) are ReLU and MSE; unknown names are refused clearly."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn

import relu_studio as rs
from relu_studio.core.history import History
from relu_studio.core.io import run_files as hio
from relu_studio.core.io.session import Session, SessionFileError, load_session, save_session
from relu_studio.core.io.torch_files import (ACTIVATION_MEMBER, TorchFileError, export_message,
                                             export_state_dict, load_network_pt, torch_model_line)
from test_activations_training import Abs

DATA = rs.make_dataset("piecewise_linear", 60, 0.1, 1)
GELU = rs.Activation("gelu_tanh")
LEAKY = rs.Activation("leaky_relu", slope=0.2)


def a_run(act=GELU, loss=rs.Loss("huber", delta=0.3)):
    return rs.train(rs.init_network(4, 1).replace(activation=act), DATA, steps=300, save_every=100,
                    optimizer=rs.Optimizer("adam", lr=1e-2), loss=loss)


def test_a_run_file_keeps_the_activation_and_the_loss_bit_for_bit(tmp_path):
    run = a_run()
    back = hio.load_run_npz(hio.save_run_npz(run, tmp_path / "r.npz"))
    assert back.initial.activation == GELU and back.snapshot(1).activation == GELU
    assert back.settings.loss == rs.Loss("huber", delta=0.3)
    assert back.initial.equals(run.initial) and back.final.equals(run.final)
    for name in ("train_error", "full_train_error", "test_error", "w1", "b2"):
        assert np.array_equal(getattr(back, name), getattr(run, name))


def test_a_relu_mse_run_file_is_written_as_before_and_older_files_read_as_relu_mse(tmp_path):
    run = a_run(rs.Activation(), None)
    raw = hio.run_to_npz_bytes(run)
    with np.load(io.BytesIO(raw)) as z:
        assert "activation" not in json.loads(str(z["meta"][0]))
        assert "loss" not in json.loads(str(z["settings"][0]))
    back = hio.run_from_npz_bytes(raw)
    assert back.initial.activation.is_relu and back.settings.loss is None


def _rewrite(raw: bytes, key: str, change) -> bytes:
    with np.load(io.BytesIO(raw)) as z:
        arrays = {k: z[k] for k in z.files}
    doc = json.loads(str(arrays[key][0]))
    change(doc)
    arrays[key] = np.array([json.dumps(doc)])
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("key, change, message", [
    ("meta", lambda d: d.update(activation={"name": "swish"}), "the activation is invalid: the activation must be one of"),
    ("meta", lambda d: d.update(activation={"name": "elu", "alpha": -1}), "ELU's alpha must be >= 0"),
    ("settings", lambda d: d.update(loss={"name": "hinge"}), "the loss is invalid: the loss must be one of mse, mae, huber"),
    ("settings", lambda d: d.update(loss={"name": "huber", "delta": 0}), "Huber's delta must be a finite number > 0"),
])
def test_an_unknown_activation_or_loss_in_a_run_file_is_refused_clearly(key, change, message):
    raw = _rewrite(hio.run_to_npz_bytes(a_run()), key, change)
    with pytest.raises(hio.HistoryFileError, match=message):
        hio.run_from_npz_bytes(raw, "bad.npz")


def test_a_session_keeps_the_activation_of_its_network_and_history(tmp_path):
    s = Session.from_settings(width=4)
    net = s.initial.replace(activation=LEAKY)
    history = History.start(net, s.data).extended(
        rs.train(net, s.data, steps=200, save_every=100, loss=rs.Loss("mae")))
    s = Session(settings=s.settings, data=s.data, initial=net, history=history)
    back = load_session(save_session(s, tmp_path / "s.relustudio"))
    assert back.initial.activation == LEAKY and back.history.activation == LEAKY
    assert back.current.equals(s.current) and back.current.activation == LEAKY
    # a ReLU session's history.json is as before: no activation entry
    plain = Session.from_settings(width=3)
    with zipfile.ZipFile(save_session(plain, tmp_path / "p.relustudio")) as zf:
        assert json.loads(zf.read("history.json")) == {"tags": ["init"]}
    assert load_session(tmp_path / "p.relustudio").current.activation.is_relu


def test_a_session_with_an_unknown_activation_is_refused_clearly(tmp_path):
    path = save_session(Session.from_settings(width=3), tmp_path / "s.relustudio")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["history.json"] = json.dumps({"tags": ["init"], "activation": "swish"}).encode()
    bad = tmp_path / "bad.relustudio"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, raw in members.items():
            zf.writestr(n, raw)
    with pytest.raises(SessionFileError, match="history.json: the activation is invalid"):
        load_session(bad)


# --------------------------------------------------------------------------- .pt
@pytest.mark.parametrize("act", [GELU, LEAKY, rs.Activation("softplus", beta=2.0),
                                 rs.Activation("elu", alpha=0.5), rs.Activation("abs"), rs.Activation()],
                         ids=lambda a: a.name)
def test_a_pt_export_loads_into_torchs_model_and_back_with_its_activation(tmp_path, act):
    net = rs.init_network(5, 2).replace(activation=act)
    path = export_state_dict(net, tmp_path / "n.pt")
    back = load_network_pt(path)
    assert back.equals(net) and back.activation == act
    # torch reads it with weights_only=True into the model the export names (|x|: Abs())
    spec = act.torch_module()
    module = Abs() if spec is None else getattr(nn, spec[0])(**spec[1])
    model = nn.Sequential(nn.Linear(1, 5), module, nn.Linear(5, 1))
    args = "" if spec is None else ", ".join(f"{k}={v!r}" for k, v in spec[1].items())
    assert torch_model_line(net) == (f"nn.Sequential(nn.Linear(1, 5), "
                                     f"{'Abs' if spec is None else 'nn.' + spec[0]}({args}), nn.Linear(5, 1))")
    model.load_state_dict(torch.load(path, weights_only=True), strict=True)
    x = np.linspace(-1, 2, 50)
    with torch.no_grad():
        out = model(torch.from_numpy(x.astype(np.float32)).reshape(-1, 1)).numpy().ravel()
    np.testing.assert_allclose(out, net.predict(x), rtol=1e-5, atol=1e-6)
    with zipfile.ZipFile(path) as zf:
        recorded = [n for n in zf.namelist() if n.endswith(ACTIVATION_MEMBER)]
    assert len(recorded) == (0 if act.is_relu else 1)  # a ReLU file is the notebook's


def test_the_export_message_shows_the_model_line_and_says_abs_has_no_module():
    gelu = export_message(rs.init_network(3, 0).replace(activation=GELU), "n.pt")
    assert "nn.Sequential(nn.Linear(1, 3), nn.GELU(approximate='tanh'), nn.Linear(3, 1))" in gelu
    assert "weights_only=True" in gelu and "|x|" not in gelu
    relu = export_message(rs.init_network(3, 0), "n.pt")
    assert "nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1))" in relu
    a = export_message(rs.init_network(3, 0).replace(activation=rs.Activation("abs")), "n.pt")
    assert "Abs()" in a and "torch.nn has no |x| module" in a


def test_a_pt_file_with_an_unknown_activation_is_refused_clearly(tmp_path):
    path = export_state_dict(rs.init_network(3, 0).replace(activation=GELU), tmp_path / "n.pt")
    with zipfile.ZipFile(path) as zf:
        members = [(i, zf.read(i)) for i in zf.infolist()]
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(bad, "w") as zf:
        for info, raw in members:
            if info.filename.endswith(ACTIVATION_MEMBER):
                raw = b'{"name": "swish"}'
            if info.filename.endswith(".relu_studio_sha256"):
                continue  # a hand-edited file carries no checksum of ours
            zf.writestr(info, raw)
    with pytest.raises(TorchFileError, match="bad.pt: the recorded activation is invalid"):
        load_network_pt(bad)
