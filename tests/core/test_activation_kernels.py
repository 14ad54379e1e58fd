"""The kernels' float32 activations, derivatives and losses against torch's modules; the numpy
reference formulas against torch in float64; pause/resume with another activation and loss.

Tolerances: the kernels compute each activation in float32 from a float32 ``z`` with libm's
float32 ``exp``/``expm1``/``log1p``/``tanh``/``erf`` (within ~2 ulps each) and a handful of
roundings (each EPS32/2 relative), so against torch in float64 (rounded to float32) they agree to
``16 EPS32`` times the size of the terms summed, ``max(1, |z|)`` (a derivative such as SiLU's
``s (1 + z (1 - s))`` cancels where it crosses 0, so the error is relative to its terms, not to
its value). The numpy reference formulas are float64 throughout: 1e-12.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

import relu_studio as rs
from relu_studio.core import _kernels
from relu_studio.core.activations import ACTIVATIONS
from notebook_reference import EPS32
from test_activations_training import ACTS, OPTIMIZERS, Abs, torch_activation

Z = np.concatenate([np.linspace(-30, 30, 2001), np.linspace(-1, 1, 2001), [0.0, -0.0, 1e-30, -1e-30,
                    9.999, 10.0, 10.001, 20.0]]).astype(np.float32)


def torch_value_and_derivative(act, z32):
    """torch's module output and autograd derivative in float64 at the float32 inputs."""
    z = torch.tensor(z32.astype(np.float64), requires_grad=True)
    out = torch_activation(act).double()(z)
    out.sum().backward()
    return out.detach().numpy(), z.grad.numpy()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_the_kernels_activation_and_derivative_equal_torchs(name):
    act = ACTS[name]
    code, p = _kernels.activation_code(act)
    value = Z.copy()
    _kernels.activate_into(value, code, p)
    deriv, both = np.empty_like(Z), Z.copy()
    _kernels.value_and_derivative_into(both, deriv, code, p)
    assert value.dtype == deriv.dtype == np.float32
    assert np.array_equal(both, value)  # the gradient pass's values are the forward pass's bits
    want_v, want_d = torch_value_and_derivative(act, Z)
    size = np.maximum(1.0, np.abs(Z.astype(np.float64)))
    np.testing.assert_array_less(np.abs(value - want_v), 16 * EPS32 * size + 1e-40)
    np.testing.assert_array_less(np.abs(deriv - want_d), 16 * EPS32 * size + 1e-40)
    # The engine's values are torch's float32 module's, to the same few ulps.
    t32 = torch_activation(act)(torch.from_numpy(Z)).numpy()
    np.testing.assert_array_less(np.abs(value - t32), 16 * EPS32 * size + 1e-40)


@pytest.mark.parametrize("name, want", [("relu", 0.0), ("leaky_relu", 0.1), ("abs", 0.0),
                                        ("elu", 0.7), ("softplus", 0.5)])
def test_derivatives_at_zero_follow_torchs_convention(name, want):
    """At the kink torch's autograd takes ReLU's 0, Leaky ReLU's slope, |x|'s sign(0) = 0, ELU's
    alpha exp(0); the kernel too (softplus, smooth: sigmoid(0) = 1/2)."""
    code, p = _kernels.activation_code(ACTS[name])
    z = np.zeros(3, np.float32)
    d = np.empty_like(z)
    _kernels.value_and_derivative_into(z.copy(), d, code, p)
    assert np.all(d == np.float32(want))
    assert torch_value_and_derivative(ACTS[name], z)[1][0] == pytest.approx(want, abs=1e-7)


def test_softplus_is_the_identity_above_torchs_threshold():
    """``beta z > 20``: torch returns z itself and derivative 1 (beta 2: z > 10)."""
    code, p = _kernels.activation_code(ACTS["softplus"])
    z = np.array([10.001, 15.0, 1e6], np.float32)
    v, d = z.copy(), np.empty_like(z)
    _kernels.value_and_derivative_into(v, d, code, p)
    assert np.array_equal(v, z) and np.all(d == 1)
    t = nn.Softplus(beta=2.0, threshold=20.0)(torch.from_numpy(z)).numpy()
    assert np.array_equal(t, z)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_the_numpy_reference_formulas_equal_torch_in_float64(name):
    act = ACTS[name]
    z = Z.astype(np.float64)
    want_v, want_d = torch_value_and_derivative(act, Z)
    # 1e-12 relative, or float64 round-off of the terms (GELU-tanh's 1 + tanh cancels far left)
    slack = 16 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(z)) ** 3
    np.testing.assert_array_less(np.abs(act.value64(z) - want_v), 1e-12 * np.abs(want_v) + slack)
    np.testing.assert_array_less(np.abs(act.derivative64(z) - want_d), 1e-12 * np.abs(want_d) + slack)


def test_abs_is_torch_abs_in_a_module():
    """|x| has no torch.nn module: the reference module is ``torch.abs``; its autograd takes
    ``sign`` (0 at 0), as the engine's derivative does."""
    assert ACTS["abs"].torch_module() is None
    z = torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    Abs()(z).sum().backward()
    assert z.grad.tolist() == [-1.0, 0.0, 1.0]


# --------------------------------------------------------------------------- losses
LOSS_CASES = [rs.Loss("mse"), rs.Loss("mae"), rs.Loss("huber"), rs.Loss("huber", delta=0.2)]


@pytest.mark.parametrize("loss", LOSS_CASES, ids=lambda loss: loss.describe())
def test_the_kernels_loss_and_gradient_equal_torchs(loss):
    rng = np.random.RandomState(7)
    pred = rng.randn(40).astype(np.float32)
    y = (pred + rng.randn(40).astype(np.float32) * np.float32(0.5)).astype(np.float32)
    y[:3] = pred[:3]  # d = 0 exactly: L1's and Huber's derivative there
    acc = pred.copy()  # predictions before the output bias
    g = np.empty(40, np.float32)
    code, delta = _kernels.loss_code(loss)
    value = _kernels.loss_gradient(acc, np.float32(0.0), y, g, code, delta)
    cls, kwargs = loss.torch_module()
    p = torch.tensor(pred.astype(np.float64), requires_grad=True)
    ref = getattr(nn, cls)(**kwargs)(p, torch.from_numpy(y.astype(np.float64)))
    ref.backward()
    # 40 float32 terms summed in order: at most 40 roundings of the running sum.
    assert float(value) == pytest.approx(ref.item(), rel=64 * EPS32)
    np.testing.assert_allclose(g, p.grad.numpy(), rtol=4 * EPS32, atol=0)
    assert np.all(g[:3] == 0)  # d = 0: every loss's gradient is 0 there (L1: torch's sign(0))
    # the numpy reference formulas
    assert loss.value64(pred, y) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(loss.gradient64(pred, y), p.grad.numpy(), rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- pause / resume
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_pause_resume_with_another_activation_and_loss_equals_an_uninterrupted_run(opt_name):
    opt = OPTIMIZERS[opt_name][0]
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
    net = rs.init_network(10, 5).replace(activation=rs.Activation("gelu"))
    loss = rs.Loss("huber", delta=0.3)
    kwargs = dict(mode="all", steps=700, save_every=7, seed=4, optimizer=opt, loss=loss)
    whole = rs.train(net, data, **kwargs)
    trainer = rs.Trainer(net, data, **kwargs)
    rng = np.random.RandomState(sum(map(ord, opt_name)))
    first = int(rng.randint(1, 699))
    assert trainer.advance(first) == first
    while not trainer.done:
        trainer.advance(int(rng.randint(1, 200)))
    part = trainer.result()
    for name in ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2"):
        assert np.array_equal(getattr(part, name), getattr(whole, name)), name
    assert part.settings.loss == loss and part.snapshot(3).activation == net.activation
    assert trainer.network.activation == net.activation


def test_relu_mse_through_the_general_arguments_is_the_notebooks_path_bit_for_bit():
    """``loss=Loss("mse")`` and an explicit ReLU give the bits of the defaults (same kernel path)."""
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
    net = rs.init_network(20, 0)
    plain = rs.train(net, data, steps=2000, save_every=100, seed=1)
    explicit = rs.train(net.replace(activation=rs.Activation("relu")), data, steps=2000,
                        save_every=100, seed=1, loss=rs.Loss("mse"))
    for name in ("w1", "b1", "w2", "b2", "train_error", "test_error"):
        assert np.array_equal(getattr(plain, name), getattr(explicit, name))


def test_a_loss_that_is_not_a_loss_is_refused():
    with pytest.raises(rs.TrainingError, match="loss must be a relu_studio Loss"):
        rs.train(rs.init_network(3, 0), rs.make_dataset("abs", n=20), steps=3, loss="mae")
