"""The one-hidden-layer ReLU network ``x -> w2 . relu(w1 x + b1) + b2`` and its initialisation.

Parameters are float32, as in the course notebook's torch model. A :class:`Network` is immutable
(its arrays are read-only), so it can be shared between threads, stored in histories and undone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .activations import RELU, Activation
from .arrays import read_only
from .settings import MAX_WIDTH, SettingsError, check

__all__ = ["Network", "init_network", "torch_default_linear_init", "torch_draws", "torch_uniform",
           "MAX_WIDTH"]

STATE_DICT_SHAPES = {"0.weight": ("H", 1), "0.bias": ("H",), "2.weight": (1, "H"), "2.bias": (1,)}


def _frozen(a) -> np.ndarray:
    """A read-only float32 copy (a network never shares a writable array)."""
    return read_only(np.array(a, dtype=np.float32, copy=True))


def import_torch():
    """torch, for the scripting API's conversions: the app itself never needs it (it reads and
    writes ``.pt`` files without it), so a pip install without the ``torch`` extra has none."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "this conversion needs torch, which ReLU Studio itself does not: install it with "
            "pip install -c constraints.txt \"relu-studio[torch]\" (the CPU build)") from exc
    return torch


@dataclass(frozen=True, eq=False)
class Network:
    """Parameters of ``nn.Sequential(Linear(1, H), <activation>, Linear(H, 1))``.

    ``w1``, ``b1``, ``w2`` have shape ``(H,)``; ``b2`` is a float; ``activation`` is the notebook's
    ReLU unless given (core.activations). Unit ``j`` computes ``activation(w1[j] x + b1[j])``; its
    elbow (or, for a smooth activation, its centre) is at ``x = -b1[j] / w1[j]``.
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float
    activation: Activation = RELU

    def __post_init__(self):
        w1 = _frozen(self.w1).ravel()
        h = w1.shape[0]
        if h < 1:
            raise ValueError("a network needs at least one hidden unit")
        b1, w2 = _frozen(self.b1).ravel(), _frozen(self.w2).ravel()
        if b1.shape != (h,) or w2.shape != (h,):
            raise ValueError(
                f"parameter shapes disagree: w1 {w1.shape}, b1 {b1.shape}, w2 {w2.shape}"
            )
        object.__setattr__(self, "w1", w1)
        object.__setattr__(self, "b1", b1)
        object.__setattr__(self, "w2", w2)
        object.__setattr__(self, "b2", float(np.float32(self.b2)))
        if not isinstance(self.activation, Activation):
            raise TypeError(f"activation must be a relu_studio Activation, got {self.activation!r}")

    # ----------------------------------------------------------------- derived quantities
    @property
    def width(self) -> int:
        return int(self.w1.shape[0])

    @property
    def elbows(self) -> np.ndarray:
        """``-b1 / w1`` per unit (±inf for a unit with zero slope)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return -self.b1.astype(np.float64) / self.w1.astype(np.float64)

    def hidden(self, x) -> np.ndarray:
        """Hidden activations ``activation(w1 x + b1)``, shape ``(len(x), H)``, float32 as in torch."""
        x32 = np.asarray(x, dtype=np.float32).reshape(-1, 1)
        return self.activation(x32 * self.w1[None, :] + self.b1[None, :])

    def predict(self, x) -> np.ndarray:
        """Network output at ``x`` (any shape of 1-D inputs), as float64."""
        x = np.asarray(x, dtype=np.float64)
        out = self.hidden(x.ravel()).astype(np.float64) @ self.w2.astype(np.float64) + self.b2
        return out.reshape(x.shape)

    def unit_outputs(self, x, scaled: bool = False) -> np.ndarray:
        """Every unit's ``activation(w x + b)`` (times its output weight if ``scaled``), ``(H, len(x))``."""
        h = self.hidden(x).T.astype(np.float64)
        return h * self.w2.astype(np.float64)[:, None] if scaled else h

    def dead_units(self, x) -> np.ndarray:
        """Boolean mask of units that are zero on every input in ``x`` (they get no gradient).
        Only a ReLU unit can be dead (``activation.can_die``); for the others the mask is all False."""
        if not self.activation.can_die:
            return np.zeros(self.width, dtype=bool)
        return ~(self.hidden(x) > 0).any(axis=0)

    # ----------------------------------------------------------------- edits (new networks)
    def replace(self, **changes) -> "Network":
        """A copy with some of ``w1``, ``b1``, ``w2``, ``b2``, ``activation`` replaced."""
        fields = dict(w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2, activation=self.activation)
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"unknown network fields: {sorted(unknown)}")
        fields.update(changes)
        return Network(**fields)

    def with_unit(self, j: int, *, w1=None, b1=None, w2=None) -> "Network":
        """A copy with unit ``j``'s slope, bias or output weight changed."""
        arrays = {}
        for name, value in (("w1", w1), ("b1", b1), ("w2", w2)):
            if value is not None:
                with np.errstate(over="ignore"):
                    v = np.float32(value)
                if not np.isfinite(v):
                    raise ValueError(f"{value!r} is beyond float32's range (±3.4e38), where the "
                                     "network computes")
                a = np.array(getattr(self, name))
                a[j] = v
                arrays[name] = a
        return self.replace(**arrays)

    def with_elbow(self, j: int, elbow: float) -> "Network":
        """Unit ``j`` moved so its elbow is at ``elbow``: ``b = -elbow * w`` (``w`` kept)."""
        w = float(self.w1[j])
        return self.with_unit(j, b1=-float(elbow) * w)

    def with_slope(self, j: int, slope: float) -> "Network":
        """Unit ``j`` with slope ``w = slope``, its elbow kept where it is (``b = -elbow * w``).

        A slope of exactly 0 would lose the elbow, so it is refused; the sign may flip.
        """
        slope = float(np.float32(slope))
        if slope == 0 or not np.isfinite(slope):
            raise ValueError("a slope must be finite and non-zero")
        e = float(self.elbows[j])
        if not np.isfinite(e):
            e = 0.0
        return self.with_unit(j, w1=np.float32(slope), b1=np.float32(-e * slope))

    def equals(self, other: "Network") -> bool:
        """Bit-for-bit equality of all parameters (and the same activation)."""
        return (
            isinstance(other, Network)
            and self.activation == other.activation
            and np.array_equal(self.w1, other.w1)
            and np.array_equal(self.b1, other.b1)
            and np.array_equal(self.w2, other.w2)
            and np.float32(self.b2).tobytes() == np.float32(other.b2).tobytes()
        )

    # ----------------------------------------------------------------- torch state dicts
    def to_state_dict(self, as_torch: bool = False) -> dict:
        """The notebook's ``state_dict``: '0.weight' (H,1), '0.bias' (H,), '2.weight' (1,H), '2.bias' (1,).

        Values are float32 numpy arrays, or torch tensors with ``as_torch=True`` (imports torch).
        """
        d = {
            "0.weight": np.array(self.w1).reshape(-1, 1),
            "0.bias": np.array(self.b1),
            "2.weight": np.array(self.w2).reshape(1, -1),
            "2.bias": np.array([self.b2], dtype=np.float32),
        }
        if as_torch:
            torch = import_torch()
            d = {k: torch.from_numpy(v) for k, v in d.items()}
        return d

    @classmethod
    def from_state_dict(cls, d: Mapping) -> "Network":
        """Build a network from a state dict (numpy arrays or torch tensors), checking it fully."""
        if not isinstance(d, Mapping):
            raise ValueError(f"expected a state dict (a mapping), got {type(d).__name__}")
        keys = set(d)
        expected = set(STATE_DICT_SHAPES)
        if keys != expected:
            missing, extra = sorted(expected - keys), sorted(map(str, keys - expected))
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if extra:
                parts.append(f"unexpected {extra}")
            raise ValueError(
                "not a state dict of nn.Sequential(Linear(1,H), ReLU(), Linear(H,1)): "
                + ", ".join(parts)
            )
        arrays = {}
        for k in STATE_DICT_SHAPES:
            v = d[k]
            if hasattr(v, "detach"):  # a torch tensor
                if not v.dtype.is_floating_point:
                    raise ValueError(f"'{k}' has dtype {v.dtype}; a floating-point tensor is needed")
                v = v.detach().cpu().float().numpy()
            v = np.asarray(v)
            if v.dtype.kind != "f":
                raise ValueError(f"'{k}' has dtype {v.dtype}; a floating-point array is needed")
            with np.errstate(over="ignore"):  # out-of-float32-range values become inf, refused below
                arrays[k] = v.astype(np.float32)
        h = arrays["0.bias"].shape[0] if arrays["0.bias"].ndim == 1 else -1
        for k, shape in STATE_DICT_SHAPES.items():
            want = tuple(h if s == "H" else s for s in shape)
            if arrays[k].shape != want:
                raise ValueError(f"'{k}' has shape {arrays[k].shape}; expected {want} for width {h}")
        if h < 1:
            raise ValueError("the state dict has no hidden units")
        for k, v in arrays.items():
            if not np.all(np.isfinite(v)):
                raise ValueError(f"'{k}' contains NaN or infinite values (or values beyond float32 range)")
        return cls(
            w1=arrays["0.weight"].ravel(),
            b1=arrays["0.bias"],
            w2=arrays["2.weight"].ravel(),
            b2=float(arrays["2.bias"][0]),
        )


# --------------------------------------------------------------------------- initialisation
def torch_uniform(raw: np.ndarray, bound: float) -> np.ndarray:
    """torch's CPU ``uniform_(-bound, bound)`` for float32 from raw 32-bit draws of its mt19937.

    torch takes the low 24 bits of each draw, scales by 2**-24 and maps ``u * (to - from) + from``
    in double before rounding to float32; ``from``/``to`` are first rounded to float32.
    """
    u = (raw & np.uint64((1 << 24) - 1)).astype(np.float64) * 2.0**-24
    lo, hi = float(np.float32(-bound)), float(np.float32(bound))
    return (u * (hi - lo) + lo).astype(np.float32)


def torch_draws(seed: int):
    """``draws(k)``: the next ``k`` raw 32-bit draws of torch's CPU generator after
    ``torch.manual_seed(seed)`` (the standard MT19937, seeded like numpy's ``RandomState``)."""
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    rs = np.random.RandomState(seed)

    def draws(k):
        return rs.randint(0, 2**32, size=k, dtype=np.uint32).astype(np.uint64)

    return draws


def torch_default_linear_init(width: int, seed: int, draws=None):
    """The parameters ``torch.manual_seed(seed); nn.Sequential(Linear(1,H), ReLU(), Linear(H,1))`` has.

    torch's CPU generator is the standard MT19937 seeded like numpy's ``RandomState(seed)``, so its
    raw draws are reproduced here without importing torch (checked bit-for-bit against torch in
    the tests). Returns ``(w1, b1, w2, b2)`` as float32 arrays. ``draws`` (from
    :func:`torch_draws`) lets a caller go on drawing from the same generator afterwards.
    """
    draws = draws or torch_draws(seed)

    # kaiming_uniform_(a=sqrt(5)): bound = sqrt(3) * gain / sqrt(fan_in), gain = sqrt(2/(1+a^2))
    gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
    w1 = torch_uniform(draws(width), math.sqrt(3.0) * gain / math.sqrt(1))
    b1 = torch_uniform(draws(width), 1.0 / math.sqrt(1))
    w2 = torch_uniform(draws(width), math.sqrt(3.0) * gain / math.sqrt(width))
    b2 = torch_uniform(draws(1), 1.0 / math.sqrt(width))
    return w1, b1, w2, b2


def init_network(width: int, seed: int = 0, elbows=None) -> Network:
    """The notebook's initial network.

    ``torch.manual_seed(seed)`` then torch's default ``Linear`` init; then ``np.random.seed(seed)``
    and the biases replaced so the elbows are ``np.sort(np.random.rand(width))`` (or the given
    ``elbows``): ``b1 = float32(-elbows * w1)``, exactly as the notebook computes it.
    """
    try:
        width = check("width", width, "width")
        seed = check("seed", seed, "seed")
    except SettingsError as exc:
        raise ValueError(str(exc)) from None
    w1, _b1, w2, b2 = torch_default_linear_init(width, int(seed))
    if elbows is None:
        elbows = np.sort(np.random.RandomState(int(seed)).rand(width))
    else:
        elbows = np.asarray(elbows, dtype=np.float64).ravel()
        if elbows.shape != (width,):
            raise ValueError(f"expected {width} elbows, got {elbows.shape[0]}")
    b1 = (-elbows * w1.astype(np.float64)).astype(np.float32)
    return Network(w1=w1, b1=b1, w2=w2, b2=float(b2[0]))
