"""The theory lens with another activation than ReLU: gradients and the gradient features equal
torch's autograd (float64) through that activation's module; the ridge distance uses its
features; the loss slice, a ReLU closed form, refuses it with a message naming it. And the
command line's --activation/--loss flags."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

import relu_studio as rs
from relu_studio import cli
from relu_studio.core.io.torch_files import export_state_dict
from relu_studio.core.lens.ridge_distance import ridge_distance, ridge_distances
from relu_studio.core.ridge import ridge_coefficients
from test_activations_training import ACTS, torch_activation

DATA = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
SMOOTH_AND_KINKED = ["leaky_relu", "elu", "gelu", "silu", "softplus", "tanh", "sigmoid", "abs"]


def sequential64(net):
    seq = nn.Sequential(nn.Linear(1, net.width), torch_activation(net.activation),
                        nn.Linear(net.width, 1)).double()
    with torch.no_grad():
        seq[0].weight.copy_(torch.from_numpy(net.w1.astype(np.float64).reshape(-1, 1)))
        seq[0].bias.copy_(torch.from_numpy(net.b1.astype(np.float64)))
        seq[2].weight.copy_(torch.from_numpy(net.w2.astype(np.float64).reshape(1, -1)))
        seq[2].bias.fill_(float(net.b2))
    return seq


@pytest.mark.parametrize("name", SMOOTH_AND_KINKED)
def test_gradients_and_jacobian_follow_the_activation_as_torch_autograd(name):
    net = rs.init_network(12, 3).replace(activation=ACTS[name])
    seq = sequential64(net)
    x = torch.from_numpy(DATA.x.reshape(-1, 1).copy())
    y = torch.from_numpy(DATA.y.reshape(-1, 1).copy())
    nn.MSELoss()(seq(x), y).backward()
    ref = np.concatenate([p.grad.numpy().ravel() for p in seq.parameters()])
    g = rs.gradients(net, DATA)
    # float64 sums of 200 terms: ~200 eps of the largest term, far below 1e-10 of the gradient
    assert np.max(np.abs(g.flat() - ref)) <= 1e-10 * np.max(np.abs(ref))

    params = {k: v.detach() for k, v in seq.named_parameters()}
    jac = torch.func.jacrev(lambda p: torch.func.functional_call(seq, p, (x,)).ravel())(params)
    want = np.concatenate([jac[k].reshape(x.shape[0], -1).numpy()
                           for k in ("0.weight", "0.bias", "2.weight", "2.bias")], axis=1)
    np.testing.assert_allclose(rs.jacobian(net, DATA.x), want, rtol=1e-12, atol=1e-14)


def test_the_ridge_distance_uses_the_activations_features():
    net = rs.init_network(8, 1).replace(activation=ACTS["tanh"])
    d = ridge_distance(net, DATA)
    f = np.column_stack([net.hidden(DATA.x).astype(np.float64), np.ones(DATA.n)])
    np.testing.assert_allclose(d.optimum, ridge_coefficients(f, DATA.y, rs.DEFAULT_LAMBDA), rtol=1e-9)
    # a Run's snapshots carry its activation: the last distance is that of its final network
    run = rs.train(net, DATA, mode="output", steps=300, save_every=100)
    many = ridge_distances(run, DATA)
    assert many.distance[-1] == pytest.approx(ridge_distance(run.final, DATA).distance, rel=1e-12)
    relu_view = ridge_distance(run.final.replace(activation=rs.Activation()), DATA)
    assert relu_view.distance != pytest.approx(many.distance[-1])


def test_the_loss_slice_refuses_another_activation_by_name():
    net = rs.init_network(5, 0).replace(activation=rs.Activation("softplus", beta=2.0))
    with pytest.raises(ValueError, match="ReLU networks only.*Softplus β 2"):
        rs.loss_slice(net, DATA, ("w2", 0), ("b2",))


# --------------------------------------------------------------------------- CLI
FAST = ["--steps", "20", "--save-every", "10", "--widths", "3", "--quiet"]


@pytest.mark.parametrize("argv, message", [
    (["--activation", "elu", "--slope", "0.1"], "--slope: ELU has no setting 'slope'"),
    (["--activation", "softplus", "--softplus-beta", "0"], "--softplus-beta: softplus's beta must be > 0"),
    (["--activation", "elu", "--elu-alpha", "-1"], "--elu-alpha: ELU's alpha must be >= 0"),
    (["--loss", "mae", "--delta", "2"], "--delta: MAE .L1. has no setting 'delta'"),
    (["--loss", "huber", "--delta", "nan"], "--delta: Huber's delta must be a finite number > 0"),
])
def test_the_cli_checks_activation_and_loss_flags(argv, message, capsys):
    assert cli.main([*FAST, *argv]) == 2
    err = capsys.readouterr().err
    assert __import__("re").search(message, err), err


def _same(a, b):
    for name in ("steps", "w1", "b1", "w2", "b2", "train_error", "full_train_error", "test_error"):
        assert np.asarray(getattr(a, name)).tobytes() == np.asarray(getattr(b, name)).tobytes(), name


def test_the_cli_grid_trains_the_activation_and_loss_asked_for(tmp_path, capsys):
    """``--activation gelu --loss huber``: every SGD run of the grid (batched seeds or not) is
    rs.train of that GELU network with that loss, bit for bit; the ridge cell fits the GELU
    features; settings.json records both."""
    from relu_studio.core.experiment import ridge_run
    from relu_studio.core.io import run_files as hio

    out = tmp_path / "out"
    code = cli.main(["--steps", "60", "--save-every", "20", "--widths", "3", "--seeds", "2",
                     "--quiet", "--activation", "gelu", "--loss", "huber", "--delta", "0.5",
                     "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    gelu, huber = rs.Activation("gelu"), rs.Loss("huber", delta=0.5)
    for s in (0, 1):
        net = rs.init_network(3, s).replace(activation=gelu)
        for mode, lr in (("output", 0.2), ("all", 0.02)):
            got = hio.load_run_npz(out / f"w3_{mode}_seed{s}.npz")
            assert got.initial.activation == gelu and got.settings.loss == huber
            _same(rs.train(net, DATA, mode, lr, 60, save_every=20, seed=s, loss=huber), got)
        _same(ridge_run(net, DATA, 1e-5, s), hio.load_run_npz(out / f"w3_ridge_seed{s}.npz"))
    import csv
    table = list(csv.DictReader((out / "results.csv").open(newline="")))
    assert [(r["mode"], r["activation"], r["loss"]) for r in table] == [
        ("output", "GELU", "Huber δ 0.5"), ("all", "GELU", "Huber δ 0.5"), ("ridge", "GELU", "")]
    import json
    settings = json.loads((out / "settings.json").read_text())
    grid = settings.get("grid", settings)
    assert grid["activation"] == {"name": "gelu"} and grid["loss"] == {"name": "huber", "delta": 0.5}


def test_the_cli_grid_starts_from_an_init_from_network_with_its_activation(tmp_path, capsys):
    path = export_state_dict(rs.init_network(3, 0).replace(activation=ACTS["tanh"]), tmp_path / "t.pt")
    out = tmp_path / "out"
    assert cli.main([*FAST, "--modes", "all", "--init-from", str(path), "--out", str(out)]) == 0
    from relu_studio.core.io import run_files as hio
    got = hio.load_run_npz(out / "w3_all_seed0.npz")
    assert got.initial.activation == ACTS["tanh"]
    want = rs.train(rs.init_network(3, 0).replace(activation=ACTS["tanh"]), DATA, "all", 0.02, 20,
                    save_every=10, seed=0)
    _same(want, got)


def test_the_cli_default_relu_mse_flags_run_as_before(capsys):
    assert cli.main([*FAST, "--activation", "relu", "--loss", "mse", "--modes", "all"]) == 0
    assert "all" in capsys.readouterr().out
