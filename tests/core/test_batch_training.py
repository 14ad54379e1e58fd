"""Runs trained together (core.batch_training) are the runs trained alone, bit for bit.

The batched kernel keeps every run in its own SIMD lane and does the single-run kernel's float32
operations in the same order, so the reference here is the single-run engine itself
(``rs.train``), compared byte for byte; the single-run engine is checked against the notebook's
torch loop in test_training_exact.py. Why each test can fail:

* a lane that mixes with another, sums in another order, reads another lane's minibatch, or is
  padded wrongly changes some run's bytes (batches of 1, 3, 7, 17 and 30 runs, i.e. not multiples
  of any vector width, with learning rates and seeds differing inside a batch);
* a wrong MT19937 or rejection step draws other minibatches (compared with RandomState directly);
* a diverging lane that poisons the others or records the wrong snapshot;
* a kernel whose result depends on the CPU's vector width (a subprocess with
  ``NUMBA_CPU_NAME=generic``, i.e. SSE2 only, must give the same bytes as this CPU).
"""
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import relu_studio as rs
from relu_studio import train_batch
from relu_studio.core.batch_training import LANES, RunRequest, train_many

ROOT = Path(__file__).resolve().parents[2]
RUN_ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2")
DATA = rs.make_dataset("piecewise_linear", 200, 0.1, 1)


def assert_identical(a, b, what=""):
    for name in RUN_ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, f"{what}: {name}"
        assert x.tobytes() == y.tobytes(), f"{what}: {name} differs"
    assert (a.diverged_at, a.message, a.completed_steps) == (b.diverged_at, b.message, b.completed_steps), what
    assert a.settings == b.settings, what
    assert a.modes.tolist() == b.modes.tolist() and a.lrs.tobytes() == b.lrs.tobytes(), what


@pytest.mark.parametrize("width, mode, runs, batch, steps", [
    (10, "all", 1, 40, 1500),
    (20, "output", 3, 37, 1200),
    (7, "all", 7, 13, 1000),
    (40, "all", LANES + 1, 40, 600),
    (40, "output", 30, 9, 500),
    (3, "all", 30, 40, 800),
])
def test_a_run_in_a_batch_equals_the_run_alone(width, mode, runs, batch, steps):
    seeds = [3 * i + 1 for i in range(runs)]
    nets = [rs.init_network(width, s) for s in seeds]
    lrs = [rs.DEFAULT_LR[mode] * (1 + 0.05 * (i % 5)) for i in range(runs)]
    together = train_batch(nets, DATA, mode, lrs, steps=steps, batch_size=batch, save_every=100,
                           seeds=seeds, jobs=2)
    assert len(together) == runs
    for i in {0, runs // 2, runs - 1} | set(range(0, runs, 4)):
        alone = rs.train(nets[i], DATA, mode, lrs[i], steps=steps, batch_size=batch,
                         save_every=100, seed=seeds[i])
        assert_identical(together[i], alone, f"run {i} of {runs} (H={width}, {mode}, seed {seeds[i]})")
        assert together[i].initial is nets[i]


def test_a_mixed_set_of_runs_in_any_order_equals_each_run_alone():
    """Widths, modes, seeds and learning rates mixed, requested in a shuffled order."""
    reqs = [RunRequest((w, m, s, lr), rs.init_network(w, s), m, lr, s)
            for w in (4, 9) for m in ("output", "all") for s in (0, 5, 2)
            for lr in ((rs.DEFAULT_LR[m],) if s else (rs.DEFAULT_LR[m], rs.DEFAULT_LR[m] / 2))]
    order = np.random.RandomState(0).permutation(len(reqs))
    done = []
    runs = train_many([reqs[i] for i in order], DATA, steps=700, batch_size=40, save_every=200,
                      jobs=3, on_run=lambda key, run: done.append(key))
    assert sorted(runs) == sorted(r.key for r in reqs) == sorted(done)
    for r in reqs:
        alone = rs.train(r.net, DATA, r.mode, r.lr, steps=700, save_every=200, seed=r.seed)
        assert_identical(runs[r.key], alone, str(r.key))


def test_threads_that_share_a_draw_train_each_run_as_alone(monkeypatch):
    """The notebook grid's shape on two threads: the six blocks of 10 seeds (padded lanes) share
    one stream, each thread draws half its lanes; short chunks make many meetings at the barrier
    and reuse both buffers. Widths 1 and 10 exercise the kernels' leftover inputs and units
    (batch 37), two runs of each mode diverge."""
    from relu_studio.core import batch_training as bt

    monkeypatch.setattr(bt, "MAX_CHUNK_STEPS", 7)
    reqs = [RunRequest((w, m, s), rs.init_network(w, s), m,
                       rs.DEFAULT_LR[m] * (60.0 if s in (3, 8) else 1.0), s)
            for w in (1, 10, 40) for m in ("output", "all") for s in range(10)]
    plan = bt._assign(bt._plan(reqs), 2)
    assert len(plan) == 2 and set(plan[0]) == set(plan[1])  # both threads draw for one stream
    runs = train_many(reqs, DATA, steps=300, batch_size=37, save_every=50, jobs=2)
    assert sum(r.diverged for r in runs.values()) >= 4
    for r in reqs:
        alone = rs.train(r.net, DATA, r.mode, r.lr, steps=300, batch_size=37, save_every=50,
                         seed=r.seed)
        assert_identical(runs[r.key], alone, str(r.key))


@pytest.mark.parametrize("batch", [1, 2, 3, 4, 5])
def test_minibatches_smaller_than_the_kernels_four_inputs_at_a_time(batch):
    """The kernel takes inputs four at a time and the rest one by one: a minibatch of 1-3 points
    has only the rest, 4 none, 5 both."""
    reqs = [RunRequest((w, m, s), rs.init_network(w, s), m, rs.DEFAULT_LR[m], s)
            for w in (1, 10) for m in ("output", "all") for s in (0, 4, 9)]
    runs = train_many(reqs, DATA, steps=200, batch_size=batch, save_every=40, jobs=1)
    for r in reqs:
        alone = rs.train(r.net, DATA, r.mode, r.lr, steps=200, batch_size=batch, save_every=40,
                         seed=r.seed)
        assert_identical(runs[r.key], alone, str(r.key))


def test_cancelling_threads_that_share_a_draw_stops_them_all():
    """A thread that stops at a cancel releases the one waiting for its half of the draws."""
    cancel = threading.Event()

    def progress(_k):
        cancel.set()

    reqs = [RunRequest((w, m, s), rs.init_network(w, s), m, rs.DEFAULT_LR[m], s)
            for w in (10, 40) for m in ("output", "all") for s in range(10)]
    out = {}
    worker = threading.Thread(target=lambda: out.update(train_many(
        reqs, DATA, steps=100_000, batch_size=40, save_every=1000, jobs=2, progress=progress,
        cancel=cancel)), daemon=True)
    worker.start()
    worker.join(300)  # a deadlock guard, not a speed limit: the call returns after one chunk
    assert not worker.is_alive()
    assert out == {}  # no block finished


def test_progress_counts_every_real_run_step_once():
    total = []
    lock = threading.Lock()

    def progress(k):
        with lock:
            total.append(k)

    reqs = [RunRequest(s, rs.init_network(5, s), "all", 0.02, s) for s in range(LANES + 2)]
    train_many(reqs, DATA, steps=2500, batch_size=40, save_every=1000, jobs=2, progress=progress)
    assert sum(total) == len(reqs) * 2500


def test_diverging_lanes_stop_alone_and_leave_the_others_untouched():
    seeds = list(range(6))
    lrs = [1.5, 0.02, 5.0, 0.05, 50.0, 0.02]  # three diverge, at steps 13, 5 and 3
    nets = [rs.init_network(20, s) for s in seeds]
    together = train_batch(nets, DATA, "all", lrs, steps=600, save_every=7, seeds=seeds)
    diverged = 0
    for i, run in enumerate(together):
        alone = rs.train(nets[i], DATA, "all", lrs[i], steps=600, save_every=7, seed=seeds[i])
        assert_identical(run, alone, f"lane {i}, lr {lrs[i]}")
        diverged += run.diverged
    assert diverged == 3
    assert len({r.diverged_at for r in together if r.diverged}) == 3


def test_a_batch_whose_every_run_diverges_ends_early():
    nets = [rs.init_network(10, s) for s in range(3)]
    together = train_batch(nets, DATA, "all", 80.0, steps=100_000, save_every=1000, seeds=[0, 1, 2])
    for i, run in enumerate(together):
        alone = rs.train(nets[i], DATA, "all", 80.0, steps=100_000, save_every=1000, seed=i)
        assert run.diverged and run.diverged_at < 100
        assert_identical(run, alone, f"run {i}")


@pytest.mark.parametrize("n", [1, 2, 7, 200, 1000, 2**20 + 3])
@pytest.mark.parametrize("cuts", [(0, 5), (0, 2, 5), (0, 1, 4, 5)])
def test_minibatch_draws_are_randomstates(n, cuts):
    """Drawn whole or lane range by lane range (as threads that share a draw do), in any order."""
    from relu_studio.core import _batch_kernels as K

    x = np.arange(n, dtype=np.float32)
    real, steps, batch = 5, 700, 9  # 700 * 9 draws cross several regenerations of the state
    key = np.empty((LANES, 624), np.uint32)
    pos = np.zeros(LANES, np.int64)
    for lane in range(real):
        _name, key[lane], pos[lane], *_ = np.random.RandomState(lane + 11).get_state()
    xb = np.full((steps, batch, LANES), -1, np.float32)
    yb = np.empty_like(xb)
    for part, (lo, hi) in reversed(list(enumerate(zip(cuts[:-1], cuts[1:])))):  # lane 0 last
        K.draw_minibatches(key, pos, n, x, -x, xb, yb, lo, hi, real,
                           np.empty((hi - lo, steps * batch + 1), np.uint32),
                           np.empty(624, np.uint32), part % 2 == 1)
    for lane in range(real):
        want = np.random.RandomState(lane + 11).randint(0, n, (steps, batch))
        assert np.array_equal(xb[:, :, lane].astype(np.int64), want), f"lane {lane}"
        assert np.array_equal(yb[:, :, lane], -xb[:, :, lane])
    for lane in range(real, LANES):  # padding repeats lane 0
        assert np.array_equal(xb[:, :, lane], xb[:, :, 0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(nets=[rs.init_network(3, 0), rs.init_network(4, 0)]), "one width"),
    (dict(seeds=[1]), "one seed and one learning rate per network"),
    (dict(lr=[0.1]), "one seed and one learning rate per network"),
    (dict(lr=-1.0), "learning rate"),
    (dict(mode="ridge"), "mode"),
    (dict(nets=[{"w1": 1}]), "Network"),
])
def test_bad_batches_are_refused_before_any_work(kwargs, match):
    args = dict(nets=[rs.init_network(3, 0), rs.init_network(3, 1)], data=DATA, steps=10)
    args.update(kwargs)
    with pytest.raises(rs.TrainingError, match=match):
        train_batch(**args)


def test_a_run_too_big_for_memory_is_refused_before_any_work():
    reqs = [RunRequest(0, rs.init_network(2000, 0), "all", 0.02, 0)]
    with pytest.raises(rs.TrainingError, match="snapshots of a width-2,000 network"):
        train_many(reqs, DATA, steps=10**9, batch_size=40, save_every=1)


# --------------------------------------------------------------------------- any vector width
DIGEST = """
import hashlib, numpy as np
import relu_studio as rs
from relu_studio.core.batch_training import train_batch
data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
h = hashlib.sha256()
for width, mode, runs in ((10, "all", 3), (17, "output", 5), (40, "all", 9)):
    nets = [rs.init_network(width, s) for s in range(runs)]
    lrs = [rs.DEFAULT_LR[mode] * (1 + 0.1 * i) for i in range(runs)]
    out = train_batch(nets, data, mode, lrs, steps=400, batch_size=37, save_every=50, seeds=range(runs))
    out.append(rs.train(nets[0], data, mode, lrs[0], steps=400, batch_size=37, save_every=50, seed=0))
    for run in out:
        for name in ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2"):
            h.update(np.ascontiguousarray(getattr(run, name)).tobytes())
print(h.hexdigest())
"""


def _digest(env_extra: dict, cache: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(env_extra, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", DIGEST], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def test_results_do_not_depend_on_the_cpus_vector_width(tmp_path):
    """This CPU's widest vectors against NUMBA_CPU_NAME=generic (x86-64 baseline: SSE2, 4 lanes)."""
    native = _digest({}, tmp_path / "native")
    generic = _digest({"NUMBA_CPU_NAME": "generic"}, tmp_path / "generic")
    assert len(native) == 64 and native == generic
