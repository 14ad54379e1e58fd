"""The parameters of every snapshot of a history, whatever holds it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Snapshots", "snapshot_parameters"]


@dataclass(frozen=True, eq=False)
class Snapshots:
    """Per snapshot: its step and parameters (``w1, b1, w2``: (m, H); ``b2``: (m,))."""

    steps: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    #: The networks' activation (core.activations; ReLU unless the history says otherwise).
    activation: object = None

    def __post_init__(self):
        if self.activation is None:
            from ..activations import RELU

            object.__setattr__(self, "activation", RELU)

    def __len__(self) -> int:
        return int(self.steps.size)


def snapshot_parameters(history) -> Snapshots:
    """The snapshots of a training :class:`~relu_studio.core.training.Run`, a studio
    :class:`~relu_studio.core.history.History`, or a ``HistoryView`` with a run in progress
    (its live part's steps shifted by the finished part's last step, as the timeline shows them)."""
    base = getattr(history, "base", None)
    if base is not None:  # a HistoryView
        live = history.live
        if live is None or len(live) == 0:
            return snapshot_parameters(base)
        b, r = snapshot_parameters(base), snapshot_parameters(live)
        return Snapshots(np.concatenate([b.steps, r.steps + int(base.last_step)]),
                         *(np.concatenate([getattr(b, k), getattr(r, k)]) for k in ("w1", "b1", "w2", "b2")),
                         b.activation)
    # a History carries its activation, a Run its initial network's
    activation = getattr(history, "activation", None)
    if activation is None and getattr(history, "initial", None) is not None:
        activation = history.initial.activation
    try:
        return Snapshots(np.asarray(history.steps), np.asarray(history.w1), np.asarray(history.b1),
                         np.asarray(history.w2), np.asarray(history.b2).ravel(), activation)
    except AttributeError:
        raise TypeError("expected a training Run, a History or a HistoryView") from None
