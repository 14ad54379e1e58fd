"""The oldest glibc a built bundle runs on, and what else it needs from the system.

    python scripts/glibc_floor.py dist/relu-studio            # GLIBC 2.36 (needed by: ...)
    python scripts/glibc_floor.py dist/relu-studio --system   # also the libraries it takes from the system
    python scripts/glibc_floor.py dist/relu-studio --json

Reads every ELF file in the folder (pure Python, scripts/elf.py) and reports the highest
``GLIBC_x.y`` symbol version any of them needs (glibc refuses to load a file that needs a newer
version than it has, with "version `GLIBC_2.36' not found"), with the files that need it, and with
``--system`` the shared libraries the bundle's files link against but do not carry (the system
must provide them: glibc itself, libGL, libEGL, libxcb ...). tests/packaging checks the result
against README's system requirements.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elf import Elf, is_elf  # noqa: E402

GLIBC = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")

# What README's "System requirements" documents. tests/packaging asserts that a built bundle needs
# exactly this glibc and nothing from the system beyond these libraries; build.spec warns otherwise.
#: The highest GLIBC symbol version a bundled file needs (from libstdc++ and libexpat of the
#: Debian 12 build machine; libpython needs 2.35).
GLIBC_FLOOR = "2.36"
#: glibc's own libraries.
GLIBC_LIBRARIES = ("ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0",
                   "librt.so.1", "libutil.so.1")
#: Needed from the system on every desktop (PyInstaller never bundles these: they belong to the
#: system's graphics stack). Debian/Ubuntu packages: libgl1, libegl1, libxcb1.
SYSTEM_LIBRARIES = ("libGL.so.1", "libEGL.so.1", "libxcb.so.1")
#: Needed only by Qt's Wayland plug-ins, on Wayland desktops (which have them); elsewhere Qt uses X11.
WAYLAND_LIBRARIES = ("libwayland-client.so.0", "libwayland-cursor.so.0", "libwayland-egl.so.1")


def is_glibc(lib: str) -> bool:
    return lib in GLIBC_LIBRARIES


def check(result: dict) -> list[str]:
    """What a :func:`scan` result needs beyond the documented floor (empty: nothing)."""
    problems = []
    if result["glibc"] != GLIBC_FLOOR:
        problems.append(f"glibc {result['glibc']} (documented: {GLIBC_FLOOR}), needed by {', '.join(result['needed_by'][:4])}")
    known = set(GLIBC_LIBRARIES) | set(SYSTEM_LIBRARIES) | set(WAYLAND_LIBRARIES)
    for lib, users in result["system"].items():
        if lib not in known:
            problems.append(f"{lib} from the system, for {', '.join(users[:3])}")
    return problems


def version_key(name: str) -> tuple[int, ...] | None:
    m = GLIBC.match(name)
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def elf_files(folder: Path) -> list[Path]:
    out = []
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            p = Path(dirpath) / name
            if not p.is_symlink() and is_elf(p):
                out.append(p)
    return sorted(out)


def scan(folder: Path) -> dict:
    """``{"glibc": "2.36", "needed_by": [files], "system": {soname: [files]}, "elf_files": n}``."""
    folder = Path(folder)
    files = elf_files(folder)
    carried = {p.name for p in folder.rglob("*")}
    best: tuple[int, ...] = ()
    needed_by: list[str] = []
    system: dict[str, list[str]] = {}
    for path in files:
        rel = str(path.relative_to(folder))
        elf = Elf(path)
        top = max((k for names in elf.version_needs().values() for n in names
                   if (k := version_key(n)) is not None), default=())
        if top > best:
            best, needed_by = top, [rel]
        elif top == best and top:
            needed_by.append(rel)
        for lib in elf.needed:
            if lib not in carried:
                system.setdefault(lib, []).append(rel)
    return {"glibc": ".".join(map(str, best)) if best else None, "needed_by": needed_by,
            "system": {k: sorted(v) for k, v in sorted(system.items())}, "elf_files": len(files)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="a built bundle, e.g. dist/relu-studio")
    p.add_argument("--system", action="store_true", help="also list the libraries taken from the system")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = p.parse_args(argv)
    if not args.folder.is_dir():
        p.error(f"{args.folder} is not a folder")
    result = scan(args.folder)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if result["glibc"] is None:
        print(f"no GLIBC symbol versions needed ({result['elf_files']} ELF files)")
        return 0
    shown = ", ".join(result["needed_by"][:6]) + (" ..." if len(result["needed_by"]) > 6 else "")
    print(f"GLIBC {result['glibc']} (needed by: {shown})")
    if args.system:
        for lib, users in result["system"].items():
            print(f"  system library {lib} (used by {len(users)} files, e.g. {users[0]})")
    problems = check(result)
    if problems:
        print("not as README documents: " + "; ".join(problems))
    return 0


if __name__ == "__main__":
    sys.exit(main())
