"""Help > About: the version and commit, the licences of everything ReLU Studio is built on, Qt's
LGPL notice with where to get Qt's source, and Qt's own About box.

In the bundle the facts come from files build.spec writes next to the executable: ``VERSION``
(``version=...``, ``commit=...``), ``licenses/index.json`` (every bundled component with its
version, licence and licence files), ``licenses/`` and ``THIRD-PARTY-NOTICES.txt``. From source
they come from git and the installed packages' metadata.
"""
from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QMessageBox

from ..core.version import __version__

SOURCE_ROOT = Path(__file__).resolve().parents[2]
QT_SOURCE = "https://download.qt.io/official_releases/qt/{mm}/{v}/"
QT_ARCHIVE = "https://download.qt.io/archive/qt/{mm}/{v}/"
PYSIDE_SOURCE = "https://download.qt.io/official_releases/QtForPython/pyside6/"
PYSIDE_REPO = "https://code.qt.io/cgit/pyside/pyside-setup.git/tag/?h=v{v}"


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    license: str


def bundle_dir() -> Path | None:
    """The bundle's folder (the one with the executable), or None when running from source."""
    return Path(sys.executable).resolve().parent if getattr(sys, "frozen", False) else None


def read_version_file(folder: Path) -> dict[str, str]:
    """``key=value`` lines of the bundle's VERSION file (version, commit)."""
    out = {}
    for line in (folder / "VERSION").read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def read_components(folder: Path) -> list[Component]:
    """The third-party components listed in the bundle's ``licenses/index.json``."""
    index = json.loads((folder / "licenses" / "index.json").read_text(encoding="utf-8"))
    return [Component(c["name"], c["version"], c["license"]) for c in index["components"]]


@lru_cache(maxsize=1)
def _git_commit() -> str:
    """The source checkout's commit (``+changes`` when tracked files differ), or "unknown"."""
    if not (SOURCE_ROOT / ".git").exists():
        return "unknown"
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=SOURCE_ROOT, capture_output=True,
                              text=True, timeout=3)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=SOURCE_ROOT,
                               capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _license_of(meta) -> str:
    expr = meta.get("License-Expression")
    if expr:
        return expr
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 80:
        return text
    classified = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return ", ".join(classified) or "see its licence files"


def _applies(req: str) -> bool:
    """Whether a requirement's environment marker holds here (True when it cannot be told)."""
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        return True
    try:
        marker = Requirement(req).marker
    except InvalidRequirement:
        return True
    return marker is None or marker.evaluate({"extra": ""})


def _installed_components() -> list[Component]:
    """ReLU Studio's installed runtime dependencies, breadth first: its own, then theirs."""
    from collections import deque
    from importlib import metadata

    seen: dict[str, Component] = {}
    todo = deque(["relu-studio"])
    while todo:
        name = todo.popleft()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in seen:
            continue
        if key != "relu-studio":
            seen[key] = Component(dist.metadata["Name"], dist.version, _license_of(dist.metadata))
        for req in dist.requires or []:
            if "extra ==" in req or not _applies(req):
                continue
            m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
            if m:
                todo.append(m.group(1))
    return list(seen.values())


#: Named first in the About text, in this order; the rest follow as listed.
MAIN_COMPONENTS = ("PySide6_Essentials", "pyqtgraph", "numpy", "numba", "llvmlite", "pillow",
                   "platformdirs", "shiboken6", "CPython")


def _main_first(components: list[Component]) -> list[Component]:
    rank = {re.sub(r"[-_.]+", "-", n).lower(): i for i, n in enumerate(MAIN_COMPONENTS)}
    key = lambda c: rank.get(re.sub(r"[-_.]+", "-", c.name).lower(), len(rank))  # noqa: E731
    return sorted(components, key=key)  # stable: the rest keep their order


def facts() -> dict:
    """What the About box shows: version, commit, components, and where the licence texts are."""
    folder = bundle_dir()
    if folder is not None and (folder / "VERSION").is_file():
        info = read_version_file(folder)
        try:
            comps = _main_first(read_components(folder))
        except (OSError, ValueError, KeyError):
            comps = []
        return {"version": info.get("version", __version__), "commit": info.get("commit", "unknown"),
                "components": comps, "licenses": folder / "licenses",
                "notices": folder / "THIRD-PARTY-NOTICES.txt",
                "qt_lib": Path(getattr(sys, "_MEIPASS", folder)) / "PySide6" / "Qt" / "lib"}
    return {"version": __version__, "commit": _git_commit(), "components": _main_first(_installed_components()),
            "licenses": None, "notices": None, "qt_lib": None}


def _link(path: Path, label: str) -> str:
    return f'<a href="{escape(QUrl.fromLocalFile(str(path)).toString())}">{escape(label)}</a>'


def about_html(f: dict) -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    qt = qVersion()
    mm = ".".join(qt.split(".")[:2])
    commit = f["commit"]
    short = commit[:12] + (commit[40:] if len(commit) > 40 else "")
    names = ", ".join(c.name for c in f["components"][:12])
    more = len(f["components"]) - 12
    if f["licenses"] is not None:
        where = (f"Their licence texts are in this application's folder: {_link(f['licenses'], 'licenses/')} and "
                 f"{_link(f['notices'], 'THIRD-PARTY-NOTICES.txt')}.")
        qt_lib = f["qt_lib"].relative_to(f["licenses"].parent) if f["qt_lib"].is_relative_to(f["licenses"].parent) else f["qt_lib"]
        replace = (f" The Qt libraries in {_link(f['qt_lib'], str(qt_lib))} may be replaced by compatible "
                   "builds of your own.")
    else:
        where = "Their licence texts come with the installed packages (<tt>pip show -f NAME</tt> lists them)."
        replace = ""
    return (
        f"<p><b>ReLU Studio {escape(f['version'])}</b><br>commit <tt>{escape(short)}</tt></p>"
        "<p>See and touch how a one-hidden-layer ReLU network fits a 1-D function.</p>"
        "<p>Drag an elbow to move it (Shift snaps to data), a diamond handle to change a slope; "
        "Ctrl+click adds a data point. Everything is undoable.</p>"
        "<p>ReLU Studio is free software under the MIT licence. It runs on Python "
        f"{escape(platform.python_version())} and is built on {escape(names)}"
        + (f" and {more} more" if more > 0 else "") + " (<i>Show Details</i> lists each with its "
        f"licence). {where}</p>"
        f"<p><b>Qt</b> {escape(qt)} is used under the GNU Lesser General Public License v3 (LGPL-3.0), "
        f"through PySide6 {escape(pyside_version)} (LGPL-3.0). Qt's source code: "
        f'<a href="{QT_SOURCE.format(mm=mm, v=qt)}">download.qt.io/official_releases/qt/{mm}/{qt}</a> '
        f'(later: <a href="{QT_ARCHIVE.format(mm=mm, v=qt)}">download.qt.io/archive/qt/{mm}/{qt}</a>); '
        f'PySide6\'s: <a href="{PYSIDE_SOURCE}">download.qt.io/official_releases/QtForPython</a> and '
        f'<a href="{PYSIDE_REPO.format(v=pyside_version)}">code.qt.io/pyside/pyside-setup</a>.{replace}</p>')


def details_text(f: dict) -> str:
    lines = [f"ReLU Studio {f['version']} (commit {f['commit']}): MIT", ""]
    lines += [f"{c.name} {c.version}: {c.license}" for c in f["components"]]
    return "\n".join(lines)


def about_qt(parent) -> None:
    QMessageBox.aboutQt(parent, "About Qt")


def build_about_box(parent) -> QMessageBox:
    f = facts()
    box = QMessageBox(parent)
    box.setWindowTitle("About ReLU Studio")
    box.setIconPixmap(parent.windowIcon().pixmap(64, 64) if parent is not None else box.iconPixmap())
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_html(f))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    box.setDetailedText(details_text(f))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    qt_button = box.addButton("About Qt", QMessageBox.ButtonRole.ActionRole)
    qt_button.clicked.connect(lambda: about_qt(box))
    box.setDefaultButton(QMessageBox.StandardButton.Ok)
    return box


def show_about(parent) -> None:
    build_about_box(parent).exec()
