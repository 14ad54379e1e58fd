"""The hidden layer's activation functions, as plain values with numpy reference formulas.

:class:`Activation` names one of torch.nn's element-wise activations with its parameters and
torch's defaults; a :class:`.network.Network` carries one (ReLU unless told otherwise):

=============  =======================  ======================================================
name           torch module             formula (``z = w1 x + b1``)
=============  =======================  ======================================================
``relu``       ``nn.ReLU()``            ``max(z, 0)``
``leaky_relu`` ``nn.LeakyReLU(slope)``  ``z if z > 0 else slope z`` (slope 0.01)
``elu``        ``nn.ELU(alpha)``        ``z if z > 0 else alpha (exp(z) - 1)`` (alpha 1)
``gelu``       ``nn.GELU()``            ``z Phi(z) = z (1 + erf(z / sqrt 2)) / 2``
``gelu_tanh``  ``nn.GELU('tanh')``      ``z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) / 2``
``silu``       ``nn.SiLU()``            ``z sigmoid(z)``
``softplus``   ``nn.Softplus(beta)``    ``log(1 + exp(beta z)) / beta`` (``z`` where
                                        ``beta z > 20``, torch's threshold; beta 1)
``tanh``       ``nn.Tanh()``            ``tanh(z)``
``sigmoid``    ``nn.Sigmoid()``         ``1 / (1 + exp(-z))``
``abs``        (none in torch.nn)       ``|z|``
=============  =======================  ======================================================

Every unit's landmark is still ``x = -b1 / w1``, where ``z = 0``: the elbow of the piecewise-linear
ones (ReLU, Leaky ReLU, |x|), the centre of the smooth ones (where ELU's two pieces meet, GELU's
and SiLU's bend, tanh's and sigmoid's inflection), so dragging it moves the unit the same way.

The formulas here are the reference the canvas draws and the tests compare with (computed in
float64, rounded to float32 as torch's float32 modules round); the training kernels compute the
same functions in float32. ``to_dict``/``from_dict`` round-trip an activation through plain JSON.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from .settings import SettingsError

__all__ = ["Activation", "ACTIVATIONS", "ACTIVATION_LABELS", "RELU"]

#: Every activation, in the order menus and the command line list them.
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "silu", "softplus", "tanh",
               "sigmoid", "abs")
ACTIVATION_LABELS = {"relu": "ReLU", "leaky_relu": "Leaky ReLU", "elu": "ELU", "gelu": "GELU",
                     "gelu_tanh": "GELU (tanh)", "silu": "SiLU", "softplus": "Softplus",
                     "tanh": "tanh", "sigmoid": "sigmoid", "abs": "|x|"}
#: Which parameter each activation uses (a non-default value for another one is refused).
_USES = {"leaky_relu": {"slope"}, "elu": {"alpha"}, "softplus": {"beta"}}
#: torch's module for each (class name, keyword arguments from the activation's parameters).
_TORCH_MODULE = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "elu": "ELU", "gelu": "GELU",
                 "gelu_tanh": "GELU", "silu": "SiLU", "softplus": "Softplus", "tanh": "Tanh",
                 "sigmoid": "Sigmoid", "abs": None}
#: torch's Softplus threshold: above it (in beta z) the function is the identity.
SOFTPLUS_THRESHOLD = 20.0
_GELU_TANH_C = math.sqrt(2.0 / math.pi)
_erf = np.frompyfunc(math.erf, 1, 1)


def _fail(field: str, message: str):
    raise SettingsError(field, message)


@dataclass(frozen=True)
class Activation:
    """One of :data:`ACTIVATIONS` with its parameter (validated on construction)."""

    name: str = "relu"
    #: Leaky ReLU's slope for ``z < 0`` (torch's ``negative_slope``).
    slope: float = 0.01
    #: ELU's ``alpha``.
    alpha: float = 1.0
    #: Softplus's ``beta``.
    beta: float = 1.0

    def __post_init__(self):
        name = self.name.lower().strip().replace("-", "_") if isinstance(self.name, str) else self.name
        if name not in ACTIVATIONS:
            _fail("activation", f"the activation must be one of {', '.join(ACTIVATIONS)}, got {self.name!r}")
        object.__setattr__(self, "name", name)
        for f in fields(self):
            if f.name == "name":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
                    or not math.isfinite(float(value)):
                _fail(f.name, f"{f.name} must be a finite number, got {value!r}")
            value = float(value)
            object.__setattr__(self, f.name, value)
            if f.name not in _USES.get(name, ()) and value != f.default:
                _fail(f.name, f"{ACTIVATION_LABELS[name]} has no setting {f.name!r}")
        if self.beta <= 0:
            _fail("beta", f"softplus's beta must be > 0, got {self.beta!r}")
        if self.alpha < 0:
            _fail("alpha", f"ELU's alpha must be >= 0, got {self.alpha!r}")

    # ------------------------------------------------------------------ what it is
    @property
    def is_relu(self) -> bool:
        """The notebook's ReLU (the compiled kernels' fastest path)."""
        return self.name == "relu"

    @property
    def piecewise_linear(self) -> bool:
        """True where ``-b/w`` is a true kink (ReLU, Leaky ReLU, |x|), False for smooth ones."""
        return self.name in ("relu", "leaky_relu", "abs")

    @property
    def can_die(self) -> bool:
        """True if a unit can be dead (zero output and zero gradient on every input): ReLU only.
        Every other activation here has a non-zero gradient somewhere on each side."""
        return self.name == "relu"

    @property
    def landmark(self) -> str:
        """What the marker at ``-b/w`` is called: "elbow" (a kink) or "centre" (smooth)."""
        return "elbow" if self.piecewise_linear else "centre"

    @property
    def label(self) -> str:
        return ACTIVATION_LABELS[self.name]

    def describe(self) -> str:
        """``"ReLU"``, ``"Leaky ReLU 0.01"``, ``"ELU α 1"``, ``"Softplus β 2"``."""
        if self.name == "leaky_relu":
            return f"Leaky ReLU {self.slope:g}"
        if self.name == "elu":
            return f"ELU α {self.alpha:g}"
        if self.name == "softplus" and self.beta != 1:
            return f"Softplus β {self.beta:g}"
        return self.label

    def torch_module(self) -> tuple[str, dict] | None:
        """``(class name in torch.nn, keyword arguments)`` of the equivalent module, or None for
        |x|, which torch.nn has no module for."""
        cls = _TORCH_MODULE[self.name]
        if cls is None:
            return None
        kwargs = {"leaky_relu": {"negative_slope": self.slope}, "elu": {"alpha": self.alpha},
                  "softplus": {"beta": self.beta, "threshold": SOFTPLUS_THRESHOLD},
                  "gelu_tanh": {"approximate": "tanh"}}.get(self.name, {})
        return cls, kwargs

    # ------------------------------------------------------------------ reference formulas
    def value64(self, z) -> np.ndarray:
        """The activation of ``z`` in float64 (the reference formula)."""
        z = np.asarray(z, dtype=np.float64)
        n = self.name
        with np.errstate(over="ignore", invalid="ignore"):
            if n == "relu":
                return np.where(z > 0, z, 0.0) + 0.0 * z  # keeps a NaN as NaN
            if n == "leaky_relu":
                return np.where(z > 0, z, self.slope * z)
            if n == "elu":
                return np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0.0)))
            if n == "gelu":
                return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)).astype(np.float64))
            if n == "gelu_tanh":
                return 0.5 * z * (1.0 + np.tanh(_GELU_TANH_C * (z + 0.044715 * z ** 3)))
            if n == "silu":
                return z / (1.0 + np.exp(-z))
            if n == "softplus":
                bz = self.beta * z
                return np.where(bz > SOFTPLUS_THRESHOLD, z,
                                np.log1p(np.exp(np.minimum(bz, SOFTPLUS_THRESHOLD))) / self.beta)
            if n == "tanh":
                return np.tanh(z)
            if n == "sigmoid":
                return 1.0 / (1.0 + np.exp(-z))
            return np.abs(z)

    def __call__(self, z) -> np.ndarray:
        """The activation of ``z``, float32 (ReLU exactly ``max(z, 0)`` of the float32 ``z``)."""
        z32 = np.asarray(z, dtype=np.float32)
        if self.name == "relu":
            return np.maximum(z32, np.float32(0.0))
        if self.name == "abs":
            return np.abs(z32)
        return self.value64(z32).astype(np.float32)

    def derivative64(self, z) -> np.ndarray:
        """d activation / dz in float64, torch's convention at a kink: ReLU's 0 at ``z = 0``,
        Leaky ReLU's ``slope``, |x|'s 0 (torch's ``sign``)."""
        z = np.asarray(z, dtype=np.float64)
        n = self.name
        with np.errstate(over="ignore", invalid="ignore"):
            if n == "relu":
                return (z > 0).astype(np.float64)
            if n == "leaky_relu":
                return np.where(z > 0, 1.0, self.slope)
            if n == "elu":
                return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0.0)))
            if n == "gelu":
                cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)).astype(np.float64))
                return cdf + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
            if n == "gelu_tanh":
                inner = _GELU_TANH_C * (z + 0.044715 * z ** 3)
                t = np.tanh(inner)
                return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _GELU_TANH_C * (1.0 + 3 * 0.044715 * z * z)
            if n == "silu":
                s = 1.0 / (1.0 + np.exp(-z))
                return s * (1.0 + z * (1.0 - s))
            if n == "softplus":
                bz = self.beta * z
                return np.where(bz > SOFTPLUS_THRESHOLD, 1.0, 1.0 / (1.0 + np.exp(-bz)))
            if n == "tanh":
                return 1.0 - np.tanh(z) ** 2
            if n == "sigmoid":
                s = 1.0 / (1.0 + np.exp(-z))
                return s * (1.0 - s)
            return np.sign(z)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        """Plain JSON values: the name and the parameter it uses, if any."""
        out = {"name": self.name}
        for key in sorted(_USES.get(self.name, ())):
            out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, obj) -> "Activation":
        """The activation ``to_dict`` wrote (a bare name is accepted too); SettingsError else."""
        if isinstance(obj, str):
            return cls(obj)
        if not isinstance(obj, dict):
            _fail("activation", f"an activation must be a JSON object, got {type(obj).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(map(str, set(obj) - known))
        if unknown:
            _fail("activation", f"unknown activation settings: {', '.join(unknown)}")
        return cls(**obj)


#: The notebook's activation.
RELU = Activation("relu")
