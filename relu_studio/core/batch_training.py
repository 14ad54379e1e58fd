"""Many runs trained together: runs of one width and mode advance as the SIMD lanes of one kernel.

The answer is the one :func:`.training.train` gives for each run alone, bit for bit (same
minibatches, same float32 operations in the same order; see :mod:`._kernels`). Only the speed
differs: at the notebook's widths (10-40 units) a single run leaves most vector lanes idle, a
block of :data:`LANES` runs fills them.

* :class:`RunRequest` - one run to train: a key of the caller's, the initial network, mode,
  learning rate and seed.
* :func:`train_many` - trains requests (any widths and modes) on ``jobs`` threads, in chunks of
  steps between which it reports progress and honours a cancel flag; the experiment grid, the
  Compare tab and the CLI use it through :func:`.experiment.run_experiment`.
* :func:`train_batch` - the simple form: several networks of one width, one mode, a list of seeds
  (and learning rates), returns their runs in order.

How the work is cut: the requests of one (width, mode) are sorted by seed and cut into blocks of
LANES; blocks of different widths and modes that have the same seeds share one minibatch stream
(drawn once per chunk, :func:`._batch_kernels.draw_minibatches`). The blocks are shared among the
threads so that the slowest thread's work (units x steps, plus its share of the draws) is least;
threads that train blocks of the same stream share its draws, each drawing some of the lanes
into a ring of buffers (:class:`_Stream`), so the notebook's grid of 10 seeds - one stream of
six blocks - splits across two threads without drawing its minibatches twice.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Hashable, Sequence

import numpy as np

from .arrays import read_only
from .batch_lanes import LANES
from .budget import BudgetError, check_buffer, check_history
from .dataset import Dataset
from .network import Network
from .training import (MODE_DTYPE, MAX_INDEX_ELEMENTS, Run, TrainingError, TrainSettings,
                       divergence_bound, divergence_message, snapshot_count, snapshot_steps)

__all__ = ["RunRequest", "train_many", "train_batch", "LANES", "CHUNK_WORK"]

#: Unit-steps a thread trains between progress reports and cancel checks (about 10 ms of
#: training): a chunk has CHUNK_WORK // (sum of its blocks' widths) steps, at most MAX_CHUNK_STEPS.
CHUNK_WORK = 64_000
MAX_CHUNK_STEPS = 1000
#: Buffers of a draw that threads share: a thread may run this many chunks ahead, less one.
SHARED_DEPTH = 3
#: The cost of drawing one lane's minibatches for one step, in the units of _block_cost (measured:
#: the 10-seed notebook grid's draws take about an eighth of the time of its six blocks, whose
#: cost is 238).
_DRAW_COST_PER_LANE = 3.0


@dataclass(frozen=True)
class RunRequest:
    """One run to train: ``key`` is the caller's name for it (e.g. ``(width, mode, seed)``)."""

    key: Hashable
    net: Network
    mode: str
    lr: float
    seed: int


class _Stream:
    """The minibatch draws of a block's lanes: each lane continues ``RandomState(seed)``.

    The threads that train blocks of these seeds (``parts`` of them) share one draw: each draws
    its own share of the lanes of chunk ``c`` into a common buffer, waits until the others have
    drawn theirs, trains its blocks on it and says so (:meth:`trained`). The buffers are a ring
    of SHARED_DEPTH, so a thread may run up to SHARED_DEPTH - 1 chunks ahead of the slowest (a
    thread the system pauses for a moment does not stop the others at once); it draws into a
    buffer only when every thread has trained on its previous contents."""

    def __init__(self, seeds: Sequence[int], x32, y32, batch: int, chunk: int = MAX_CHUNK_STEPS,
                 parts: int = 1):
        from . import _batch_kernels

        self._k = _batch_kernels
        padded = list(seeds) + [seeds[0]] * (LANES - len(seeds))
        self.key = np.empty((LANES, 624), np.uint32)
        self.pos = np.empty(LANES, np.int64)
        for lane, seed in enumerate(padded):
            _name, key, pos, *_ = np.random.RandomState(seed).get_state()
            self.key[lane], self.pos[lane] = key, pos
        self.x, self.y, self.batch, self.real = x32, y32, batch, len(seeds)
        self.parts = parts
        cuts = np.linspace(0, self.real, parts + 1).round().astype(int)
        self.lanes = [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:])]
        self.depth = SHARED_DEPTH if parts > 1 else 1
        # Allocated here, not on first use: threads must not race to create them.
        self._bufs = [(np.empty((chunk, batch, LANES), np.float32),
                       np.empty((chunk, batch, LANES), np.float32)) for _ in range(self.depth)]
        self._scratch = [(np.empty((hi - lo, chunk * batch + 1), np.uint32),
                          np.empty(624, np.uint32)) for lo, hi in self.lanes]  # each thread's
        self._cond = threading.Condition()
        self._drawn = [0] * parts  # chunks each thread has drawn its lanes of
        self._trained = [0] * parts  # chunks each thread has trained on
        self._broken = False

    def _wait(self, ready) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._broken or ready())
            if self._broken:
                raise threading.BrokenBarrierError

    def draw(self, steps: int, part: int = 0, chunk: int = 0):
        """Draw this thread's lanes (``part``) of chunk number ``chunk``: the next ``steps`` steps'
        minibatches; if the draw is shared, wait for the other threads' lanes. Returns ``(xb,
        yb)`` of shape (steps, batch, LANES), valid until :meth:`trained` for this chunk. Raises
        ``threading.BrokenBarrierError`` if a thread sharing it stopped (cancel, error)."""
        if steps > self._bufs[0][0].shape[0]:
            raise ValueError(f"a chunk of {steps} steps is longer than the stream's buffers")
        shared = self.parts > 1
        if shared:  # the buffer's previous chunk, chunk - depth, is done with
            self._wait(lambda: min(self._trained) > chunk - self.depth)
        xb, yb = self._bufs[chunk % self.depth]
        xb, yb = xb[:steps], yb[:steps]
        lo, hi = self.lanes[part]
        self._k.draw_minibatches(self.key, self.pos, self.x.shape[0], self.x, self.y, xb, yb,
                                 lo, hi, self.real, *self._scratch[part], part % 2 == 1)
        if shared:
            with self._cond:
                self._drawn[part] = chunk + 1
                self._cond.notify_all()
            self._wait(lambda: min(self._drawn) > chunk)
        return xb, yb

    def trained(self, part: int, chunk: int) -> None:
        """Thread ``part`` is done with chunk number ``chunk``'s buffer."""
        if self.parts > 1:
            with self._cond:
                self._trained[part] = chunk + 1
                self._cond.notify_all()

    def abort(self) -> None:
        """Release the threads waiting for this draw (they raise BrokenBarrierError)."""
        with self._cond:
            self._broken = True
            self._cond.notify_all()


class _Block:
    """Up to LANES runs of one width and mode, trained as the lanes of one kernel."""

    def __init__(self, requests: Sequence[RunRequest], arrays, steps: int, batch: int,
                 save_every: int, loss_bound: float):
        from . import _batch_kernels

        self._k = _batch_kernels
        self.requests = list(requests)
        self.mode = requests[0].mode
        self.width = requests[0].net.width
        self.steps, self.batch, self.save_every = steps, batch, save_every
        self.x, self.y, self.xt, self.yt = arrays
        self.loss_bound = loss_bound
        padded = self.requests + [self.requests[0]] * (LANES - len(self.requests))
        self.w1 = np.ascontiguousarray(np.stack([r.net.w1 for r in padded], 1), np.float32)
        self.b1 = np.ascontiguousarray(np.stack([r.net.b1 for r in padded], 1), np.float32)
        self.w2 = np.ascontiguousarray(np.stack([r.net.w2 for r in padded], 1), np.float32)
        self.b2 = np.array([r.net.b2 for r in padded], np.float32)
        self.lr = np.array([r.lr for r in padded], np.float32)
        self.snap_steps = snapshot_steps(steps, save_every)
        m, h, r = self.snap_steps.size, self.width, len(self.requests)
        self.ptr = np.zeros(r, np.int64)  # only the real lanes keep a history
        self.diverged_at = np.full(LANES, -1, np.int64)
        self.snap = dict(step=np.zeros((r, m), np.int64), train=np.zeros((r, m)),
                         full=np.zeros((r, m)), test=np.zeros((r, m)),
                         w1=np.zeros((r, m, h), np.float32), b1=np.zeros((r, m, h), np.float32),
                         w2=np.zeros((r, m, h), np.float32), b2=np.zeros((r, m), np.float32))
        # The kernel's scratch (each its own allocation: the kernel relies on it).
        self.scratch = (np.empty(LANES, np.float32), np.empty((h, LANES), np.float32),
                        np.empty((h, LANES), np.float32), np.empty((h, LANES), np.float32),
                        np.empty(LANES, np.float32),
                        *(np.empty((h, LANES), np.float32) for _ in range(4)),
                        *(np.empty(LANES, np.float32) for _ in range(4)))
        self.step = 0

    def advance(self, xb, yb) -> None:
        """Train the steps whose minibatches are ``xb``/``yb`` (steps, batch, LANES)."""
        sn = self.snap
        self._k.sgd_lanes(xb, yb, self.x, self.y, self.xt, self.yt, self.w1, self.b1, self.w2,
                          self.b2, self.lr, self.mode == "all", self.step, self.snap_steps,
                          self.ptr, sn["step"], sn["train"], sn["full"], sn["test"], sn["w1"],
                          sn["b1"], sn["w2"], sn["b2"], self.loss_bound, self.diverged_at,
                          *self.scratch)
        self.step += xb.shape[0]

    def runs(self) -> list[tuple[Hashable, Run]]:
        """The finished runs (only the real lanes), as :class:`.training.Trainer` would give them."""
        out = []
        for lane, req in enumerate(self.requests):
            c = int(self.ptr[lane])

            def own(a):
                return read_only(np.array(a[lane, :c]))

            at = int(self.diverged_at[lane])
            settings = TrainSettings(req.mode, req.lr, self.steps, self.batch, self.save_every, req.seed)
            sn = self.snap
            run = Run(initial=req.net, settings=settings, steps=own(sn["step"]),
                      train_error=own(sn["train"]), full_train_error=own(sn["full"]),
                      test_error=own(sn["test"]), w1=own(sn["w1"]), b1=own(sn["b1"]),
                      w2=own(sn["w2"]), b2=own(sn["b2"]),
                      diverged_at=at if at >= 0 else None,
                      message=divergence_message(at, sn["train"][lane, c - 1], req.lr) if at >= 0 else "",
                      completed_steps=at - 1 if at >= 0 else self.step,
                      modes=read_only(np.full(c, req.mode, dtype=MODE_DTYPE)),
                      lrs=read_only(np.full(c, float(req.lr))))
            out.append((req.key, run))
        return out


def _plan(requests: Sequence[RunRequest]) -> dict[tuple, list[list[RunRequest]]]:
    """Blocks of LANES runs of one width and mode, grouped by the seeds of their lanes."""
    groups: dict[tuple, list[RunRequest]] = {}
    for r in requests:
        groups.setdefault((r.net.width, r.mode), []).append(r)
    streams: dict[tuple, list[list[RunRequest]]] = {}
    for reqs in groups.values():
        reqs = sorted(reqs, key=lambda r: (r.seed, r.lr))
        for i in range(0, len(reqs), LANES):
            block = reqs[i:i + LANES]
            streams.setdefault(tuple(r.seed for r in block), []).append(block)
    return streams


def _block_cost(block: Sequence[RunRequest]) -> float:
    return block[0].net.width * (2.0 if block[0].mode == "all" else 1.4)


def _assign(streams: dict, jobs: int) -> list[dict[tuple, list]]:
    """Share the blocks among ``jobs`` threads so that the slowest thread's load (its blocks'
    cost plus its share of the draws of every stream it trains blocks of) is least: largest
    blocks first, each to the thread that keeps the maximum load lowest. A stream's draws are
    split evenly among the threads that train its blocks. Returns, per thread that got work,
    ``{seeds: [blocks]}``."""
    items = sorted(((seeds, b) for seeds, blocks in streams.items() for b in blocks),
                   key=lambda sb: -_block_cost(sb[1]))
    owned: list[dict] = [{} for _ in range(jobs)]
    block_load = [0.0] * jobs

    def loads(extra_t=None, extra_seeds=None, extra_cost=0.0):
        parts: dict = {}
        for t in range(jobs):
            for seeds in owned[t]:
                parts[seeds] = parts.get(seeds, 0) + 1
        if extra_t is not None and extra_seeds not in owned[extra_t]:
            parts[extra_seeds] = parts.get(extra_seeds, 0) + 1
        out = []
        for t in range(jobs):
            mine = set(owned[t]) | ({extra_seeds} if t == extra_t else set())
            out.append(block_load[t] + (extra_cost if t == extra_t else 0.0)
                       + sum(_DRAW_COST_PER_LANE * len(seeds) / parts[seeds] for seeds in mine))
        return out

    for seeds, block in items:
        cost = _block_cost(block)

        def score(t):
            after = loads(t, seeds, cost)
            return max(after), after[t], t

        t = min(range(jobs), key=score)
        block_load[t] += cost
        owned[t].setdefault(seeds, []).append(block)
    return [o for o in owned if o]


def train_many(requests: Sequence[RunRequest], data: Dataset, steps: int, batch_size: int,
               save_every: int, jobs: int | None = None,
               progress: Callable[[int], None] | None = None,
               cancel: threading.Event | None = None,
               on_run: Callable[[Hashable, Run], None] | None = None) -> dict:
    """Train every request for ``steps`` steps (settings already validated, ``batch_size``
    resolved); returns ``{key: Run}`` (runs of a block stopped by ``cancel`` are left out).

    ``progress(k)`` reports that ``k`` more run-steps are done (from worker threads); ``on_run``
    reports each finished run. Raises :class:`.training.TrainingError` if a run would not fit in
    memory, before any work.
    """
    for r in requests:
        try:
            check_history(snapshot_count(steps, save_every), r.net.width)
            check_buffer(batch_size, r.net.width)
        except BudgetError as exc:
            raise TrainingError(str(exc)) from None
    if not requests:
        return {}
    x32, y32 = data.x.astype(np.float32), data.y.astype(np.float32)
    arrays = (x32, y32, data.x_test.astype(np.float32), data.y_test.astype(np.float32))
    bound = divergence_bound(y32)
    jobs = max(1, jobs or os.cpu_count() or 1)
    plan = _assign(_plan(requests), jobs)
    results: dict = {}
    lock = threading.Lock()

    # Every thread takes the streams in one order, so threads that share a stream's draws
    # wait for each other only there (no deadlock).
    order = sorted({seeds for owned in plan for seeds in owned})
    parts = {seeds: [t for t, owned in enumerate(plan) if seeds in owned] for seeds in order}
    chunks = {}
    for seeds in order:  # one chunk length for the threads that share a stream
        width_sum = sum(r.net.width for owned in plan for b in owned.get(seeds, ()) for r in b[:1])
        chunks[seeds] = max(1, min(MAX_CHUNK_STEPS,
                                   CHUNK_WORK * len(parts[seeds]) // max(width_sum, 1),
                                   MAX_INDEX_ELEMENTS // (batch_size * LANES)))
    # A stream is made when its first thread starts on it and dropped when its last one is
    # done (its buffers are big).
    streams: dict = {}
    users = {seeds: len(parts[seeds]) for seeds in order}
    made = threading.Lock()

    def stream_of(seeds):
        with made:
            if seeds not in streams:
                streams[seeds] = _Stream(seeds, x32, y32, batch_size, chunks[seeds],
                                         len(parts[seeds]))
            return streams[seeds]

    def done_with(seeds):
        with made:
            users[seeds] -= 1
            if users[seeds] == 0:
                streams.pop(seeds, None)

    def work(t):
        for seeds in order:
            if t not in parts[seeds]:
                continue
            stream, part = stream_of(seeds), parts[seeds].index(t)
            try:
                if cancel is not None and cancel.is_set():
                    stream.abort()
                    return
                blocks = [_Block(b, arrays, steps, batch_size, save_every, bound)
                          for b in plan[t][seeds]]
                real = sum(len(b.requests) for b in blocks)
                done, c = 0, 0
                while done < steps:
                    if cancel is not None and cancel.is_set():
                        stream.abort()
                        return
                    k = min(chunks[seeds], steps - done)
                    xb, yb = stream.draw(k, part, c)
                    for b in blocks:
                        b.advance(xb, yb)
                    stream.trained(part, c)
                    done += k
                    c += 1
                    if progress is not None:
                        progress(k * real)
            except threading.BrokenBarrierError:
                return  # a thread sharing these draws stopped: cancelled (or failed, and raises)
            except BaseException:
                stream.abort()
                raise
            done_with(seeds)
            for b in blocks:
                for key, run in b.runs():
                    with lock:
                        results[key] = run
                    if on_run is not None:
                        on_run(key, run)

    if len(plan) == 1:
        work(0)
    else:
        with ThreadPoolExecutor(max_workers=len(plan), thread_name_prefix="relu-batch") as pool:
            for fut in [pool.submit(work, t) for t in range(len(plan))]:
                fut.result()
    return results


def train_batch(nets: Sequence[Network], data: Dataset, mode: str = "all", lr=None,
                steps: int = 150_000, batch_size: int | None = None, save_every: int = 1000,
                seeds: Sequence[int] | None = None, jobs: int | None = None) -> list[Run]:
    """Train several networks of one width in one mode together; ``seeds`` (default 0, 1, ...)
    choose each run's minibatches and ``lr`` is one learning rate or one per run. Returns the runs
    in order; each equals ``train(nets[i], data, mode, lr[i], steps, batch_size, save_every,
    seeds[i])`` bit for bit."""
    nets = list(nets)
    if not nets:
        return []
    if any(not isinstance(n, Network) for n in nets):
        raise TrainingError("train_batch() needs relu_studio Networks")
    if len({n.width for n in nets}) != 1:
        raise TrainingError("train_batch() trains networks of one width; group them by width")
    seeds = list(range(len(nets))) if seeds is None else [int(s) for s in seeds]
    lrs = list(lr) if isinstance(lr, (list, tuple, np.ndarray)) else [lr] * len(nets)
    if len(seeds) != len(nets) or len(lrs) != len(nets):
        raise TrainingError(f"give one seed and one learning rate per network ({len(nets)})")
    requests = []
    for i, (net, seed, rate) in enumerate(zip(nets, seeds, lrs)):
        st = TrainSettings(mode, rate, steps, batch_size, save_every, seed).resolved(data.n)
        requests.append(RunRequest(i, net, st.mode, st.lr, st.seed))
    runs = train_many(requests, data, st.steps, st.batch_size, st.save_every, jobs=jobs)
    return [runs[i] for i in range(len(nets))]
