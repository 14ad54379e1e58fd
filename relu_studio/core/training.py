"""Minibatch SGD on the network, exactly as the course notebook trains it, in resumable chunks.

``train`` runs to the end; :class:`Trainer` runs any number of steps at a time (the GUI worker
pauses and stops between chunks) and exposes the history so far as read-only views, without
copying it. Minibatches are ``batch_size`` indices drawn with replacement per step from
``numpy.random.RandomState(seed)`` (the same draws as the notebook's ``np.random.choice`` after
``np.random.seed(seed)``), or replayed from a given ``indices`` array.

``optimizer=`` (a :class:`.optimizers.Optimizer`) trains with momentum, Adam, AdamW or RMSprop
instead (core._optim_kernels); None, or plain ``Optimizer("sgd")``, is the notebook's SGD kernel.
Both kernels train the network's own activation (``net.activation``, core.activations) with the
settings' ``loss`` (a :class:`.losses.Loss`; None is the notebook's MSE). The snapshots' full-train
and test errors are mean squared errors whatever the loss; their minibatch loss is the training loss.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arrays import read_only
from .budget import BudgetError, check_buffer, check_history, snapshot_count
from .dataset import Dataset
from .losses import Loss
from .network import Network
from .optimizers import Optimizer
from .settings import DEFAULT_LR, SGD_MODES, SettingsError, check, check_mode

__all__ = ["TrainSettings", "Trainer", "Run", "train", "train_chunks", "snapshot_steps", "snapshot_count",
           "DEFAULT_LR", "MODES", "TrainingError"]

#: The modes that train by SGD, and the notebook's learning rate of each (core.settings).
MODES = SGD_MODES
#: Steps drawn and run per kernel call when no chunk size is asked for (bounds index memory).
INTERNAL_CHUNK = 16_384
#: At most this many minibatch indices are drawn at once (a batch of 10^6 points: 4 steps).
MAX_INDEX_ELEMENTS = 2**22
#: A minibatch loss above this many times (mean y² + 1) counts as divergence.
DIVERGENCE_FACTOR = 1e6


#: The numpy dtype of per-snapshot mode names.
MODE_DTYPE = "<U8"


class TrainingError(ValueError):
    """Training settings that cannot be used; the message says why."""


@dataclass(frozen=True)
class TrainSettings:
    """How to train: mode ("output" = output layer only, "all" = all layers), lr, steps, ..."""

    mode: str = "all"
    lr: float | None = None
    steps: int = 150_000
    batch_size: int | None = None
    save_every: int = 1000
    seed: int = 0
    #: None: the notebook's plain SGD. Otherwise the optimizer, its ``lr`` that of these settings.
    optimizer: Optimizer | None = None
    #: None: the notebook's MSE. Otherwise the training loss (core.losses).
    loss: Loss | None = None

    def resolved(self, n: int) -> "TrainSettings":
        """Validated settings with defaults filled in for a data set of ``n`` points."""
        opt = self.optimizer
        if opt is not None and not isinstance(opt, Optimizer):
            raise TrainingError(f"optimizer must be a relu_studio Optimizer or None, got {opt!r}")
        if self.loss is not None and not isinstance(self.loss, Loss):
            raise TrainingError(f"loss must be a relu_studio Loss or None, got {self.loss!r}")
        try:
            mode = check_mode(self.mode, SGD_MODES)
            lr = self.lr
            if lr is None:
                lr = DEFAULT_LR[mode] if opt is None else opt.lr_or(DEFAULT_LR[mode])
            lr = check("lr", lr)
            steps = check("steps", self.steps)
            save_every = check("save_every", self.save_every)
            seed = check("seed", self.seed)
            batch = check("batch_size", self.batch_size)
        except SettingsError as exc:
            raise TrainingError(str(exc)) from None
        if batch is None:
            batch = n // 5
            if batch < 1:
                raise TrainingError(
                    f"the default batch size n // 5 is 0 for {n} points; add points or set a batch size"
                )
        if opt is not None:
            opt = opt.with_lr(lr)
        return TrainSettings(mode, lr, steps, batch, save_every, seed, opt, self.loss)


def snapshot_steps(steps: int, save_every: int) -> np.ndarray:
    """The steps at which a snapshot is kept: 1, every ``save_every``, and the last step."""
    s = set(range(save_every, steps + 1, save_every))
    s.update({1, steps})
    return np.array(sorted(s), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Run:
    """A training history: one entry per snapshot (arrays are read-only)."""

    initial: Network
    settings: TrainSettings
    steps: np.ndarray
    train_error: np.ndarray  # the minibatch loss of that step (MSE unless settings.loss), as the notebook records it
    full_train_error: np.ndarray  # MSE on all training points after that step
    test_error: np.ndarray  # MSE on the test set after that step
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    diverged_at: int | None = None
    message: str = ""
    completed_steps: int = 0
    extra: dict = field(default_factory=dict, repr=False)
    #: Per snapshot: the mode ("output"/"all") and learning rate of the steps that led to it (a
    #: run's mode and lr may change between chunks). Default: ``settings``' for every snapshot.
    modes: np.ndarray | None = field(default=None, repr=False)
    lrs: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        n = len(self.steps)
        if self.modes is None:
            object.__setattr__(self, "modes", read_only(np.full(n, self.settings.mode, dtype=MODE_DTYPE)))
        if self.lrs is None:
            lr = np.nan if self.settings.lr is None else float(self.settings.lr)
            object.__setattr__(self, "lrs", read_only(np.full(n, lr)))

    def __len__(self) -> int:
        return int(self.steps.size)

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def snapshot(self, i: int) -> Network:
        """The network of snapshot number ``i`` (0-based), with the initial network's activation."""
        return Network(self.w1[i], self.b1[i], self.w2[i], float(self.b2[i]), self.initial.activation)

    def index_at(self, step: int) -> int:
        """Index of the last snapshot at or before ``step`` (-1: before the first snapshot)."""
        return int(np.searchsorted(self.steps, step, side="right")) - 1

    def network_at(self, step: int) -> Network:
        """The network after ``step`` steps: the last snapshot at or before it (step 0: initial)."""
        i = self.index_at(step)
        return self.initial if i < 0 else self.snapshot(i)

    @property
    def final(self) -> Network:
        """The network at the last snapshot (the initial network if there is none)."""
        return self.initial if len(self) == 0 else self.snapshot(len(self) - 1)


def divergence_message(step: int, loss: float, lr: float) -> str:
    """What a run that diverged at ``step`` with minibatch loss ``loss`` tells the user."""
    return (f"Training diverged at step {step}: the minibatch loss became {loss:.3g}. "
            f"Try a smaller learning rate (e.g. {lr / 10:g}) or re-initialise.")


def divergence_bound(y32: np.ndarray) -> float:
    """The minibatch loss above which a run counts as diverged, for float32 targets ``y32``."""
    return DIVERGENCE_FACTOR * (float(np.mean(np.square(y32), dtype=np.float64)) + 1.0)


class Trainer:
    """Resumable training of one network; never mutates the network it was given.

    ``advance(k)`` runs up to ``k`` more steps and returns how many ran; ``result()`` is the
    history so far (views, not copies); ``network`` is the current network.
    """

    def __init__(self, net: Network, data: Dataset, mode: str = "all", lr: float | None = None,
                 steps: int = 150_000, batch_size: int | None = None, save_every: int = 1000,
                 seed: int = 0, indices=None, loss_bound: float | None = None,
                 optimizer: Optimizer | None = None, loss: Loss | None = None, resume=None):
        from . import (
            _kernels,  # compiled on first use; imported lazily to keep start-up fast
        )

        self._k = _kernels
        if not isinstance(net, Network):
            raise TrainingError("train() needs a relu_studio Network")
        self.settings = TrainSettings(mode, lr, steps, batch_size, save_every, seed,
                                      optimizer, loss).resolved(data.n)
        st = self.settings
        self.initial = net
        self.data = data
        self._x = data.x.astype(np.float32)
        self._y = data.y.astype(np.float32)
        self._xt = data.x_test.astype(np.float32)
        self._yt = data.y_test.astype(np.float32)
        if indices is not None:
            idx = np.asarray(indices)
            if idx.dtype.kind not in "iu":
                raise TrainingError("indices must be an integer array")
            if idx.ndim != 2 or idx.shape[0] < st.steps or idx.shape[1] < 1:
                raise TrainingError(
                    f"indices must have shape (steps, batch) with at least {st.steps} rows, got {idx.shape}"
                )
            if idx.size and (idx.min() < 0 or idx.max() >= data.n):
                raise TrainingError(f"indices must lie in [0, {data.n})")
            self._indices = np.ascontiguousarray(idx[: st.steps], dtype=np.int64)
            self.settings = st = TrainSettings(st.mode, st.lr, st.steps, idx.shape[1], st.save_every,
                                               st.seed, st.optimizer, st.loss)
            self._rng = None
        else:
            self._indices = None
            self._rng = np.random.RandomState(st.seed)
        self._loss_bound = float(loss_bound) if loss_bound is not None else divergence_bound(self._y)
        self._w1 = np.array(net.w1, dtype=np.float32)
        self._b1 = np.array(net.b1, dtype=np.float32)
        self._w2 = np.array(net.w2, dtype=np.float32)
        self._b2 = np.array([net.b2], dtype=np.float32)
        self._act = _kernels.activation_code(net.activation)
        self._loss = _kernels.loss_code(st.loss)
        # The notebook's ReLU with MSE has kernels of their own (each compiles alone: a first
        # start prepares only the SGD one); any other activation or loss, the general kernels.
        self._notebook_kernels = net.activation.is_relu and (st.loss is None or st.loss.is_mse)
        try:
            check_history(snapshot_count(st.steps, st.save_every), net.width)
            check_buffer(st.batch_size, net.width)
        except BudgetError as exc:
            raise TrainingError(str(exc)) from None
        self._snap_steps = snapshot_steps(st.steps, st.save_every)
        if resume is not None:  # the rest of a run: its snapshot steps, counted from here
            off = int(resume.step)
            full = snapshot_steps(st.steps + off, st.save_every) - off
            self._snap_steps = full[full > 0]
        m, h = self._snap_steps.size, net.width
        self._h = {
            "steps": np.zeros(m, np.int64), "train": np.zeros(m), "full": np.zeros(m),
            "test": np.zeros(m), "w1": np.zeros((m, h), np.float32), "b1": np.zeros((m, h), np.float32),
            "w2": np.zeros((m, h), np.float32), "b2": np.zeros(m, np.float32),
            "mode": np.empty(m, MODE_DTYPE), "lr": np.full(m, np.nan),
        }
        self._count = 0
        self.step = 0
        self.diverged_at: int | None = None
        self.message = ""
        self._opt_state = None  # (state, counts) of a non-SGD optimizer, made on its first step
        if resume is not None:
            self._restore(resume)

    # ------------------------------------------------------------------ state
    @property
    def done(self) -> bool:
        return self.diverged_at is not None or self.step >= self.settings.steps

    @property
    def total_steps(self) -> int:
        return self.settings.steps

    @property
    def network(self) -> Network:
        """The current parameters as an immutable network (a copy)."""
        return Network(self._w1, self._b1, self._w2, float(self._b2[0]), self.initial.activation)

    def set_options(self, *, lr: float | None = None, mode: str | None = None) -> None:
        """Change the learning rate and/or mode for the following steps (between chunks).

        A new mode without a learning rate takes that mode's default (the notebook's 0.2 for the
        output layer, 0.02 for all layers); the snapshots already taken keep theirs.
        """
        st = self.settings
        new_mode = mode or st.mode
        if lr is None and new_mode == st.mode:
            lr = st.lr
        opt = st.optimizer
        if opt is not None and lr is None and new_mode != st.mode:
            opt = opt.with_lr(None)  # the new mode's (or the optimizer's) default learning rate
        self.settings = TrainSettings(new_mode, lr, st.steps, st.batch_size, st.save_every,
                                      st.seed, opt, st.loss).resolved(self.data.n)

    @property
    def optimizer_state(self):
        """A copy of the optimizer's state ``(buffers (3, 4, H) float32, step counts (2,))`` (see
        core._optim_kernels), or None for plain SGD or before the first step."""
        if self._opt_state is None:
            return None
        return self._opt_state[0].copy(), self._opt_state[1].copy()

    @property
    def rng_state(self):
        """The minibatch generator's state (``RandomState.get_state()``), None with given indices."""
        return None if self._rng is None else self._rng.get_state()

    def _restore(self, resume) -> None:
        """Continue a run (core.run_resume.ResumePoint): its minibatch generator's and optimizer's
        state; this trainer's steps are those left after ``resume.step``."""
        if resume.rng_state is not None and self._rng is not None:
            self._rng.set_state(resume.rng_state)
        if resume.optimizer_state is not None:
            buffers, counts = resume.optimizer_state
            if buffers.shape != (3, 4, self.initial.width) or counts.shape != (2,):
                raise TrainingError("the optimizer's saved state does not fit this network")
            self._opt_state = (np.array(buffers, np.float32), np.array(counts, np.int64))

    # ------------------------------------------------------------------ running
    def advance(self, max_steps: int | None = None) -> int:
        """Run up to ``max_steps`` more steps (all remaining if None); returns the number run."""
        st = self.settings
        remaining = st.steps - self.step if self.diverged_at is None else 0
        todo = remaining if max_steps is None else max(0, min(int(max_steps), remaining))
        ran = 0
        h = self._h
        rows = max(1, min(INTERNAL_CHUNK, MAX_INDEX_ELEMENTS // st.batch_size))
        while ran < todo and self.diverged_at is None:
            k = min(todo - ran, rows)
            if self._indices is not None:
                idx = self._indices[self.step : self.step + k]
            else:
                idx = self._rng.randint(0, self.data.n, size=(k, st.batch_size))
            first = self._count
            if st.optimizer is None or st.optimizer.is_plain_sgd:
                sgd = self._k.sgd_relu_mse_chunk if self._notebook_kernels else self._k.sgd_chunk
                done, self._count, status = sgd(
                    self._x, self._y, self._xt, self._yt, idx, self._w1, self._b1, self._w2,
                    self._b2, st.lr, st.mode == "all", self.step, self._snap_steps, self._count,
                    h["steps"], h["train"], h["full"], h["test"], h["w1"], h["b1"], h["w2"],
                    h["b2"], self._loss_bound, *self._act, *self._loss,
                )
            else:
                done, self._count, status = self._optim_chunk(idx, st)
            h["mode"][first:self._count] = st.mode
            h["lr"][first:self._count] = st.lr
            if status == self._k.DIVERGED:
                at = self.step + int(done)
                self.step = at - 1  # the diverging step's update was not applied
                self.diverged_at = at
                self.message = divergence_message(at, h["train"][self._count - 1], st.lr)
                ran += int(done)
                break
            self.step += int(done)
            ran += int(done)
        return ran

    def _optim_chunk(self, idx, st: TrainSettings):
        """One kernel call of a non-SGD optimizer (core._optim_kernels, compiled on first use)."""
        from . import _optim_kernels as ok

        if self._opt_state is None:
            self._opt_state = ok.new_state(self._h["w1"].shape[1])
        hp, betas = ok.hyper_parameters(st.optimizer, st.lr)
        h = self._h
        chunk = ok.optim_relu_mse_chunk if self._notebook_kernels else ok.optim_chunk
        return chunk(
            self._x, self._y, self._xt, self._yt, idx, self._w1, self._b1, self._w2, self._b2,
            ok.KINDS[st.optimizer.name], hp, betas, self._opt_state[0], self._opt_state[1],
            st.mode == "all", self.step, self._snap_steps, self._count, h["steps"], h["train"],
            h["full"], h["test"], h["w1"], h["b1"], h["w2"], h["b2"], self._loss_bound, *self._act,
            *self._loss,
        )

    def run(self) -> "Run":
        self.advance()
        return self.result()

    def result(self) -> Run:
        """The history so far as read-only views of the trainer's arrays."""
        c = self._count

        def view(a):
            return read_only(a[:c])

        h = self._h
        return Run(
            initial=self.initial, settings=self.settings, steps=view(h["steps"]),
            train_error=view(h["train"]), full_train_error=view(h["full"]), test_error=view(h["test"]),
            w1=view(h["w1"]), b1=view(h["b1"]), w2=view(h["w2"]), b2=view(h["b2"]),
            diverged_at=self.diverged_at, message=self.message, completed_steps=self.step,
            modes=view(h["mode"]), lrs=view(h["lr"]),
        )


def train(net: Network, data: Dataset, mode: str = "all", lr: float | None = None,
          steps: int = 150_000, batch_size: int | None = None, save_every: int = 1000,
          seed: int = 0, indices=None, optimizer: Optimizer | None = None,
          loss: Loss | None = None) -> Run:
    """Train a copy of ``net`` on ``data`` and return its history (see :class:`Trainer`).

    ``optimizer`` (an :class:`Optimizer`): None trains by the notebook's plain SGD; ``lr``, if
    given, replaces the optimizer's learning rate. ``loss`` (a :class:`Loss`): None is the
    notebook's MSE. The activation is the network's own (``net.activation``)."""
    return Trainer(net, data, mode, lr, steps, batch_size, save_every, seed, indices,
                   optimizer=optimizer, loss=loss).run()


def train_chunks(net: Network, data: Dataset, chunk: int = 2000, **kwargs):
    """Generator form: yields the :class:`Trainer` after every ``chunk`` steps until it is done.

    The consumer may stop iterating at any time (that is "stop"), or simply wait before asking for
    the next chunk (that is "pause"); ``trainer.result()`` gives the history so far without copies.
    """
    trainer = Trainer(net, data, **kwargs)
    while not trainer.done:
        trainer.advance(chunk)
        yield trainer
