"""PyTorch interop: the notebook's ``state_dict`` ``.pt`` files and its saved training histories.

The notebook's model is ``nn.Sequential(nn.Linear(1, H), nn.ReLU(), nn.Linear(H, 1))``; its
``state_dict`` has exactly the keys ``'0.weight'`` (H, 1), ``'0.bias'`` (H,), ``'2.weight'``
(1, H) and ``'2.bias'`` (1,). :func:`export_state_dict` writes such a file (float32 tensors) that
``net.load_state_dict(torch.load(path, weights_only=True))`` accepts; :func:`load_network_pt`
reads one back; :func:`load_notebook_history` reads the notebook's ``history`` dict
(``{step: {'state': state_dict, 'train_error': float, 'test_error': float}}``) saved with
``torch.save(history, path)``.

Safety: every file is read with ``torch.load(path, map_location="cpu", weights_only=True)``,
torch's restricted unpickler, which only rebuilds tensors and plain containers and refuses any
other Python object (so a file cannot run code when opened). Files that are not a torch file,
are truncated, hold objects other than tensors, or do not match the model (keys, shapes,
dtypes, width, non-finite values) raise :class:`TorchFileError` (a ``ValueError``) saying what is
wrong; nothing else is changed, so the caller's session stays as it was.

torch is imported inside the functions only (the rest of the core never needs it).
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..arrays import read_only
from ..dataset import Dataset
from ..history import History, network_errors
from ..network import STATE_DICT_SHAPES, Network
from ..budget import MAX_HISTORY_BYTES, BudgetError, check_history, check_regular_file, human
from ..settings import MAX_WIDTH
from .atomic import atomic_write

__all__ = ["TorchFileError", "export_state_dict", "load_network_pt", "load_notebook_history",
           "state_dict_tensors", "MAX_PT_BYTES", "NOTEBOOK_TAG"]

#: Larger files are refused without being read (a width-100 000 history of 151 snapshots is ~180 MB).
MAX_PT_BYTES = 2 * 1024**3
#: The history tag of snapshots imported from a notebook history.
NOTEBOOK_TAG = "notebook"

_CODE_REFUSAL = ("refused: the file contains Python code or objects that are not plain tensors "
                 "(only state dicts of tensors are loaded, with torch.load(weights_only=True))")


class TorchFileError(ValueError):
    """A ``.pt`` file that cannot be used; the message names the file and says why."""


# --------------------------------------------------------------------------- export
def state_dict_tensors(net: Network):
    """The notebook-keyed state dict of ``net`` as an ``OrderedDict`` of float32 CPU tensors."""
    import torch

    if not isinstance(net, Network):
        raise TypeError(f"expected a relu_studio Network, got {type(net).__name__}")
    return OrderedDict(
        (k, torch.tensor(np.ascontiguousarray(v, dtype=np.float32)))
        for k, v in net.to_state_dict().items()
    )


def export_state_dict(net: Network, path) -> Path:
    """Save ``net`` as the notebook model's ``state_dict`` with ``torch.save`` (atomically).

    The file loads with ``torch.load(path, weights_only=True)`` into
    ``nn.Sequential(nn.Linear(1, H), nn.ReLU(), nn.Linear(H, 1))`` via
    ``load_state_dict(..., strict=True)``, and :func:`load_network_pt` reads it back bit for bit.
    """
    import torch

    sd = state_dict_tensors(net)
    buf = io.BytesIO()
    torch.save(sd, buf)
    raw = _with_checksum(buf.getvalue())
    try:
        return atomic_write(path, lambda f: f.write(raw))
    except RuntimeError as exc:  # torch and some writers report a full disk so
        raise OSError(str(exc)) from None


#: The member that holds a SHA-256 of every other member of a ``.pt`` this app writes. torch
#: ignores it; :func:`load_network_pt` checks it, so a damaged file is refused, not misread.
CHECKSUM_MEMBER = ".relu_studio_sha256"


def _members_digest(zf: zipfile.ZipFile, skip: str | None = None) -> str:
    h = hashlib.sha256()
    for info in zf.infolist():
        if info.filename != skip:
            h.update(info.filename.encode())
            h.update(zf.read(info))
    return h.hexdigest()


def _with_checksum(raw: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        top = zf.namelist()[0].split("/")[0]
        digest = _members_digest(zf)
    out = io.BytesIO(raw)
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr(f"{top}/{CHECKSUM_MEMBER}", digest)
    return out.getvalue()


def _verify_checksum(path) -> bool | None:
    """True if the file carries this app's checksum and it matches, None if it carries none;
    raises ValueError if it does not match (or the archive cannot be read)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("/" + CHECKSUM_MEMBER)]
            if not names:
                return None
            stored = zf.read(names[0]).decode("ascii", "replace").strip()
            actual = _members_digest(zf, skip=names[0])
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, UnicodeDecodeError, ValueError,
            NotImplementedError, RuntimeError, KeyError, IndexError) as exc:
        raise ValueError(f"the file is truncated or damaged ({type(exc).__name__}: {exc})") from None
    if stored != actual:
        raise ValueError("the file is damaged: its contents differ from the checksum it was saved "
                         "with")
    return True


# --------------------------------------------------------------------------- safe loading
#: What a single network's tensors can take: 3 H + 1 values of at most 8 bytes, H <= MAX_WIDTH.
MAX_NETWORK_BYTES = 8 * (3 * MAX_WIDTH + 1)


def _load(path, max_tensor_bytes: int = MAX_HISTORY_BYTES) -> tuple[object, str]:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with every failure translated."""
    path = Path(path)
    name = path.name

    def bad(why):
        return TorchFileError(f"{name}: {why}")

    try:
        size = check_regular_file(path, "the file", MAX_PT_BYTES)
        with open(path, "rb") as f:
            head = f.read(4)
    except BudgetError as exc:
        raise bad(str(exc)) from None
    except OSError as exc:
        raise bad(f"cannot read the file: {exc.strerror or exc}") from None
    if size == 0:
        raise bad("the file is empty")
    is_zip = head.startswith(b"PK\x03\x04")
    is_pickle = head.startswith(b"\x80")  # torch's legacy format starts with a pickle (protocol 2)
    if not (is_zip or is_pickle):
        raise bad("not a PyTorch file (.pt): it is neither a torch zip archive nor a torch pickle")
    if is_pickle:
        # The legacy format's loader allocates every storage at the size the file declares
        # before reading it: a 2 kB file could ask for gigabytes. Read the declarations first.
        declared = _legacy_declared_bytes(path)
        if declared > max_tensor_bytes:
            raise bad(f"the file declares {human(declared)} of tensors (at most "
                      f"{human(max_tensor_bytes)} here)")

    if is_zip:
        try:
            _verify_checksum(path)
        except ValueError as exc:
            raise bad(str(exc)) from None

    import pickle

    import torch

    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the refusal says it
            warnings.simplefilter("ignore", UserWarning)
            # A zip file's tensors are mapped from the file, not allocated: what a file declares
            # cannot exceed what it holds. (The legacy format cannot be mapped; see above.)
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except pickle.UnpicklingError as exc:
        msg = str(exc)
        found = re.search(r"GLOBAL ([\w.]+)", msg)
        if found:
            what = found.group(1)
            hint = ""
            if what.startswith("torch.nn.modules"):
                hint = "; a whole model was saved: save net.state_dict() instead"
            elif what.startswith("numpy"):
                hint = "; it holds NumPy arrays: save torch tensors instead"
            raise bad(f"{_CODE_REFUSAL}; it asks for {what}{hint}") from None
        if is_pickle:
            raise bad("refused: a Python pickle that is not a plain PyTorch tensor file (torch's "
                      "safe loader cannot read it: it may hold code, or be damaged)") from None
        raise bad(f"the file is truncated or damaged ({_first_line(msg)})") from None
    except RuntimeError as exc:
        msg = str(exc)
        if is_zip and ("central directory" in msg or "failed reading" in msg):
            raise bad("the file is truncated or damaged (an incomplete zip archive)") from None
        if is_zip and ("data.pkl" in msg or "not in a subdirectory" in msg or "version" in msg):
            raise bad("not a PyTorch file: a zip archive without torch's contents") from None
        raise bad(f"cannot be read as a PyTorch file ({_first_line(msg)})") from None
    except (EOFError, OSError, ValueError, KeyError, IndexError, TypeError, AttributeError,
            MemoryError, OverflowError) as exc:
        raise bad(f"the file is truncated or damaged ({type(exc).__name__}: "
                  f"{_first_line(str(exc)) or 'no details'})") from None
    except Exception as exc:  # anything else torch.load may raise on a malformed file
        raise bad(f"cannot be read as a PyTorch file ({type(exc).__name__}: "
                  f"{_first_line(str(exc)) or 'no details'})") from None
    return obj, name


#: Bytes per element of the storages a legacy file can name (an unknown type counts as 8).
_ELEMENT_BYTES = {"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
                  "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
                  "ByteStorage": 1, "BoolStorage": 1}


def _legacy_declared_bytes(path) -> int:
    """What the storages of a legacy-format ``.pt`` declare, read from its pickles' opcodes
    without running them: each storage is a persistent id ``('storage', type, key, location,
    numel, ...)``."""
    import pickletools

    total = 0
    with open(path, "rb") as f:
        for _ in range(5):  # magic number, protocol, system info, the objects, the storage keys
            stack: list = []
            try:
                for op, arg, _pos in pickletools.genops(f):
                    if op.name == "MARK":
                        stack.append([])
                    elif op.name in ("TUPLE", "LIST", "DICT", "SETITEMS", "APPENDS") and stack:
                        items = stack.pop()
                        if stack and op.name == "TUPLE":
                            stack[-1].append(tuple(items))
                        elif op.name == "TUPLE":
                            stack.append([tuple(items)])
                    elif op.name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE", "PROTO", "FRAME"):
                        pass  # bookkeeping, not values
                    elif stack and op.name in ("BINGET", "LONG_BINGET", "GET"):
                        stack[-1].append(None)  # a value seen before: not a size
                    elif stack and arg is not None:
                        stack[-1].append(arg)
                    elif op.name == "BINPERSID" and stack and stack[-1] and isinstance(stack[-1][-1], tuple):
                        pid = stack[-1][-1]
                        # The type name and class may be memo references (None) after the
                        # first storage; an unknown element size counts as 8 bytes.
                        if len(pid) >= 5 and pid[0] in ("storage", None) and isinstance(pid[4], int):
                            kind = str(pid[1]).split()[-1]
                            total += int(pid[4]) * _ELEMENT_BYTES.get(kind, 8)
                    if op.name == "STOP":
                        break
            except (ValueError, EOFError, IndexError):
                break
    return total


def _first_line(msg: str) -> str:
    return msg.strip().splitlines()[0][:200] if msg.strip() else ""


def _looks_like_history(obj) -> bool:
    return (isinstance(obj, Mapping) and len(obj) > 0
            and all(isinstance(v, Mapping) and "state" in v for v in obj.values()))


def _network(sd, where: str, expected_width: int | None) -> Network:
    if not isinstance(sd, Mapping):
        raise ValueError(f"{where}expected a state dict (a mapping of names to tensors), "
                         f"got {type(sd).__name__}")
    for k, v in sd.items():
        if k in STATE_DICT_SHAPES and not hasattr(v, "detach"):
            raise ValueError(f"{where}'{k}' is a {type(v).__name__}, not a tensor")
        if k in STATE_DICT_SHAPES and getattr(v, "layout", None) is not None:
            import torch

            if v.layout != torch.strided or v.is_quantized or v.is_complex():
                raise ValueError(f"{where}'{k}' is not a dense real floating-point tensor")
    width = declared_width(sd)
    if width is not None and width > MAX_WIDTH:  # before any tensor is converted
        raise ValueError(f"{where}width {width:,} is larger than {MAX_WIDTH:,}")
    try:
        net = Network.from_state_dict(sd)
    except (RuntimeError, TypeError) as exc:  # tensors torch cannot convert
        raise ValueError(f"{where}{_first_line(str(exc))}") from None
    except ValueError as exc:
        raise ValueError(f"{where}{exc}") from None
    if net.width > MAX_WIDTH:
        raise ValueError(f"{where}width {net.width} is larger than {MAX_WIDTH}")
    if expected_width is not None and net.width != int(expected_width):
        raise ValueError(f"{where}the network has width {net.width}, but width "
                         f"{int(expected_width)} is needed")
    return net


def declared_width(sd) -> int | None:
    """The width a state dict's shapes declare (its first layer's bias length), read without
    converting anything; None if it does not tell."""
    try:
        shape = tuple(sd["0.bias"].shape)
    except (KeyError, TypeError, AttributeError):
        return None
    return int(shape[0]) if len(shape) == 1 else None


def load_network_pt(path, expected_width: int | None = None) -> Network:
    """Read a notebook ``state_dict`` ``.pt`` file (as written by :func:`export_state_dict` or
    ``torch.save(net.state_dict(), path)``).

    It must be a mapping with exactly the keys ``'0.weight'`` (H, 1), ``'0.bias'`` (H,),
    ``'2.weight'`` (1, H), ``'2.bias'`` (1,) of finite floating-point tensors (converted to
    float32, the model's dtype); with ``expected_width`` the width must be that.
    Raises :class:`TorchFileError`.
    """
    obj, name = _load(path, MAX_NETWORK_BYTES)
    if _looks_like_history(obj):
        raise TorchFileError(f"{name}: this is a training history (a dict of steps), not one "
                             "network's state dict; import it as a history")
    try:
        return _network(obj, "", expected_width)
    except ValueError as exc:
        raise TorchFileError(f"{name}: {exc}") from None


def _error_value(v, key: str, where: str) -> float:
    if hasattr(v, "detach"):  # a tensor holding one number (e.g. the loss without .item())
        if v.numel() != 1 or v.dtype.is_complex or str(v.dtype) == "torch.bool":
            raise ValueError(f"{where}'{key}' must be one real number, got a {v.dtype} tensor "
                             f"of shape {tuple(v.shape)}")
        v = v.detach().cpu().double().reshape(-1)[0].item()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{where}'{key}' must be a number, got {type(v).__name__}")
    v = float(v)
    if not np.isfinite(v):
        raise ValueError(f"{where}'{key}' is {v}; a finite number is needed")
    return v


def load_notebook_history(path, data: Dataset | None = None,
                          expected_width: int | None = None) -> History:
    """Read the notebook's training history saved with ``torch.save(history, path)``.

    ``history`` is a dict ``step -> {'state': state_dict, 'train_error': float,
    'test_error': float}`` (``step`` a whole number >= 0, as the notebook's ``s + 1``). The result
    is a :class:`History` with one snapshot per step in increasing order, tagged
    :data:`NOTEBOOK_TAG`: the minibatch train MSE and the test MSE are the file's (the notebook
    computes them in float32), the full train MSE is computed on ``data`` if given, else NaN.
    Every entry is checked (a message names the offending step); all entries must have the same
    width (``expected_width`` if given). Raises :class:`TorchFileError`.

    To put it on a session's timeline after the initial network at step 0, as the studio's own
    histories are: ``History.start(initial, data).extended_with(history)``.
    """
    obj, name = _load(path)

    def bad(why):
        return TorchFileError(f"{name}: {why}")

    if not isinstance(obj, Mapping):
        raise bad(f"expected the notebook's history (a dict of steps), got {type(obj).__name__}")
    if not obj:
        raise bad("the history is empty")
    if set(obj) == set(STATE_DICT_SHAPES) or all(hasattr(v, "detach") for v in obj.values()):
        raise bad("this is a single network's state dict, not a training history; import it "
                  "as a network")
    for k in obj:
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise bad(f"the history's keys must be step numbers (whole numbers >= 0); found {k!r}")
    steps = sorted(obj)
    first = obj[steps[0]]
    width = declared_width(first.get("state")) if isinstance(first, Mapping) else None
    if width is not None:  # every entry becomes a network of its own: count before converting
        try:
            check_history(len(steps), width, "the history")
        except BudgetError as exc:
            raise bad(str(exc)) from None
    nets, train, test = [], [], []
    width = None if expected_width is None else int(expected_width)
    for s in steps:
        entry = obj[s]
        where = f"step {s}: "
        try:
            if not isinstance(entry, Mapping):
                raise ValueError(f"{where}expected a dict with 'state', 'train_error' and "
                                 f"'test_error', got {type(entry).__name__}")
            missing = [k for k in ("state", "train_error", "test_error") if k not in entry]
            if missing:
                raise ValueError(f"{where}missing {', '.join(repr(k) for k in missing)}")
            net = _network(entry["state"], where, None)
            if width is None:
                width = net.width
            elif net.width != width:
                why = (f"width {width} is needed" if expected_width is not None
                       else f"the earlier steps have width {width}")
                raise ValueError(f"{where}the network has width {net.width}, but {why}")
            train.append(_error_value(entry["train_error"], "train_error", where))
            test.append(_error_value(entry["test_error"], "test_error", where))
        except ValueError as exc:
            raise bad(str(exc)) from None
        nets.append(net)

    if data is not None:
        full = np.array([network_errors(n, data)[0] for n in nets], dtype=np.float64)
    else:
        full = np.full(len(nets), np.nan)

    return History(
        steps=read_only(np.array(steps, dtype=np.int64)),
        train_error=read_only(np.array(train, np.float64)), full_train_error=read_only(full),
        test_error=read_only(np.array(test, np.float64)),
        w1=read_only(np.stack([n.w1 for n in nets])), b1=read_only(np.stack([n.b1 for n in nets])),
        w2=read_only(np.stack([n.w2 for n in nets])),
        b2=read_only(np.array([n.b2 for n in nets], np.float32)), tags=(NOTEBOOK_TAG,) * len(nets),
    )
