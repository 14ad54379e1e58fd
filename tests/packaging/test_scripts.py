"""The build's helper scripts on their own (quick, no bundle): the ELF reader, the glibc floor's
rules and the ICU data rewriter."""
from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import glibc_floor  # noqa: E402
import trim_icu_data as icu  # noqa: E402
from elf import Elf, is_elf  # noqa: E402

QT_LIB = Path(__import__("PySide6").__file__).parent / "Qt" / "lib"


def test_elf_reader_sees_needed_libraries_and_glibc_versions():
    core = next(QT_LIB.glob("libQt6Core.so.6*"))
    assert is_elf(core) and not is_elf(ROOT / "README.md")
    elf = Elf(core)
    assert elf.soname == "libQt6Core.so.6"
    assert "libc.so.6" in elf.needed and any(n.startswith("libicuuc.so.") for n in elf.needed)
    versions = elf.version_needs()["libc.so.6"]
    assert any(v.startswith("GLIBC_2.") for v in versions), versions


def test_floor_rules():
    ok = {"glibc": glibc_floor.GLIBC_FLOOR, "needed_by": ["a"], "system": {"libc.so.6": ["a"], "libGL.so.1": ["b"],
                                                                          "libwayland-egl.so.1": ["c"]}}
    assert glibc_floor.check(ok) == []
    newer = {**ok, "glibc": "2.39"}
    assert glibc_floor.check(newer) and "2.39" in glibc_floor.check(newer)[0]
    extra = {**ok, "system": {**ok["system"], "libtbb.so.12": ["numba/np/ufunc/tbbpool.so"]}}
    assert glibc_floor.check(extra) == ["libtbb.so.12 from the system, for numba/np/ufunc/tbbpool.so"]
    assert glibc_floor.version_key("GLIBC_2.36") == (2, 36) > glibc_floor.version_key("GLIBC_2.4")
    assert glibc_floor.version_key("GLIBC_PRIVATE") is None


@pytest.fixture(scope="module")
def icu_package():
    data = next(QT_LIB.glob("libicudata.so.*"))
    elf = Elf(data)
    off, size = elf.symbol_bytes(f"icudt{icu.icu_major(data)}_dat")
    return elf.data[off:off + size]


def test_icu_package_reads_and_writes_back_identically(icu_package):
    header, items = icu.read_package(icu_package)
    assert len(items) > 1000 and [n for n, _ in items] == sorted(n for n, _ in items)
    again = icu.write_package(header, items)
    assert icu.read_package(again) == (header, items)
    # Items stay aligned to 16 bytes from the start of the package.
    (count,) = struct.unpack_from("<I", again, len(header))
    offsets = [struct.unpack_from("<II", again, len(header) + 4 + 8 * i)[1] for i in range(count)]
    assert all((len(header) + off) % 16 == 0 for off in offsets)


def test_icu_trim_drops_only_the_services_qt_never_calls(icu_package):
    _header, items = icu.read_package(icu_package)
    names = [n.split("/", 1)[1] for n, _ in items]
    gone = [n for n in names if icu.dropped("x/" + n)]
    kept = [n for n in names if not icu.dropped("x/" + n)]
    assert any(n.startswith("brkitr/") for n in gone) and any(n.endswith(".cnv") for n in gone)
    for needed in ("coll/root.res", "coll/ucadata.icu", "zoneinfo64.res", "metaZones.res", "cnvalias.icu",
                   "root.res", "en.res", "zone/en.res", "supplementalData.res"):
        assert needed in kept, needed
    assert not any(n.startswith(("coll/", "zone/")) for n in gone)


def test_icu_trim_writes_a_loadable_library_that_still_collates(tmp_path):
    """The reduced library next to Qt's libicuuc/libicui18n: what Qt uses works, the rest fails cleanly."""
    import shutil

    for lib in QT_LIB.glob("libicu*.so.*"):
        if "libicudata" not in lib.name:
            shutil.copy2(lib, tmp_path / lib.name)
    data = next(QT_LIB.glob("libicudata.so.*"))
    r = icu.trim(data, tmp_path / data.name)
    assert r["file_after"] < r["file_before"] / 2, r
    result = icu.check(tmp_path)
    assert result["upper(tr)"] == [0, "İSTANBUL"] and result["collation ä < b"] < 0, result
    assert result["zone name"] == [0, "Central European Standard Time"], result
    assert result["word breaks"] > 0 and result["codec Shift_JIS"] > 0, result


def test_rewrap_refills_only_overlong_paragraphs():
    import bundle_notices

    aligned = "Source\n  Qt 6.11:   https://example.org/a\n             (later: https://example.org/b)\n"
    assert bundle_notices.rewrap(aligned) == aligned
    long = "Title\n  " + " ".join(["word"] * 40) + "\n  tail.\n\nNext\n"
    out = bundle_notices.rewrap(long, width=40)
    assert all(len(line) <= 40 for line in out.splitlines())
    assert out.split() == long.split() and out.endswith("\n\nNext\n")
    assert all(line.startswith("  ") for line in out.splitlines()[1:-2])
