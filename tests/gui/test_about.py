"""Help > About ReLU Studio and Help > About Qt (relu_studio/ui/about.py).

The bundle's variant (reading VERSION and licenses/index.json next to the executable) is checked
against a real bundle in tests/packaging/test_licenses.py.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from relu_studio import __version__
from relu_studio.ui import about

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_DEPS = ("numpy", "numba", "llvmlite", "PySide6_Essentials", "shiboken6", "pyqtgraph", "pillow",
                "platformdirs")


def help_actions(window) -> dict:
    (help_menu,) = [a.menu() for a in window.menuBar().actions() if a.text() == "&Help"]
    return {a.text(): a for a in help_menu.actions() if not a.isSeparator()}


def test_about_names_version_commit_licences_and_qt_source(window):
    box = about.build_about_box(window)
    text = box.text()
    assert f"ReLU Studio {__version__}" in text
    if shutil.which("git") and (ROOT / ".git").exists():
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        assert f"commit <tt>{head[:12]}" in text, text
    assert "MIT licence" in text
    assert "GNU Lesser General Public License v3 (LGPL-3.0)" in text
    from PySide6.QtCore import qVersion

    qt = qVersion()
    mm = ".".join(qt.split(".")[:2])
    assert f'href="https://download.qt.io/official_releases/qt/{mm}/{qt}/"' in text
    details = box.detailedText()
    for dist in RUNTIME_DEPS:
        line = re.search(rf"^{dist} (\S+): (.+)$", details, re.M | re.I)
        assert line, f"{dist} missing from:\n{details}"
        assert line.group(2).strip(), f"{dist} has no licence"
    assert not re.search(r"^torch ", details, re.M), "torch is an optional extra, not a part of the app"
    buttons = {b.text() for b in box.buttons()}
    assert "About Qt" in buttons and "OK" in {b.text().replace("&", "") for b in box.buttons()}


def test_help_menu_has_about_qt_and_both_entries_open_their_boxes(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "aboutQt", staticmethod(lambda parent, title="": shown.append(("qt", title))))
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(("about", self.windowTitle())))
    actions = help_actions(window)
    assert list(actions) == ["Quick start", "Notebook lessons…", "Keyboard shortcuts", "About ReLU Studio", "About Qt"]
    actions["About ReLU Studio"].trigger()
    actions["About Qt"].trigger()
    assert shown == [("about", "About ReLU Studio"), ("qt", "About Qt")]

    box = about.build_about_box(window)
    (qt_button,) = [b for b in box.buttons() if b.text() == "About Qt"]
    qt_button.click()
    assert shown[-1] == ("qt", "About Qt")


def test_the_bundle_files_the_about_box_reads(tmp_path, monkeypatch):
    """The same facts, read from a bundle folder's VERSION and licenses/index.json."""
    (tmp_path / "licenses").mkdir()
    (tmp_path / "VERSION").write_text("version=9.8.7\ncommit=0123456789abcdef0123456789abcdef01234567\n")
    (tmp_path / "licenses" / "index.json").write_text(json.dumps({"components": [
        {"name": "numpy", "version": "2.0", "license": "BSD-3-Clause", "files": []}]}))
    monkeypatch.setattr(about, "bundle_dir", lambda: tmp_path)
    f = about.facts()
    assert (f["version"], f["commit"]) == ("9.8.7", "0123456789abcdef0123456789abcdef01234567")
    assert f["components"] == [about.Component("numpy", "2.0", "BSD-3-Clause")]
    html = about.about_html(f)
    assert "ReLU Studio 9.8.7" in html and "commit <tt>0123456789ab</tt>" in html
    assert "THIRD-PARTY-NOTICES.txt</a>" in html and "licenses/</a>" in html
    assert about.details_text(f).splitlines()[-1] == "numpy 2.0: BSD-3-Clause"


@pytest.mark.parametrize("commit, shown", [("0123456789abcdef0123456789abcdef01234567", "0123456789ab"),
                                           ("0123456789abcdef0123456789abcdef01234567+changes", "0123456789ab+changes")])
def test_commit_is_shortened_but_keeps_the_changes_mark(commit, shown):
    f = {"version": "1", "commit": commit, "components": [], "licenses": None, "notices": None, "qt_lib": None}
    assert f"commit <tt>{shown}</tt>" in about.about_html(f)
