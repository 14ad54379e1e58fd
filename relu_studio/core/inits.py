"""How a new network is initialised, as a plain value, and :func:`make_network` that does it.

:class:`Init` names one of four initialisations and the output layer's scale:

=============  =============================================================================
name           the network ``torch.manual_seed(seed)`` + ``nn.Sequential(Linear(1,H), act,
               Linear(H,1))`` gives, then:
=============  =============================================================================
``notebook``   the notebook's: biases replaced so the elbows ``-b/w`` are
               ``sort(RandomState(seed).rand(H))`` (:func:`.network.init_network`, bit for bit)
``torch``      nothing: torch's default ``nn.Linear`` init
``kaiming``    the hidden weights redrawn by ``nn.init.kaiming_uniform_(w,
               nonlinearity='relu')`` (He: uniform in ``±sqrt(6 / fan_in)``, fan_in 1), the
               next draws of the same generator
``quantiles``  biases replaced so the elbows are the training inputs' quantiles at levels
               ``(j + 1/2) / H`` (``np.quantile``, linear interpolation): one elbow per
               ``1/H`` of the data
=============  =============================================================================

Then ``w2 *= scale`` (float32) for every initialisation: ``scale`` 1 keeps torch's output layer.
Everything is reproduced without torch (torch's CPU generator is numpy's MT19937; see
:func:`.network.torch_default_linear_init`) and checked bit for bit against torch in the tests.
``to_dict``/``from_dict`` round-trip an init through plain JSON.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .activations import RELU, Activation
from .network import Network, init_network, torch_default_linear_init, torch_draws, torch_uniform
from .settings import SettingsError, check

__all__ = ["Init", "INITS", "INIT_LABELS", "INIT_TIPS", "NOTEBOOK_INIT", "make_network"]

INITS = ("notebook", "torch", "kaiming", "quantiles")
INIT_LABELS = {"notebook": "Notebook (elbows uniform)", "torch": "torch default",
               "kaiming": "Kaiming/He uniform", "quantiles": "Elbows at data quantiles"}
INIT_TIPS = {
    "notebook": "torch's default Linear init, then the elbows -b/w drawn uniformly in [0, 1] and "
                "sorted (the course notebook's)",
    "torch": "torch's default nn.Linear init, unchanged (elbows wherever the draws put them)",
    "kaiming": "hidden weights by kaiming_uniform_(nonlinearity='relu'): uniform in ±√6",
    "quantiles": "torch's default weights, the elbows at equally spaced quantiles of the "
                 "training inputs (one per 1/H of the data)",
}
#: kaiming_uniform_'s bound as torch computes it: gain sqrt(2) (ReLU), fan_in 1 (one input).
_KAIMING_BOUND = math.sqrt(3.0) * (math.sqrt(2.0) / math.sqrt(1))


@dataclass(frozen=True)
class Init:
    """One of :data:`INITS` and the output layer's scale (validated on construction)."""

    name: str = "notebook"
    scale: float = 1.0

    def __post_init__(self):
        name = self.name.lower().strip() if isinstance(self.name, str) else self.name
        if name not in INITS:
            raise SettingsError("init", f"the initialisation must be one of {', '.join(INITS)}, "
                                        f"got {self.name!r}")
        object.__setattr__(self, "name", name)
        s = self.scale
        if isinstance(s, bool) or not isinstance(s, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(s)) or float(s) < 0:
            raise SettingsError("init_scale", f"the output scale must be a finite number >= 0, got {s!r}")
        object.__setattr__(self, "scale", float(s))

    @property
    def needs_data(self) -> bool:
        """True if the init places elbows by the training data (quantiles)."""
        return self.name == "quantiles"

    @property
    def is_notebook(self) -> bool:
        return self.name == "notebook" and self.scale == 1.0

    @property
    def label(self) -> str:
        return INIT_LABELS[self.name]

    def describe(self) -> str:
        """``"notebook init"``, ``"Kaiming/He uniform init, output × 0.1"``."""
        text = "notebook init" if self.name == "notebook" else f"{self.label} init"
        return text if self.scale == 1.0 else f"{text}, output × {self.scale:g}"

    def to_dict(self) -> dict:
        return {"name": self.name, "scale": self.scale}

    @classmethod
    def from_dict(cls, obj) -> "Init":
        """The init ``to_dict`` wrote (a bare name is accepted too); SettingsError else."""
        if isinstance(obj, str):
            return cls(obj)
        if not isinstance(obj, dict):
            raise SettingsError("init", f"an initialisation must be a JSON object, got {type(obj).__name__}")
        unknown = sorted(map(str, set(obj) - {"name", "scale"}))
        if unknown:
            raise SettingsError("init", f"unknown initialisation settings: {', '.join(unknown)}")
        return cls(**obj)


#: The notebook's initialisation.
NOTEBOOK_INIT = Init()


def _elbow_biases(elbows, w1: np.ndarray) -> np.ndarray:
    """``b1 = float32(-elbows * w1)``, the notebook's formula for placing elbows."""
    return (-np.asarray(elbows, np.float64) * w1.astype(np.float64)).astype(np.float32)


def make_network(init: Init, width: int, seed: int, data=None,
                 activation: Activation = RELU) -> Network:
    """The initial network ``init`` makes of ``width`` units from ``seed`` (``data``: the training
    set, needed by "quantiles"), with ``activation``. ValueError says what is wrong."""
    if not isinstance(init, Init):
        raise TypeError(f"init must be a relu_studio Init, got {init!r}")
    try:
        width = check("width", width, "width")
        seed = check("seed", seed, "seed")
    except SettingsError as exc:
        raise ValueError(str(exc)) from None
    if init.name == "notebook":
        net = init_network(width, seed)
        w1, b1, w2, b2 = net.w1, net.b1, net.w2, net.b2
    else:
        draws = torch_draws(seed)
        w1, b1, w2, b2 = torch_default_linear_init(width, seed, draws)
        b2 = float(b2[0])
        if init.name == "kaiming":  # the generator's next draws, as kaiming_uniform_ after the init
            w1 = torch_uniform(draws(width), _KAIMING_BOUND)
        elif init.name == "quantiles":
            if data is None or getattr(data, "n", 0) < 1:
                raise ValueError("the quantile initialisation needs training data")
            levels = (np.arange(width) + 0.5) / width
            b1 = _elbow_biases(np.quantile(np.asarray(data.x, np.float64), levels), w1)
    if init.scale != 1.0:
        w2 = (np.asarray(w2, np.float32) * np.float32(init.scale)).astype(np.float32)
    return Network(w1=w1, b1=b1, w2=w2, b2=b2, activation=activation)
