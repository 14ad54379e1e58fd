"""PyTorch interop: state_dict .pt export/import, the notebook's history, and refusal of bad files."""
from __future__ import annotations

import copy
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as nn

import relu_studio as rs
from relu_studio.core.history import History, network_errors
from relu_studio.core.io.session import Session
from session_compare import session_equal
from relu_studio.core.io.torch_files import (
    TorchFileError, export_state_dict, load_network_pt, load_notebook_history,
)
from notebook_reference import notebook_net, notebook_train_network, to_torch

torch.set_num_threads(1)
U32 = 2.0**-24  # float32 unit round-off


def sequential(h: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(1, h), nn.ReLU(), nn.Linear(h, 1))


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)


@pytest.fixture(scope="module")
def trained(data):
    return rs.train(rs.init_network(20, 0), data, "all", lr=0.02, steps=3000, save_every=1000)


# --------------------------------------------------------------------------- export
@pytest.mark.parametrize("which", ["initial", "snapshot", "final"])
def test_exported_pt_loads_into_the_notebook_model_and_predicts_the_same(tmp_path, trained, data,
                                                                          which):
    net = {"initial": trained.initial, "snapshot": trained.snapshot(1), "final": trained.final}[which]
    path = export_state_dict(net, tmp_path / f"{which}.pt")
    model = sequential(net.width)
    sd = torch.load(path, map_location="cpu", weights_only=True)
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(v.dtype == torch.float32 for v in sd.values())
    model.load_state_dict(sd, strict=True)
    # The parameters are the network's, bit for bit.
    assert np.array_equal(model[0].weight.detach().numpy().ravel(), net.w1)
    assert np.array_equal(model[0].bias.detach().numpy(), net.b1)
    assert np.array_equal(model[2].weight.detach().numpy().ravel(), net.w2)
    assert model[2].bias.item() == net.b2
    x = data.x_test
    with torch.no_grad():
        got = model(to_torch(x.reshape(-1, 1))).numpy().ravel().astype(np.float64)
    want = net.predict(x)
    # torch evaluates in float32 (possibly with fused multiply-adds and a different summation
    # order); Network.predict rounds the hidden units to float32 as torch does, then sums in
    # float64. The standard bound for a float32 sum of H + 1 terms plus the hidden layer's two
    # roundings is (H + 3) u sum_j |w2_j h_j| + |b2| terms, u = 2**-24; we allow twice that.
    terms = np.abs(net.hidden(x).astype(np.float64) * net.w2.astype(np.float64)).sum(1) + abs(net.b2)
    tol = 2 * (net.width + 3) * U32 * terms
    assert np.all(np.abs(got - want) <= tol), np.max(np.abs(got - want) / tol)
    assert np.max(np.abs(got - want)) < 1e-5  # in absolute terms: float32 round-off


def test_pt_round_trips_bit_for_bit(tmp_path, trained):
    for i in range(len(trained)):
        net = trained.snapshot(i)
        assert load_network_pt(export_state_dict(net, tmp_path / f"s{i}.pt")).equals(net)
    assert load_network_pt(tmp_path / "s0.pt", expected_width=20).width == 20


def test_a_torch_state_dict_loads_exactly(tmp_path):
    model = notebook_net(13, 4)
    path = tmp_path / "notebook.pt"
    torch.save(model.state_dict(), path)
    net = load_network_pt(path)
    assert net.equals(rs.init_network(13, 4))  # the notebook's init, bit for bit
    legacy = tmp_path / "legacy.pt"
    torch.save(model.state_dict(), legacy, _use_new_zipfile_serialization=False)
    assert load_network_pt(legacy).equals(net)
    # float64 tensors are accepted and rounded to the model's float32
    torch.save({k: v.double() for k, v in model.state_dict().items()}, tmp_path / "f64.pt")
    assert load_network_pt(tmp_path / "f64.pt").equals(net)


def test_export_is_atomic(tmp_path, trained, monkeypatch):
    path = export_state_dict(trained.initial, tmp_path / "net.pt")
    before = path.read_bytes()
    monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError(28, "full")))
    with pytest.raises(OSError):
        export_state_dict(trained.final, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["net.pt"]


# --------------------------------------------------------------------------- the notebook's history
@pytest.fixture(scope="module")
def notebook_history(tmp_path_factory, data):
    net = notebook_net(10, 0)
    opt = torch.optim.SGD(params=list(net.parameters()), lr=0.02)
    np.random.seed(0)
    hist = notebook_train_network(data.x.reshape(-1, 1), data.y, data.x_test.reshape(-1, 1),
                                  data.y_test, net, opt, n_steps=600, save_every=200)
    path = tmp_path_factory.mktemp("nb") / "history.pt"
    torch.save(hist, path)
    return hist, path


def test_notebook_history_loads_into_a_history(notebook_history, data):
    hist, path = notebook_history
    h = load_notebook_history(path)
    assert isinstance(h, History)
    assert h.steps.tolist() == [1, 200, 400, 600] and h.steps.dtype == np.int64
    assert h.tags == ("notebook",) * 4 and h.width == 10
    for i, s in enumerate(h.steps.tolist()):
        assert h.train_error[i] == hist[s]["train_error"]
        assert h.test_error[i] == hist[s]["test_error"]
        state = hist[s]["state"]
        assert np.array_equal(h.w1[i], state["0.weight"].numpy().ravel())
        assert np.array_equal(h.b1[i], state["0.bias"].numpy())
        assert np.array_equal(h.w2[i], state["2.weight"].numpy().ravel())
        assert h.b2[i] == state["2.bias"].item()
    assert np.all(np.isnan(h.full_train_error))
    # the notebook's test error (float32) agrees with ours (float64) to float32 round-off
    ours = np.array([network_errors(h.network(i), data)[1] for i in range(len(h))])
    assert np.allclose(ours, h.test_error, rtol=1e-5)
    with_data = load_notebook_history(path, data=data, expected_width=10)
    assert np.array_equal(with_data.full_train_error,
                          [network_errors(h.network(i), data)[0] for i in range(len(h))])
    # it goes on a session's timeline after the initial network
    init = rs.init_network(10, 0)
    timeline = History.start(init, data).extended_with(h)
    assert timeline.steps.tolist() == [0, 1, 200, 400, 600]
    assert timeline.tags[0] == "init" and timeline.last.equals(h.last)


def test_history_keys_need_not_be_in_order(tmp_path, notebook_history):
    hist, _ = notebook_history
    shuffled = {s: hist[s] for s in (600, 1, 400, 200)}
    torch.save(shuffled, tmp_path / "h.pt")
    assert load_notebook_history(tmp_path / "h.pt").steps.tolist() == [1, 200, 400, 600]


# --------------------------------------------------------------------------- malicious files
class Evil:
    """Unpickling this runs a shell command (the classic pickle attack)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def evil_files(folder, marker):
    files = {}
    good = dict(rs.init_network(3, 0).to_state_dict(as_torch=True))
    files["torch.save"] = folder / "evil_torch.pt"
    torch.save({**good, "0.weight": Evil(marker)}, files["torch.save"])
    files["legacy torch.save"] = folder / "evil_legacy.pt"
    torch.save(Evil(marker), files["legacy torch.save"], _use_new_zipfile_serialization=False)
    for proto in (0, 2, 4, 5):
        files[f"pickle protocol {proto}"] = folder / f"evil_p{proto}.pt"
        with open(files[f"pickle protocol {proto}"], "wb") as f:
            pickle.dump(Evil(marker), f, protocol=proto)
    files["history entry"] = folder / "evil_history.pt"
    torch.save({1: {"state": good, "train_error": Evil(marker), "test_error": 0.1}},
               files["history entry"])
    return files


@pytest.mark.parametrize("loader", [load_network_pt, load_notebook_history])
def test_malicious_pickles_are_refused_and_never_run(tmp_path, loader):
    marker = tmp_path / "pwned_marker"
    files = evil_files(tmp_path, marker)
    # the attack is real: an unsafe load would run it
    with open(files["pickle protocol 2"], "rb") as f:
        pickle.load(f)
    assert marker.exists()
    marker.unlink()
    for what, path in files.items():
        with pytest.raises(TorchFileError) as info:
            loader(path)
        msg = str(info.value)
        assert msg.startswith(f"{path.name}: "), what
        assert msg.startswith(f"{path.name}: refused: ") or "not a PyTorch file" in msg, (what, msg)
        assert not marker.exists(), what
    for what in ("torch.save", "legacy torch.save", "pickle protocol 2", "history entry"):
        msg = str(pytest.raises(TorchFileError, loader, files[what]).value)
        assert "refused: the file contains Python code or objects that are not plain tensors" in msg
        assert "posix.system" in msg or "nt.system" in msg


# --------------------------------------------------------------------------- broken files
def _sd(h=4, seed=0):
    return OrderedDict(rs.init_network(h, seed).to_state_dict(as_torch=True))


def _with(**changes):
    d = _sd()
    for k, v in changes.items():
        if v is None:
            del d[k]
        else:
            d[k] = v
    return d


def _nan_weight():
    d = _sd()
    d["2.weight"] = d["2.weight"].clone()
    d["2.weight"][0, 1] = float("nan")
    return d


BROKEN_PT = {
    "wrong keys": (lambda p: torch.save({"fc1.weight": torch.zeros(4, 1), "fc1.bias": torch.zeros(4),
                                         "fc2.weight": torch.zeros(1, 4), "fc2.bias": torch.zeros(1)}, p),
                   r"missing \['0.bias', '0.weight', '2.bias', '2.weight'\], unexpected"),
    "extra key": (lambda p: torch.save(_with(**{"4.weight": torch.zeros(1)}), p),
                  r"unexpected \['4.weight'\]"),
    "missing key": (lambda p: torch.save(_with(**{"2.bias": None}), p), r"missing \['2.bias'\]"),
    "wrong shape": (lambda p: torch.save(_with(**{"0.weight": torch.zeros(1, 4)}), p),
                    r"'0.weight' has shape \(1, 4\); expected \(4, 1\) for width 4"),
    "two inputs": (lambda p: torch.save(_with(**{"0.weight": torch.zeros(4, 2)}), p),
                   r"'0.weight' has shape \(4, 2\); expected \(4, 1\)"),
    "int dtype": (lambda p: torch.save(_with(**{"0.bias": torch.arange(4)}), p),
                  "'0.bias' has dtype torch.int64; a floating-point tensor is needed"),
    "bool dtype": (lambda p: torch.save(_with(**{"2.bias": torch.tensor([True])}), p),
                   "'2.bias' has dtype torch.bool"),
    "complex dtype": (lambda p: torch.save(_with(**{"0.bias": torch.zeros(4, dtype=torch.complex64)}), p),
                      "'0.bias' is not a dense real floating-point tensor"),
    "NaN": (lambda p: torch.save(_nan_weight(), p), "'2.weight' contains NaN or infinite values"),
    "inf": (lambda p: torch.save(_with(**{"2.bias": torch.tensor([float("inf")])}), p),
            "'2.bias' contains NaN or infinite values"),
    "list values": (lambda p: torch.save(_with(**{"0.bias": [0.0, 0.0, 0.0, 0.0]}), p),
                    "'0.bias' is a list, not a tensor"),
    "a tensor": (lambda p: torch.save(torch.zeros(3), p), "expected a state dict .*got Tensor"),
    "a whole model": (lambda p: torch.save(sequential(4), p),
                      "it asks for torch.nn.modules.container.Sequential; a whole model was saved: "
                      r"save net.state_dict\(\) instead"),
    "numpy arrays": (lambda p: torch.save(rs.init_network(4, 0).to_state_dict(), p),
                     "holds NumPy arrays: save torch tensors instead"),
    "a history": (lambda p: torch.save({1: {"state": _sd(), "train_error": 0.1, "test_error": 0.2}}, p),
                  "this is a training history .* import it as a history"),
    "empty": (lambda p: p.write_bytes(b""), "the file is empty"),
    "random bytes": (lambda p: p.write_bytes(bytes(range(256)) * 8), "not a PyTorch file"),
    "random pickle-like bytes": (lambda p: p.write_bytes(b"\x80" + np.random.default_rng(7).bytes(500)),
                                 "refused: a Python pickle that is not a plain PyTorch tensor file"),
    "text": (lambda p: p.write_text("0.weight,0.bias\n1,2\n"), "not a PyTorch file"),
    "an npz": (lambda p: _npz(p),
               "not a PyTorch file: a zip archive without torch's contents"),
}


def _npz(p):
    with open(p, "wb") as f:
        np.savez(f, a=np.arange(3))


def _truncated(p, cut):
    buf = p.with_suffix(".full")
    torch.save(_sd(), buf)
    b = buf.read_bytes()
    buf.unlink()
    p.write_bytes(b[:cut(len(b))])


BROKEN_PT.update({
    "truncated half": (lambda p: _truncated(p, lambda n: n // 2), "the file is truncated or damaged"),
    "truncated tail": (lambda p: _truncated(p, lambda n: n - 10), "the file is truncated or damaged"),
    "truncated head": (lambda p: _truncated(p, lambda n: 40), "the file is truncated or damaged"),
})


@pytest.mark.parametrize("case", list(BROKEN_PT))
def test_broken_pt_files_are_refused_with_a_specific_message(tmp_path, case):
    make, message = BROKEN_PT[case]
    path = tmp_path / "broken.pt"
    make(path)
    with pytest.raises(TorchFileError, match=message) as info:
        load_network_pt(path)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("broken.pt: ")


def test_missing_file_and_width_mismatch(tmp_path):
    with pytest.raises(TorchFileError, match="absent.pt: cannot read the file"):
        load_network_pt(tmp_path / "absent.pt")
    with pytest.raises(TorchFileError, match="is a folder, not a file"):
        load_network_pt(tmp_path)
    path = export_state_dict(rs.init_network(6, 0), tmp_path / "w6.pt")
    with pytest.raises(TorchFileError, match="w6.pt: the network has width 6, but width 20 is needed"):
        load_network_pt(path, expected_width=20)


def _entry(h=4, seed=0, train=0.5, test=0.25):
    return {"state": _sd(h, seed), "train_error": train, "test_error": test}


def _nan_entry():
    e = _entry()
    e["state"]["0.bias"] = torch.full((4,), float("nan"))
    return e


BROKEN_HISTORY = {
    "a state dict": (_sd(), "this is a single network's state dict, not a training history"),
    "empty": ({}, "the history is empty"),
    "a list": ([_entry()], "expected the notebook's history .* got list"),
    "string key": ({"1": _entry()}, "the history's keys must be step numbers .* found '1'"),
    "negative key": ({-1: _entry()}, "found -1"),
    "missing error": ({1: {"state": _sd(), "train_error": 0.5}, 2: _entry()},
                      "step 1: missing 'test_error'"),
    "NaN error": ({1: _entry(), 1000: _entry(train=float("nan"))},
                  "step 1000: 'train_error' is nan; a finite number is needed"),
    "string error": ({1: _entry(test="low")}, "step 1: 'test_error' must be a number, got str"),
    "NaN parameters": ({1: _entry(), 2000: _nan_entry()}, "step 2000: '0.bias' contains NaN"),
    "width changes": ({1: _entry(4), 1000: _entry(5)},
                      "step 1000: the network has width 5, but the earlier steps have width 4"),
    "wrong keys": ({1: {"state": {"w": torch.zeros(3)}, "train_error": 0.1, "test_error": 0.2}},
                   r"step 1: not a state dict .*missing \['0.bias'"),
    "int weights": ({1: {"state": _with(**{"0.weight": torch.ones(4, 1, dtype=torch.int32)}),
                         "train_error": 0.1, "test_error": 0.2}},
                    "step 1: '0.weight' has dtype torch.int32"),
    "entry not a dict": ({1: 0.5}, "step 1: expected a dict with 'state'"),
}


@pytest.mark.parametrize("case", list(BROKEN_HISTORY))
def test_broken_notebook_histories_are_refused(tmp_path, case):
    obj, message = BROKEN_HISTORY[case]
    path = tmp_path / "hist.pt"
    torch.save(obj, path)
    with pytest.raises(TorchFileError, match=message) as info:
        load_notebook_history(path)
    assert str(info.value).startswith("hist.pt: ")


def test_history_width_must_match_when_asked(tmp_path, notebook_history):
    _hist, path = notebook_history
    with pytest.raises(TorchFileError, match="step 1: the network has width 10, but width 20 is needed"):
        load_notebook_history(path, expected_width=20)


def test_a_refused_import_leaves_the_session_untouched(tmp_path):
    s = Session.from_settings(width=4)
    snapshot = Session(copy.deepcopy(s.settings), s.data, s.initial, s.history, dict(s.view))
    marker = tmp_path / "pwned_marker"
    files = list(evil_files(tmp_path, marker).values())
    bad = tmp_path / "bad.pt"
    BROKEN_PT["NaN"][0](bad)
    listing = sorted(p.name for p in tmp_path.iterdir())
    for path in files + [bad]:
        try:
            s.initial = load_network_pt(path, expected_width=4)
        except TorchFileError:
            pass
        try:
            s.history = History.start(s.initial, s.data).extended_with(
                load_notebook_history(path, data=s.data))
        except TorchFileError:
            pass
    assert session_equal(s, snapshot)
    assert sorted(p.name for p in tmp_path.iterdir()) == listing and not marker.exists()


# --------------------------------------------------------------------------- no torch at run time
def test_the_app_reads_and_writes_pt_files_without_importing_torch(tmp_path):
    """Export, import a network and a notebook history, the command line's --init-from and
    --export-pt, and a refusal: torch is never imported (the bundle does not carry it)."""
    import subprocess
    import sys

    code = f"""
import sys
from collections import OrderedDict
import relu_studio as rs
from relu_studio import cli
from relu_studio.core.io.pt_format import write_pt
from relu_studio.core.io.torch_files import (TorchFileError, export_state_dict, load_network_pt,
                                             load_notebook_history)
tmp = {str(tmp_path)!r}
net = rs.init_network(5, 0)
assert load_network_pt(export_state_dict(net, tmp + "/net.pt")).equals(net)
sd = OrderedDict(net.to_state_dict())
for legacy in (False, True):
    with open(tmp + "/hist.pt", "wb") as f:
        f.write(write_pt({{1: {{"state": sd, "train_error": 0.5, "test_error": 0.25}}}}, legacy=legacy))
    assert load_notebook_history(tmp + "/hist.pt").network(0).equals(net)
with open(tmp + "/evil.pt", "wb") as f:
    f.write(b"\\x80\\x02cposix\\nsystem\\nX\\x04\\x00\\x00\\x00true\\x85R.")
try:
    load_network_pt(tmp + "/evil.pt")
    raise SystemExit("the evil file was loaded")
except TorchFileError as exc:
    assert "posix.system" in str(exc)
assert cli.main(["--init-from", tmp + "/net.pt", "--steps", "200", "--save-every", "100", "--quiet",
                 "--modes", "all", "--export-pt", tmp + "/out"]) == 0
print("TORCH" if "torch" in sys.modules else "NO TORCH", sorted(m for m in sys.modules if m.split(".")[0] == "torch"))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "NO TORCH []", proc.stdout
    assert len(list((tmp_path / "out").glob("*.pt"))) == 1


def test_without_torch_installed_the_conversions_say_how_to_get_it(tmp_path, monkeypatch):
    """torch is an optional extra: where it is missing, the .pt files still work and the scripting
    conversions that return torch tensors name the extra instead of failing obscurely."""
    import sys

    from relu_studio.core.io.torch_files import export_state_dict, load_network_pt, state_dict_tensors

    monkeypatch.setitem(sys.modules, "torch", None)  # what an install without torch looks like
    net = rs.init_network(4, 2)
    assert load_network_pt(export_state_dict(net, tmp_path / "net.pt")).equals(net)
    for convert in (lambda: net.to_state_dict(as_torch=True), lambda: state_dict_tensors(net)):
        with pytest.raises(ImportError, match=r"relu-studio\[torch\]"):
            convert()
