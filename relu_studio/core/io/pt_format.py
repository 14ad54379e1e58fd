"""PyTorch's ``.pt`` file formats, read and written without torch (pure Python and numpy).

:func:`write_tensors` writes a state dict of numpy arrays as ``torch.save`` does (its zip format:
``<archive>/data.pkl`` pickled with protocol 2, whose tensors are
``torch._utils._rebuild_tensor_v2`` calls over persistent ids
``('storage', torch.FloatStorage, key, 'cpu', numel)``; each storage's little-endian bytes in
``<archive>/data/<key>``; the ``.format_version``, ``.storage_alignment``, ``byteorder``,
``version`` and ``.data/serialization_id`` records; every record uncompressed, its data aligned to
64 bytes by a padding field and followed by a data descriptor, as torch's writer lays them out), so
``torch.load(path, weights_only=True)``, also with ``mmap=True``, reads it. :func:`write_pt` does
the same for nested dicts, lists, tuples, numbers and strings (a notebook history), in either
format (``legacy=True``: the legacy one).

:func:`read_pt` reads both of torch's formats: the zip format, and the legacy one
(``torch.save(..., _use_new_zipfile_serialization=False)``: five pickles in a row, then each
storage's element count and bytes). It unpickles with :class:`~.pt_unpickler.RestrictedUnpickler`
(plain containers and tensors only), collects the storages the file declares without reading
them, checks their total, and the total of the tensors that view them, against the caller's
budget, then reads each storage (its record must hold exactly the bytes declared) in the byte
order the file states. Tensors come back as :class:`~.pt_tensors.Tensor` (``.dtype``, ``.shape``,
``.numpy()``). Any failure raises :class:`~.pt_tensors.PtFormatError` (``PtRefused`` for what a
plain tensor file never asks for, ``PtBudgetError`` over the budget) with a message that says why.
"""
from __future__ import annotations

import hashlib
import io
import pickle
import struct
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..budget import human
from .pt_tensors import (DTYPES, DType, PtBudgetError, PtFormatError, PtRefused, Storage,
                         StorageType)
from .pt_unpickler import LimitedReader, RestrictedUnpickler

__all__ = ["read_pt", "write_tensors", "write_pt", "MAX_PICKLE_BYTES", "MAGIC_NUMBER",
           "PROTOCOL_VERSION", "STORAGE_ALIGNMENT", "NOT_TORCH_PICKLE"]

#: The pickled part of a file (its structure, not its tensors' bytes): a notebook history of
#: 151 snapshots takes ~50 kB; unpickling can take several times the pickle's size in memory.
MAX_PICKLE_BYTES = 16 * 1024**2
#: The legacy format's first two pickles.
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
#: torch's default alignment of a zip record's data.
STORAGE_ALIGNMENT = 64
#: A record other than data.pkl and the storages is a few bytes.
_MAX_SMALL_RECORD = 64

NOT_TORCH_PICKLE = ("refused: a Python pickle that is not a plain PyTorch tensor file (the "
                    "restricted loader cannot read it: it may hold code, or be damaged)")
_NOT_TORCH_ZIP = "not a PyTorch file: a zip archive without torch's contents"


# =========================================================================== reading
def read_pt(path, max_tensor_bytes: int) -> object:
    """The object a ``.pt`` file holds, its tensors as :class:`~.pt_tensors.Tensor`.

    What the storages declare, and what the tensors viewing them would take once copied, must
    each stay within ``max_tensor_bytes``; both are checked before any storage is read."""
    with open(Path(path), "rb") as f:
        head = f.read(4)
        f.seek(0)
        try:
            if head.startswith(b"PK\x03\x04"):
                return _read_zip(f, max_tensor_bytes)
            if head.startswith(b"\x80"):
                return _read_legacy(f, max_tensor_bytes)
        except PtFormatError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError,
                AttributeError, struct.error, OverflowError, MemoryError, zlib.error,
                zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
            raise PtFormatError(f"the file is truncated or damaged ({type(exc).__name__}: "
                                f"{_first_line(exc) or 'no details'})") from None
    raise PtFormatError("not a PyTorch file (.pt): it is neither a torch zip archive nor a torch "
                        "pickle")


def _first_line(exc) -> str:
    msg = str(exc).strip()
    return msg.splitlines()[0][:200] if msg else ""


class _Declared:
    """The storages a file declares, by key; ``persistent_load`` for the unpickler."""

    def __init__(self, legacy: bool):
        self.legacy = legacy
        self.roots: dict[str, Storage] = {}
        self.views: dict[str, Storage] = {}

    def persistent_load(self, pid: tuple) -> Storage:
        if not pid or pid[0] not in ("storage", b"storage"):
            raise PtRefused(f"a persistent id of kind {str(pid[0])[:40]!r}, not a storage"
                            if pid else "an empty persistent id")
        want = 6 if self.legacy else 5
        if len(pid) != want:
            raise PtFormatError(f"the file is damaged: a storage id of {len(pid)} items, not {want}")
        kind, key, location, numel = pid[1:5]
        if not isinstance(kind, StorageType):
            raise PtRefused(f"a storage of type {type(kind).__name__}")
        if type(key) is not str or not isinstance(location, (str, bytes)):
            raise PtFormatError("the file is damaged: a storage's key or location is not text")
        if type(numel) is not int or not 0 <= numel < 2**63:
            raise PtFormatError(f"the file is damaged: a storage declares {numel!r} elements")
        root = self.roots.get(key)
        if root is None:
            root = self.roots[key] = Storage(kind.dtype, key, numel)
        elif root.dtype is not kind.dtype or root.numel != numel:
            raise PtFormatError(f"the file is damaged: storage {key!r} is declared twice, as "
                                f"{root.numel:,} x {root.dtype} and {numel:,} x {kind.dtype}")
        view = pid[5] if self.legacy else None
        return root if view is None else self._view(root, view)

    def _view(self, root: Storage, view) -> Storage:
        """A legacy file's storage view: ``(view key, offset, size)`` in the root's elements."""
        if type(view) is not tuple or len(view) != 3:
            raise PtFormatError("the file is damaged: a storage view is not (key, offset, size)")
        key, offset, size = view
        if (type(key) is not str or type(offset) is not int or type(size) is not int
                or offset < 0 or size < 0 or offset + size > root.numel):
            raise PtFormatError(f"the file is damaged: a view of elements {offset!r}+{size!r} of "
                                f"a storage of {root.numel:,}")
        known = self.views.get(key)
        if known is None:
            known = self.views[key] = Storage(root.dtype, key, size, root=root, root_offset=offset)
        elif known.root is not root or known.root_offset != offset or known.numel != size:
            raise PtFormatError(f"the file is damaged: storage view {key!r} is declared twice")
        return known


def _check_budget(declared: _Declared, unpickler: RestrictedUnpickler, limit: int) -> None:
    total = sum(s.nbytes for s in declared.roots.values())
    if total > limit:
        raise PtBudgetError(f"the file declares {human(total)} of tensors (at most "
                            f"{human(limit)} here)")
    viewed = sum(t.nbytes for t in unpickler.tensors.values())
    if viewed > limit:
        raise PtBudgetError(f"the file's tensors would take {human(viewed)} (at most "
                            f"{human(limit)} here)")


def _values(raw: bytes, dtype: DType, big_endian: bool) -> np.ndarray:
    """A storage's bytes as a read-only array in native byte order."""
    file_type = np.dtype(dtype.file_type)
    if big_endian:
        file_type = file_type.newbyteorder(">")
    values = np.frombuffer(raw, dtype=file_type)
    if not file_type.isnative:
        values = values.astype(file_type.newbyteorder("="))
    values.flags.writeable = False
    return values


# --------------------------------------------------------------------------- the zip format
def _read_zip(f, max_tensor_bytes: int) -> object:
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise PtFormatError("the file is truncated or damaged (an incomplete zip archive: "
                            f"{_first_line(exc)})") from None
    with zf:
        infos = {i.filename: i for i in zf.infolist()}
        first = next(iter(infos), "")
        if "/" not in first:
            raise PtFormatError(_NOT_TORCH_ZIP)
        top = first.split("/")[0]
        pkl = infos.get(f"{top}/data.pkl")
        if pkl is None:
            raise PtFormatError(_NOT_TORCH_ZIP)
        if pkl.file_size > MAX_PICKLE_BYTES:
            raise PtBudgetError(f"its data.pkl unpacks to {human(pkl.file_size)} (at most "
                                f"{human(MAX_PICKLE_BYTES)} here; plain tensor files hold much "
                                "less)")
        big_endian = False
        order = infos.get(f"{top}/byteorder")
        if order is not None:
            value = zf.read(order) if order.file_size <= _MAX_SMALL_RECORD else b"?"
            if value not in (b"little", b"big"):
                raise PtFormatError(f"the file is damaged: its byte order is {value[:20]!r}")
            big_endian = value == b"big"

        declared = _Declared(legacy=False)
        unpickler = RestrictedUnpickler(io.BytesIO(zf.read(pkl)), declared.persistent_load)
        obj = unpickler.load()
        _check_budget(declared, unpickler, max_tensor_bytes)
        for key, storage in declared.roots.items():
            info = infos.get(f"{top}/data/{key}")
            if info is None:
                raise PtFormatError(f"the file is truncated or damaged (storage {key!r} has no "
                                    "data)")
            if info.file_size != storage.nbytes:
                raise PtFormatError(f"the file is damaged: storage {key!r} declares "
                                    f"{storage.nbytes:,} bytes, its record holds "
                                    f"{info.file_size:,}")
            storage.data = _values(zf.read(info), storage.dtype, big_endian)
    return obj


# --------------------------------------------------------------------------- the legacy format
def _read_legacy(f, max_tensor_bytes: int) -> object:
    """torch's legacy format: pickles of the magic number, the protocol version, the system's
    description, the object and the storage keys; then, per key, its element count (int64) and
    bytes, always little-endian (torch's legacy writer converts them)."""
    pickles = LimitedReader(f, MAX_PICKLE_BYTES, "the file's pickled part")
    try:
        magic = RestrictedUnpickler(pickles).load()
    except PtRefused:
        raise
    except Exception:  # noqa: BLE001 (whatever the bytes are, they are not torch's magic number)
        raise PtFormatError(NOT_TORCH_PICKLE) from None
    if type(magic) is not int or magic != MAGIC_NUMBER:
        raise PtFormatError(NOT_TORCH_PICKLE)
    version = RestrictedUnpickler(pickles).load()
    if version != PROTOCOL_VERSION:
        raise PtFormatError(f"cannot be read as a PyTorch file (protocol version {version!r}, not "
                            f"{PROTOCOL_VERSION})")
    sys_info = RestrictedUnpickler(pickles).load()
    if not isinstance(sys_info, dict):
        raise PtFormatError("the file is damaged: its system description is not a dict")

    declared = _Declared(legacy=True)
    unpickler = RestrictedUnpickler(pickles, declared.persistent_load)
    obj = unpickler.load()
    _check_budget(declared, unpickler, max_tensor_bytes)
    keys = RestrictedUnpickler(pickles).load()
    if (not isinstance(keys, list) or any(type(k) is not str for k in keys)
            or sorted(keys) != sorted(declared.roots)):
        raise PtFormatError("the file is damaged: its list of storages does not match the "
                            "storages its tensors use")
    for key in keys:
        storage = declared.roots[key]
        head = f.read(8)
        if len(head) < 8:
            raise PtFormatError(f"the file is truncated (storage {key!r} is missing)")
        (numel,) = struct.unpack("<q", head)
        if numel != storage.numel:
            raise PtFormatError(f"the file is damaged: storage {key!r} declares "
                                f"{storage.numel:,} elements, its data says {numel:,}")
        raw = f.read(storage.nbytes)
        if len(raw) < storage.nbytes:
            raise PtFormatError(f"the file is truncated (storage {key!r} has {len(raw):,} of its "
                                f"{storage.nbytes:,} bytes)")
        storage.data = _values(raw, storage.dtype, big_endian=False)
    return obj


# =========================================================================== writing
_BY_NUMPY = {np.dtype(d.file_type): d for d in DTYPES.values()
             if d.storage and d.name != "torch.bfloat16"}
_ARCHIVE = "archive"  # the folder torch.save uses when it writes to a buffer
_SYS_INFO = {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
             "type_sizes": {"short": 2, "int": 4, "long": 4}}


def write_tensors(tensors: Mapping[str, np.ndarray], legacy: bool = False) -> bytes:
    """``torch.save(OrderedDict(tensors), buffer)``'s bytes (with ``legacy``, as
    ``_use_new_zipfile_serialization=False`` writes them)."""
    for key in tensors:
        if type(key) is not str:
            raise TypeError(f"state dict keys are str, got {type(key).__name__}")
    return write_pt(OrderedDict(tensors), legacy=legacy)


def write_pt(obj, legacy: bool = False) -> bytes:
    """``torch.save(obj, buffer)``'s bytes for ``obj`` made of dicts (``OrderedDict`` stays one),
    lists, tuples, str, int, float, bool, None and numpy arrays (float32, float64, float16,
    complex, integer or bool; each becomes a contiguous tensor with a storage of its own, in
    little-endian byte order)."""
    pickler = _Pickler(legacy)
    pickled = pickle.PROTO + b"\x02" + pickler.value(obj) + pickle.STOP
    if legacy:
        keys = sorted(pickler.storages)  # torch writes them in this order
        head = b"".join(pickle.dumps(v, protocol=2)
                        for v in (MAGIC_NUMBER, PROTOCOL_VERSION, _SYS_INFO))
        tail = b"".join(struct.pack("<q", pickler.storages[k].size) + pickler.storages[k].tobytes()
                        for k in keys)
        return head + pickled + pickle.dumps(keys, protocol=2) + tail
    records = [("data.pkl", pickled), (".format_version", b"1"),
               (".storage_alignment", str(STORAGE_ALIGNMENT).encode()), ("byteorder", b"little")]
    records += [(f"data/{k}", a.tobytes()) for k, a in pickler.storages.items()]
    records.append(("version", b"3\n"))
    records.append((".data/serialization_id", _serialization_id(records)))
    return _zip(records)


class _Pickler:
    """Protocol-2 pickle opcodes for the values :func:`write_pt` takes (torch's names for the
    globals; no memo: every value is written where it occurs)."""

    def __init__(self, legacy: bool):
        self.legacy = legacy
        self.storages: dict[str, np.ndarray] = {}

    def value(self, v) -> bytes:
        if v is None:
            return pickle.NONE
        if type(v) is bool:
            return pickle.NEWTRUE if v else pickle.NEWFALSE
        if type(v) is int:
            return _int(v)
        if type(v) is float:
            return pickle.BINFLOAT + struct.pack(">d", v)
        if type(v) is str:
            return _str(v)
        if isinstance(v, np.ndarray):
            return self.tensor(v)
        if type(v) is tuple:
            return _tuple([self.value(x) for x in v])
        if type(v) is list:
            items = b"".join(self.value(x) for x in v)
            return pickle.EMPTY_LIST + (pickle.MARK + items + pickle.APPENDS if v else b"")
        if type(v) in (dict, OrderedDict):
            head = (_global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
                    if type(v) is OrderedDict else pickle.EMPTY_DICT)
            items = b"".join(self.value(k) + self.value(x) for k, x in v.items())
            return head + (pickle.MARK + items + pickle.SETITEMS if v else b"")
        raise TypeError(f"cannot write a {type(v).__name__} to a .pt file")

    def tensor(self, a: np.ndarray) -> bytes:
        """``_rebuild_tensor_v2(storage, 0, shape, stride, False, OrderedDict())``."""
        dtype = _BY_NUMPY.get(a.dtype.newbyteorder("<"))
        if dtype is None:
            raise TypeError(f"numpy dtype {a.dtype} has no torch storage type")
        a = np.require(a, dtype=np.dtype(dtype.file_type), requirements="C")  # keeps 0-d arrays
        key = str(len(self.storages))
        self.storages[key] = a
        strides = [int(np.prod(a.shape[j + 1:], dtype=object)) for j in range(a.ndim)]  # C order
        pid = [_str("storage"), _global("torch", dtype.storage), _str(key), _str("cpu"),
               _int(a.size)] + ([pickle.NONE] if self.legacy else [])
        args = [_tuple(pid) + pickle.BINPERSID, _int(0), _tuple([_int(n) for n in a.shape]),
                _tuple([_int(s) for s in strides]), pickle.NEWFALSE,
                _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE]
        return _global("torch._utils", "_rebuild_tensor_v2") + _tuple(args) + pickle.REDUCE


def _int(n: int) -> bytes:
    if 0 <= n < 256:
        return pickle.BININT1 + bytes([n])
    if 0 <= n < 65536:
        return pickle.BININT2 + struct.pack("<H", n)
    if -(2**31) <= n < 2**31:
        return pickle.BININT + struct.pack("<i", n)
    raw = pickle.encode_long(n)
    return pickle.LONG1 + bytes([len(raw)]) + raw


def _str(s: str) -> bytes:
    raw = s.encode("utf-8")
    return pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw


def _tuple(items: list[bytes]) -> bytes:
    if not items:
        return pickle.EMPTY_TUPLE
    if len(items) <= 3:
        return b"".join(items) + (pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3)[len(items) - 1]
    return pickle.MARK + b"".join(items) + pickle.TUPLE


def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii")


def _serialization_id(records) -> bytes:
    """torch's form (two 20-digit numbers: a CRC-32 of the records, then a number that is random
    in torch's writer), here derived from the contents so that one network gives one file."""
    crc, digest = 0, hashlib.sha256()
    for name, data in records:
        crc = zlib.crc32(data, crc)
        digest.update(name.encode() + data)
    return f"{crc:020d}{int(digest.hexdigest()[:16], 16) % 10**20:020d}".encode()


class _Sink:
    """A write-only stream: zipfile then follows each record with a data descriptor, as torch's
    writer (miniz) does, so torch's optional computed storage offsets hold too."""

    def __init__(self):
        self.buffer = io.BytesIO()

    def write(self, data) -> int:
        return self.buffer.write(data)

    def flush(self) -> None:
        pass


def _zip(records) -> bytes:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as zf:
        for name, data in records:
            full = f"{_ARCHIVE}/{name}"
            # torch's padding field ("FB", its length, then filler) puts the data at a multiple of
            # the alignment: 30 bytes of local header, the name, the field's own 4 bytes, padding.
            start = sink.buffer.tell() + 30 + len(full.encode()) + 4
            pad = -start % STORAGE_ALIGNMENT
            info = zipfile.ZipInfo(full, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            zf.writestr(info, data)
    return sink.buffer.getvalue()
