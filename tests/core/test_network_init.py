"""The initial network equals the notebook's torch network bit for bit; state dicts round-trip."""
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn as nn

import relu_studio as rs
from relu_studio.core.network import torch_default_linear_init
from notebook_reference import EPS32, notebook_net, state_numpy


@pytest.mark.parametrize("width", [1, 10, 20, 40, 1000])
@pytest.mark.parametrize("seed", [0, 1, 2, 7, 12345, 2**32 - 1])
def test_init_equals_notebook_bit_for_bit(width, seed):
    ref = state_numpy(notebook_net(width, seed))
    net = rs.init_network(width, seed)
    ours = net.to_state_dict()
    assert set(ours) == set(ref)
    for k in ref:
        assert ours[k].dtype == np.float32 and ref[k].dtype == np.float32
        assert ours[k].shape == ref[k].shape, k
        # bit-for-bit, not merely equal as numbers (-0.0 vs 0.0 would show up here)
        assert ours[k].tobytes() == ref[k].tobytes(), f"{k} differs for width {width}, seed {seed}"


@pytest.mark.parametrize("width", [1, 17, 1000])
def test_default_linear_init_matches_torch_before_elbows(width):
    """The raw torch default init (before the notebook replaces the biases) is reproduced too."""
    torch.manual_seed(3)
    ref = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1))
    w1, b1, w2, b2 = torch_default_linear_init(width, 3)
    for ours, theirs in zip((w1, b1, w2, b2), ref.parameters()):
        assert np.array_equal(ours, theirs.detach().numpy().ravel())


def test_init_elbows_are_the_notebook_draws():
    net = rs.init_network(20, 5)
    np.random.seed(5)
    elbows = np.sort(np.random.rand(20))
    # b1 = float32(-elbow * w1): the recovered elbow is the draw up to one float32 rounding
    assert np.all(np.abs(net.elbows - elbows) <= EPS32 * np.abs(elbows))


def test_init_given_elbows_and_bad_arguments():
    e = np.linspace(0.05, 0.95, 4)
    net = rs.init_network(4, 0, elbows=e)
    assert np.allclose(net.elbows, e, rtol=2 * EPS32)
    with pytest.raises(ValueError):
        rs.init_network(4, 0, elbows=e[:3])
    for width in (0, -1, 100_001):
        with pytest.raises(ValueError, match="width"):
            rs.init_network(width, 0)
    for seed in (-1, 2**32):
        with pytest.raises(ValueError, match="seed"):
            rs.init_network(3, seed)


def test_network_is_immutable():
    net = rs.init_network(5, 0)
    for name in ("w1", "b1", "w2"):
        with pytest.raises(ValueError):
            getattr(net, name)[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.b2 = 3.0


# --------------------------------------------------------------------------- state dicts
@pytest.mark.parametrize("width", [1, 10, 1000])
def test_state_dict_round_trip(width):
    net = rs.init_network(width, 4)
    d = net.to_state_dict()
    assert {k: v.shape for k, v in d.items()} == {
        "0.weight": (width, 1), "0.bias": (width,), "2.weight": (1, width), "2.bias": (1,)}
    assert rs.Network.from_state_dict(d).equals(net)
    assert rs.Network.from_state_dict(net.to_state_dict(as_torch=True)).equals(net)


def test_torch_state_dict_loads_and_predicts_the_same():
    """A real nn.Sequential's state dict loads exactly; predictions agree to float32 round-off."""
    torch.manual_seed(11)
    width = 64
    tnet = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1))
    net = rs.Network.from_state_dict(tnet.state_dict())  # tensors with requires_grad are fine
    for k, v in net.to_state_dict().items():
        assert np.array_equal(v, tnet.state_dict()[k].numpy()), k

    x = np.linspace(-3, 3, 2001)
    with torch.no_grad():
        ref = tnet(torch.from_numpy(x.reshape(-1, 1)).float()).numpy().ravel().astype(np.float64)
    ours = net.predict(x)
    # Tolerance: torch computes the whole forward pass in float32; predict() computes the hidden
    # layer in float32 too but the output sum in float64. A float32 sum of H products plus the
    # bias has error at most gamma_{H+2} * sum|terms| with gamma_k = k u / (1 - k u), u = eps/2,
    # whatever order BLAS sums in; the hidden pre-activations may differ by one rounding (u |x w1|)
    # if torch fuses them. So the bound below is rigorous, not tuned; the observed error is under
    # 1/100 of it (about 1.5 ulp of the largest output).
    x32 = x.astype(np.float32).astype(np.float64)
    w1, b1, w2 = (a.astype(np.float64) for a in (net.w1, net.b1, net.w2))
    pre = np.abs(x32[:, None] * w1) + np.abs(b1)
    terms = pre @ np.abs(w2) + abs(net.b2)
    u = EPS32 / 2
    gamma = (width + 3) * u / (1 - (width + 3) * u)
    bound = gamma * terms + u * np.abs(x32[:, None] * w1) @ np.abs(w2)
    assert np.all(np.abs(ours - ref) <= bound)
    assert np.max(np.abs(ours - ref)) < 1e-5  # and it is small in absolute terms as well

    # the other way: our network as a torch state dict drives a torch model to the same outputs
    other = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1))
    other.load_state_dict(net.to_state_dict(as_torch=True))
    with torch.no_grad():
        again = other(torch.from_numpy(x.reshape(-1, 1)).float()).numpy().ravel()
    assert np.array_equal(again, ref.astype(np.float32))


def _good(width=3):
    return rs.init_network(width, 0).to_state_dict()


def _with(**changes):
    d = _good()
    for k, v in changes.items():
        d[k.replace("_", ".", 1)] = v
    return d


@pytest.mark.parametrize("bad, match", [
    ({k: v for k, v in _good().items() if k != "2.bias"}, r"missing \['2.bias'\]"),
    ({**_good(), "3.weight": np.zeros((1, 3), np.float32)}, r"unexpected \['3.weight'\]"),
    ({"weight": np.zeros((3, 1), np.float32)}, "missing"),
    (_with(**{"0_weight": np.zeros(3, np.float32)}), "shape"),
    (_with(**{"0_weight": np.zeros((4, 1), np.float32)}), "shape"),
    (_with(**{"2_weight": np.zeros((3, 1), np.float32)}), "shape"),
    (_with(**{"2_bias": np.float32(0.0)}), "shape"),
    (_with(**{"2_bias": np.zeros(2, np.float32)}), "shape"),
    (_with(**{"0_bias": np.zeros((3, 1), np.float32)}), "shape"),
    (_with(**{"0_weight": np.zeros((3, 1), np.int64)}), "dtype"),
    (_with(**{"0_bias": np.zeros(3, bool)}), "dtype"),
    (_with(**{"2_weight": np.zeros((1, 3), np.complex64)}), "dtype"),
    (_with(**{"2_bias": np.array(["1.0"])}), "dtype"),
    (_with(**{"0_weight": torch.zeros((3, 1), dtype=torch.int32)}), "dtype"),
    (_with(**{"0_bias": np.array([0.0, np.nan, 0.0], np.float32)}), "NaN"),
    (_with(**{"2_weight": np.array([[0.0, np.inf, 0.0]], np.float32)}), "NaN or infinite"),
    (_with(**{"2_bias": torch.tensor([float("nan")])}), "NaN"),
    # finite in float64 but not representable in float32: must not silently become inf
    (_with(**{"2_bias": np.array([1e39])}), "infinite"),
    ({"0.weight": np.zeros((0, 1)), "0.bias": np.zeros(0), "2.weight": np.zeros((1, 0)),
      "2.bias": np.zeros(1)}, "no hidden units"),
    ([("0.weight", 1)], "mapping"),
])
def test_from_state_dict_refuses(bad, match):
    with pytest.raises(ValueError, match=match):
        rs.Network.from_state_dict(bad)


def test_from_state_dict_accepts_float64_and_float16():
    d = {k: v.astype(np.float64) for k, v in _good().items()}
    assert rs.Network.from_state_dict(d).equals(rs.init_network(3, 0))
    d16 = {k: v.astype(np.float16) for k, v in _good().items()}
    net = rs.Network.from_state_dict(d16)
    assert np.array_equal(net.w1, _good()["0.weight"].astype(np.float16).astype(np.float32).ravel())
