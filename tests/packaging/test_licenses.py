"""The bundle carries the licence of everything in it (build.spec, scripts/bundle_notices.py).

What needs a notice is found here independently of how build.spec traced it: the ``*.dist-info``
folders and top-level packages in ``_internal``, the top-level modules of the bundle's Python archive
(mapped to their distributions with importlib.metadata), and every system library, recognised by
asking dpkg which package owns a file of that name on this (the build) machine.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from elf import Elf, is_elf  # noqa: E402

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib")
GNU_TEXTS = {"LGPL-3.0.txt": "3000208d539ec061b899bce1d9ce9404", "GPL-3.0.txt": "1ebbd3e34237af26da5dc08a4e440464"}


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def index(bundle) -> dict:
    return json.loads((bundle / "licenses" / "index.json").read_text())


@pytest.fixture(scope="module")
def by_name(index) -> dict:
    return {canon(c["name"]): c for c in index["components"]}


def notices_exist(bundle: Path, comp: dict) -> None:
    assert comp["notices"], f"{comp['name']} has no licence text"
    for rel in comp["notices"]:
        path = bundle / rel
        assert path.is_file() and path.stat().st_size > 0, path


def archive_top_modules(bundle: Path) -> set[str]:
    """Top-level module names in the executable's Python archive (PYZ)."""
    from PyInstaller.archive.readers import CArchiveReader, ZlibArchiveReader

    exe = CArchiveReader(str(bundle / "relu-studio"))
    with tempfile.NamedTemporaryFile(suffix=".pyz") as f:
        f.write(exe.extract("PYZ.pyz"))
        f.flush()
        return {name.split(".")[0] for name in ZlibArchiveReader(f.name).toc}


def is_stdlib(top: str) -> bool:
    if top in sys.stdlib_module_names:
        return True
    import importlib.util
    import sysconfig

    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    origin = os.path.realpath(spec.origin) if spec and spec.origin else ""
    return origin.startswith(os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep)


def test_every_bundled_python_distribution_has_its_licence_texts(bundle, by_name):
    internal = bundle / "_internal"
    owners = metadata.packages_distributions()
    needed: dict[str, set[str]] = {}
    tops = {p.name for p in internal.iterdir() if p.is_dir() and not p.name.endswith((".dist-info", ".libs"))}
    for top in tops | archive_top_modules(bundle):
        if is_stdlib(top) or top.startswith(("pyimod", "pyi_", "_pyi")) or top in (
                "relu_studio", "resources", "python3.11", "base_library"):
            continue
        dists = owners.get(top)
        assert dists, f"{top} is bundled, but no installed distribution provides it"
        for d in dists:
            needed.setdefault(canon(d), set()).add(top)
    for info in internal.glob("*.dist-info"):
        needed.setdefault(canon(info.name.split("-")[0]), set()).add(info.name)
    assert {"numpy", "numba", "llvmlite", "pyside6-essentials", "shiboken6", "pyqtgraph", "pillow",
            "platformdirs"} <= set(needed), sorted(needed)
    assert "torch" not in needed, needed["torch"]  # not bundled: .pt files are read without it
    missing = sorted(set(needed) - set(by_name))
    assert not missing, f"bundled without a licence entry: {[(m, sorted(needed[m])) for m in missing]}"
    for name in needed:
        comp = by_name[name]
        notices_exist(bundle, comp)
        dist = metadata.distribution(comp["name"])
        assert comp["version"] == dist.version
        own = [f for f in dist.files or [] if ".dist-info/licenses/" in str(f)]
        shipped = {Path(n).name for n in comp["notices"]}
        assert {Path(str(f)).name for f in own} <= shipped, (name, own, comp["notices"])


def test_every_bundled_system_library_has_its_debian_copyright(bundle, by_name):
    internal = bundle / "_internal"
    checked = 0
    for path in sorted(internal.iterdir()):
        if path.is_symlink() or not path.is_file() or not is_elf(path):
            continue
        owner = None
        build_id = Elf(path).build_id
        for d in LIB_DIRS:
            host = Path(d) / path.name
            # The build machine's own copy: same name and the same build (strip keeps the build id).
            same = host.exists() and is_elf(host) and Elf(host).build_id == build_id
            for candidate in ({str(host), os.path.realpath(host)} if same else ()):
                proc = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
                if proc.returncode == 0:
                    owner = proc.stdout.splitlines()[0].split(":")[0]
                    break
            if owner:
                break
        comps = [c for c in by_name.values() if path.name in c["contents"]]
        assert len(comps) == 1, f"{path.name}: accounted for by {[c['name'] for c in comps]}"
        if owner is None:  # not a file of the build machine's: it must come from a wheel or CPython
            assert comps[0]["kind"] in ("python", "cpython"), (path.name, comps[0]["name"])
            continue
        comp = comps[0]
        assert comp["kind"] == "system" and comp["name"] == owner, (path.name, owner, comp["name"])
        (notice,) = comp["notices"]
        assert notice == f"licenses/debian/{owner}/copyright"
        assert (bundle / notice).read_bytes() == (Path("/usr/share/doc") / owner / "copyright").read_bytes()
        checked += 1
    assert checked >= 30, f"only {checked} system libraries found: is this the build machine?"


def test_qt_cpython_llvm_and_the_app_licences(bundle, by_name, index):
    qt = by_name["pyside6-essentials"]
    texts = {Path(n).name: bundle / n for n in qt["notices"]}
    for name, md5 in GNU_TEXTS.items():
        assert hashlib.md5(texts[name].read_bytes()).hexdigest() == md5, f"{name} is not the FSF's text"
    notice = " ".join(texts["NOTICE.txt"].read_text().split())  # lines are refilled to fit
    version = metadata.version("PySide6_Essentials")
    series = ".".join(version.split(".")[:2])
    assert "{" not in notice, "NOTICE.txt has an unfilled placeholder"
    assert f"https://download.qt.io/official_releases/qt/{series}/{version}/single/" in notice
    assert "GNU Lesser General Public License version 3" in notice and "Replacing the libraries" in notice
    assert "Qt6Core" in notice and "Qt6Widgets" in notice and "libicudata in this bundle is reduced" in notice
    assert "UNICODE" in texts["ICU-LICENSE.txt"].read_text()
    assert {Path(n).name for n in by_name["shiboken6"]["notices"]} >= set(GNU_TEXTS)
    llvm = "".join((bundle / n).read_text() for n in by_name["llvmlite"]["notices"])
    assert "LLVM Exceptions" in llvm and "Apache License" in llvm
    cpython = by_name["cpython"]
    assert cpython["version"] == ".".join(map(str, sys.version_info[:3]))
    assert "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" in (bundle / cpython["notices"][0]).read_text()
    assert "libpython3.11.so.1.0" in cpython["contents"] or any(c.startswith("libpython") for c in cpython["contents"])
    assert "Bootloader Exception" in (bundle / by_name["pyinstaller"]["notices"][0]).read_text()
    assert (bundle / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert index["app"]["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_third_party_notices_lists_everything_and_holds_every_text(bundle, index):
    text = (bundle / "THIRD-PARTY-NOTICES.txt").read_text()
    assert text.startswith(f"ReLU Studio {index['app']['version']} (commit {index['app']['commit']})")
    for comp in index["components"]:
        assert f"  {comp['name']} {comp['version']}: " in text, comp["name"]
        for rel in comp["notices"]:
            assert f": {rel} " in text, rel
            body = (bundle / rel).read_text(errors="replace").strip()
            assert body[:200] in text, rel


def test_version_file_and_about_box_read_the_same_facts(bundle, index):
    from relu_studio import __version__
    from relu_studio.ui import about

    info = about.read_version_file(bundle)
    assert info["version"] == __version__ == index["app"]["version"]
    assert re.fullmatch(r"[0-9a-f]{40}(\+changes)?|unknown", info["commit"]), info
    if (ROOT / ".git").exists():
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        assert info["commit"].split("+")[0] == head, (info, head)
    comps = about.read_components(bundle)
    assert [c.name for c in comps] == [c["name"] for c in index["components"]]
    shown = [c.name for c in about._main_first(comps)]
    assert shown[:3] == ["PySide6_Essentials", "pyqtgraph", "numpy"] and sorted(shown) == sorted(c.name for c in comps)
    readme = (bundle / "README.txt").read_text()
    assert readme.startswith(f"ReLU Studio {__version__}\n=")
    assert "--install-desktop-entry" in readme and "THIRD-PARTY-NOTICES.txt" in readme and "{" not in readme
