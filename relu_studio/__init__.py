"""ReLU Studio: see and touch how a one-hidden-layer ReLU network fits a 1-D function.

Scripting API (no Qt needed)::

    import relu_studio as rs
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    net = rs.init_network(width=20, seed=0)
    run = rs.train(net, data, mode="all", lr=0.02, steps=150_000)
    ridge = rs.fit_ridge(net, data, lam=1e-5)

The names are the core's, loaded on first use (PEP 562): importing ``relu_studio`` itself loads
neither numpy nor numba, so an entry point (``relu_studio.app``) can set up the process first --
e.g. the BLAS thread count, which numpy reads once, when it is imported.
"""
from __future__ import annotations

from . import core as _core
from .core.version import __version__

__all__ = [*_core.__all__, "__version__"]


def __getattr__(name: str):
    if name in _core.__all__:
        value = getattr(_core, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'relu_studio' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
