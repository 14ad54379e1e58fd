""".pt files without torch (relu_studio/core/io/pt_format.py), with torch as the reference.

Files written by torch.save (zip and legacy formats) read the same as torch.load(weights_only=True)
reads them; files the app writes load in torch (also memory-mapped) and into the notebook's model
bit for bit; hostile files (globals outside the allowlist, calls and builds of anything else, lying
sizes, views outside their storage) are refused before anything runs or is allocated.
"""
from __future__ import annotations

import copyreg
import io
import os
import pickle
import struct
import tracemalloc
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as nn

import relu_studio as rs
from relu_studio.core.io import pt_format
from relu_studio.core.io.pt_format import read_pt, write_pt, write_tensors
from relu_studio.core.io.pt_tensors import PtBudgetError, PtFormatError, PtRefused, Tensor
from relu_studio.core.io.torch_files import TorchFileError, load_network_pt
from notebook_reference import notebook_net, notebook_train_network

BUDGET = 2**30


def sequential(h: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(1, h), nn.ReLU(), nn.Linear(h, 1))


def plain(obj):
    """torch's or pt_format's result as comparable values: a tensor becomes (dtype, array)."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        return ("tensor", str(t.dtype), (t.float() if t.dtype == torch.bfloat16 else t).numpy())
    if isinstance(obj, Tensor):
        return ("tensor", str(obj.dtype), obj.numpy())
    if isinstance(obj, dict):
        return (type(obj).__name__, [(k, plain(v)) for k, v in obj.items()])
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def assert_same(ours, theirs, where="file"):
    if isinstance(theirs, tuple) and theirs and theirs[0] == "tensor":
        assert isinstance(ours, tuple) and ours[0] == "tensor", where
        assert ours[1] == theirs[1], (where, ours[1], theirs[1])
        assert ours[2].dtype == theirs[2].dtype and ours[2].shape == theirs[2].shape, where
        assert np.array_equal(ours[2], theirs[2], equal_nan=True), where
    elif isinstance(theirs, tuple) and theirs and theirs[0] in ("dict", "OrderedDict"):
        assert ours[0] == theirs[0], (where, ours[0], theirs[0])
        assert [k for k, _ in ours[1]] == [k for k, _ in theirs[1]], where
        for (k, a), (_, b) in zip(ours[1], theirs[1]):
            assert_same(a, b, f"{where}[{k!r}]")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert type(ours) is type(theirs) and ours == theirs, (where, ours, theirs)


def reads_like_torch(path):
    theirs = torch.load(path, map_location="cpu", weights_only=True)
    ours = read_pt(path, BUDGET)
    assert_same(plain(ours), plain(theirs), path.name)
    return ours


def saved(tmp_path, name, obj, zipped=True):
    path = tmp_path / f"{name}{'' if zipped else '_legacy'}.pt"
    torch.save(obj, path, _use_new_zipfile_serialization=zipped)
    return path


# --------------------------------------------------------------------------- files torch wrote
FORMATS = pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])


@FORMATS
@pytest.mark.parametrize("width", [1, 20, 1000])
def test_notebook_state_dicts_read_as_torch_reads_them(tmp_path, zipped, width):
    model = notebook_net(width, 3)
    ours = reads_like_torch(saved(tmp_path, "sd", model.state_dict(), zipped))
    assert list(ours) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # _metadata dropped
    assert load_network_pt(tmp_path / f"sd{'' if zipped else '_legacy'}.pt").equals(
        rs.init_network(width, 3))


@FORMATS
def test_notebook_histories_read_as_torch_reads_them(tmp_path, zipped):
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    net = notebook_net(8, 0)
    opt = torch.optim.SGD(params=list(net.parameters()), lr=0.02)
    np.random.seed(0)
    hist = notebook_train_network(data.x.reshape(-1, 1), data.y, data.x_test.reshape(-1, 1),
                                  data.y_test, net, opt, n_steps=400, save_every=200)
    reads_like_torch(saved(tmp_path, "hist", hist, zipped))
    # the errors as 0-d tensors (the loss saved without .item()), float32 and float64
    tensors = {s: {**e, "train_error": torch.tensor(e["train_error"]),
                   "test_error": torch.tensor(e["test_error"], dtype=torch.float64)}
               for s, e in hist.items()}
    reads_like_torch(saved(tmp_path, "hist_t", tensors, zipped))
    # one state shared by every entry (pickled once), and the list-of-tuples shape
    shared = {s: {"state": hist[1]["state"], "train_error": 0.5, "test_error": 0.25} for s in (1, 2, 3)}
    reads_like_torch(saved(tmp_path, "shared", shared, zipped))
    reads_like_torch(saved(tmp_path, "tuples", [(s, 0.5, 0.25, hist[s]["state"]) for s in hist], zipped))


@FORMATS
def test_views_sharing_one_storage_read_as_torch_reads_them(tmp_path, zipped):
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10)
    views = {"base": base, "t": base.t(), "row": base[2], "col": base[:, 3],
             "steps": base[1::2, 2::3], "offset": base[4:, 5:], "scalar": base[1, 1],
             "empty": base[6:], "expanded": base[0, :1].expand(4, 3), "flipped_copy": base.flip(0),
             "narrow": base.view(-1)[7:19].view(3, 4)}
    ours = reads_like_torch(saved(tmp_path, "views", views, zipped))
    assert ours["t"].storage is ours["base"].storage is ours["steps"].storage  # one storage
    assert ours["offset"].offset == 45 and ours["t"].strides == (1, 10)


@FORMATS
def test_every_dtype_reads_as_torch_reads_it(tmp_path, zipped):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, generator=g) * 300
    tensors = {str(d): x.to(d) for d in (torch.float64, torch.float32, torch.float16, torch.bfloat16,
                                         torch.complex64, torch.complex128, torch.int64, torch.int32,
                                         torch.int16, torch.int8, torch.uint8, torch.bool)}
    tensors["inf_nan"] = torch.tensor([float("inf"), -float("inf"), float("nan"), -0.0])
    ours = reads_like_torch(saved(tmp_path, "dtypes", tensors, zipped))
    assert ours["torch.bfloat16"].numpy().dtype == np.float32  # widened exactly
    if zipped:  # dtypes without a storage class: torch's legacy format cannot write them
        reads_like_torch(saved(tmp_path, "uint", {"u16": torch.arange(9).to(torch.uint16),
                                                  "u64": torch.arange(9).to(torch.uint64)}))


@FORMATS
def test_parameters_attributes_and_plain_values_read_as_torch_reads_them(tmp_path, zipped):
    t = torch.randn(3)
    t.note = "an attribute"  # pickled through torch._tensor._rebuild_from_type_v2
    obj = {"param": nn.Parameter(torch.randn(2, 2)), "attr": t, "size": torch.Size([2, 3]),
           "set": {1, 2}, "complex": 1 + 2j, "bytes": b"\x00\xff", "none": None, "flag": True,
           "big": 2**70, "text": "é", "nested": [(1, 2.5), {"k": [torch.ones(1)]}]}
    reads_like_torch(saved(tmp_path, "misc", obj, zipped))


def _big_endian_copy(path, out):
    """torch's zip file with its storages byte-swapped and its byteorder record saying so (what a
    big-endian machine writes)."""
    sd = torch.load(path, weights_only=True)
    sizes = {str(i): v.element_size() for i, v in enumerate(sd.values())}
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            raw = src.read(info)
            head, _, tail = info.filename.rpartition("/")
            if head.endswith("/data"):
                raw = np.frombuffer(raw, f"<u{sizes[tail]}").byteswap().tobytes()
            elif tail == "byteorder":
                raw = b"big"
            dst.writestr(info.filename, raw)
    return out


def test_a_big_endian_zip_file_reads_as_torch_reads_it(tmp_path):
    sd = {"f32": torch.randn(4, 3), "f64": torch.randn(5, dtype=torch.float64),
          "f16": torch.randn(3).half(), "bf16": torch.randn(3).bfloat16(), "i64": torch.arange(4)}
    little = saved(tmp_path, "little", sd)
    big = _big_endian_copy(little, tmp_path / "big.pt")
    assert zipfile.ZipFile(big).read("little/byteorder") == b"big"
    assert_same(plain(reads_like_torch(big)), plain(sd))  # and both equal the original


def test_legacy_files_are_little_endian_whatever_their_header_says(tmp_path):
    """torch's legacy writer stores every storage little-endian and its reader ignores the
    header's little_endian flag; so does pt_format."""
    path = saved(tmp_path, "sd", {"w": torch.randn(3)}, zipped=False)
    raw = bytearray(path.read_bytes())
    value = raw.index(pickle.NEWTRUE, raw.index(b"little_endian"))  # after the key's memo entry
    raw[value:value + 1] = pickle.NEWFALSE
    path.write_bytes(bytes(raw))
    reads_like_torch(path)


# --------------------------------------------------------------------------- files the app writes
@pytest.mark.parametrize("width", [1, 20, 1000])
def test_written_state_dicts_load_in_torch_bit_for_bit(tmp_path, width):
    net = rs.init_network(width, 5)
    path = tmp_path / "net.pt"
    path.write_bytes(write_tensors(net.to_state_dict()))
    for mmap in (False, True):
        sd = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
        model = sequential(width)
        model.load_state_dict(sd, strict=True)
        for k, v in model.state_dict().items():
            assert v.dtype == torch.float32 and v.is_contiguous()
            assert v.numpy().tobytes() == net.to_state_dict()[k].tobytes(), k
    assert load_network_pt(path).equals(net)


def test_torch_computed_storage_offsets_hold_for_written_files(tmp_path, monkeypatch):
    """torch can compute where each storage starts instead of asking the zip reader (a config
    option, off by default): it assumes its own writer's layout, which write_pt follows."""
    from torch.utils.serialization import config

    path = tmp_path / "net.pt"
    path.write_bytes(write_tensors(rs.init_network(7, 0).to_state_dict()))
    monkeypatch.setenv("TORCH_SERIALIZATION_DEBUG", "1")  # torch checks its computed offsets
    before = config.load.calculate_storage_offsets
    config.load.calculate_storage_offsets = True
    try:
        sd = torch.load(path, weights_only=True, mmap=True)
    finally:
        config.load.calculate_storage_offsets = before
    assert np.array_equal(sd["0.bias"].numpy(), rs.init_network(7, 0).b1)


def test_written_records_are_aligned_like_torch_s(tmp_path):
    raw = write_tensors(rs.init_network(9, 0).to_state_dict())
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        names = zf.namelist()
        for info in zf.infolist():
            name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
            assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0, info.filename
            assert info.compress_type == zipfile.ZIP_STORED
    assert names == ["archive/data.pkl", "archive/.format_version", "archive/.storage_alignment",
                     "archive/byteorder", "archive/data/0", "archive/data/1", "archive/data/2",
                     "archive/data/3", "archive/version", "archive/.data/serialization_id"]
    assert write_tensors(rs.init_network(9, 0).to_state_dict()) == raw  # one network, one file


@FORMATS
def test_written_files_of_any_shape_load_in_torch(tmp_path, zipped):
    obj = {1: {"state": OrderedDict(rs.init_network(4, 1).to_state_dict()), "train_error": 0.5,
               "test_error": 0.25},
           "values": [None, True, -3, 2**40, -2**70, 1.5, "é", (1, 2, 3, 4), (), [], {}],
           "arrays": [np.arange(6, dtype=np.int64).reshape(2, 3), np.zeros((0, 3), np.float32),
                      np.array(3.5), np.array([True, False]), np.arange(4, dtype=np.float16),
                      (np.arange(4) + 1j).astype(np.complex64), np.arange(12.0).reshape(3, 4).T]}
    path = tmp_path / "any.pt"
    path.write_bytes(write_pt(obj, legacy=not zipped))
    theirs = torch.load(path, weights_only=True)
    assert_same(plain(read_pt(path, BUDGET)), plain(theirs))
    assert theirs["values"] == obj["values"]
    for a, t in zip(obj["arrays"], theirs["arrays"]):
        assert t.numpy().dtype == a.dtype and np.array_equal(t.numpy(), a)
    with pytest.raises(TypeError, match="cannot write a set"):
        write_pt({"s": {1}})


# --------------------------------------------------------------------------- hostile files
def _g(module, name):
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _call(func: bytes, *args: bytes) -> bytes:
    return func + pickle.MARK + b"".join(args) + pickle.TUPLE + pickle.REDUCE


def _s(text):
    raw = text.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw


def _i(n):
    return pickle.BININT + struct.pack("<i", n)


def _n(n):
    """Any whole number, negative or beyond 64 bits."""
    raw = pickle.encode_long(n)
    return pickle.LONG1 + bytes([len(raw)]) + raw


def _dims(*ns):
    return pickle.MARK + b"".join(_n(n) for n in ns) + pickle.TUPLE


def _storage(key="0", numel=4, kind="FloatStorage"):
    module = "torch.storage" if kind == "UntypedStorage" else "torch"
    return pickle.MARK + _s("storage") + _g(module, kind) + _s(key) + _s("cpu") + _i(numel) + pickle.TUPLE + pickle.BINPERSID


def _tensor(storage=None, offset=0, size=(4,), stride=(1,)):
    return _call(_g("torch._utils", "_rebuild_tensor_v2"), storage or _storage(), _n(offset),
                 _dims(*size), _dims(*stride), pickle.NEWFALSE, _call(_g("collections", "OrderedDict")))


def _pkl(body: bytes) -> bytes:
    return pickle.PROTO + b"\x02" + body + pickle.STOP


def zip_file(path, data_pkl: bytes, records=None):
    """A torch-shaped zip: ``data.pkl`` and the given records (default: storage 0 of 4 floats)."""
    records = {"data/0": np.arange(4, dtype="<f4").tobytes()} if records is None else records
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", data_pkl)
        zf.writestr("archive/version", b"3\n")
        for name, raw in records.items():
            zf.writestr(f"archive/{name}", raw)
    return path


class Marker:
    """Unpickling this would create a file (a harmless stand-in for running code)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


GLOBALS = {  # what the pickle calls, and the global the refusal names
    "os.system": (_g("posix", "system"), _s("touch {marker}"), "posix.system"),
    "eval": (_g("builtins", "eval"), _s("open({marker}, 'w')"), "builtins.eval"),
    "eval by Python 2's name": (_g("__builtin__", "eval"), _s("open({marker}, 'w')"), "builtins.eval"),
    "getattr": (_g("builtins", "getattr"), _g("collections", "OrderedDict") + _s("fromkeys"), "builtins.getattr"),
    "a module": (_g("torch.nn.modules.module", "Module"), b"", "torch.nn.modules.module.Module"),
    "numpy's reconstructor": (_g("numpy._core.multiarray", "_reconstruct"), b"", "numpy._core.multiarray._reconstruct"),
    "a Counter": (_g("collections", "Counter"), b"", "collections.Counter"),
    "a sparse tensor": (_g("torch._utils", "_rebuild_sparse_tensor"), b"", "torch._utils._rebuild_sparse_tensor"),
    "torch.load": (_g("torch", "load"), _s("{marker}"), "torch.load"),
    "memoryview": (_g("builtins", "memoryview"), _s("x"), "builtins.memoryview"),
}


@pytest.mark.parametrize("case", list(GLOBALS))
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_globals_outside_the_allowlist_are_refused_before_they_load(tmp_path, case, legacy):
    marker = tmp_path / "ran"
    func, args, name = GLOBALS[case]
    body = _call(func, args.replace(b"{marker}", str(marker).encode()))
    path = tmp_path / "evil.pt"
    if legacy:
        path.write_bytes(_pkl(body))  # the first pickle of a legacy file
    else:
        zip_file(path, _pkl(body))
    with pytest.raises(PtRefused) as info:
        read_pt(path, BUDGET)
    assert info.value.global_name == name
    assert not marker.exists()
    msg = str(pytest.raises(TorchFileError, load_network_pt, path).value)
    assert "refused: the file contains Python code or objects that are not plain tensors" in msg
    assert f"it asks for {info.value.global_name}" in msg


def test_the_classic_attack_in_every_protocol_is_refused(tmp_path):
    marker = tmp_path / "ran"
    for proto in (2, 3, 4, 5):  # 4 and 5 name globals with STACK_GLOBAL
        path = zip_file(tmp_path / f"p{proto}.pt", pickle.dumps({"0.weight": Marker(marker)}, protocol=proto))
        with pytest.raises(PtRefused) as info:
            read_pt(path, BUDGET)
        assert info.value.global_name == "posix.system" and not marker.exists()


def _refused(tmp_path, body, match, legacy_too=True):
    for legacy in (False, True) if legacy_too else (False,):
        path = tmp_path / f"x{legacy}.pt"
        if legacy:
            path.write_bytes(_pkl(body))
        else:
            zip_file(path, _pkl(body))
        with pytest.raises(PtRefused, match=match):
            read_pt(path, BUDGET)
        msg = str(pytest.raises(TorchFileError, load_network_pt, path).value)
        assert msg.startswith(f"{path.name}: refused: the file contains Python code or objects that are "
                              "not plain tensors"), msg


REDUCE_BUILD = {
    "calling a storage class": (_call(_g("torch", "FloatStorage"), _i(10**9)), "a call of torch.FloatStorage"),
    "calling a dtype": (_call(_g("torch", "float32")), "a call of torch.float32"),
    "calling torch.Tensor": (_call(_g("torch", "Tensor")), "a call of torch.Tensor"),
    "calling a tensor": (_tensor() + pickle.EMPTY_TUPLE + pickle.REDUCE, "a call of a Tensor"),
    "rebuilding from a non-storage": (_call(_g("torch._utils", "_rebuild_tensor"), pickle.EMPTY_DICT, _i(0),
                                            pickle.EMPTY_TUPLE, pickle.EMPTY_TUPLE), "rebuilt from a dict"),
    "rebuild_from_type with another function": (
        _call(_g("torch._tensor", "_rebuild_from_type_v2"), _g("collections", "OrderedDict"),
              _g("torch", "Tensor"), pickle.EMPTY_TUPLE, pickle.NONE), "rebuilt by"),
    "rebuild_from_type into another type": (
        _call(_g("torch._tensor", "_rebuild_from_type_v2"), _g("torch._utils", "_rebuild_tensor"),
              _g("torch", "FloatStorage"), pickle.EMPTY_TUPLE, pickle.NONE), "a tensor of type"),
    "bytearray of a size": (_call(_g("builtins", "bytearray"), _i(2**31 - 1)), "bytearray of a int"),
    "BUILD on a tensor": (_tensor() + pickle.EMPTY_DICT + _s("a") + _s("b") + pickle.SETITEM + pickle.BUILD,
                          "setting the state of a Tensor"),
    "BUILD on a list": (pickle.EMPTY_LIST + pickle.EMPTY_DICT + pickle.BUILD, "setting the state of a list"),
    "BUILD on a set": (_call(_g("builtins", "set"), pickle.EMPTY_LIST) + pickle.EMPTY_DICT + pickle.BUILD,
                       "setting the state of a set"),
    "NEWOBJ of a rebuild function": (_g("torch._utils", "_rebuild_tensor") + pickle.EMPTY_TUPLE + pickle.NEWOBJ,
                                     "creating an object of torch._utils._rebuild_tensor"),
    "OBJ": (pickle.MARK + _g("collections", "OrderedDict") + pickle.OBJ, "instruction that plain tensor files never use"),
    "INST": (pickle.MARK + b"icollections\nOrderedDict\n", "instruction that plain tensor files never use"),
    "text persistent id": (b"P0\n", "instruction that plain tensor files never use"),
    "a module persistent id": (pickle.MARK + _s("module") + pickle.TUPLE + pickle.BINPERSID, "not a storage"),
    "APPEND to a dict": (pickle.EMPTY_DICT + _i(1) + pickle.APPEND, "appending to a dict"),
    "SETITEM on a list": (pickle.EMPTY_LIST + _i(0) + _i(1) + pickle.SETITEM, "setting items of a list"),
    "SETITEMS on a tensor": (_tensor() + pickle.MARK + _i(0) + _i(1) + pickle.SETITEMS, "setting items of a Tensor"),
}


@pytest.mark.parametrize("case", list(REDUCE_BUILD))
def test_calls_builds_and_instructions_outside_tensors_are_refused(tmp_path, case):
    body, match = REDUCE_BUILD[case]
    _refused(tmp_path, body, match, legacy_too="persistent" not in case and "tensor" not in case.lower())


def test_the_extension_registry_is_never_consulted(tmp_path):
    copyreg.add_extension("posix", "system", 0x7F0)
    try:
        _refused(tmp_path, pickle.EXT2 + struct.pack("<H", 0x7F0) + _s("true") + pickle.TUPLE1 + pickle.REDUCE,
                 "instruction that plain tensor files never use")
    finally:
        copyreg.remove_extension("posix", "system", 0x7F0)


def test_an_ordered_dict_s_state_is_dropped_not_applied(tmp_path):
    body = (_call(_g("collections", "OrderedDict")) + pickle.EMPTY_DICT + _s("__class__") + _g("torch", "Tensor")
            + pickle.SETITEM + pickle.BUILD)
    obj = read_pt(zip_file(tmp_path / "od.pt", _pkl(body)), BUDGET)
    assert type(obj) is OrderedDict and obj == {} and "__class__" not in vars(obj)


def _read(path, budget=BUDGET):
    return read_pt(path, budget)


def test_storages_whose_size_disagrees_with_their_record_are_refused(tmp_path):
    four = np.arange(4, dtype="<f4").tobytes()
    body = _pkl(_tensor(_storage(numel=4)))
    for raw, what in ((four[:12], "holds 12"), (four + four, "holds 32")):
        with pytest.raises(PtFormatError, match=f"storage '0' declares 16 bytes, its record {what}"):
            _read(zip_file(tmp_path / "lie.pt", body, {"data/0": raw}))
    with pytest.raises(PtFormatError, match="storage '0' has no data"):
        _read(zip_file(tmp_path / "none.pt", body, {}))
    twice = _pkl(pickle.MARK + _tensor(_storage(numel=4)) + _tensor(_storage(numel=4, kind="DoubleStorage"))
                 + pickle.TUPLE)
    with pytest.raises(PtFormatError, match="storage '0' is declared twice"):
        _read(zip_file(tmp_path / "twice.pt", twice))


VIEWS = {
    "size beyond the storage": (dict(size=(5,), stride=(1,)), "reaches element 4 of a storage of 4"),
    "offset beyond the storage": (dict(offset=3, size=(2,), stride=(1,)), "reaches element 4"),
    "stride beyond the storage": (dict(size=(2, 2), stride=(3, 1)), "reaches element 4"),
    "empty view past the end": (dict(offset=5, size=(0,), stride=(1,)), "starts at element 5"),
    "negative stride": (dict(size=(2,), stride=(-1,)), "stride is -1"),
    "negative offset": (dict(offset=-1, size=(1,), stride=(1,)), "storage offset is -1"),
    "negative size": (dict(size=(-2,), stride=(1,)), "size is -2"),
    "stride beyond int64": (dict(size=(2,), stride=(2**63,)), "stride is 9223372036854775808"),
    "size times stride overflowing int64": (dict(size=(2**40, 2**40), stride=(2**40, 1)), "reaches element"),
}


@pytest.mark.parametrize("case", list(VIEWS))
def test_views_outside_their_storage_are_refused(tmp_path, case):
    kwargs, match = VIEWS[case]
    with pytest.raises(PtFormatError, match=match):
        _read(zip_file(tmp_path / "view.pt", _pkl(_tensor(**kwargs))))


def test_an_expanded_view_that_would_take_gigabytes_is_refused_before_it_is_copied(tmp_path):
    path = zip_file(tmp_path / "expand.pt", _pkl(_tensor(size=(10**6, 10**6), stride=(0, 0))))
    tracemalloc.start()
    try:
        with pytest.raises(PtBudgetError, match="the file's tensors would take .* GiB"):
            _read(path)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20
    with pytest.raises(TorchFileError, match="expand.pt: the file's tensors would take"):
        load_network_pt(path)


def test_declarations_beyond_the_budget_are_refused_before_anything_is_read(tmp_path):
    path = zip_file(tmp_path / "huge.pt", _pkl(_tensor(_storage(numel=3 * 10**8), size=(4,))))
    tracemalloc.start()
    try:
        with pytest.raises(PtBudgetError, match="declares 1.12 GiB of tensors"):
            _read(path)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20


def test_a_pickle_asking_for_gigabytes_is_refused_without_allocating(tmp_path):
    """A legacy file's pickles are read from the file itself: a length field cannot make the
    reader allocate (or read) more than the pickle budget."""
    for opcode in (pickle.BINBYTES8, pickle.FRAME, pickle.BINUNICODE8):
        path = tmp_path / "big.pt"
        path.write_bytes(_legacy(pickle.PROTO + b"\x04" + opcode + struct.pack("<Q", 2**40), [], b""))
        tracemalloc.start()
        try:
            with pytest.raises(PtFormatError, match="the file's pickled part is larger than 16 MiB"):
                _read(path)
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 10 * 2**20
    with zipfile.ZipFile(tmp_path / "bomb.pt", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02" + b"N0" * (pt_format.MAX_PICKLE_BYTES // 2) + b"N.")
    assert (tmp_path / "bomb.pt").stat().st_size < 100_000
    with pytest.raises(PtBudgetError, match="its data.pkl unpacks to 16 MiB"):
        _read(tmp_path / "bomb.pt")


def _legacy(obj_pickle: bytes, keys, storages: bytes, sys_info=None) -> bytes:
    head = b"".join(pickle.dumps(v, protocol=2) for v in (
        pt_format.MAGIC_NUMBER, pt_format.PROTOCOL_VERSION,
        sys_info or {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}))
    return head + obj_pickle + pickle.dumps(keys, protocol=2) + storages


def _legacy_storage(key="0", numel=4):
    return (pickle.MARK + _s("storage") + _g("torch", "FloatStorage") + _s(key) + _s("cpu") + _i(numel)
            + pickle.NONE + pickle.TUPLE + pickle.BINPERSID)


def test_damaged_legacy_files_are_refused(tmp_path):
    body = _pkl(_tensor(_legacy_storage()))
    data = struct.pack("<q", 4) + np.arange(4, dtype="<f4").tobytes()
    path = tmp_path / "legacy.pt"
    path.write_bytes(_legacy(body, ["0"], data))
    assert np.array_equal(_read(path).numpy(), np.arange(4, dtype=np.float32))
    cases = {
        "keys that do not match": (_legacy(body, ["1"], data), "list of storages does not match"),
        "a count that does not match": (_legacy(body, ["0"], struct.pack("<q", 5) + data[8:]),
                                        "declares 4 elements, its data says 5"),
        "a truncated storage": (_legacy(body, ["0"], data[:-1]), "has 15 of its 16 bytes"),
        "a missing storage": (_legacy(body, ["0"], b""), "storage '0' is missing"),
        "a wrong protocol": (_legacy(body, ["0"], data).replace(pickle.dumps(1001, protocol=2), pickle.dumps(1002, protocol=2), 1),
                             "protocol version 1002"),
        "a plain pickle": (pickle.dumps({"0.weight": [1.0]}, protocol=2), "refused: a Python pickle that is not a plain"),
        "a storage id of five items": (_legacy(_pkl(_tensor()), ["0"], data), "a storage id of 5 items, not 6"),
        "a view outside its root": (_legacy(_pkl(_tensor(_legacy_storage()[:-3] + pickle.MARK + _s("v") + _i(2) + _i(3)
                                                        + pickle.TUPLE + pickle.TUPLE + pickle.BINPERSID, size=(1,))),
                                            ["0"], data), "a view of elements 2\\+3 of a storage of 4"),
    }
    for _what, (raw, match) in cases.items():
        path.write_bytes(raw)
        with pytest.raises(PtFormatError, match=match):
            _read(path)


def test_a_legacy_storage_view_reads_its_part_of_the_root(tmp_path):
    view = (_legacy_storage()[:-3] + pickle.MARK + _s("v") + _i(1) + _i(2) + pickle.TUPLE + pickle.TUPLE
            + pickle.BINPERSID)
    path = tmp_path / "view.pt"
    path.write_bytes(_legacy(_pkl(_tensor(view, size=(2,))), ["0"],
                             struct.pack("<q", 4) + np.arange(4, dtype="<f4").tobytes()))
    assert _read(path).numpy().tolist() == [1.0, 2.0]


def test_a_byte_order_other_than_little_or_big_is_refused(tmp_path):
    path = zip_file(tmp_path / "order.pt", _pkl(_tensor()),
                    {"data/0": np.arange(4, dtype="<f4").tobytes(), "byteorder": b"middle"})
    with pytest.raises(PtFormatError, match="its byte order is b'middle'"):
        _read(path)


def test_random_damage_to_torch_files_is_refused_or_read_exactly(tmp_path):
    """Bytes flipped anywhere in a file torch wrote (no app checksum): pt_format refuses it or
    reads what torch reads; it never raises anything but PtFormatError."""
    rng = np.random.default_rng(3)
    for zipped in (True, False):
        path = saved(tmp_path, "sd", notebook_net(5, 0).state_dict(), zipped)
        raw = path.read_bytes()
        for _ in range(150):
            b = bytearray(raw)
            i = int(rng.integers(len(b)))
            b[i] ^= 1 << int(rng.integers(8))
            damaged = tmp_path / "damaged.pt"
            damaged.write_bytes(bytes(b))
            try:
                ours = read_pt(damaged, BUDGET)
            except PtFormatError:
                continue
            try:
                theirs = torch.load(damaged, weights_only=True)
            except Exception:  # noqa: BLE001 (torch refuses what we read: fine if it is the same data)
                continue
            assert_same(plain(ours), plain(theirs), f"byte {i}")


@pytest.mark.parametrize("dtype, raw", [("int8", bytes([1, 255, 128, 3])), ("uint16", bytes(range(8))),
                                        ("bfloat16", np.float32([1.5, -2]).view("<u2")[1::2].tobytes())])
def test_a_tensor_over_an_untyped_storage_reads_as_torch_reads_it(tmp_path, dtype, raw):
    """_rebuild_tensor_v3: a tensor of a given dtype over an untyped (byte) storage."""
    body = _call(_g("torch._utils", "_rebuild_tensor_v3"), _storage(numel=len(raw), kind="UntypedStorage"),
                 _n(0), _dims(2), _dims(1), pickle.NEWFALSE, _call(_g("collections", "OrderedDict")),
                 _g("torch", dtype))
    path = zip_file(tmp_path / "v3.pt", _pkl(body), {"data/0": raw})
    ours = reads_like_torch(path)
    assert str(ours.dtype) == f"torch.{dtype}" and ours.shape == (2,)


def test_the_allowlist_is_a_part_of_torch_s_weights_only_allowlist():
    """Nothing loads here that torch.load(weights_only=True) would refuse to load."""
    from torch._weights_only_unpickler import _get_allowed_globals

    from relu_studio.core.io.pt_unpickler import ALLOWED_GLOBALS

    assert set(ALLOWED_GLOBALS) <= set(_get_allowed_globals())
    assert "collections.OrderedDict" in ALLOWED_GLOBALS and "torch._utils._rebuild_tensor_v2" in ALLOWED_GLOBALS
