"""Every compiled kernel stays inside its arrays: numba does not check indices (an out-of-bounds
read returns whatever memory holds, and only sometimes shows), so the kernels are compiled once
more with numba's bounds checking on, in a fresh process and cache, and run over every path:
each optimizer (with momentum, centered, Nesterov), a piecewise-linear and smooth activations,
MSE and Huber, the batched kernel with padded lanes and a lane that diverges."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import numpy as np
    import relu_studio as rs
    from relu_studio.core.batch_training import train_batch
    data = rs.make_dataset("piecewise_linear", 60, 0.1, 1)
    opts = (None, rs.Optimizer("sgd", weight_decay=1e-3), rs.Optimizer("adam"),
            rs.Optimizer("rmsprop", centered=True, momentum=0.5), rs.Optimizer("momentum", nesterov=True),
            rs.Optimizer("adamw"))
    for opt in opts:
        for act in ("relu", "leaky_relu", "gelu"):
            for loss in ("mse", "huber"):
                net = rs.init_network(3, 0).replace(activation=rs.Activation(act))
                for mode in ("output", "all"):
                    rs.train(net, data, mode, steps=30, save_every=10, optimizer=opt, loss=rs.Loss(loss))
    nets = [rs.init_network(3, s) for s in range(3)]
    runs = train_batch(nets, data, "all", lr=[0.02, 0.02, 1e6], steps=30, save_every=10, seeds=[0, 1, 2])
    assert runs[2].diverged and not runs[0].diverged
    train_batch(nets, data, "output", steps=30, save_every=10, seeds=[0, 1, 2])
    print("in bounds")
""")


def test_every_kernel_path_stays_inside_its_arrays(tmp_path):
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"),
               RELU_STUDIO_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("in bounds")
