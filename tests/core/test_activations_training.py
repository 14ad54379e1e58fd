"""Every activation and loss trains as torch does, with every optimizer, to round-off.

The reference is plain torch in float64 (no relu_studio code): ``nn.Sequential(Linear(1, H),
<activation module>, Linear(H, 1))`` (|x|, which torch.nn has no module for, as a module calling
``torch.abs``), ``nn.MSELoss`` / ``nn.L1Loss`` / ``nn.HuberLoss(delta)``, ``torch.optim.<Opt>``
(single-tensor path) with the same hyper-parameters, the engine's initial parameters and the same
minibatch indices, all layers trained, 500 steps.

Which cases: the full cross product 6 optimizers x 10 activations x 3 losses at widths 1, 10
and 40 (540 runs, as the issue asks: width 1 is a single unit, where nothing averages a wrong
derivative away; width 40 the notebook's widest).

Tolerance TOL64 = 1024 EPS32 (~1.2e-4, relative to the largest parameter, at least 1), as in
test_optimizers.py: the engine rounds every operation to float32 (~EPS32/2 relative each, libm's
float32 exp/erf/tanh/log1p within 1-2 ulps); over 500 steps these add up at most linearly
(500 x ~2 EPS32). A wrong derivative (ELU's alpha missing, GELU's pdf term dropped, softplus's
beta ignored, Huber unclipped, L1's 1/B missing) is off by ~lr x gradient at the first step,
far beyond that.

A kink decided by rounding is not round-off: for ReLU, Leaky ReLU, |x| and ELU (alpha 0.7: its
derivative jumps from 0.7 to 1 at 0) the sign of a pre-activation, for L1 the sign of a residual. The free-running comparison stops at the first step
where such a sign differs between the engine and torch and checks that torch's value there lies
within the runs' round-off distance of zero (else the test fails), as test_optimizers.py does.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import torch
import torch.nn as nn

import relu_studio as rs
from relu_studio.core.activations import ACTIVATIONS
from notebook_reference import EPS32

STEPS = 500
TOL64 = 1024 * EPS32
SEED = 3
DATA = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
X32 = DATA.x.astype(np.float32)
Y32 = DATA.y.astype(np.float32)

#: name -> (relu_studio Optimizer, torch.optim class, torch keyword arguments)
OPTIMIZERS = {
    "sgd": (rs.Optimizer("sgd", lr=0.05), torch.optim.SGD, dict(lr=0.05)),
    "momentum": (rs.Optimizer("momentum", lr=0.02, weight_decay=1e-3), torch.optim.SGD,
                 dict(lr=0.02, momentum=0.9, weight_decay=1e-3)),
    "nesterov": (rs.Optimizer("momentum", lr=0.02, nesterov=True), torch.optim.SGD,
                 dict(lr=0.02, momentum=0.9, nesterov=True)),
    "adam": (rs.Optimizer("adam", lr=1e-2), torch.optim.Adam, dict(lr=1e-2)),
    "adamw": (rs.Optimizer("adamw", lr=1e-2), torch.optim.AdamW, dict(lr=1e-2)),
    "rmsprop": (rs.Optimizer("rmsprop", lr=1e-3, centered=True, momentum=0.5), torch.optim.RMSprop,
                dict(lr=1e-3, centered=True, momentum=0.5)),
}
#: name -> the activation (non-default parameters where it has one)
ACTS = {
    "relu": rs.Activation("relu"), "leaky_relu": rs.Activation("leaky_relu", slope=0.1),
    "elu": rs.Activation("elu", alpha=0.7), "gelu": rs.Activation("gelu"),
    "gelu_tanh": rs.Activation("gelu_tanh"), "silu": rs.Activation("silu"),
    "softplus": rs.Activation("softplus", beta=2.0), "tanh": rs.Activation("tanh"),
    "sigmoid": rs.Activation("sigmoid"), "abs": rs.Activation("abs"),
}
assert tuple(ACTS) == ACTIVATIONS
#: Huber's delta 0.2: the residuals (noise 0.1, initial errors ~0.5) fall on both sides of it.
LOSSES = {"mse": rs.Loss("mse"), "mae": rs.Loss("mae"), "huber": rs.Loss("huber", delta=0.2)}
#: Whose derivative jumps at z = 0 (ELU's from alpha to 1 unless alpha is 1; ours is 0.7).
KINKED = ("relu", "leaky_relu", "abs", "elu")


class Abs(nn.Module):
    """|x| as a module (torch.nn has none): ``torch.abs``, whose derivative is ``sign`` (0 at 0)."""

    def forward(self, x):
        return torch.abs(x)


def torch_activation(act) -> nn.Module:
    spec = act.torch_module()
    if spec is None:
        return Abs()
    cls, kwargs = spec
    return getattr(nn, cls)(**kwargs)


def optimizer(opt_name, loss_name):
    """The optimizer and torch's (class, keyword arguments). With L1, Adam's and RMSprop's eps is
    1e-5 instead of 1e-8: an L1 gradient that cancels exactly (signs summing to 0) is float32
    round-off (up to ~3e-8) in the engine as in torch's float32; while the second moment is still
    0 Adam turns it into a step of ``lr * g / (|g| + eps)``, up to lr with eps 1e-8 (decided by
    rounding), at most ``lr * 3e-3`` (3e-5 < TOL64) with 1e-5. Torch's default eps is tested with
    MSE in test_optimizers.py."""
    opt, cls, kwargs = OPTIMIZERS[opt_name]
    if loss_name == "mae" and opt.name in ("adam", "adamw", "rmsprop"):
        opt, kwargs = dataclasses.replace(opt, eps=1e-5), dict(kwargs, eps=1e-5)
    return opt, cls, kwargs


def torch_loss(loss) -> nn.Module:
    cls, kwargs = loss.torch_module()
    return getattr(nn, cls)(**kwargs)


def minibatches(steps=STEPS, n=200, batch=40):
    return np.random.RandomState(200 + SEED).randint(0, n, (steps, batch))


def initial(width, act):
    return rs.init_network(width, SEED).replace(activation=act)


@dataclasses.dataclass(frozen=True)
class Reference:
    """torch's parameters after ``s`` steps (0: initial), the first layer's output ``pre[s]`` and
    the residuals ``res[s]`` on step ``s + 1``'s minibatch, and the minibatch losses."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    pre: np.ndarray
    res: np.ndarray
    losses: np.ndarray

    def params(self, s):
        return self.w1[s], self.b1[s], self.w2[s], self.b2[s]


@functools.lru_cache(maxsize=None)
def reference(opt_name: str, act_name: str, loss_name: str, width: int) -> Reference:
    _, opt_cls, kwargs = optimizer(opt_name, loss_name)
    net0 = initial(width, ACTS[act_name])
    net = nn.Sequential(nn.Linear(1, width), torch_activation(ACTS[act_name]), nn.Linear(width, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(np.asarray(net0.w1, np.float64).reshape(-1, 1)))
        net[0].bias.copy_(torch.from_numpy(np.asarray(net0.b1, np.float64)))
        net[2].weight.copy_(torch.from_numpy(np.asarray(net0.w2, np.float64).reshape(1, -1)))
        net[2].bias.fill_(float(net0.b2))
    x = torch.from_numpy(X32.astype(np.float64)).reshape(-1, 1)
    y = torch.from_numpy(Y32.astype(np.float64)).reshape(-1, 1)
    opt = opt_cls(net.parameters(), foreach=False, **kwargs)
    loss_fn = torch_loss(LOSSES[loss_name])
    idx = minibatches()
    params, pres, res, losses = [], [], [], []

    def keep():
        params.append([p.detach().numpy().ravel().copy() for p in net.parameters()])

    keep()
    for s in range(STEPS):
        sub = torch.from_numpy(idx[s])
        out = net(x[sub])
        with torch.no_grad():
            pres.append(net[0](x[sub]).numpy())
            res.append((out - y[sub]).numpy().ravel())
        loss = loss_fn(out, y[sub])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        keep()
    w1, b1, w2, b2 = (np.stack([p[k] for p in params]) for k in range(4))
    return Reference(w1, b1, w2, b2[:, 0], np.stack(pres), np.stack(res), np.array(losses))


def engine_run(opt_name, act_name, loss_name, width):
    return rs.train(initial(width, ACTS[act_name]), DATA, mode="all", steps=STEPS, save_every=1,
                    indices=minibatches(), optimizer=optimizer(opt_name, loss_name)[0],
                    loss=LOSSES[loss_name])


def stacked(run):
    """The engine's parameters after 0..STEPS steps, float64: (w1, b1, w2) (STEPS + 1, H), b2."""
    n = run.initial
    out = [np.vstack([np.asarray(getattr(n, k))[None], np.asarray(getattr(run, k))]).astype(np.float64)
           for k in ("w1", "b1", "w2")]
    return (*out, np.concatenate([[n.b2], np.asarray(run.b2, np.float64)]))


def first_flip(ours, ref: Reference, act_name, loss_name):
    """The first step ``s`` (0-based, or None) whose kink's side differs between the engine and
    torch: for the kinked activations a pre-activation's sign (the engine's float32 ``x w + b``,
    never fused), for L1 a residual's; with torch's value there and its weight (``1 + |x|``
    for a pre-activation, the output's size for a residual) for the round-off bound."""
    idx = minibatches()
    xb = X32[idx]  # (S, B)
    w1, b1, w2, b2 = (a[:STEPS] for a in ours)
    flips = []
    if act_name in KINKED:
        pre = xb[:, :, None] * w1[:, None, :].astype(np.float32) + b1[:, None, :].astype(np.float32)
        bad = np.sign(pre) != np.sign(ref.pre)
        if bad.any():
            s, i, j = map(int, np.argwhere(bad)[0])
            flips.append((s, "pre-activation", ref.pre[s, i, j], 1 + abs(float(xb[s, i]))))
    if loss_name == "mae":
        z = xb[:, :, None].astype(np.float64) * w1[:, None, :] + b1[:, None, :]
        out = (ACTS[act_name].value64(z) * w2[:, None, :]).sum(-1) + b2[:, None]
        bad = np.sign(out - Y32[idx]) != np.sign(ref.res)
        if bad.any():
            s, i = map(int, np.argwhere(bad)[0])
            flips.append((s, "residual", ref.res[s, i], 4.0))
    return min(flips, default=None)


def compare(opt_name, act_name, loss_name, width):
    what = f"{opt_name}/{act_name}/{loss_name}/H={width}"
    ref = reference(opt_name, act_name, loss_name, width)
    run = engine_run(opt_name, act_name, loss_name, width)
    assert run.completed_steps == STEPS and run.diverged_at is None, what
    assert run.settings.loss == LOSSES[loss_name] and run.snapshot(0).activation == ACTS[act_name]
    ours = stacked(run)
    theirs = (ref.w1, ref.b1, ref.w2, ref.b2)
    scale = np.maximum(1.0, np.max([np.abs(t.reshape(STEPS + 1, -1)).max(1) for t in theirs], axis=0))
    err = np.max([np.abs(o - t).reshape(STEPS + 1, -1).max(1) for o, t in zip(ours, theirs)],
                 axis=0) / scale  # per step, relative to the largest parameter (at least 1)
    flip = first_flip(ours, ref, act_name, loss_name)
    compared = STEPS if flip is None else flip[0]
    worst = int(np.argmax(err[:compared + 1]))
    assert err[worst] <= TOL64, (f"{what}: the parameters after {worst} steps differ from torch's "
                                 f"by {err[worst] / EPS32:.1f} EPS32 (tolerance {TOL64 / EPS32:.0f})")
    if flip is not None:
        # A side decided by rounding: torch's value lies within the runs' round-off of the kink.
        s, kind, value, weight = flip
        bound = weight * max(err[s], EPS32) * scale[s] * 8 + 8 * float(np.spacing(np.float32(abs(value))))
        assert abs(value) <= bound, (f"{what}: at step {s + 1} a {kind}'s sign differs from "
                                     f"torch's far from zero (torch's {value:.3g}, bound {bound:.3g})")
        print(f"\n{what}: compared {s} steps; at step {s + 1} a {kind} within round-off of 0 "
              f"({value:.3g}) flips")
    else:
        print(f"\n{what}: worst {err.max() / EPS32:.1f} EPS32 over {STEPS} steps")
    # the minibatch loss recorded is the training loss of the parameters before the step
    np.testing.assert_allclose(run.train_error[:compared], ref.losses[:compared], rtol=TOL64,
                               atol=TOL64, err_msg=what)
    # The comparison means something: most of the run is compared, and the parameters moved
    # far beyond the tolerance.
    assert compared >= STEPS // 5, f"{what}: only {compared} steps compared"
    moved = max(float(np.abs(o[compared] - o[0]).max()) for o in ours) / scale[0]
    assert moved > 20 * TOL64, f"{what}: moved only {moved:.3g}"
    # The snapshots' errors stay mean squared errors whatever the training loss.
    last = run.snapshot(len(run) - 1)
    want = float(np.mean((last.predict(DATA.x_test).astype(np.float64) - DATA.y_test.astype(np.float32)) ** 2))
    assert run.test_error[-1] == pytest.approx(want, rel=1e-5)


FULL = [(o, a, loss, width) for width in (1, 10, 40) for o in OPTIMIZERS for a in ACTS
        for loss in LOSSES]


@pytest.mark.parametrize("opt_name, act_name, loss_name, width", FULL)
def test_every_optimizer_activation_and_loss_matches_float64_torch(opt_name, act_name, loss_name, width):
    compare(opt_name, act_name, loss_name, width)


def test_plain_rmsprop_and_adam_with_weight_decay_match_too():
    """The RMSprop and Adam variants the cross product does not use (plain RMSprop, Adam's
    coupled weight decay) with a smooth activation and a robust loss."""
    OPTIMIZERS["rmsprop_plain"] = (rs.Optimizer("rmsprop", lr=1e-3), torch.optim.RMSprop, dict(lr=1e-3))
    OPTIMIZERS["adam_wd"] = (rs.Optimizer("adam", lr=1e-2, weight_decay=1e-2), torch.optim.Adam,
                             dict(lr=1e-2, weight_decay=1e-2))
    try:
        compare("rmsprop_plain", "silu", "huber", 10)
        compare("adam_wd", "elu", "mae", 10)
    finally:
        del OPTIMIZERS["rmsprop_plain"], OPTIMIZERS["adam_wd"]
