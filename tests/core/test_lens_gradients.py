"""The theory lens's gradients, elbow velocity and gradient features, against torch in float64."""
import numpy as np
import pytest
import torch
import torch.nn as nn

import relu_studio as rs
from relu_studio.core.lens.gradient_features import hidden_block

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", 200, 0.1, 1)


def networks(data):
    """The notebook's initial network at widths 10/20/40, one trained (all layers), one with dead
    units (elbows past the data, so some units get no gradient)."""
    nets = [rs.init_network(w, 0) for w in (10, 20, 40)]
    nets.append(rs.train(rs.init_network(20, 1), data, mode="all", steps=3000, save_every=1000).final)
    nets.append(rs.init_network(10, 2, elbows=np.linspace(-0.5, 1.5, 10)))
    return nets


def notebook_sequential64(net):
    """The notebook's nn.Sequential holding ``net``'s parameters, in float64."""
    seq = nn.Sequential(nn.Linear(1, net.width), nn.ReLU(), nn.Linear(net.width, 1)).double()
    with torch.no_grad():
        seq[0].weight.copy_(torch.from_numpy(net.w1.astype(np.float64).reshape(-1, 1)))
        seq[0].bias.copy_(torch.from_numpy(net.b1.astype(np.float64)))
        seq[2].weight.copy_(torch.from_numpy(net.w2.astype(np.float64).reshape(1, -1)))
        seq[2].bias.copy_(torch.tensor([float(net.b2)], dtype=torch.float64))
    return seq


def torch_gradient(net, data):
    seq = notebook_sequential64(net)
    x = torch.from_numpy(data.x.reshape(-1, 1).copy())
    y = torch.from_numpy(data.y.reshape(-1, 1).copy())
    loss = nn.MSELoss()(seq(x), y)
    seq.zero_grad()
    loss.backward()
    return np.concatenate([p.grad.numpy().ravel() for p in seq.parameters()]), float(loss.detach())


def torch_jacobian(net, x):
    seq = notebook_sequential64(net)
    params = {k: v.detach() for k, v in seq.named_parameters()}

    def f(p):
        return torch.func.functional_call(seq, p, (torch.from_numpy(x.reshape(-1, 1).copy()),)).ravel()

    jac = torch.func.jacrev(f)(params)
    return np.concatenate([jac[k].reshape(x.size, -1).numpy() for k in ("0.weight", "0.bias",
                                                                          "2.weight", "2.bias")], axis=1)


def test_gradients_equal_torch_autograd_in_float64(data):
    # float64 sums of n = 200 terms: each component is off by at most ~n eps of the largest term,
    # far below 1e-10 of the gradient's size.
    for net in networks(data):
        ref, loss = torch_gradient(net, data)
        g = rs.gradients(net, data)
        assert np.max(np.abs(g.flat() - ref)) <= 1e-10 * np.max(np.abs(ref))
        assert g.loss == pytest.approx(loss, rel=1e-12)


def test_dead_units_get_no_gradient(data):
    net = networks(data)[-1]
    g = rs.gradients(net, data)
    dead = net.dead_units(data.x)
    assert dead.any() and (~dead).any()
    assert np.all(g.w1[dead] == 0) and np.all(g.b1[dead] == 0) and np.all(g.w2[dead] == 0)


def test_elbow_velocity_is_the_finite_difference_of_one_tiny_sgd_step(data):
    """torch's own SGD takes one full-batch step at a tiny lr; the elbows -b/w move by what the
    lens says: its exact one-step change to rounding, its linearised de to O(lr)."""
    lr = 1e-6
    for net in networks(data)[:4]:
        seq = notebook_sequential64(net)
        opt = torch.optim.SGD(seq.parameters(), lr=lr)
        loss = nn.MSELoss()(seq(torch.from_numpy(data.x.reshape(-1, 1).copy())),
                            torch.from_numpy(data.y.reshape(-1, 1).copy()))
        opt.zero_grad()
        loss.backward()
        before = -net.b1.astype(np.float64) / net.w1.astype(np.float64)
        opt.step()
        w = seq[0].weight.detach().numpy().ravel()
        b = seq[0].bias.detach().numpy()
        moved = -b / w - before
        v = rs.elbow_velocity(net, data, lr=lr, mode="all")
        scale = np.max(np.abs(moved))
        assert scale > 0
        # the exact step: the same arithmetic up to the rounding of e (|e| ~ 1, eps 2e-16)
        assert np.max(np.abs(v.elbow_step - moved)) <= 1e-13 + 1e-9 * scale
        # linearised per 1000 steps: 1000 x the first-order change; the second-order term is
        # O(lr) relative to the first
        assert np.max(np.abs(v.elbow / 1000 - moved)) <= 1e-4 * scale
        # w - w1 loses what w's ulp (~1e-16) rounded off
        np.testing.assert_allclose(v.slope / 1000, w - net.w1.astype(np.float64), rtol=0, atol=1e-15)


def test_elbow_velocity_formula_and_units(data):
    net = networks(data)[3]
    v = rs.elbow_velocity(net, data, lr=0.02, mode="all", per=1000)
    g = rs.gradients(net, data)
    w, b = net.w1.astype(np.float64), net.b1.astype(np.float64)
    dw, db = -0.02 * g.w1, -0.02 * g.b1
    np.testing.assert_allclose(v.elbow, 1000 * -(db * w - b * dw) / w**2, rtol=1e-12)
    np.testing.assert_allclose(v.output_weight, -0.02 * g.w2 * 1000, rtol=1e-12)
    # twice the lr, twice the speed
    np.testing.assert_allclose(rs.elbow_velocity(net, data, lr=0.04).elbow, 2 * v.elbow, rtol=1e-12)


def test_output_only_training_moves_no_elbow(data):
    net = networks(data)[3]
    v = rs.elbow_velocity(net, data, mode="output")
    assert v.lr == 0.2 and not v.moves_elbows
    assert np.all(v.elbow == 0) and np.all(v.slope == 0) and np.all(v.elbow_step == 0)
    assert np.any(v.output_weight != 0)
    # and it is what training does: one output-only step leaves every elbow where it was
    run = rs.train(net, data, mode="output", steps=1, save_every=1)
    np.testing.assert_array_equal(run.final.elbows, net.elbows)


def test_bad_mode_or_lr_is_refused_with_a_reason(data):
    net = rs.init_network(5, 0)
    with pytest.raises(ValueError, match="ridge"):
        rs.elbow_velocity(net, data, mode="ridge")
    with pytest.raises(ValueError, match="learning rate"):
        rs.elbow_velocity(net, data, lr=-1)
    with pytest.raises(TypeError, match="Dataset"):
        rs.gradients(net, 3)


def test_jacobian_equals_torch_jacrev(data):
    for net in networks(data):
        ref = torch_jacobian(net, data.x)
        jac = rs.jacobian(net, data.x)
        assert jac.shape == (data.n, 3 * net.width + 1)
        assert np.max(np.abs(jac - ref)) <= 1e-13 * np.max(np.abs(ref))


def test_singular_values_and_vectors_equal_numpy_svd_of_torchs_jacobian(data):
    for net in networks(data)[:4]:
        ref = torch_jacobian(net, data.x)
        u, s, _vt = np.linalg.svd(ref, full_matrices=False)
        s_hidden = np.linalg.svd(hidden_block(ref), compute_uv=False)
        f = rs.gradient_features(net, data, k=4)
        # singular values of matrices equal to ~1e-13: equal to 1e-10 of the largest
        np.testing.assert_allclose(f.singular_values, s, rtol=0, atol=1e-10 * s[0])
        np.testing.assert_allclose(f.hidden_singular_values, s_hidden, rtol=0, atol=1e-10 * s[0])
        # the top vectors at the data are U's columns (up to sign; the gaps are wide here)
        for i in range(4):
            assert abs(abs(f.at_data[:, i] @ u[:, i]) - 1) < 1e-8
        # and drawn on a grid through the same Jacobian, they pass through them at the data
        on_data = rs.gradient_features(net, data, k=4, grid=data.x)
        np.testing.assert_allclose(np.abs(on_data.vectors.T), np.abs(u[:, :4]), atol=1e-8)
        # share of the residual in the span of the top k, from the projection onto U_k
        r = notebook_sequential64(net)(torch.from_numpy(data.x.reshape(-1, 1).copy())).detach().numpy().ravel() - data.y
        for k in (1, 2, 4):
            p = u[:, :k] @ (u[:, :k].T @ r)
            assert f.residual_fractions[k - 1] == pytest.approx((p @ p) / (r @ r), rel=1e-9)


def test_all_layers_add_directions_to_the_hidden_features(data):
    """The full Jacobian's span contains the hidden features' (its last H + 1 columns): its
    singular values interlace above them, and it has more non-negligible ones."""
    net = networks(data)[1]
    f = rs.gradient_features(net, data)
    m = f.hidden_singular_values.size
    assert np.all(f.singular_values[:m] >= f.hidden_singular_values * (1 - 1e-12))
    assert f.rank > np.linalg.matrix_rank(hidden_block(rs.jacobian(net, data.x)))


def test_ranks_are_numpy_s_numerical_ranks_and_the_panel_draws_no_round_off(data):
    """The lens reports (and draws) only the directions that exist: the numerical ranks equal
    ``numpy.linalg.matrix_rank`` of the Jacobian and of its hidden block, even when elbows share a
    gap between training inputs (which makes hidden features exactly dependent)."""
    nets = list(networks(data))
    w1 = np.ones(6, np.float32)
    crowded = rs.Network(w1, -np.float32(0.5012) - np.arange(6, dtype=np.float32) * 1e-5 * w1,
                         np.linspace(-1, 1, 6).astype(np.float32), 0.1)  # six elbows in one gap
    for net in nets + [crowded]:
        f = rs.gradient_features(net, data)
        jac = rs.jacobian(net, data.x)
        assert f.rank == np.linalg.matrix_rank(jac)
        assert f.hidden_rank == np.linalg.matrix_rank(hidden_block(jac))
    assert f.hidden_rank < crowded.width + 1
