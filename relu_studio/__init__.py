"""ReLU Studio: see and touch how a one-hidden-layer ReLU network fits a 1-D function.

Scripting API (no Qt needed)::

    import relu_studio as rs
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    net = rs.init_network(width=20, seed=0)
    run = rs.train(net, data, mode="all", lr=0.02, steps=150_000)
    ridge = rs.fit_ridge(net, data, lam=1e-5)
"""
from .core import *  # noqa: F401,F403
from .core import __all__ as _core_all
from .core.experiment import ExperimentResult, run_experiment, results_table

from ._version import __version__
__all__ = [*_core_all, "ExperimentResult", "run_experiment", "results_table", "__version__"]
