"""An independent re-implementation of the course notebook (Berkeley EECS182 HW0) in torch.

Nothing here uses relu_studio's engine: the tests compare the engine against these functions.
Everything follows the notebook line by line: ``nn.Sequential(Linear(1,H), ReLU(), Linear(H,1))``,
``MSELoss``, ``torch.optim.SGD``, float32 tensors, one thread.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(1)

#: float32 machine epsilon (2**-23); tolerances in the tests are multiples of it.
EPS32 = float(np.finfo(np.float32).eps)


def to_torch(a):
    """The notebook's helper: numpy -> float32 tensor (copied: engine arrays are read-only)."""
    return torch.from_numpy(np.array(a)).float()


def notebook_data(f, n=200, noise=0.1, seed=1):
    """The notebook's data construction, verbatim (returns X (n,1), y, X_test (m,1), y_test)."""
    rng = np.random.RandomState(seed)
    X = np.sort(rng.rand(n, 1), axis=0)
    y = f(X).ravel() + noise * rng.randn(n)
    X_test = np.sort(np.concatenate([X.ravel(), np.linspace(0, 1, 1000)])).reshape(-1, 1)
    y_test = f(X_test).ravel()
    return X, y, X_test, y_test


def notebook_piecewise_linear(x):
    t = 10 * x
    c = 12345
    return (t - np.floor(t)) * np.sin(c * np.ceil(t)) - (t - np.ceil(t)) * np.sin(c * np.floor(t))


#: How the first layer rounds its pre-activation ``x * w + b`` (see :class:`RoundedFirstLayer`).
RULES = ("linear", "separate", "fused")


class RoundedFirstLayer(nn.Module):
    """``Linear(1, H)`` whose pre-activation ``x * w + b`` is rounded by a stated rule.

    ``nn.Linear`` leaves the rounding to whatever kernel torch picks on this CPU at run time (a
    BLAS ``addmm`` may or may not fuse the product and the sum). The two stated rules are the same
    on every CPU, because each elementwise float32 operation is correctly rounded by IEEE 754:

    * ``"separate"``: ``torch.add(torch.mul(x, w), b)``: the product rounded to float32, then the
      sum (the rule ReLU Studio's engine documents and follows).
    * ``"fused"``: the exact ``x * w + b`` rounded once, as a fused multiply-add does (emulated in
      float64, where the product of two float32 numbers is exact).

    The parameters keep the notebook's names, so the state dict still has ``0.weight``/``0.bias``.
    """

    def __init__(self, linear: nn.Linear, rule: str):
        super().__init__()
        if rule not in ("separate", "fused"):
            raise ValueError(rule)
        self.weight, self.bias, self.rule = linear.weight, linear.bias, rule

    def forward(self, x):
        if self.rule == "separate":
            return torch.add(torch.mul(x, self.weight.T), self.bias)
        return (x.double() * self.weight.double().T + self.bias.double()).float()


def notebook_net(width: int, seed: int, rule: str = "linear") -> nn.Sequential:
    """``torch.manual_seed(seed)``, the Sequential, then elbows from ``np.random.seed(seed)``.

    ``rule`` other than ``"linear"`` replaces the first layer by a :class:`RoundedFirstLayer`
    with the same parameters.
    """
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1))
    np.random.seed(seed)
    elbows = np.sort(np.random.rand(width))
    new_biases = -elbows * net[0].weight.detach().numpy().ravel()
    net[0].bias.data = torch.from_numpy(new_biases).float()
    if rule != "linear":
        net[0] = RoundedFirstLayer(net[0], rule)
    return net


def load_network(net: nn.Sequential, w1, b1, w2, b2) -> nn.Sequential:
    """Put float32 parameters (the engine's layout) into the notebook's model, in place."""
    with torch.no_grad():
        net[0].weight.copy_(to_torch(np.reshape(w1, (-1, 1))))
        net[0].bias.copy_(to_torch(np.ravel(b1)))
        net[2].weight.copy_(to_torch(np.reshape(w2, (1, -1))))
        net[2].bias.copy_(to_torch(np.reshape(b2, (1,))))
    return net


def state_numpy(net: nn.Sequential) -> dict:
    return {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}


def notebook_train(net: nn.Sequential, data, mode: str, lr: float, steps: int, save_every: int,
                   indices=None, seed=None, record_pre: bool = False):
    """The notebook's ``train_network`` loop on ``net`` (modified in place).

    Minibatches are ``indices[s]`` if given, else ``np.random.choice(n, n // 5)`` per step after
    ``np.random.seed(seed)``. Snapshots (step 1, every ``save_every``, and the last step) hold the
    step, the minibatch loss, the full-training-set loss, the test loss and the parameters; with
    ``record_pre`` also the first layer's output on that step's minibatch before the update
    (``pre``, float32 (B, H)): the pre-activations whose sign decided the ReLU gates.
    """
    X_torch, y_torch = to_torch(data.x.reshape(-1, 1)), to_torch(data.y.reshape(-1, 1))
    Xt, yt = to_torch(data.x_test.reshape(-1, 1)), to_torch(data.y_test.reshape(-1, 1))
    params = list(net.parameters())
    optim = torch.optim.SGD(params if mode == "all" else params[2:], lr=lr)
    loss = nn.MSELoss()
    n = data.x.size
    if indices is None:
        np.random.seed(seed)
    snaps = []
    for s in range(steps):
        sub = indices[s] if indices is not None else np.random.choice(n, n // 5)
        sub = torch.from_numpy(np.asarray(sub))
        if record_pre:
            with torch.no_grad():
                pre = net[0](X_torch[sub, :]).numpy().copy()
        step_loss = loss(y_torch[sub], net(X_torch[sub, :]))
        optim.zero_grad()
        step_loss.backward()
        optim.step()
        if (s + 1) % save_every == 0 or s == 0 or s + 1 == steps:
            with torch.no_grad():
                test_loss = loss(yt, net(Xt)).item()
                full_loss = loss(y_torch, net(X_torch)).item()
            snaps.append(dict(step=s + 1, train=step_loss.item(), full=full_loss, test=test_loss,
                              state=state_numpy(net)))
            if record_pre:
                snaps[-1]["pre"] = pre
    return snaps


def notebook_train_network(X, y, X_test, y_test, net, optim, n_steps, save_every):
    """The notebook's ``train_network``, verbatim apart from printing."""
    loss = torch.nn.MSELoss()
    y_torch = to_torch(y.reshape(-1, 1))
    X_torch = to_torch(X)
    history = {}
    for s in range(n_steps):
        subsample = np.random.choice(y.size, y.size // 5)
        step_loss = loss(y_torch[subsample], net(X_torch[subsample, :]))
        optim.zero_grad()
        step_loss.backward()
        optim.step()
        if (s + 1) % save_every == 0 or s == 0:
            history[s + 1] = {}
            history[s + 1]['state'] = copy.deepcopy(net.state_dict())
            with torch.no_grad():
                test_loss = loss(to_torch(y_test.reshape(-1, 1)), net(to_torch(X_test)))
            history[s + 1]['train_error'] = step_loss.detach().numpy().item()
            history[s + 1]['test_error'] = test_loss.detach().numpy().item()
    return history
