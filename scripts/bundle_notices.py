"""The licences of everything in the bundle: ``licenses/``, ``THIRD-PARTY-NOTICES.txt``, ``LICENSE``.

build.spec calls :func:`write_notices` after PyInstaller has collected the bundle, with every
collected file's source path. Each file is traced to where it came from:

- a Python distribution (its ``RECORD`` lists the file): the licence files of its ``*.dist-info``
  (``licenses/**``, ``License-File`` entries, ``LICENSE*``/``COPYING*``/``NOTICE*``) go to
  ``licenses/<project>/``. PySide6-Essentials and shiboken6 ship none; for them the Qt texts in
  resources/licenses/Qt (LGPL-3.0, GPL-3.0, ICU's licence, Qt's notice) are used;
- CPython (the standard library, its extension modules, libpython): its ``LICENSE.txt``;
- a system library of the build machine: the Debian package that owns it (``dpkg -S``) and that
  package's ``/usr/share/doc/<package>/copyright``, into ``licenses/debian/<package>/``;
- ReLU Studio itself: LICENSE (MIT), at the top of the bundle.

A file that cannot be traced, or a component without licence text, stops the build. The result is
also written as ``licenses/index.json`` (read by Help > About and tests/packaging/test_licenses.py).
"""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

LICENSE_NAME = re.compile(r"(?i)^(licen[cs]e|copying|notice|authors|copyright)")
#: Licences whose metadata says less than their licence file (checked against those files).
LICENSE_OVERRIDES = {
    "pyinstaller": "GPL-2.0-or-later WITH the PyInstaller bootloader exception (bundles may be "
                   "distributed under any licence; see COPYING.txt)",
    "pyinstaller-hooks-contrib": "Apache-2.0 (its runtime hooks; see LICENSE)",
}


@dataclass
class Component:
    name: str  # the folder under licenses/, and the name shown
    version: str
    license: str
    kind: str  # "python", "cpython", "system", "bootloader"
    texts: list[tuple[Path, str]] = field(default_factory=list)  # (source file, path under licenses/<name>/)
    contents: set[str] = field(default_factory=set)  # bundle paths that come from it
    note: str = ""

    def folder(self) -> str:
        return f"debian/{self.name}" if self.kind == "system" else self.name


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _license_of(meta) -> str:
    expr = meta.get("License-Expression")
    if expr:
        return expr
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 80:
        return text
    classified = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return ", ".join(classified) or "see its licence files"


def _dist_licence_files(dist) -> list[tuple[Path, str]]:
    out = []
    for f in dist.files or []:
        parts = Path(str(f)).parts
        if not parts or not parts[0].endswith(".dist-info") or len(parts) < 2:
            continue
        rel = Path(*parts[1:])
        if parts[1] == "licenses" and len(parts) > 2:
            rel = Path(*parts[2:])
        elif not LICENSE_NAME.match(parts[-1]) or len(parts) > 2:
            continue
        path = Path(dist.locate_file(f))
        if path.is_file():
            out.append((path, str(rel)))
    return sorted(out, key=lambda t: (t[1].count("/"), t[1]))


def _dpkg_owner(path: str) -> str | None:
    candidates = {path, os.path.realpath(path)}
    for p in list(candidates):
        for a, b in (("/usr/lib/", "/lib/"), ("/lib/", "/usr/lib/")):
            if p.startswith(a):
                candidates.add(b + p[len(a):])
    for p in sorted(candidates):
        proc = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        if proc.returncode == 0:
            for line in proc.stdout.splitlines():
                pkg, _, owned = line.partition(": ")
                if owned.strip() == p and "," not in pkg:
                    return pkg.strip()
    return None


def _dpkg_version(pkg: str) -> str:
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def _dep5_licences(text: str) -> str:
    names = []
    for line in text.splitlines():
        if line.startswith("License:"):
            name = line[len("License:"):].strip()
            if name and name not in names:
                names.append(name)
    return ", ".join(names) if names and len(", ".join(names)) < 200 else "see its copyright file"


class Tracer:
    """Maps a collected file's source path to its component."""

    def __init__(self, root: Path, qt_texts: list[tuple[Path, str]]):
        """``root``: the source checkout (its files are ReLU Studio's); ``qt_texts``: the Qt licence
        files for PySide6 and shiboken6, as (file, name in the bundle) -- see :func:`qt_texts`."""
        self.root = Path(root).resolve()
        self.qt_texts = list(qt_texts)
        self.by_file: dict[str, metadata.Distribution] = {}
        site = {os.path.realpath(p) for p in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])}
        for dist in metadata.distributions(path=sorted(site)):
            for f in dist.files or []:
                self.by_file[os.path.realpath(dist.locate_file(f))] = dist
        # The standard library of the base interpreter (in a virtual environment "platstdlib" is the
        # environment's own lib/pythonX.Y, which holds site-packages: not the standard library).
        self.python_dirs = (os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep,)
        self.site_dirs = tuple(p + os.sep for p in site)
        self.components: dict[str, Component] = {}
        self.untraced: list[str] = []

    def _python(self, dist) -> Component:
        name = dist.metadata["Name"]
        key = _canon(name)
        if key not in self.components:
            texts = _dist_licence_files(dist)
            note = ""
            if key in ("pyside6-essentials", "shiboken6", "pyside6"):
                texts = self.qt_texts + texts
                note = "Used under the LGPL-3.0; NOTICE.txt says where the source is and how to replace Qt."
            kind = "bootloader" if key == "pyinstaller" else "python"
            lic = LICENSE_OVERRIDES.get(key) or _license_of(dist.metadata)
            self.components[key] = Component(name, dist.version, lic, kind, texts, note=note)
        return self.components[key]

    def _cpython(self) -> Component:
        if "cpython" not in self.components:
            lic = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
            self.components["cpython"] = Component("CPython", platform.python_version(), "PSF-2.0", "cpython",
                                                   [(lic, "LICENSE.txt")] if lic.is_file() else [])
        return self.components["cpython"]

    def _system(self, src: str) -> Component | None:
        pkg = _dpkg_owner(src)
        if pkg is None:
            return None
        name = pkg.split(":")[0]
        if name not in self.components:
            copyright_ = Path("/usr/share/doc") / name / "copyright"
            texts = [(copyright_, "copyright")] if copyright_.is_file() else []
            lic = _dep5_licences(copyright_.read_text(errors="replace")) if texts else "unknown"
            self.components[name] = Component(name, _dpkg_version(pkg), lic, "system", texts)
        return self.components[name]

    def standard_library(self, dest: str) -> None:
        """Record a file PyInstaller made from CPython's standard library (base_library.zip)."""
        self._cpython().contents.add(dest)

    def trace(self, dest: str, src: str | None) -> None:
        """Record that bundle path ``dest`` was collected from ``src``."""
        if not src:
            return
        real = os.path.realpath(src)
        dist = self.by_file.get(real)
        if dist is not None:
            if _canon(dist.metadata["Name"]) != "relu-studio":  # an editable install lists nothing here
                self._python(dist).contents.add(dest)
            return
        if real.startswith(self.site_dirs):
            self.untraced.append(f"{dest} <- {src} (in site-packages, in no RECORD)")
            return
        if real.startswith(self.python_dirs) or os.path.basename(real).startswith("libpython"):
            self._cpython().contents.add(dest)
            return
        if real.startswith(str(self.root) + os.sep):
            return  # ReLU Studio's own files (its LICENSE is at the top of the bundle)
        comp = self._system(src)
        if comp is None:
            self.untraced.append(f"{dest} <- {src} (no Debian package owns it)")
        else:
            comp.contents.add(dest)


def rewrap(text: str, width: int = 98) -> str:
    """Refill each indented paragraph that has a line longer than ``width`` (after placeholders were
    filled in); other paragraphs, e.g. aligned columns, are left as they are."""
    import textwrap

    out, para = [], []

    def flush():
        if para and max(len(line) for line in para) > width:
            indent = para[0][:len(para[0]) - len(para[0].lstrip())]
            out.extend(textwrap.wrap(" ".join(line.strip() for line in para), width, initial_indent=indent,
                                     subsequent_indent=indent, break_on_hyphens=False))
        else:
            out.extend(para)
        para.clear()

    for line in text.splitlines():
        if not line.strip() or (para and len(line) - len(line.lstrip()) != len(para[0]) - len(para[0].lstrip())):
            flush()
        if line.strip():
            para.append(line)
        else:
            out.append(line)
    flush()
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def qt_texts(vendor: Path, out: Path, qt_version: str, pyside_version: str, shiboken_version: str,
             qt_modules: str, icu_version: str, icu_trim: str) -> list[tuple[Path, str]]:
    """Qt's licence files (resources/licenses/Qt), with NOTICE.txt's versions filled in into ``out``."""
    vendor, out = Path(vendor), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    notice = (vendor / "NOTICE.txt").read_text(encoding="utf-8").format(
        qt_version=qt_version, qt_series=".".join(qt_version.split(".")[:2]), pyside_version=pyside_version,
        shiboken_version=shiboken_version, qt_modules=qt_modules, icu_version=icu_version, icu_trim=icu_trim)
    (out / "NOTICE.txt").write_text(rewrap(notice), encoding="utf-8")
    return [(out / "NOTICE.txt", "NOTICE.txt")] + [(vendor / n, n) for n in
                                                  ("LGPL-3.0.txt", "GPL-3.0.txt", "ICU-LICENSE.txt")]


def write_notices(bundle: Path, tracer: Tracer, app_version: str, commit: str, app_license: Path,
                  contents_dir: str = "_internal") -> dict:
    """Write LICENSE, licenses/ and THIRD-PARTY-NOTICES.txt into ``bundle``; returns the index."""
    tracer._python(metadata.distribution("pyinstaller")).contents.add(Path(bundle).name)  # its bootloader
    if tracer.untraced:
        raise SystemExit("bundle_notices: cannot tell where these files come from, so not whose licence "
                         "applies:\n  " + "\n  ".join(tracer.untraced[:40]))
    missing = [c.name for c in tracer.components.values() if not c.texts]
    if missing:
        raise SystemExit(f"bundle_notices: no licence text found for: {', '.join(missing)}")
    bundle = Path(bundle)
    lic_root = bundle / "licenses"
    if lic_root.exists():
        shutil.rmtree(lic_root)
    shutil.copyfile(app_license, bundle / "LICENSE")
    order = {"bootloader": 3, "python": 1, "cpython": 2, "system": 4}
    comps = sorted(tracer.components.values(), key=lambda c: (order[c.kind], c.name.lower()))
    index = {"app": {"name": "ReLU Studio", "version": app_version, "commit": commit, "license": "MIT",
                     "notices": ["LICENSE"]},
             "components": []}
    for c in comps:
        notices = []
        for src, rel in c.texts:
            dst = lic_root / c.folder() / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            notices.append(str(dst.relative_to(bundle)))
        index["components"].append({"name": c.name, "version": c.version, "license": c.license, "kind": c.kind,
                                    "notices": notices, "contents": sorted(c.contents), "note": c.note})
    (lic_root / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    (bundle / "THIRD-PARTY-NOTICES.txt").write_text(_notices_text(bundle, index, contents_dir), encoding="utf-8")
    return index


def _notices_text(bundle: Path, index: dict, contents_dir: str) -> str:
    app = index["app"]
    comps = index["components"]
    heads = {"python": "Python packages", "cpython": "Python", "bootloader": "Executable launcher (PyInstaller)",
             "system": "System libraries copied from the build machine (Debian packages)"}
    out = [f"ReLU Studio {app['version']} (commit {app['commit']}): third-party notices",
           "=" * 72, "",
           "ReLU Studio itself is free software under the MIT licence (LICENSE). This folder also",
           "contains the third-party software listed below, each under its own licence. Every",
           "component's licence texts are in licenses/<component>/ and are reproduced in full after",
           "the list."]
    qt = next((n for c in comps for n in c["notices"] if n.endswith("/NOTICE.txt") and "PySide6" in n), None)
    if qt:
        out += ["", f"Qt and PySide6 are used under the GNU LGPL v3: {qt} says where their",
                "source code is and how to replace the Qt libraries."]
    out.append("")
    for kind in ("python", "cpython", "bootloader", "system"):
        group = [c for c in comps if c["kind"] == kind]
        if not group:
            continue
        out += [heads[kind], "-" * len(heads[kind])]
        for c in group:
            out.append(f"  {c['name']} {c['version']}: {c['license']}")
            folder = os.path.dirname(c["notices"][0]) if c["notices"] else ""
            out.append(f"      texts: {folder}/")
            if kind == "system":
                out.append("      files: " + ", ".join(p.replace(contents_dir + "/", "", 1) for p in c["contents"]))
            if c.get("note"):
                out.append(f"      {c['note']}")
        out.append("")
    out += ["", "=" * 72, "Full texts", "=" * 72, ""]
    for c in comps:
        for rel in c["notices"]:
            text = (bundle / rel).read_text(encoding="utf-8", errors="replace").rstrip()
            out += [f"----- {c['name']} {c['version']}: {rel} " + "-" * max(0, 40 - len(rel)), "", text, "", ""]
    return "\n".join(out) + "\n"
