"""PyTorch interop: the notebook's ``state_dict`` ``.pt`` files and its saved training histories.

The notebook's model is ``nn.Sequential(nn.Linear(1, H), nn.ReLU(), nn.Linear(H, 1))``; its
``state_dict`` has exactly the keys ``'0.weight'`` (H, 1), ``'0.bias'`` (H,), ``'2.weight'``
(1, H) and ``'2.bias'`` (1,). :func:`export_state_dict` writes such a file (float32 tensors) that
``net.load_state_dict(torch.load(path, weights_only=True))`` accepts; :func:`load_network_pt`
reads one back; :func:`load_notebook_history` reads the notebook's ``history`` dict
(``{step: {'state': state_dict, 'train_error': float, 'test_error': float}}``) saved with
``torch.save(history, path)``.

Safety: no file goes through an unrestricted unpickler. :mod:`.pt_format` reads torch's formats
(zip and legacy) with a restricted unpickler in the spirit of ``torch.load(weights_only=True)``: it
rebuilds tensors and plain containers and refuses any other Python object (so a file cannot run
code when opened), and it checks what the file declares (its pickled part, its storages, the
tensors that view them) against the budget before anything is read or allocated. Files that are
not a torch file, are truncated, hold objects other than tensors, or do not match the model
(keys, shapes, dtypes, width, non-finite values) raise :class:`TorchFileError` (a ``ValueError``)
saying what is wrong; nothing else is changed, so the caller's session stays as it was.

The activation: the state dict has no place for it (the notebook's model is fixed by code), so a
network with another activation than ReLU is exported with one more archive member,
``<archive>/.relu_studio_activation`` (JSON, :meth:`Activation.to_dict`), which torch ignores
(``torch.load(path, weights_only=True)`` still loads the state dict) and :func:`load_network_pt`
reads back; a file without it (the notebook's, or ReLU) is ReLU. :func:`torch_model_line` is the
``nn.Sequential`` line that loads the file; |x| has no torch.nn module (:func:`export_message`
says so).

torch itself is never imported here, except by :func:`state_dict_tensors` (a scripting
convenience that returns torch tensors).
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..activations import Activation
from ..arrays import read_only
from ..dataset import Dataset
from ..history import History, network_errors
from ..network import STATE_DICT_SHAPES, Network, import_torch
from ..budget import MAX_HISTORY_BYTES, BudgetError, check_history, check_regular_file
from ..settings import MAX_WIDTH, SettingsError
from .atomic import atomic_write
from .pt_format import read_pt, write_tensors
from .pt_tensors import PtFormatError, PtRefused, Tensor

__all__ = ["TorchFileError", "export_state_dict", "load_network_pt", "load_notebook_history",
           "state_dict_tensors", "MAX_PT_BYTES", "NOTEBOOK_TAG", "torch_model_line",
           "export_message"]

#: Larger files are refused without being read (a width-100 000 history of 151 snapshots is ~180 MB).
MAX_PT_BYTES = 2 * 1024**3
#: The history tag of snapshots imported from a notebook history.
NOTEBOOK_TAG = "notebook"

_CODE_REFUSAL = ("refused: the file contains Python code or objects that are not plain tensors "
                 "(only state dicts of tensors are loaded, as torch.load(weights_only=True) "
                 "loads them)")


class TorchFileError(ValueError):
    """A ``.pt`` file that cannot be used; the message names the file and says why."""


# --------------------------------------------------------------------------- export
def state_dict_tensors(net: Network):
    """The notebook-keyed state dict of ``net`` as an ``OrderedDict`` of float32 CPU tensors."""
    torch = import_torch()

    if not isinstance(net, Network):
        raise TypeError(f"expected a relu_studio Network, got {type(net).__name__}")
    return OrderedDict(
        (k, torch.tensor(np.ascontiguousarray(v, dtype=np.float32)))
        for k, v in net.to_state_dict().items()
    )


def torch_model_line(net: Network) -> str:
    """The torch model the exported state dict loads into, as Python text:
    ``nn.Sequential(nn.Linear(1, H), nn.ReLU(), nn.Linear(H, 1))`` with the network's activation
    module (|x|, which torch.nn has none for: ``Abs()``, a module whose forward is ``torch.abs(x)``)."""
    spec = net.activation.torch_module()
    if spec is None:
        act = "Abs()"
    else:
        cls, kwargs = spec
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        act = f"nn.{cls}({args})"
    return f"nn.Sequential(nn.Linear(1, {net.width}), {act}, nn.Linear({net.width}, 1))"


def export_message(net: Network, name: str) -> str:
    """What the app says after exporting ``net`` to the file ``name``: how to load it."""
    text = (f"Exported the network to {name}: net = {torch_model_line(net)}; "
            "net.load_state_dict(torch.load(path, weights_only=True)).")
    if net.activation.torch_module() is None:
        text += (" torch.nn has no |x| module: define class Abs(nn.Module) whose forward "
                 "returns torch.abs(x).")
    return text


#: The member that records a non-ReLU network's activation (JSON; torch ignores it).
ACTIVATION_MEMBER = ".relu_studio_activation"


def export_state_dict(net: Network, path) -> Path:
    """Save ``net`` as the notebook model's ``state_dict`` in ``torch.save``'s format (atomically).

    The file loads with ``torch.load(path, weights_only=True)`` into the model of
    :func:`torch_model_line` (for ReLU the notebook's ``nn.Sequential(nn.Linear(1, H), nn.ReLU(),
    nn.Linear(H, 1))``) via ``load_state_dict(..., strict=True)``, and :func:`load_network_pt`
    reads it back bit for bit, with its activation.
    """
    if not isinstance(net, Network):
        raise TypeError(f"expected a relu_studio Network, got {type(net).__name__}")
    raw = write_tensors(net.to_state_dict())
    if not net.activation.is_relu:
        raw = _with_member(raw, ACTIVATION_MEMBER, json.dumps(net.activation.to_dict()))
    raw = _with_checksum(raw)
    return atomic_write(path, lambda f: f.write(raw))


#: The member that holds a SHA-256 of every other member of a ``.pt`` this app writes. torch
#: ignores it; :func:`load_network_pt` checks it, so a damaged file is refused, not misread.
CHECKSUM_MEMBER = ".relu_studio_sha256"


def _members_digest(zf: zipfile.ZipFile, skip: str | None = None) -> str:
    h = hashlib.sha256()
    for info in zf.infolist():
        if info.filename != skip:
            h.update(info.filename.encode())
            with zf.open(info) as member:  # in pieces: a member is never held whole
                while chunk := member.read(1 << 20):
                    h.update(chunk)
    return h.hexdigest()


def _with_member(raw: bytes, member: str, text: str) -> bytes:
    """The archive ``raw`` with one more member ``<top folder>/member`` holding ``text``."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        top = zf.namelist()[0].split("/")[0]
    out = io.BytesIO(raw)
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr(f"{top}/{member}", text)
    return out.getvalue()


def _with_checksum(raw: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        digest = _members_digest(zf)
    return _with_member(raw, CHECKSUM_MEMBER, digest)


def _recorded_activation(path) -> Activation:
    """The activation an exported file records (:data:`ACTIVATION_MEMBER`), ReLU if none;
    ValueError for an unreadable or unknown one."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("/" + ACTIVATION_MEMBER)]
            if not names:
                return Activation()
            if zf.getinfo(names[0]).file_size > 4096:
                raise ValueError("the recorded activation is too large")
            doc = json.loads(zf.read(names[0]).decode("utf-8"))
    except zipfile.BadZipFile:
        return Activation()  # the legacy (pickle) format: the notebook's ReLU
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"the recorded activation is unreadable ({exc})") from None
    try:
        return Activation.from_dict(doc)
    except (SettingsError, TypeError) as exc:
        raise ValueError(f"the recorded activation is invalid: {exc}") from None


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
    """What the ``.pt`` file holds (tensors as :class:`~.pt_tensors.Tensor`), read by
    :func:`~.pt_format.read_pt` within ``max_tensor_bytes``, with every failure translated."""
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
    is_pickle = head.startswith(b"\x80")  # the legacy format starts with a pickle (protocol 2)
    if not (is_zip or is_pickle):
        raise bad("not a PyTorch file (.pt): it is neither a torch zip archive nor a torch pickle")
    if is_zip:
        try:
            _verify_checksum(path)
        except ValueError as exc:
            raise bad(str(exc)) from None

    try:
        obj = read_pt(path, max_tensor_bytes)
    except PtRefused as exc:
        what = exc.global_name
        if what is None:
            raise bad(f"{_CODE_REFUSAL} ({exc})") from None
        hint = ""
        if what.startswith("torch.nn.modules"):
            hint = "; a whole model was saved: save net.state_dict() instead"
        elif what.startswith("numpy"):
            hint = "; it holds NumPy arrays: save torch tensors instead"
        raise bad(f"{_CODE_REFUSAL}; it asks for {what}{hint}") from None
    except PtFormatError as exc:
        raise bad(str(exc)) from None
    except OSError as exc:
        raise bad(f"cannot read the file: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 (anything else a malformed file may cause)
        raise bad(f"cannot be read as a PyTorch file ({type(exc).__name__}: "
                  f"{_first_line(str(exc)) or 'no details'})") from None
    return obj, name


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
        if k in STATE_DICT_SHAPES and not isinstance(v, Tensor):
            raise ValueError(f"{where}'{k}' is a {type(v).__name__}, not a tensor")
        if k in STATE_DICT_SHAPES and v.dtype.is_complex:
            raise ValueError(f"{where}'{k}' is not a dense real floating-point tensor")
    width = declared_width(sd)
    if width is not None and width > MAX_WIDTH:  # before any tensor is converted
        raise ValueError(f"{where}width {width:,} is larger than {MAX_WIDTH:,}")
    if set(sd) == set(STATE_DICT_SHAPES):
        for k in STATE_DICT_SHAPES:
            if not sd[k].dtype.is_floating_point:
                raise ValueError(f"{where}'{k}' has dtype {sd[k].dtype}; a floating-point tensor "
                                 "is needed")
    try:
        net = Network.from_state_dict({k: v.numpy() if isinstance(v, Tensor) else v
                                       for k, v in sd.items()})
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
        net = _network(obj, "", expected_width)
        activation = _recorded_activation(path)
    except ValueError as exc:
        raise TorchFileError(f"{name}: {exc}") from None
    return net if activation.is_relu else net.replace(activation=activation)


def _error_value(v, key: str, where: str) -> float:
    if isinstance(v, Tensor):  # a tensor holding one number (e.g. the loss without .item())
        if v.numel != 1 or v.dtype.is_complex or v.dtype.kind == "bool":
            raise ValueError(f"{where}'{key}' must be one real number, got a {v.dtype} tensor "
                             f"of shape {tuple(v.shape)}")
        v = float(v.numpy().reshape(-1)[0].astype(np.float64))
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
    if set(obj) == set(STATE_DICT_SHAPES) or all(isinstance(v, Tensor) for v in obj.values()):
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
