"""The training loss, as a plain value with numpy reference formulas (``torch.nn``'s definitions).

=========  =====================  =========================================================
name       torch                  per point ``d = prediction - y``, averaged over the points
=========  =====================  =========================================================
``mse``    ``nn.MSELoss()``       ``d^2`` (the notebook's loss)
``mae``    ``nn.L1Loss()``        ``|d|``
``huber``  ``nn.HuberLoss(delta)`` ``d^2 / 2`` if ``|d| < delta``, else ``delta (|d| - delta/2)``
=========  =====================  =========================================================

The gradient with respect to a prediction is torch's: ``2 d / B`` for MSE, ``sign(d) / B`` for
MAE (0 at ``d = 0``), ``clip(d, -delta, delta) / B`` for Huber. The curves the app calls "train
MSE" and "test MSE" stay mean squared errors whatever the training loss (they compare runs), and
the minibatch loss recorded per snapshot is the training loss itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .settings import SettingsError

__all__ = ["Loss", "LOSSES", "LOSS_LABELS", "MSE"]

LOSSES = ("mse", "mae", "huber")
LOSS_LABELS = {"mse": "MSE", "mae": "MAE (L1)", "huber": "Huber"}


@dataclass(frozen=True)
class Loss:
    """One of :data:`LOSSES`; ``delta`` is Huber's (torch's default 1.0)."""

    name: str = "mse"
    delta: float = 1.0

    def __post_init__(self):
        name = self.name.lower().strip() if isinstance(self.name, str) else self.name
        if name not in LOSSES:
            raise SettingsError("loss", f"the loss must be one of {', '.join(LOSSES)}, got {self.name!r}")
        object.__setattr__(self, "name", name)
        d = self.delta
        if isinstance(d, bool) or not isinstance(d, (int, float, np.floating, np.integer)) \
                or not math.isfinite(float(d)) or float(d) <= 0:
            raise SettingsError("delta", f"Huber's delta must be a finite number > 0, got {d!r}")
        object.__setattr__(self, "delta", float(d))
        if name != "huber" and self.delta != 1.0:
            raise SettingsError("delta", f"{LOSS_LABELS[name]} has no setting 'delta'")

    @property
    def is_mse(self) -> bool:
        return self.name == "mse"

    @property
    def label(self) -> str:
        return LOSS_LABELS[self.name]

    def describe(self) -> str:
        return f"Huber δ {self.delta:g}" if self.name == "huber" else self.label

    def torch_module(self) -> tuple[str, dict]:
        """``(class name in torch.nn, keyword arguments)``."""
        return {"mse": ("MSELoss", {}), "mae": ("L1Loss", {}),
                "huber": ("HuberLoss", {"delta": self.delta})}[self.name]

    def value64(self, prediction, y) -> float:
        """The mean loss in float64."""
        d = np.asarray(prediction, np.float64) - np.asarray(y, np.float64)
        if self.name == "mse":
            per = d * d
        elif self.name == "mae":
            per = np.abs(d)
        else:
            a = np.abs(d)
            per = np.where(a < self.delta, 0.5 * d * d, self.delta * (a - 0.5 * self.delta))
        return float(np.mean(per))

    def gradient64(self, prediction, y) -> np.ndarray:
        """d (mean loss) / d prediction per point, float64."""
        d = np.asarray(prediction, np.float64) - np.asarray(y, np.float64)
        b = d.size
        if self.name == "mse":
            return 2.0 * d / b
        if self.name == "mae":
            return np.sign(d) / b
        return np.clip(d, -self.delta, self.delta) / b

    def to_dict(self) -> dict:
        return {"name": self.name, "delta": self.delta} if self.name == "huber" else {"name": self.name}

    @classmethod
    def from_dict(cls, obj) -> "Loss":
        if isinstance(obj, str):
            return cls(obj)
        if not isinstance(obj, dict):
            raise SettingsError("loss", f"a loss must be a JSON object, got {type(obj).__name__}")
        unknown = sorted(map(str, set(obj) - {"name", "delta"}))
        if unknown:
            raise SettingsError("loss", f"unknown loss settings: {', '.join(unknown)}")
        return cls(**obj)


#: The notebook's loss.
MSE = Loss("mse")
