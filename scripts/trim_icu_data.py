"""Reduce ICU's data library (``libicudata.so.NN``, 30 MiB in PySide6's Qt) to the data Qt can use.

    python scripts/trim_icu_data.py IN/libicudata.so.73 OUT/libicudata.so.73
    python scripts/trim_icu_data.py --check DIR   # DIR holds libicuuc, libicui18n, libicudata

Qt 6 calls only four ICU services (``nm -D --undefined-only libQt6Core.so.6``): case mapping
(``u_strToUpper``/``u_strToLower``), collation (``ucol_*``), time-zone names (``ucal_*``) and
legacy text codecs (``ucnv_*``), and nothing else in the bundle links ICU. This script keeps the
data those need and drops the rest, which no code in the bundle can reach:

- ``brkitr/`` (word and line break rules, dictionaries), ``translit/`` (transliteration),
  ``rbnf/`` (spelled-out numbers), ``unit/``, ``curr/``, ``lang/``, ``region/`` (display names of
  units, currencies, languages and regions), ``*.spp`` (StringPrep), ``unames.icu`` (character
  names): ICU services Qt never calls;
- ``*.cnv``: the table-based legacy codecs (Shift-JIS, GB18030, windows-125x, ISO-8859-2.. ...).
  ReLU Studio reads and writes UTF-8 only; UTF-8/16/32, Latin-1 and ASCII are built into ICU and
  Qt, and the alias table ``cnvalias.icu`` is kept, so a codec name is still recognised and
  opening a dropped one fails cleanly (``U_FILE_ACCESS_ERROR``), as for an unknown one.

Kept: collation (``coll/``, ``ucadata.icu``), time zones (``zone/``, ``zoneinfo64``, ``metaZones``
...), locale data (``*.res``), normalisation (``*.nrm``) and the property tables (``*.icu``).

The data is ICU's "common data" package (header, sorted table of contents, items aligned to 16
bytes) exported as one symbol, ``icudtNN_dat``; the reduced package is assembled into a new shared
library with the same soname and symbol (binutils' ``as`` and ``ld``). ``--check`` loads a folder's
ICU with ctypes and exercises what Qt uses (tests/packaging runs it on the bundle).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elf import Elf  # noqa: E402

#: Items dropped, by folder (the path below ``icudtNNl/``) or by name pattern.
DROP_FOLDERS = ("brkitr", "translit", "rbnf", "unit", "curr", "lang", "region")
DROP_PATTERNS = (r".*\.cnv", r".*\.spp", r"unames\.icu")
ALIGN = 16


def icu_major(path: Path) -> str:
    m = re.search(r"libicudata\.so\.(\d+)", Path(path).name)
    if not m:
        raise ValueError(f"{path} is not named libicudata.so.NN")
    return m.group(1)


def read_package(blob: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """ICU common data -> (header bytes, [(item name, item bytes)])."""
    header_size, magic1, magic2 = struct.unpack_from("<HBB", blob, 0)
    if (magic1, magic2) != (0xDA, 0x27):
        raise ValueError("not ICU data (bad magic)")
    fmt = blob[12:16]  # UDataInfo.dataFormat
    if fmt != b"CmnD" or blob[8] != 0:  # little-endian common data
        raise ValueError(f"not a little-endian ICU common data package ({fmt!r})")
    toc = blob[header_size:]
    (count,) = struct.unpack_from("<I", toc, 0)
    entries = [struct.unpack_from("<II", toc, 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_off, data_off) in enumerate(entries):
        name = toc[name_off:toc.index(b"\0", name_off)].decode("ascii")
        end = entries[i + 1][1] if i + 1 < count else len(toc)
        items.append((name, toc[data_off:end]))
    return blob[:header_size], items


def write_package(header: bytes, items: list[tuple[str, bytes]]) -> bytes:
    """The inverse of :func:`read_package`; names stay in the given (sorted) order."""
    names = b"".join(n.encode("ascii") + b"\0" for n, _ in items)
    names_off = 4 + 8 * len(items)
    pos = names_off + len(names)
    offsets = []
    body = bytearray()
    for _name, data in items:
        pad = (-(len(header) + pos)) % ALIGN
        body += b"\0" * pad
        pos += pad
        offsets.append(pos)
        body += data
        pos += len(data)
    toc = bytearray(struct.pack("<I", len(items)))
    name_pos = names_off
    for (name, _), off in zip(items, offsets):
        toc += struct.pack("<II", name_pos, off)
        name_pos += len(name) + 1
    return header + bytes(toc) + names + bytes(body)


def dropped(name: str) -> bool:
    rel = name.split("/", 1)[1] if "/" in name else name
    return rel.split("/", 1)[0] in DROP_FOLDERS or any(re.fullmatch(p, rel) for p in DROP_PATTERNS)


def trim(src: Path, dst: Path) -> dict:
    """Write the reduced library to ``dst``; returns sizes and counts."""
    major = icu_major(src)
    symbol = f"icudt{major}_dat"
    elf = Elf(src)
    off, size = elf.symbol_bytes(symbol)
    header, items = read_package(elf.data[off:off + size])
    kept = [(n, d) for n, d in items if not dropped(n)]
    blob = write_package(header, kept)
    if read_package(blob)[1] != kept:
        raise AssertionError("the rewritten ICU data does not read back the same")
    for tool in ("as", "ld"):
        if shutil.which(tool) is None:
            raise SystemExit(f"trim_icu_data: '{tool}' (binutils) is required")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "data.bin").write_bytes(blob)
        (t / "data.s").write_text(
            '\t.section .rodata,"a"\n\t.balign 16\n'
            f"\t.globl {symbol}\n\t.type {symbol}, @object\n{symbol}:\n"
            f'\t.incbin "{t / "data.bin"}"\n\t.size {symbol}, . - {symbol}\n'
            '\t.section .note.GNU-stack,"",@progbits\n')
        subprocess.run(["as", "-o", str(t / "data.o"), str(t / "data.s")], check=True)
        out = t / Path(dst).name
        subprocess.run(["ld", "-shared", "-soname", elf.soname or Path(src).name, "-z", "noexecstack",
                        "--hash-style=both", "-o", str(out), str(t / "data.o")], check=True)
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, dst)
        shutil.copymode(src, dst)
    return {"items_before": len(items), "items_after": len(kept), "bytes_before": size,
            "bytes_after": len(blob), "file_before": os.path.getsize(src), "file_after": os.path.getsize(dst)}


_CHECK = r"""
import ctypes, json, sys
d, v = sys.argv[1], sys.argv[2]
uc = ctypes.CDLL(f"{d}/libicuuc.so.{v}", mode=ctypes.RTLD_GLOBAL)
i18n = ctypes.CDLL(f"{d}/libicui18n.so.{v}", mode=ctypes.RTLD_GLOBAL)
def f(lib, name, restype=ctypes.c_void_p):
    fn = getattr(lib, f"{name}_{v}")
    fn.restype = restype
    return fn
def u16(s):
    b = s.encode("utf-16-le") + b"\0\0"
    return ctypes.create_string_buffer(b, len(b))
def from_u16(buf, n):
    return bytes(buf.raw[:2 * n]).decode("utf-16-le")
out = {}
st = ctypes.c_int(0)
coll = f(i18n, "ucol_open")(b"de", ctypes.byref(st))
out["collator"] = st.value
order = f(i18n, "ucol_strcoll", ctypes.c_int)(ctypes.c_void_p(coll), u16("\u00e4rger"), -1, u16("bar"), -1)
out["collation ä < b"] = order
st = ctypes.c_int(0)
buf = ctypes.create_string_buffer(64)
n = f(uc, "u_strToUpper", ctypes.c_int)(buf, 32, u16("istanbul"), -1, b"tr", ctypes.byref(st))
out["upper(tr)"] = [st.value, from_u16(buf, n)]
st = ctypes.c_int(0)
cal = f(i18n, "ucal_open")(u16("Europe/Berlin"), -1, b"en_US", 0, ctypes.byref(st))
out["calendar"] = st.value
st = ctypes.c_int(0)
n = f(i18n, "ucal_getTimeZoneDisplayName", ctypes.c_int)(ctypes.c_void_p(cal), 0, b"en_US", buf, 32, ctypes.byref(st))
out["zone name"] = [st.value, from_u16(buf, n)]
for name in ("UTF-8", "ISO-8859-1", "Shift_JIS"):
    st = ctypes.c_int(0)
    f(uc, "ucnv_open")(name.encode(), ctypes.byref(st))
    out[f"codec {name}"] = st.value
st = ctypes.c_int(0)
f(i18n, "ubrk_open")(1, b"en", u16("two words"), -1, ctypes.byref(st))
out["word breaks"] = st.value
print(json.dumps(out))
"""


def check(folder: Path, major: str | None = None, python: str = sys.executable) -> dict:
    """Exercise a folder's ICU in a child process (ICU status codes: 0 ok, <0 warning, >0 error)."""
    folder = Path(folder)
    if major is None:
        major = icu_major(next(folder.glob("libicudata.so.*")))
    proc = subprocess.run([python, "-c", _CHECK, str(folder), major], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"})
    if proc.returncode != 0:
        raise RuntimeError(f"ICU check failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src", type=Path, help="libicudata.so.NN to read (or, with --check, a folder)")
    p.add_argument("dst", type=Path, nargs="?", help="where to write the reduced library")
    p.add_argument("--check", action="store_true", help="exercise the ICU in folder SRC and print the results")
    args = p.parse_args(argv)
    if args.check:
        print(json.dumps(check(args.src), indent=2, ensure_ascii=False))
        return 0
    if args.dst is None:
        p.error("give the output path")
    r = trim(args.src, args.dst)
    print(f"ICU data: {r['items_before']} -> {r['items_after']} items, "
          f"{r['file_before'] / 2**20:.1f} -> {r['file_after'] / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
