"""Initialisations: each equals torch's (manual_seed + nn.Linear + nn.init) bit for bit where torch
defines it; the quantile init's elbows are numpy's quantiles; Init round-trips and is checked."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

import relu_studio as rs
from relu_studio.core.activations import Activation
from relu_studio.core.inits import INITS, Init, make_network
from relu_studio.core.settings import SettingsError
from notebook_reference import EPS32, notebook_net, state_numpy


def _torch_net(width, seed, kaiming=False):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1))
    if kaiming:
        nn.init.kaiming_uniform_(net[0].weight, nonlinearity="relu")
    return state_numpy(net)


def _bits(net):
    return {k: v.tobytes() for k, v in net.to_state_dict().items()}


@pytest.mark.parametrize("width", [1, 10, 40, 1000])
@pytest.mark.parametrize("seed", [0, 3, 2**32 - 1])
def test_torch_and_kaiming_inits_equal_torch_bit_for_bit(width, seed):
    for name, kaiming in (("torch", False), ("kaiming", True)):
        ref = _torch_net(width, seed, kaiming)
        ours = make_network(Init(name), width, seed).to_state_dict()
        for k in ref:
            assert ours[k].tobytes() == ref[k].tobytes(), f"{name} {k} width {width} seed {seed}"


@pytest.mark.parametrize("width,seed", [(1, 0), (20, 0), (40, 7)])
def test_notebook_init_is_the_notebooks(width, seed):
    ref = state_numpy(notebook_net(width, seed))
    ours = make_network(Init("notebook"), width, seed).to_state_dict()
    assert {k: v.tobytes() for k, v in ours.items()} == {k: v.tobytes() for k, v in ref.items()}
    assert _bits(make_network(Init(), width, seed)) == _bits(rs.init_network(width, seed))


def test_kaiming_weights_lie_in_the_he_bound():
    w1 = make_network(Init("kaiming"), 5000, 1).w1
    bound = math.sqrt(6.0)
    assert np.all(np.abs(w1) <= bound) and np.abs(w1).max() > 0.99 * bound


@pytest.mark.parametrize("width", [1, 7, 20])
def test_quantile_elbows_are_numpys_quantiles(width):
    data = rs.make_dataset("sin(20*x)", 200, 0.1, 1)
    net = make_network(Init("quantiles"), width, 0, data)
    want = np.quantile(data.x, (np.arange(width) + 0.5) / width)
    # b1 = float32(-q * w1): the recovered elbow is the quantile up to one float32 rounding
    assert np.all(np.abs(net.elbows - want) <= 2 * EPS32 * np.abs(want))
    torch_w = _torch_net(width, 0)
    assert net.w1.tobytes() == torch_w["0.weight"].ravel().tobytes()
    with pytest.raises(ValueError, match="needs training data"):
        make_network(Init("quantiles"), width, 0)


def test_output_scale_multiplies_w2_only_and_activation_is_carried():
    base = make_network(Init("torch"), 10, 2)
    scaled = make_network(Init("torch", scale=0.25), 10, 2, activation=Activation("tanh"))
    assert scaled.w2.tobytes() == (base.w2 * np.float32(0.25)).astype(np.float32).tobytes()
    assert scaled.w1.tobytes() == base.w1.tobytes() and scaled.b2 == base.b2
    assert scaled.activation == Activation("tanh")


def test_init_round_trip_and_clear_errors():
    for name in INITS:
        for scale in (1.0, 0.1, 0):
            init = Init(name, scale)
            assert Init.from_dict(init.to_dict()) == init
    assert Init.from_dict("kaiming") == Init("kaiming")
    assert Init(" Torch ").name == "torch"
    with pytest.raises(SettingsError, match="must be one of notebook"):
        Init("xavier")
    with pytest.raises(SettingsError, match="output scale must be a finite number >= 0"):
        Init("torch", -1)
    with pytest.raises(SettingsError, match="output scale"):
        Init("torch", float("nan"))
    with pytest.raises(SettingsError, match="unknown initialisation settings: gain"):
        Init.from_dict({"name": "torch", "gain": 2})
    with pytest.raises(SettingsError, match="JSON object"):
        Init.from_dict([1])
