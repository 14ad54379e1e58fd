"""What a PyTorch file holds, without torch: dtypes, storages, tensors, and the functions that
rebuild a tensor from its storage (the ones ``torch.load(weights_only=True)`` calls for a plain
dense tensor), each checking its arguments before anything is allocated.

A :class:`Storage` is a storage the file declares (its dtype, key and element count); its bytes are
read later, after every declaration has been checked against the budget. A :class:`Tensor` is a
view of a storage (offset, shape and strides in elements, validated against the storage's declared
size); :meth:`Tensor.numpy` gives its values as a read-only numpy array in native byte order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DType", "DTYPES", "STORAGE_TYPES", "UNTYPED", "Storage", "Tensor", "PtFormatError",
           "PtRefused", "PtBudgetError", "rebuild_tensor", "rebuild_tensor_v2", "rebuild_tensor_v3",
           "rebuild_parameter", "rebuild_parameter_with_state", "rebuild_from_type_v2", "torch_size",
           "TENSOR_TYPE", "PARAMETER_TYPE", "MAX_DIMS"]

#: torch's limit on a tensor's number of dimensions.
MAX_DIMS = 64
_INT64_MAX = 2**63 - 1


class PtFormatError(ValueError):
    """The file cannot be read as a PyTorch file; the message says why (without the file's name)."""


class PtRefused(PtFormatError):
    """The file asks for something a plain tensor file never needs (a Python global outside the
    allowlist, a call, an object to build); ``global_name`` names the global if it asked for one."""

    def __init__(self, reason: str, global_name: str | None = None):
        super().__init__(reason)
        self.global_name = global_name


class PtBudgetError(PtFormatError):
    """The file declares more tensor data than the caller's budget allows."""


@dataclass(frozen=True)
class DType:
    """A torch dtype: ``name`` as torch prints it (``torch.float32``), the numpy type of its bytes
    in little-endian order (bfloat16's are read as ``<u2`` and widened to float32 exactly)."""

    name: str
    storage: str | None  # the legacy storage class's name (torch.FloatStorage), if it has one
    file_type: str
    kind: str  # "float", "complex", "int" or "bool"

    @property
    def itemsize(self) -> int:
        return np.dtype(self.file_type).itemsize

    @property
    def is_floating_point(self) -> bool:
        return self.kind == "float"

    @property
    def is_complex(self) -> bool:
        return self.kind == "complex"

    def __str__(self) -> str:
        return self.name


DTYPES = {d.name: d for d in (
    DType("torch.float64", "DoubleStorage", "<f8", "float"),
    DType("torch.float32", "FloatStorage", "<f4", "float"),
    DType("torch.float16", "HalfStorage", "<f2", "float"),
    DType("torch.bfloat16", "BFloat16Storage", "<u2", "float"),
    DType("torch.complex128", "ComplexDoubleStorage", "<c16", "complex"),
    DType("torch.complex64", "ComplexFloatStorage", "<c8", "complex"),
    DType("torch.int64", "LongStorage", "<i8", "int"),
    DType("torch.int32", "IntStorage", "<i4", "int"),
    DType("torch.int16", "ShortStorage", "<i2", "int"),
    DType("torch.int8", "CharStorage", "<i1", "int"),
    DType("torch.uint8", "ByteStorage", "<u1", "int"),
    DType("torch.bool", "BoolStorage", "<b1", "bool"),
    DType("torch.uint16", None, "<u2", "int"),
    DType("torch.uint32", None, "<u4", "int"),
    DType("torch.uint64", None, "<u8", "int"),
)}


class StorageType:
    """What a storage class (``torch.FloatStorage``, ``torch.UntypedStorage``) stands for in a
    pickle: the dtype of the storage's elements (untyped storages hold bytes)."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: DType):
        self.name, self.dtype = name, dtype

    def __repr__(self) -> str:
        return f"torch.{self.name}"


#: The storage classes by the name a pickle uses for them (``torch.FloatStorage``).
STORAGE_TYPES = {f"torch.{d.storage}": StorageType(d.storage, d) for d in DTYPES.values() if d.storage}
UNTYPED = StorageType("UntypedStorage", DTYPES["torch.uint8"])
STORAGE_TYPES["torch.storage.UntypedStorage"] = UNTYPED  # its only name torch allows


class _TypeName:
    """``torch.Tensor`` or ``torch.nn.parameter.Parameter`` as named in a pickle: a name only."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


TENSOR_TYPE = _TypeName("torch.Tensor")
PARAMETER_TYPE = _TypeName("torch.nn.parameter.Parameter")


def _whole(v, what: str, lo: int = 0, hi: int = _INT64_MAX) -> int:
    if type(v) is not int or not lo <= v <= hi:
        raise PtFormatError(f"the file is damaged: {what} is {_short(v)}, not a whole number in "
                            f"[{lo}, {hi}]")
    return v


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


class Storage:
    """A storage the file declares: ``numel`` elements of ``dtype`` under ``key``. ``data`` (a
    read-only 1-D numpy array, native byte order) is set once the bytes are read; a legacy file's
    storage view shares its ``root``'s data from element ``root_offset`` on."""

    __slots__ = ("dtype", "key", "numel", "data", "root", "root_offset")

    def __init__(self, dtype: DType, key: str, numel: int, root: "Storage | None" = None,
                 root_offset: int = 0):
        self.dtype, self.key, self.numel = dtype, key, numel
        self.root, self.root_offset = root, root_offset
        self.data = None

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    def values(self) -> np.ndarray:
        if self.root is not None:
            return self.root.values()[self.root_offset:self.root_offset + self.numel]
        if self.data is None:
            raise PtFormatError(f"the file is damaged: storage {self.key!r} has no data")
        return self.data


class Tensor:
    """A dense tensor the file holds: a view of ``storage`` (``offset``, ``shape`` and ``strides``
    in elements of ``dtype``), checked to lie inside the storage."""

    __slots__ = ("storage", "offset", "shape", "strides", "dtype", "requires_grad")

    def __init__(self, storage: Storage, offset, shape, strides, dtype: DType,
                 requires_grad: bool = False):
        self.storage, self.dtype, self.requires_grad = storage, dtype, bool(requires_grad)
        self.offset = _whole(offset, "a tensor's storage offset")
        if not isinstance(shape, tuple) or not isinstance(strides, tuple):
            raise PtFormatError("the file is damaged: a tensor's size and stride must be tuples, got "
                                f"{type(shape).__name__} and {type(strides).__name__}")
        if len(shape) != len(strides) or len(shape) > MAX_DIMS:
            raise PtFormatError(f"the file is damaged: a tensor has size {_short(shape)} and stride "
                                f"{_short(strides)}")
        self.shape = tuple(_whole(n, "a tensor's size") for n in shape)
        self.strides = tuple(_whole(s, "a tensor's stride") for s in strides)
        # The last element the view reaches, in elements of dtype (Python integers: no overflow).
        available = storage.nbytes // dtype.itemsize
        if self.numel == 0:
            if self.offset > available:
                raise PtFormatError(f"the file is damaged: an empty tensor starts at element "
                                    f"{self.offset:,} of a storage of {available:,}")
        else:
            last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.strides))
            if last >= available:
                raise PtFormatError(f"the file is damaged: a tensor of size {self.shape} (stride "
                                    f"{self.strides}, offset {self.offset:,}) reaches element "
                                    f"{last:,} of a storage of {available:,}")

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """What the tensor's values take once copied out of the storage."""
        return self.numel * self.dtype.itemsize

    def numpy(self) -> np.ndarray:
        """The values: a read-only array of this shape, in native byte order (bfloat16 as
        float32, which holds every bfloat16 exactly)."""
        raw = self.storage.values()
        target = np.dtype(self.dtype.file_type).newbyteorder("=")
        if raw.dtype != target:  # bytes (an untyped storage) seen as this tensor's dtype
            raw = raw[:raw.size - raw.size % target.itemsize].view(target)
        if self.numel == 0:
            out = np.empty(self.shape, dtype=raw.dtype)
        else:
            item = raw.itemsize
            strides = tuple(s * item if n > 1 else 0 for n, s in zip(self.shape, self.strides))
            out = np.lib.stride_tricks.as_strided(raw[self.offset:], self.shape, strides,
                                                  writeable=False)
        if self.dtype.name == "torch.bfloat16":
            out = (out.astype(np.uint32) << 16).view(np.float32)
        out = out.view()
        out.flags.writeable = False
        return out

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, dtype={self.dtype})"


# --------------------------------------------------------------------------- rebuild functions
def _storage(storage) -> Storage:
    if not isinstance(storage, Storage):
        raise PtRefused(f"a tensor is rebuilt from a {type(storage).__name__}, not from a storage")
    return storage


def _dims(v, what: str) -> tuple:
    if isinstance(v, list):
        v = tuple(v)
    if not isinstance(v, tuple):
        raise PtFormatError(f"the file is damaged: a tensor's {what} is {_short(v)}")
    return v


def _flag(v) -> bool:
    if type(v) is not bool:
        raise PtFormatError(f"the file is damaged: requires_grad is {_short(v)}")
    return v


def _hooks(v) -> None:
    if not isinstance(v, dict):
        raise PtRefused(f"a tensor's backward hooks are a {type(v).__name__}")


def rebuild_tensor(storage, storage_offset, size, stride) -> Tensor:
    """``torch._utils._rebuild_tensor``."""
    s = _storage(storage)
    return Tensor(s, storage_offset, _dims(size, "size"), _dims(stride, "stride"), s.dtype)


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                      metadata=None) -> Tensor:
    """``torch._utils._rebuild_tensor_v2`` (what ``torch.save`` writes for a dense tensor)."""
    s = _storage(storage)
    _hooks(backward_hooks)
    if metadata is not None and not isinstance(metadata, dict):
        raise PtRefused(f"a tensor's metadata is a {type(metadata).__name__}")
    return Tensor(s, storage_offset, _dims(size, "size"), _dims(stride, "stride"), s.dtype,
                  _flag(requires_grad))


def rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                      metadata=None) -> Tensor:
    """``torch._utils._rebuild_tensor_v3``: a tensor of ``dtype`` over an untyped storage (what
    torch writes for dtypes without a storage class, e.g. uint16)."""
    s = _storage(storage)
    _hooks(backward_hooks)
    if not isinstance(dtype, DType):
        raise PtRefused(f"a tensor's dtype is {_short(dtype)}")
    if s.dtype is not dtype and s.dtype.itemsize != 1:
        raise PtFormatError(f"the file is damaged: a {dtype} tensor over a {s.dtype} storage")
    if metadata is not None and not isinstance(metadata, dict):
        raise PtRefused(f"a tensor's metadata is a {type(metadata).__name__}")
    return Tensor(s, storage_offset, _dims(size, "size"), _dims(stride, "stride"), dtype,
                  _flag(requires_grad))


def _tensor(data) -> Tensor:
    if not isinstance(data, Tensor):
        raise PtRefused(f"a parameter holds a {type(data).__name__}, not a tensor")
    return data


def rebuild_parameter(data, requires_grad, backward_hooks) -> Tensor:
    """``torch._utils._rebuild_parameter``: an ``nn.Parameter`` is read as its tensor."""
    t = _tensor(data)
    _hooks(backward_hooks)
    t.requires_grad = _flag(requires_grad)
    return t


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state) -> Tensor:
    """``torch._utils._rebuild_parameter_with_state``: the parameter's Python attributes
    (``state``) are data, and ignored."""
    if state is not None and not isinstance(state, (dict, tuple)):
        raise PtRefused(f"a parameter's state is a {type(state).__name__}")
    return rebuild_parameter(data, requires_grad, backward_hooks)


_REBUILDERS = (rebuild_tensor, rebuild_tensor_v2, rebuild_tensor_v3, rebuild_parameter,
               rebuild_parameter_with_state)


def rebuild_from_type_v2(func, new_type, args, state) -> Tensor:
    """``torch._tensor._rebuild_from_type_v2``: a tensor or parameter that carried Python
    attributes (``state``, ignored). Only the rebuild functions above, for ``torch.Tensor`` or
    ``nn.Parameter``."""
    if func not in _REBUILDERS:
        raise PtRefused(f"a tensor is rebuilt by {_short(func)}")
    if new_type is not TENSOR_TYPE and new_type is not PARAMETER_TYPE:
        raise PtRefused(f"a tensor of type {_short(new_type)}")
    if not isinstance(args, tuple):
        raise PtFormatError(f"the file is damaged: rebuild arguments {_short(args)}")
    if state is not None and not isinstance(state, (dict, tuple)):
        raise PtRefused(f"a tensor's state is a {type(state).__name__}")
    return func(*args)


def torch_size(dims=()) -> tuple:
    """``torch.Size``: a tuple of whole numbers."""
    dims = _dims(dims, "size")
    return tuple(_whole(n, "a size") for n in dims)
