"""Reading NumPy ``.npz`` archives that may be damaged or hostile: only the arrays asked for,
never a pickle, and every array's size read from its header and checked before it is loaded."""
from __future__ import annotations

import io
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy

from ..budget import MAX_HISTORY_BYTES, human

__all__ = ["read_npz", "NpzError"]


class NpzError(ValueError):
    """An archive that cannot be read as asked; the message says why (without a file name).
    ``damaged`` is True when it is not a readable archive at all."""

    def __init__(self, message: str, damaged: bool = False):
        super().__init__(message)
        self.damaged = damaged


def _header(f):
    version = npy.read_magic(f)
    if version == (1, 0):
        return npy.read_array_header_1_0(f)
    if version in ((2, 0), (3, 0)):
        return npy.read_array_header_2_0(f)
    raise ValueError(f"unknown .npy format version {version}")


def read_npz(raw: bytes, keys, max_bytes: int = MAX_HISTORY_BYTES) -> dict:
    """``{key: array}`` for each of ``keys`` that the ``.npz`` bytes hold (others are never read).

    Refused with :class:`NpzError`: a damaged archive, an array of Python objects (a pickle), and
    arrays whose declared sizes add up to more than ``max_bytes``, checked from the ``.npy``
    headers before any array is loaded.
    """
    if not raw.startswith(b"PK"):
        raise NpzError("not a NumPy .npz archive", damaged=True)
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            infos = {i.filename: i for i in z.infolist()}
            found = {}
            total = 0
            for k in keys:
                info = infos.get(f"{k}.npy")
                if info is None:
                    continue
                with z.open(info) as f:
                    shape, _fortran, dtype = _header(f)
                if dtype.hasobject:
                    raise NpzError(f"'{k}' holds pickled Python objects, which are never loaded")
                nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                total += nbytes
                if total > max_bytes:
                    raise NpzError(f"its arrays would take more than {human(max_bytes)} of memory "
                                   f"('{k}' alone declares {human(nbytes)})")
                found[k] = info
            out = {}
            for k, info in found.items():
                with z.open(info) as f:
                    out[k] = npy.read_array(f, allow_pickle=False)
            return out
    except NpzError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, zlib.error,
            MemoryError, OverflowError, RuntimeError, NotImplementedError) as exc:
        raise NpzError(f"truncated or damaged ({type(exc).__name__}: {exc})", damaged=True) from None
