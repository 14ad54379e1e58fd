"""A small reader of 64-bit little-endian ELF files (x86_64 Linux): just what the build scripts need.

- :func:`is_elf` -- does a file start with the ELF magic;
- :class:`Elf` -- section headers, the dynamic section's ``DT_NEEDED`` and ``DT_SONAME``, the
  versions a file needs from each library (``.gnu.version_r``: e.g. ``GLIBC_2.34`` from
  ``libc.so.6``), and exported symbols of ``.dynsym`` with their bytes.

Pure Python (no binutils), so scripts/glibc_floor.py also runs where ``readelf`` is missing.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"\x7fELF"
SHT_DYNSYM, SHT_DYNAMIC, SHT_GNU_VERNEED = 11, 6, 0x6FFFFFFE
DT_NULL, DT_NEEDED, DT_SONAME = 0, 1, 14


def is_elf(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == MAGIC
    except OSError:
        return False


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    addr: int
    offset: int
    size: int
    link: int
    entsize: int


class Elf:
    def __init__(self, path):
        self.path = Path(path)
        self.data = self.path.read_bytes()
        d = self.data
        if d[:4] != MAGIC:
            raise ValueError(f"{path} is not an ELF file")
        if d[4] != 2 or d[5] != 1:
            raise ValueError(f"{path}: only 64-bit little-endian ELF files are supported")
        (self.type, self.machine, _version, _entry, _phoff, shoff, _flags, _ehsize, _phentsize, _phnum,
         shentsize, shnum, shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", d, 16)
        raw = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
        names = raw[shstrndx] if shnum else None
        self.sections = []
        for (name, typ, _fl, addr, off, size, link, _info, _align, entsize) in raw:
            text = self._cstr(names[4] + name) if names else ""
            self.sections.append(Section(text, typ, addr, off, size, link, entsize))

    def _cstr(self, offset: int) -> str:
        end = self.data.index(b"\0", offset)
        return self.data[offset:end].decode("utf-8", "replace")

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def _dynamic(self) -> list[tuple[int, int]]:
        sec = next((s for s in self.sections if s.type == SHT_DYNAMIC), None)
        if sec is None:
            return []
        out = []
        for i in range(sec.size // 16):
            tag, val = struct.unpack_from("<qQ", self.data, sec.offset + 16 * i)
            if tag == DT_NULL:
                break
            out.append((tag, val))
        return out

    def _dynstr(self, offset: int) -> str:
        sec = next(s for s in self.sections if s.type == SHT_DYNAMIC)
        return self._cstr(self.sections[sec.link].offset + offset)

    @property
    def needed(self) -> list[str]:
        """``DT_NEEDED``: the libraries this file links against, by soname."""
        return [self._dynstr(v) for t, v in self._dynamic() if t == DT_NEEDED]

    @property
    def soname(self) -> str | None:
        return next((self._dynstr(v) for t, v in self._dynamic() if t == DT_SONAME), None)

    def version_needs(self) -> dict[str, set[str]]:
        """``{library soname: {version names}}`` from ``.gnu.version_r`` (e.g. ``GLIBC_2.34``)."""
        out: dict[str, set[str]] = {}
        for sec in self.sections:
            if sec.type != SHT_GNU_VERNEED:
                continue
            strtab = self.sections[sec.link].offset
            off = sec.offset
            while True:
                _ver, cnt, file_, aux, nxt = struct.unpack_from("<HHIII", self.data, off)
                lib = self._cstr(strtab + file_)
                a = off + aux
                for _ in range(cnt):
                    _hash, _flags, _other, name, anext = struct.unpack_from("<IHHII", self.data, a)
                    out.setdefault(lib, set()).add(self._cstr(strtab + name))
                    a += anext
                if not nxt:
                    break
                off += nxt
        return out

    @property
    def build_id(self) -> str | None:
        """The linker's ``.note.gnu.build-id`` (hex), which strip keeps: the same build of a file."""
        sec = self.section(".note.gnu.build-id")
        if sec is None:
            return None
        namesz, descsz, _type = struct.unpack_from("<III", self.data, sec.offset)
        start = sec.offset + 12 + ((namesz + 3) & ~3)
        return self.data[start:start + descsz].hex()

    def symbol_bytes(self, name: str) -> tuple[int, int]:
        """``(file offset, size)`` of a defined symbol of ``.dynsym``."""
        sec = next((s for s in self.sections if s.type == SHT_DYNSYM), None)
        if sec is None:
            raise KeyError(name)
        strtab = self.sections[sec.link].offset
        for i in range(sec.size // 24):
            st_name, _info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", self.data, sec.offset + 24 * i)
            if shndx and self._cstr(strtab + st_name) == name:
                home = self.sections[shndx]
                return home.offset + (value - home.addr), size
        raise KeyError(name)
