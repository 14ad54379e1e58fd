"""Bad and hostile files: each is refused with a message, before it can cost memory or time."""
from __future__ import annotations

import io
import json
import os
import pickle
import random
import stat
import subprocess
import sys
import tracemalloc
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core.budget import MAX_HISTORY_BYTES, MAX_JSON_BYTES
from relu_studio.core.dataset import DataError
from relu_studio.core.io.data_csv import load_csv
from relu_studio.core.io.session import Session, SessionFileError, load_session, save_session


def rewrite(path, out, change):
    """Copy a zip, passing each member's bytes through ``change(name, raw) -> raw or None``."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            raw = change(info.filename, src.read(info))
            if raw is not None:
                dst.writestr(info.filename, raw)
    return out


@pytest.fixture
def good_session(tmp_path):
    return save_session(Session.from_settings(width=4, steps=1000), tmp_path / "good.relustudio")


# --------------------------------------------------------------------------- 4. sessions
def test_a_json_member_that_inflates_is_refused_before_it_is_unpacked(tmp_path, good_session):
    big = b" " * (MAX_JSON_BYTES + 1) + b"{}"  # deflates to a few kB
    bad = rewrite(good_session, tmp_path / "bomb.relustudio",
                  lambda name, raw: big if name == "settings.json" else raw)
    assert bad.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(SessionFileError, match="'settings.json' unpacks to 16 MiB, more than it can hold"):
            load_session(bad)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_JSON_BYTES / 4, f"read {peak / 2**20:.0f} MiB before refusing"


def _npy_header_only(shape, dtype="<f4") -> bytes:
    """The header of a .npy file declaring ``shape``, and no data (a small, lying file)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_an_array_that_declares_gigabytes_is_refused_from_its_header(tmp_path, good_session):
    def change(name, raw):
        if name != "arrays.npz":
            return raw
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(raw)) as z, zipfile.ZipFile(out, "w") as w:
            for info in z.infolist():
                if info.filename == "history_w1.npy":
                    w.writestr(info.filename, _npy_header_only((10**6, 1000)))
                elif info.filename != "junk.npy":
                    w.writestr(info.filename, z.read(info))
            w.writestr("junk.npy", _npy_header_only((10**9,)))  # never read: not asked for
        return out.getvalue()

    bad = rewrite(good_session, tmp_path / "big.relustudio", change)
    with pytest.raises(SessionFileError, match=r"'arrays.npz': its arrays would take more than 2 GiB"):
        load_session(bad)


def test_deep_json_and_huge_steps_are_refused_with_a_message(tmp_path, good_session):
    deep = rewrite(good_session, tmp_path / "deep.relustudio",
                   lambda name, raw: b"[" * 100_000 + b"]" * 100_000 if name == "view.json" else raw)
    with pytest.raises(SessionFileError, match="nested too deeply"):
        load_session(deep)

    def steps(name, raw):
        if name == "compare.json":
            doc = json.loads(raw)
            doc["settings"] = {"widths": [3], "steps": 10**30}
            return json.dumps(doc).encode()
        return raw

    with pytest.raises(SessionFileError, match="compare.json: steps must be a whole number between 1 and"):
        load_session(rewrite(good_session, tmp_path / "steps.relustudio", steps))


# --------------------------------------------------------------------------- 5. torch files
def _legacy_pt_declaring(numel: int) -> bytes:
    """A legacy-format torch file whose one tensor declares ``numel`` floats but holds three."""
    import torch

    class Storage:  # pickled as a persistent id, as torch's legacy saver does
        pass

    storage = Storage()

    class Rebuild:
        def __reduce__(self):
            return (torch._utils._rebuild_tensor_v2,
                    (storage, 0, (numel,), (1,), False, OrderedDict()))

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if obj is storage:
                return ("storage", torch.FloatStorage, "0", "cpu", numel, None)
            return None

    buf = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True,
                                               "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(obj, buf, protocol=2)
    P(buf, protocol=2).dump(OrderedDict([("0.bias", Rebuild())]))
    pickle.dump(["0"], buf, protocol=2)
    buf.write(np.int64(3).tobytes() + np.zeros(3, np.float32).tobytes())
    return buf.getvalue()


def test_a_small_pt_that_declares_a_huge_width_is_refused_before_allocating(tmp_path):
    from relu_studio.core.io.torch_files import TorchFileError, load_network_pt

    path = tmp_path / "liar.pt"
    path.write_bytes(_legacy_pt_declaring(3 * 10**8))
    assert path.stat().st_size < 2000
    with pytest.raises(TorchFileError, match="declares 1.12 GiB of tensors"):
        load_network_pt(path)
    # A real file one unit wider than the studio takes: refused from its shape, not converted.
    import torch

    h = rs.core.settings.MAX_WIDTH + 1
    sd = {"0.weight": torch.zeros(h, 1), "0.bias": torch.zeros(h), "2.weight": torch.zeros(1, h),
          "2.bias": torch.zeros(1)}
    torch.save(sd, tmp_path / "wide.pt")
    with pytest.raises(TorchFileError, match="width 100,001 is larger than 100,000"):
        load_network_pt(tmp_path / "wide.pt")


def test_a_notebook_history_sharing_one_huge_state_is_refused_before_converting(tmp_path):
    code = f"""
import resource, torch
from relu_studio.core.io.torch_files import TorchFileError, load_notebook_history
h = 100_000
sd = {{"0.weight": torch.zeros(h, 1), "0.bias": torch.zeros(h), "2.weight": torch.zeros(1, h),
      "2.bias": torch.zeros(1)}}
torch.save({{s: {{"state": sd, "train_error": 1.0, "test_error": 1.0}} for s in range(1, 4001)}},
           r"{tmp_path / 'hist.pt'}")
try:
    load_notebook_history(r"{tmp_path / 'hist.pt'}")
    print("ACCEPTED")
except TorchFileError as exc:
    print("REFUSED", exc)
# This process's own peak (VmHWM): ru_maxrss would also count the pytest process it was
# spawned from (Linux keeps the larger high-water mark across vfork + exec).
peak = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")]
print("MAXRSS_KB", peak[0] if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "REFUSED" in proc.stdout and "4,000 snapshots of a width-100,000 network" in proc.stdout
    rss = int(proc.stdout.split("MAXRSS_KB")[1])
    assert rss < 1_500_000, f"the process grew to {rss / 1e6:.1f} GB"  # torch itself is ~0.5 GB


def test_bit_flips_in_a_pt_the_app_wrote_are_refused_not_misread(tmp_path):
    from relu_studio.core.io.torch_files import TorchFileError, export_state_dict, load_network_pt

    net = rs.init_network(20, 1)
    raw = export_state_dict(net, tmp_path / "n.pt").read_bytes()
    rng = random.Random(7)
    silent = 0
    for _ in range(300):
        b = bytearray(raw)
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        (tmp_path / "f.pt").write_bytes(bytes(b))
        try:
            silent += not load_network_pt(tmp_path / "f.pt").equals(net)
        except TorchFileError:
            pass
    assert silent == 0


# --------------------------------------------------------------------------- 8. CSV and special files
def test_a_huge_sparse_csv_is_refused_by_its_size_before_it_is_read(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.truncate(5 * 1024**3)  # 5 GB of holes: costs no disk
    with pytest.raises(DataError, match="huge.csv is too large"):
        load_csv(path)


@pytest.mark.parametrize("make, message", [
    (lambda p: os.mkfifo(p), "a named pipe"),
    (lambda p: p.mkdir(), "a folder"),
])
def test_special_files_are_refused_without_waiting(tmp_path, make, message):
    from relu_studio.core.io.run_files import HistoryFileError, load_run_npz
    from relu_studio.core.io.torch_files import TorchFileError, load_network_pt

    path = tmp_path / "special"
    make(path)
    with pytest.raises(DataError, match=message):
        load_csv(path)
    with pytest.raises(SessionFileError, match=message):
        load_session(path)
    with pytest.raises(HistoryFileError, match=message):
        load_run_npz(path)
    with pytest.raises(TorchFileError, match=message):
        load_network_pt(path)


def test_a_device_is_refused():
    with pytest.raises(DataError, match="a device"):
        load_csv("/dev/zero")


# --------------------------------------------------------------------------- 12, 13, 14. values
@pytest.mark.parametrize("text, message", [
    ("x,y\n0.1,1e39\n0.2,0\n", "beyond float32's range"),
    ("x,y\n0,5;1,5\n0,7;2\n", "uses decimal commas"),
    ("x,y\nnotes\n0.1,1\n", "'notes' is not|expected two columns"),
    ("x,y\n" + "1" * 200_000 + ",2\n", "not readable as CSV"),
])
def test_bad_csv_values_are_refused_with_the_line(text, message):
    with pytest.raises(DataError, match=message):
        load_csv(text, is_text=True)


def test_only_the_first_row_may_be_a_header():
    with pytest.raises(DataError, match="line 2: 'junk,row' is not a pair of numbers"):
        load_csv("x,y\njunk,row\n0.1,1\n", is_text=True)
    assert load_csv("x,y\n0.1,1\n0.5,2\n", is_text=True).n == 2


def test_values_beyond_float32_never_become_parameters():
    net = rs.init_network(4, 0)
    with pytest.raises(ValueError, match="beyond float32's range"):
        net.with_unit(1, w2=1e39)
    with pytest.raises(DataError, match="beyond float32's range"):
        rs.make_dataset(noise=1e308)
    data = rs.Dataset([0.1, 0.5, 0.9], [3e38, -3e38, 3e38], [0.1], [0.0])
    with pytest.raises(ValueError, match="not finite in float32"):
        rs.fit_ridge(net, data, 1e-12)
    with pytest.raises(ValueError, match="whole number"):
        rs.init_network(2.5)


def test_history_steps_beyond_2_53_are_refused(tmp_path, good_session):
    def change(name, raw):
        if name != "arrays.npz":
            return raw
        with np.load(io.BytesIO(raw)) as npz:
            arrays = {k: npz[k] for k in npz.files}
        arrays["history_steps"] = np.array([2**63 - 1], dtype=np.uint64)
        out = io.BytesIO()
        np.savez(out, **arrays)
        return out.getvalue()

    with pytest.raises(SessionFileError, match="beyond 2\\*\\*53"):
        load_session(rewrite(good_session, tmp_path / "far.relustudio", change))


def test_writes_follow_links_and_respect_read_only_files(tmp_path):
    from relu_studio.core.io.atomic import atomic_write_text

    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    if os.geteuid() == 0:
        pytest.skip("root may write a read-only file: test_as_a_user.py runs that case as another user")


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_saved_files_get_the_usual_mode_not_owner_only(tmp_path):
    """A session or export saved into a shared folder must stay readable by the group and others
    as any new file is (0666 less the umask), and a replaced file keeps its own mode."""
    from relu_studio.core.io.atomic import atomic_write_text

    old = os.umask(0o022)
    try:
        new = save_session(Session.from_settings(width=3), tmp_path / "new.relustudio")
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        shared = tmp_path / "shared.csv"
        shared.write_text("x,y\n")
        os.chmod(shared, 0o664)
        atomic_write_text(shared, "x,y\n0,1\n")
        assert stat.S_IMODE(shared.stat().st_mode) == 0o664 and shared.read_text() == "x,y\n0,1\n"
        os.umask(0o077)
        private = save_session(Session.from_settings(width=3), tmp_path / "private.relustudio")
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(old)
