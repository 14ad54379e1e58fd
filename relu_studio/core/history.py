"""A studio session's training history: finished runs appended end to end, plus the live one.

Each training run (a :class:`~relu_studio.core.training.Run`) continues from where the last one
stopped, so its steps are shifted by the steps already done. :class:`History` holds the finished
part as one set of arrays; :class:`HistoryView` adds the run in progress *without copying* its
parameter arrays (only the 1-D loss curves are concatenated, which costs microseconds).
Entry 0 is always the starting network at step 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .arrays import mse
from .arrays import read_only as _ro
from .dataset import Dataset
from .activations import RELU, Activation
from .network import Network
from .training import Run

__all__ = ["History", "HistoryView", "network_errors"]


def network_errors(net: Network, data: Dataset) -> tuple[float, float]:
    """(full train MSE, test MSE) of ``net`` on ``data``."""
    return mse(net.predict(data.x), data.y), mse(net.predict(data.x_test), data.y_test)


@dataclass(frozen=True, eq=False)
class History:
    """Snapshots in order: global step, losses, parameters, a tag per snapshot saying how it came
    about ("init", "all" or "output" for SGD, "ridge", "edit", "import", "notebook") and the
    learning rate of the SGD steps that led to it (``lrs``, NaN for the other tags).

    ``data`` says which data set the snapshots were made on, where the history knows it:
    ``(first index, Dataset)`` pairs in order, each holding until the next (a hand edit of the
    points appends a snapshot on new data). A history read from a file may not know: then
    :meth:`data_at` returns None."""

    steps: np.ndarray
    train_error: np.ndarray
    full_train_error: np.ndarray
    test_error: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    tags: tuple = ()
    lrs: np.ndarray | None = None
    data: tuple = ()
    #: The networks' activation (the first network's; core.activations).
    activation: Activation = RELU

    def __post_init__(self):
        if self.lrs is None:
            object.__setattr__(self, "lrs", _ro(np.full(len(self.steps), np.nan)))

    @classmethod
    def start(cls, net: Network, data: Dataset, tag: str = "init", step: int = 0,
              lr: float = np.nan) -> "History":
        """A history holding only ``net`` at ``step`` (minibatch loss undefined: NaN)."""
        full, test = network_errors(net, data)
        return cls(
            _ro(np.array([step], np.int64)), _ro(np.array([np.nan])), _ro(np.array([full])),
            _ro(np.array([test])), _ro(net.w1[None]), _ro(net.b1[None]), _ro(net.w2[None]),
            _ro(np.array([net.b2], np.float32)), (tag,), _ro(np.array([lr], np.float64)),
            ((0, data),), net.activation,
        )

    def __len__(self) -> int:
        return int(self.steps.size)

    @cached_property
    def tag_array(self) -> np.ndarray:
        """``tags`` as a read-only numpy array of strings (made once)."""
        return _ro(np.array(self.tags, dtype=str))

    @property
    def width(self) -> int:
        return int(self.w1.shape[1])

    @property
    def last_step(self) -> int:
        return int(self.steps[-1])

    def network(self, i: int) -> Network:
        return Network(self.w1[i], self.b1[i], self.w2[i], float(self.b2[i]), self.activation)

    @property
    def last(self) -> Network:
        return self.network(len(self) - 1)

    def extended(self, run: Run, tag: str | None = None) -> "History":
        """This history followed by ``run`` (which started from this history's last network).

        Each snapshot is tagged with the mode that trained it (``tag`` replaces them all).
        """
        if len(run) == 0:
            return self
        if run.w1.shape[1] != self.width:
            raise ValueError("the run's width differs from the history's")
        off = self.last_step
        tags = (tag,) * len(run) if tag is not None else tuple(str(m) for m in run.modes)
        cat = lambda a, b: _ro(np.concatenate([a, b]))  # noqa: E731
        return History(
            cat(self.steps, np.asarray(run.steps) + off), cat(self.train_error, run.train_error),
            cat(self.full_train_error, run.full_train_error), cat(self.test_error, run.test_error),
            cat(self.w1, run.w1), cat(self.b1, run.b1), cat(self.w2, run.w2), cat(self.b2, run.b2),
            self.tags + tags, cat(self.lrs, np.asarray(run.lrs, np.float64)), self.data,
            self.activation,
        )

    def appended(self, net: Network, data: Dataset, tag: str) -> "History":
        """This history plus one entry for ``net`` at the current step (e.g. after a ridge fit)."""
        return self.extended_with(History.start(net, data, tag, self.last_step))

    def extended_with(self, other: "History") -> "History":
        cat = lambda a, b: _ro(np.concatenate([a, b]))  # noqa: E731
        return History(
            cat(self.steps, other.steps), cat(self.train_error, other.train_error),
            cat(self.full_train_error, other.full_train_error), cat(self.test_error, other.test_error),
            cat(self.w1, other.w1), cat(self.b1, other.b1), cat(self.w2, other.w2),
            cat(self.b2, other.b2), self.tags + other.tags, cat(self.lrs, other.lrs),
            _joined_data(self, other), self.activation,
        )

    def data_at(self, i: int) -> Dataset | None:
        """The data set snapshot ``i`` was made on, or None if the history does not know."""
        found = None
        for first, data in self.data:
            if first > i:
                break
            found = data
        return found


def _joined_data(a: History, b: History) -> tuple:
    """``a``'s data marks followed by ``b``'s (shifted), without repeating an unchanged data
    set (where ``a`` does not know its data, ``b``'s marks still hold from where ``b`` starts)."""
    out = list(a.data)
    for first, data in b.data:
        if not out or data is not out[-1][1]:
            out.append((first + len(a), data))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class HistoryView:
    """A finished :class:`History` followed by a live run (views into the trainer's arrays)."""

    base: History
    live: Run | None = None

    def __len__(self) -> int:
        return len(self.base) + (len(self.live) if self.live is not None else 0)

    def _split(self, i: int):
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"snapshot {i} out of range (0..{n - 1})")
        nb = len(self.base)
        return (None, i) if i < nb else (self.live, i - nb)

    def network(self, i: int) -> Network:
        run, j = self._split(i)
        return self.base.network(j) if run is None else run.snapshot(j)

    def step(self, i: int) -> int:
        run, j = self._split(i)
        return int(self.base.steps[j]) if run is None else int(run.steps[j]) + self.base.last_step

    def data_at(self, i: int) -> Dataset | None:
        """The data set snapshot ``i`` was made on (a live run's: the data it trains on), or
        None if the history does not know."""
        run, j = self._split(i)
        return self.base.data_at(len(self.base) - 1 if run is not None else j)

    def curves(self):
        """(steps, minibatch train, full train, test) as 1-D arrays over all snapshots."""
        b = self.base
        if self.live is None or len(self.live) == 0:
            return b.steps, b.train_error, b.full_train_error, b.test_error
        r = self.live
        return (
            np.concatenate([b.steps, r.steps + b.last_step]),
            np.concatenate([b.train_error, r.train_error]),
            np.concatenate([b.full_train_error, r.full_train_error]),
            np.concatenate([b.test_error, r.test_error]),
        )

    def tags_and_lrs(self) -> tuple[np.ndarray, np.ndarray]:
        """(tag, learning rate) of every snapshot as arrays (a live run's tag is its mode)."""
        b, r = self.base, self.live
        if r is None or len(r) == 0:
            return b.tag_array, b.lrs
        return np.concatenate([b.tag_array, np.asarray(r.modes)]), np.concatenate([b.lrs, r.lrs])

    def frozen(self, tag: str | None = None) -> History:
        """The whole view as a :class:`History` (copies the live run)."""
        return self.base if self.live is None else self.base.extended(self.live, tag)
