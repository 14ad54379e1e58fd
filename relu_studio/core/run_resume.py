"""A run in progress, frozen so that it can go on later exactly as if it had never stopped.

A :class:`ResumePoint` holds what a :class:`~.training.Trainer` needs besides the network to
continue a run bit for bit: the run's settings (its optimizer included), the steps it has done,
the minibatch generator's state (numpy's MT19937 key and position: the next minibatches are the
ones the run would have drawn) and the optimizer's buffers and step counts (Adam's moments and
bias-correction counts, the momentum buffers). The network itself is the one reached after
``step`` steps. A session saved while a run is in progress stores one (core.io.session), and
opening it lets Train continue that run: the snapshots that follow are those of the
uninterrupted run, at the same steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dataset import Dataset
from .losses import Loss
from .network import Network
from .optimizers import Optimizer
from .settings import SettingsError, check, check_mode, SGD_MODES
from .training import Trainer, TrainSettings

__all__ = ["ResumePoint", "capture", "MT19937_KEY"]

#: The length of numpy's MT19937 key (``RandomState.get_state()[1]``).
MT19937_KEY = 624


@dataclass(frozen=True, eq=False)
class ResumePoint:
    """A run stopped after ``step`` of its ``settings.steps`` steps (see the module docstring).

    ``rng_state`` is ``RandomState.get_state()``'s tuple (None if the run replays given indices);
    ``optimizer_state`` is ``(buffers (3, 4, H) float32, counts (2,) int64)`` or None (plain SGD,
    or no optimizer step yet)."""

    settings: TrainSettings
    step: int
    rng_state: tuple | None = None
    optimizer_state: tuple | None = None

    @property
    def remaining(self) -> int:
        return self.settings.steps - self.step

    def trainer(self, network: Network, data: Dataset, **kwargs) -> Trainer:
        """A trainer for the rest of the run from ``network`` (the one reached after ``step``
        steps): its snapshots are at the uninterrupted run's steps, counted from here."""
        st = self.settings
        return Trainer(network, data, st.mode, st.lr, self.remaining, st.batch_size, st.save_every,
                       st.seed, optimizer=st.optimizer, loss=st.loss, resume=self, **kwargs)

    # ------------------------------------------------------------------ files
    def to_json(self) -> dict:
        """The JSON part (the arrays are in :meth:`arrays`)."""
        st = self.settings
        rng = None
        if self.rng_state is not None:
            _name, _key, pos, has_gauss, gauss = self.rng_state
            rng = {"pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(gauss)}
        return {"settings": {"mode": st.mode, "lr": st.lr, "steps": st.steps,
                             "batch_size": st.batch_size, "save_every": st.save_every,
                             "seed": st.seed,
                             "optimizer": None if st.optimizer is None else st.optimizer.to_dict(),
                             "loss": None if st.loss is None else st.loss.to_dict()},
                "step": self.step, "rng": rng}

    def arrays(self) -> dict:
        """``rng_key`` (uint32 (624,)), ``optimizer_state`` and ``optimizer_counts`` if any."""
        out = {}
        if self.rng_state is not None:
            out["rng_key"] = np.asarray(self.rng_state[1], np.uint32)
        if self.optimizer_state is not None:
            out["optimizer_state"] = np.asarray(self.optimizer_state[0], np.float32)
            out["optimizer_counts"] = np.asarray(self.optimizer_state[1], np.int64)
        return out

    @classmethod
    def from_json(cls, obj, arrays: dict, width: int) -> "ResumePoint":
        """The resume point :meth:`to_json` and :meth:`arrays` wrote, for a network of ``width``;
        ValueError says what is wrong."""
        if not isinstance(obj, dict) or not isinstance(obj.get("settings"), dict):
            raise ValueError("a resume point must be an object with 'settings'")
        s = obj["settings"]
        try:
            opt, loss = s.get("optimizer"), s.get("loss")
            settings = TrainSettings(
                check_mode(s.get("mode"), SGD_MODES), check("lr", s.get("lr")),
                check("steps", s.get("steps")), check("batch_size", s.get("batch_size")),
                check("save_every", s.get("save_every")), check("seed", s.get("seed")),
                None if opt is None else Optimizer.from_dict(opt),
                None if loss is None else Loss.from_dict(loss))
            step = check("steps", obj.get("step"), "the resume step")
        except SettingsError as exc:
            raise ValueError(str(exc)) from None
        if settings.batch_size is None:
            raise ValueError("the resumed run's batch size is missing")
        if not 0 < step < settings.steps:
            raise ValueError(f"the resume step {step} is not inside the run's {settings.steps} steps")
        rng, rng_state = obj.get("rng"), None
        if rng is not None:
            key = arrays.get("rng_key")
            if not isinstance(rng, dict) or key is None or key.dtype != np.uint32 \
                    or key.shape != (MT19937_KEY,):
                raise ValueError(f"the minibatch generator's state needs 'rng_key' (uint32, "
                                 f"({MT19937_KEY},)) and 'pos'")
            pos, has_gauss, gauss = rng.get("pos"), rng.get("has_gauss", 0), rng.get("cached_gaussian", 0.0)
            if not (isinstance(pos, int) and 0 <= pos <= MT19937_KEY) or has_gauss not in (0, 1) \
                    or not isinstance(gauss, (int, float)):
                raise ValueError(f"the minibatch generator's position must be 0..{MT19937_KEY}")
            rng_state = ("MT19937", key.copy(), pos, has_gauss, float(gauss))
        opt_state = None
        if "optimizer_state" in arrays or "optimizer_counts" in arrays:
            buffers, counts = arrays.get("optimizer_state"), arrays.get("optimizer_counts")
            if buffers is None or counts is None or buffers.dtype != np.float32 \
                    or buffers.shape != (3, 4, width) or counts.dtype.kind not in "iu" \
                    or counts.shape != (2,) or np.any(counts < 0):
                raise ValueError(f"the optimizer's state must be float32 (3, 4, {width}) buffers and "
                                 "two step counts >= 0")
            if not np.all(np.isfinite(buffers)):
                raise ValueError("the optimizer's state contains NaN or infinite values")
            opt_state = (buffers.copy(), counts.astype(np.int64))
        return cls(settings, step, rng_state, opt_state)


def capture(trainer: Trainer, offset: int = 0, total: int | None = None) -> ResumePoint | None:
    """The resume point of ``trainer`` now (None if it has not started, is done or diverged).

    ``offset`` is the steps the run had done before this trainer took over (a resumed run) and
    ``total`` the run's steps (default: ``offset`` + the trainer's)."""
    if trainer.step == 0 or trainer.done:
        return None
    st = trainer.settings
    total = offset + st.steps if total is None else total
    settings = TrainSettings(st.mode, st.lr, total, st.batch_size, st.save_every, st.seed,
                             st.optimizer, st.loss)
    opt_state = trainer.optimizer_state
    if opt_state is not None:
        # Only slot 0 of the output bias's row is the optimizer's (its other slots are never read
        # or written by the kernel, and not always zero): stored as zeros.
        opt_state[0][:, 3, 1:] = 0
    return ResumePoint(settings, offset + trainer.step, trainer.rng_state, opt_state)
