"""From source, quickly (no bundle): what the executable relies on.

The window paints without torch (the app never imports it), ``--check-pt`` exercises the .pt
reading and writing that the bundle must carry, the icon and desktop file are where app.py and build.spec look for them, a
session given on the command line (the desktop entry's ``%f``) is opened, and ``--self-test`` stops
at once, with the reason, when the training kernel cannot be prepared.
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


def test_check_pt_round_trips_and_refuses_code_without_torch():
    proc = subprocess.run([sys.executable, "-m", "relu_studio", "--check-pt"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    out = proc.stdout
    assert out.startswith("pt check: ok") and "non-tensor file refused" in out, out
    assert "zip and legacy state dicts and histories round-trip" in out and "torch not imported" in out, out


def test_icons_resolve_from_source():
    from relu_studio.resources import resource_path

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
    assert d["Exec"].split() == ["relu-studio", "%f"] and d["TryExec"] == "relu-studio"
    assert d["Icon"] == "relu-studio" and d["MimeType"] == "application/x-relustudio;"
    assert d["Terminal"] == "false" and d["Categories"].endswith(";")


def _app(env, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "relu_studio", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_a_session_given_on_the_command_line_is_open_at_first_paint(app_env, tmp_path):
    from relu_studio.core.io.session import Session, save_session

    path = tmp_path / "lesson one.relustudio"
    save_session(Session.from_settings(), path)
    proc = _app(app_env, "--startup-report", str(path))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "startup: window title: lesson one.relustudio" in proc.stdout, proc.stdout

    missing = _app(app_env, "--startup-report", str(tmp_path / "gone.relustudio"))
    assert missing.returncode == 0, missing.stderr[-4000:]  # said in the window; the app still starts
    assert "startup: window title: Untitled" in missing.stdout, missing.stdout


def test_self_test_fails_fast_with_the_reason_when_the_kernel_cannot_be_prepared(app_env, tmp_path):
    """Before: the window waited 120 s for a run that could not start and failed without a reason.
    The timeout below is shorter than that wait, so waiting it out fails this test."""
    broken = tmp_path / "broken"
    (broken / "numba").mkdir(parents=True)
    (broken / "numba" / "__init__.py").write_text('raise ImportError("numba is broken on purpose (test)")\n')
    proc = _app({**app_env, "PYTHONPATH": str(broken)}, "--self-test", timeout=100)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    assert ("[FAIL] training kernel ready: Could not prepare the training kernel: "
            "numba is broken on purpose (test)") in proc.stdout, proc.stdout
    assert "trained 20,000 steps" not in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "self-test FAILED: training kernel ready"
