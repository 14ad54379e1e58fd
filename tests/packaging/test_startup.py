"""From source, quickly (no bundle): what the executable relies on.

The window paints before torch is imported, ``--check-torch`` exercises the torch calls that the
bundle must carry, and the icon and desktop file are where app.py and build.spec look for them.
"""
from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ICON_SIZES = (16, 32, 48, 64, 128, 256)


def test_window_paints_before_torch_is_imported(app_env):
    proc = subprocess.run([sys.executable, "-m", "relu_studio", "--startup-report"], cwd=ROOT, env=app_env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert re.search(r"^startup: first paint \d+\.\d+ s \(since process start\)$", proc.stdout, re.M), proc.stdout
    assert "startup: modules loaded at first paint: torch=no" in proc.stdout, proc.stdout
    assert "startup: window icon sizes: 16, 32, 48, 64, 128, 256" in proc.stdout, proc.stdout


def test_check_torch_round_trips_and_refuses_code(capsys):
    from relu_studio.app import check_torch

    assert check_torch() == 0
    out = capsys.readouterr().out
    assert out.startswith("torch check: ok") and "non-tensor file refused" in out, out


def test_icons_resolve_from_source():
    from relu_studio.app import resource_path

    for n in ICON_SIZES:
        png = Path(resource_path("icons", "hicolor", f"{n}x{n}", "apps", "relu-studio.png"))
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[16:24] == n.to_bytes(4, "big") * 2, png
    svg = Path(resource_path("icons", "hicolor", "scalable", "apps", "relu-studio.svg")).read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_desktop_file_is_a_launcher_for_the_app():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(ROOT / "resources" / "relu-studio.desktop", encoding="utf-8")
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Name"] == "ReLU Studio"
    assert d["Exec"].split()[0] == "relu-studio" and d["Icon"] == "relu-studio"
    assert d["Terminal"] == "false" and d["Categories"].endswith(";")
