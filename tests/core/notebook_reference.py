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


def notebook_net(width: int, seed: int) -> nn.Sequential:
    """``torch.manual_seed(seed)``, the Sequential, then elbows from ``np.random.seed(seed)``."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1))
    np.random.seed(seed)
    elbows = np.sort(np.random.rand(width))
    new_biases = -elbows * net[0].weight.detach().numpy().ravel()
    net[0].bias.data = torch.from_numpy(new_biases).float()
    return net


def state_numpy(net: nn.Sequential) -> dict:
    return {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}


def notebook_train(net: nn.Sequential, data, mode: str, lr: float, steps: int, save_every: int,
                   indices=None, seed=None):
    """The notebook's ``train_network`` loop on ``net`` (modified in place).

    Minibatches are ``indices[s]`` if given, else ``np.random.choice(n, n // 5)`` per step after
    ``np.random.seed(seed)``. Snapshots (step 1, every ``save_every``, and the last step) hold the
    step, the minibatch loss, the full-training-set loss, the test loss and the parameters.
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
