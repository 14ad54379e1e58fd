"""Closed-form output layer: the notebook's ridge regression on the hidden features."""
import numpy as np
import pytest
import torch

import relu_studio as rs
from notebook_reference import notebook_net, state_numpy, to_torch

EPS64 = float(np.finfo(np.float64).eps)


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", 200, 0.1, 1)


def notebook_features(width, seed, X):
    """The notebook's featurisation, verbatim (torch float32 hidden layer, then a ones column)."""
    init = state_numpy(notebook_net(width, seed))
    W1, b1 = torch.from_numpy(init["0.weight"]), torch.from_numpy(init["0.bias"])
    Xnew = to_torch(X) @ W1.T + b1[None, :]
    Xnew = torch.nn.functional.relu(Xnew).numpy()
    tmp = np.ones((Xnew.shape[0], width + 1))
    tmp[:, :-1] = Xnew
    return tmp


@pytest.mark.parametrize("width", [10, 20, 40])
@pytest.mark.parametrize("seed", [0, 1])
def test_fit_ridge_is_the_notebooks_solve(data, width, seed):
    net = rs.init_network(width, seed)
    F = rs.ridge_features(net, data.x)
    Xnew = notebook_features(width, seed, data.x.reshape(-1, 1))
    assert np.array_equal(F, Xnew)  # the same float32 features, bit for bit
    lambd = 1e-5
    coeffs = np.linalg.solve(Xnew.T @ Xnew + lambd * np.eye(width + 1), Xnew.T @ data.y)
    ours = rs.ridge_coefficients(F, data.y, lambd)
    # Same matrices, same LAPACK call: equal up to at most a few roundings in forming F^T F + λI.
    assert np.allclose(ours, coeffs, rtol=1e-12, atol=1e-12 * np.abs(coeffs).max())

    fitted = rs.fit_ridge(net, data, lambd)
    assert np.array_equal(fitted.w1, net.w1) and np.array_equal(fitted.b1, net.b1)
    # the notebook writes the coefficients into the float32 torch layer
    assert np.array_equal(fitted.w2, coeffs[:-1].astype(np.float32))
    assert fitted.b2 == float(np.float32(coeffs[-1]))

    # the notebook's test MSE, computed with torch on the fitted parameters
    tnet = notebook_net(width, seed)
    tnet.load_state_dict(fitted.to_state_dict(as_torch=True))
    with torch.no_grad():
        pred = tnet(to_torch(data.x_test.reshape(-1, 1))).numpy().ravel()
    nb_mse = np.mean((pred - data.y_test) ** 2)
    ours_mse = np.mean((fitted.predict(data.x_test) - data.y_test) ** 2)
    # torch's float32 output sum vs predict()'s float64 sum: the ridge output weights are large
    # (up to ~150) and cancel, so the float32 sum loses a few digits; measured relative MSE
    # differences 2e-7 .. 1.8e-6 (up to ~15 EPS32). Tolerance 2e-5 (~170 EPS32).
    assert ours_mse == pytest.approx(nb_mse, rel=2e-5)


@pytest.mark.parametrize("width, n", [(1000, 200), (300, 200), (201, 200), (40, 20)])
def test_dual_form_equals_primal_solve_when_wider_than_data(width, n):
    data = rs.make_dataset("piecewise_linear", n, 0.1, 1)
    net = rs.init_network(width, 0)
    F = rs.ridge_features(net, data.x)
    assert F.shape == (n, width + 1) and n < width + 1  # the dual branch is taken
    lam = 1e-5
    A = F.T @ F + lam * np.eye(width + 1)
    primal = np.linalg.solve(A, F.T @ data.y)
    dual = rs.ridge_coefficients(F, data.y, lam)
    # Both solve the same well-posed problem, but the systems are ill-conditioned: the nonzero
    # spectrum of F^T F and F F^T is the same, so cond(A) ~ cond(F F^T + λI) ~ |F|^2 / λ (~4e8 for
    # width 1000). Each solve is backward stable, so each is accurate to ~cond * EPS64 relative;
    # measured |dual - primal| / |primal| is 0.06-0.42 cond * EPS64 (3.4e-8 for width 1000), and
    # the bound below allows 16 cond EPS64.
    cond = np.linalg.cond(A)
    scale = np.abs(primal).max()
    assert np.abs(dual - primal).max() <= 16 * cond * EPS64 * scale
    # The fitted values are far better conditioned than the coefficients: they agree to ~1e-9.
    assert np.abs(F @ dual - F @ primal).max() <= 1e-6 * np.abs(data.y).max()
    # And the dual solution satisfies the primal normal equations to round-off. With
    # K = F F^T + λI and α = K^-1 y, the residual is F^T (K α - y), and a backward-stable solve
    # leaves |K α - y| <~ EPS64 |K| |α|; measured ratio to that bound: 0.02-0.04.
    K = F @ F.T + lam * np.eye(n)
    alpha = np.linalg.solve(K, data.y)
    resid = np.linalg.norm(A @ dual - F.T @ data.y)
    assert resid <= EPS64 * np.linalg.norm(F, 2) * np.linalg.norm(K, 2) * np.linalg.norm(alpha)
    fitted = rs.fit_ridge(net, data, lam)
    assert np.array_equal(fitted.w2, dual[:-1].astype(np.float32))


@pytest.mark.parametrize("width, n", [(10, 200), (1000, 200), (5, 3)])
def test_lambda_zero_is_lstsq(width, n):
    data = rs.make_dataset("sin(20x)", n, 0.1, 2)
    F = rs.ridge_features(rs.init_network(width, 3), data.x)
    ours = rs.ridge_coefficients(F, data.y, 0.0)
    ref = np.linalg.lstsq(F, data.y, rcond=None)[0]
    assert np.allclose(ours, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_ridge_shrinks_with_lambda_and_beats_the_initial_output_layer(data):
    net = rs.init_network(40, 0)
    F = rs.ridge_features(net, data.x)
    norms = [np.linalg.norm(rs.ridge_coefficients(F, data.y, lam)) for lam in (1e-6, 1e-3, 1, 1e3)]
    assert all(a > b for a, b in zip(norms, norms[1:]))
    fitted = rs.fit_ridge(net, data)
    mse = lambda n: np.mean((n.predict(data.x) - data.y) ** 2)  # noqa: E731
    assert mse(fitted) < mse(net)
    assert rs.DEFAULT_LAMBDA == 1e-5


@pytest.mark.parametrize("lam", [-1e-5, float("nan"), float("inf")])
def test_bad_lambda(data, lam):
    with pytest.raises(ValueError, match="λ"):
        rs.fit_ridge(rs.init_network(5, 0), data, lam)


def test_features_shape_and_bias_column(data):
    net = rs.init_network(7, 1)
    F = rs.ridge_features(net, data.x)
    assert F.shape == (200, 8) and F.dtype == np.float64
    assert np.all(F[:, -1] == 1.0) and np.all(F[:, :-1] >= 0)
    assert np.array_equal(F[:, :-1], net.hidden(data.x).astype(np.float64))
    # a float32 round-trip is exact: the hidden features are float32 values, as in torch
    assert np.array_equal(F[:, :-1].astype(np.float32).astype(np.float64), F[:, :-1])
