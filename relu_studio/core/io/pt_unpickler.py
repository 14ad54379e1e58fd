"""A restricted unpickler for PyTorch files: it rebuilds plain containers and tensors, nothing else.

In the spirit of ``torch.load(weights_only=True)`` and of the Python documentation's "Restricting
Globals": :meth:`RestrictedUnpickler.find_class` resolves only the globals a state dict or a saved
training history needs (``collections.OrderedDict``, torch's rebuild functions for plain dense
tensors, the storage classes and dtypes, ``torch.Size``, and the few builtins torch's own safe
loader allows), each to a stand-in from :mod:`.pt_tensors` that builds numpy-backed values;
everything else is refused with :class:`PtRefused`, before it is imported. Restricting the
globals is not enough with ``pickle.Unpickler`` (its REDUCE calls whatever is on the stack and
its BUILD sets attributes on any object), so this is Python's own pure-Python unpickler with the
opcodes that call, build or import replaced: REDUCE calls only the allowed functions, BUILD works
on ``OrderedDict`` only (its attributes, e.g. a state dict's ``_metadata``, are dropped), NEWOBJ
makes only ``OrderedDict``, and INST, OBJ, NEWOBJ_EX, the extension registry (EXT1/2/4), text
persistent ids and out-of-band buffers are refused. Containers accept items only if they are
containers of the right kind (APPEND on a list, SETITEM on a dict, ADDITEMS on a set).

Storages come through ``persistent_load``, which the caller provides: it sees the persistent id
``('storage', storage type, key, location, numel[, view])`` and returns a :class:`Storage`
declaration; no bytes are read or allocated while unpickling.
"""
from __future__ import annotations

import _compat_pickle
import pickle
from collections import OrderedDict

from . import pt_tensors as pt
from ..budget import human
from .pt_tensors import PtFormatError, PtRefused

__all__ = ["RestrictedUnpickler", "ALLOWED_GLOBALS", "LimitedReader"]


def _encode(text="", encoding="latin1"):
    """``_codecs.encode``: how protocol 2 pickles ``bytes`` (``encode(str, 'latin1')``)."""
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise PtRefused(f"_codecs.encode of {type(text).__name__} as {encoding!r}")
    return text.encode("latin1")


def _bytearray(data=b""):
    if type(data) is not bytes:  # bytearray(n) would allocate n bytes
        raise PtRefused(f"bytearray of a {type(data).__name__}")
    return bytearray(data)


def _set(items=()):
    if not isinstance(items, (list, tuple)):
        raise PtRefused(f"set of a {type(items).__name__}")
    return set(items)


def _complex(real=0.0, imag=0.0):
    if type(real) not in (int, float) or type(imag) not in (int, float):
        raise PtRefused("complex of something other than numbers")
    return complex(real, imag)


def _ordered_dict(items=()):
    if not isinstance(items, (list, tuple)):
        raise PtRefused(f"OrderedDict of a {type(items).__name__}")
    return OrderedDict(items)


#: Every global a state dict or a history may name, and what it stands for here.
ALLOWED_GLOBALS: dict[str, object] = {
    "collections.OrderedDict": _ordered_dict,
    "torch._utils._rebuild_tensor": pt.rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": pt.rebuild_tensor_v2,
    "torch._utils._rebuild_tensor_v3": pt.rebuild_tensor_v3,
    "torch._utils._rebuild_parameter": pt.rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": pt.rebuild_parameter_with_state,
    "torch._tensor._rebuild_from_type_v2": pt.rebuild_from_type_v2,
    "torch.Tensor": pt.TENSOR_TYPE,
    "torch.nn.parameter.Parameter": pt.PARAMETER_TYPE,
    "torch.Size": pt.torch_size,
    "_codecs.encode": _encode,
    "builtins.bytearray": _bytearray,
    "builtins.set": _set,
    "builtins.complex": _complex,
    **pt.STORAGE_TYPES,
    **dict(pt.DTYPES),
}
#: The allowed globals that REDUCE may call.
_CALLABLE = {id(f): f for f in ALLOWED_GLOBALS.values() if callable(f)}
#: torch's module renames (torch.tensor -> torch._tensor, as torch.load maps them).
_MODULE_RENAMES = {"torch.tensor": "torch._tensor"}


class LimitedReader:
    """A file's ``read``/``readline`` that refuse to go more than ``limit`` bytes past where they
    started, checked before reading (so a length in the pickle cannot make them allocate more)."""

    def __init__(self, f, limit: int, what: str):
        self._f, self._left, self._limit, self._what = f, limit, limit, what

    def _take(self, n: int) -> None:
        if n > self._left:
            raise PtFormatError(f"{self._what} is larger than {human(self._limit)}; plain tensor "
                                "files hold much less")
        self._left -= n

    def read(self, n: int) -> bytes:
        self._take(n)
        data = self._f.read(n)
        self._left += n - len(data)
        return data

    def readline(self) -> bytes:
        line = self._f.readline(self._left + 1)
        self._take(len(line))
        return line


class RestrictedUnpickler(pickle._Unpickler):
    """Unpickles a torch ``data.pkl`` (or a legacy file's pickles) into dicts, lists, numbers,
    strings and :class:`~.pt_tensors.Tensor` declarations; see the module's docstring."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, persistent_load=None):
        super().__init__(file, fix_imports=True, encoding="utf-8", errors="strict")
        self._persistent = persistent_load
        #: Every tensor rebuilt, by id (a shared tensor once): what the caller charges its budget.
        self.tensors: dict[int, pt.Tensor] = {}

    # ------------------------------------------------------------------ globals
    def find_class(self, module, name):
        if type(module) is not str or type(name) is not str:
            raise PtRefused("a global whose name is not text")
        if self.proto < 3:  # Python 2's names, as pickle and torch map them
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        module = _MODULE_RENAMES.get(module, module)
        full = f"{module}.{name}"
        try:
            return ALLOWED_GLOBALS[full]
        except KeyError:
            raise PtRefused(f"the global {full} is not allowed", global_name=full) from None

    def persistent_load(self, pid):
        if self._persistent is None or type(pid) is not tuple:
            raise PtRefused(f"a persistent id {type(pid).__name__} that is not a storage")
        return self._persistent(pid)

    # ------------------------------------------------------------------ opcodes that call or build
    def _reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if _CALLABLE.get(id(func)) is not func:
            raise PtRefused(f"a call of {_what(func)}")
        if type(args) is not tuple:
            raise PtFormatError(f"the file is damaged: call arguments {type(args).__name__}")
        try:
            result = func(*args)
        except TypeError as exc:  # a wrong number of arguments
            raise PtFormatError(f"the file is damaged: {exc}") from None
        if isinstance(result, pt.Tensor):
            self.tensors[id(result)] = result
        self.stack[-1] = result

    def _build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is not OrderedDict or not isinstance(state, (dict, tuple)):
            raise PtRefused(f"setting the state of {_what(inst)}")
        # An OrderedDict's attributes (a state dict's _metadata): data the app does not use.

    def _newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        if cls is not _ordered_dict or args != ():
            raise PtRefused(f"creating an object of {_what(cls)}")
        self.append(OrderedDict())

    def _refuse(self):
        raise PtRefused("a pickle instruction that plain tensor files never use "
                        "(INST, OBJ, NEWOBJ_EX, EXT, PERSID or out-of-band buffers)")

    # ------------------------------------------------------------------ containers
    def _append(self):
        value = self.stack.pop()
        if type(self.stack[-1]) is not list:
            raise PtRefused(f"appending to {_what(self.stack[-1])}")
        self.stack[-1].append(value)

    def _appends(self):
        items = self.pop_mark()
        if type(self.stack[-1]) is not list:
            raise PtRefused(f"appending to {_what(self.stack[-1])}")
        self.stack[-1].extend(items)

    def _setitem(self):
        value = self.stack.pop()
        key = self.stack.pop()
        self._dict_target()[key] = value

    def _setitems(self):
        items = self.pop_mark()
        target = self._dict_target()
        if len(items) % 2:
            raise PtFormatError("the file is damaged: SETITEMS with a key but no value")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def _dict_target(self):
        if type(self.stack[-1]) not in (dict, OrderedDict):
            raise PtRefused(f"setting items of {_what(self.stack[-1])}")
        return self.stack[-1]

    def _additems(self):
        items = self.pop_mark()
        if type(self.stack[-1]) is not set:
            raise PtRefused(f"adding items to {_what(self.stack[-1])}")
        self.stack[-1].update(items)

    for _op, _fn in ((pickle.REDUCE, _reduce), (pickle.BUILD, _build), (pickle.NEWOBJ, _newobj),
                     (pickle.APPEND, _append), (pickle.APPENDS, _appends),
                     (pickle.SETITEM, _setitem), (pickle.SETITEMS, _setitems),
                     (pickle.ADDITEMS, _additems)):
        dispatch[_op[0]] = _fn
    for _op in (pickle.INST, pickle.OBJ, pickle.NEWOBJ_EX, pickle.EXT1, pickle.EXT2, pickle.EXT4,
                pickle.PERSID, pickle.NEXT_BUFFER, pickle.READONLY_BUFFER):
        dispatch[_op[0]] = _refuse
    del _op, _fn


def _what(obj) -> str:
    for name, value in ALLOWED_GLOBALS.items():
        if value is obj:
            return name
    return f"a {type(obj).__name__}"
