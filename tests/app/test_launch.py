"""Starting the app: a missing display or system library is a clear message and exit status 2,
never Qt's abort; the offscreen entry points need no display; the GUI runs one BLAS thread."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from relu_studio import display_check
from relu_studio.display_check import check_display, install_hint, missing_libraries

ROOT = Path(__file__).resolve().parents[2]


def app_command(*args) -> list[str]:
    """The installed ``relu-studio`` script (what a user runs), else ``python -m relu_studio``."""
    script = Path(sys.executable).with_name("relu-studio")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "relu_studio", *args]


def bare_env(**extra) -> dict:
    """A desktop-less environment: no display, no Qt platform, no BLAS thread settings."""
    drop = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


def test_without_a_display_the_app_says_so_and_exits_2():
    proc = subprocess.run(app_command(), env=bare_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)  # not -6 (SIGABRT)
    assert "no display" in proc.stderr and "DISPLAY" in proc.stderr
    assert "relu-studio run" in proc.stderr  # what to do instead


def test_startup_report_runs_offscreen_without_a_display_with_one_blas_thread():
    """The report also reads, inside the running app, the thread count of every BLAS library
    numpy loaded: the GUI sets one thread before numpy is imported (a drag's 200 x 200 ridge
    solve took 16 ms instead of 0.5 ms with two threads contending)."""
    pytest.importorskip("threadpoolctl")
    proc = subprocess.run(app_command("--startup-report"), env=bare_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "startup: first paint" in proc.stdout
    report = [ln for ln in proc.stdout.splitlines() if "BLAS threads" in ln]
    assert report, proc.stdout
    platform, blas = report[0].split("BLAS threads: ")
    assert "platform offscreen" in platform
    pools = [p.strip().rsplit(" ", 1) for p in blas.split(",")]
    assert pools and all(n == "1" for _lib, n in pools), report[0]


# --------------------------------------------------------------------------- the check itself
FAKE_PLUGIN = Path("/nonexistent/PySide6/Qt/plugins/platforms/libqxcb.so")


def test_missing_x11_libraries_are_named_with_their_packages():
    msg = check_display({"DISPLAY": ":0"}, "linux", plugin_dir=lambda name: FAKE_PLUGIN,
                        missing=lambda plugin: ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert "X11 platform plugin needs system libraries" in msg
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in msg
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1" in msg
    assert "sudo dnf install xcb-util-wm xcb-util-keysyms" in msg


def test_an_unknown_library_gets_a_search_hint():
    hint = install_hint(["libxcb-cursor.so.0", "libfoo.so.3"])
    assert "libxcb-cursor0" in hint and "xcb-util-cursor" in hint
    assert "libfoo.so.3" in hint and "apt-file search" in hint


@pytest.mark.parametrize("env, platform", [
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),  # chosen by the user: no display needed
    ({"QT_QPA_PLATFORM": "vnc"}, "linux"),
    ({}, "darwin"),  # only Linux is checked
    ({}, "win32"),
])
def test_nothing_to_check(env, platform):
    assert check_display(env, platform, plugin_dir=lambda n: FAKE_PLUGIN,
                         missing=lambda p: ["libxcb-icccm.so.4"]) is None


def test_no_display_variables_means_no_display():
    assert "no display" in check_display({}, "linux")
    assert "DISPLAY is not set" in check_display({"QT_QPA_PLATFORM": "xcb"}, "linux")


def test_wayland_session_falls_back_to_x11_and_names_what_x11_lacks():
    env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    missing = {"wayland": ["libwayland-cursor.so.0"], "xcb": ["libxcb-icccm.so.4"]}
    plugins = {n: FAKE_PLUGIN.with_name(f"libq{n}.so") for n in missing}

    def lacks(plugin):
        return missing["wayland" if "wayland" in plugin.name else "xcb"]

    msg = check_display(env, "linux", plugin_dir=plugins.get, missing=lacks)
    assert "X11" in msg and "libxcb-icccm4" in msg
    # Wayland complete: fine, whatever X11 lacks.
    missing["wayland"] = []
    assert check_display(env, "linux", plugin_dir=plugins.get, missing=lacks) is None


def test_an_unreachable_x_server_is_reported():
    msg = check_display({"DISPLAY": ":4711"}, "linux", plugin_dir=lambda n: FAKE_PLUGIN,
                        missing=lambda p: [])
    assert msg is not None and "':4711' does not accept connections" in msg


def test_ldd_output_is_read_and_libraries_shipped_with_pyside6_are_not_missing(tmp_path):
    plugin = tmp_path / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(b"")
    (tmp_path / "PySide6" / "Qt" / "lib").mkdir()
    (tmp_path / "PySide6" / "Qt" / "lib" / "libQt6XcbQpa.so.6").write_bytes(b"")
    out = ("\tlinux-vdso.so.1 (0x00007ffd)\n"
           "\tlibQt6XcbQpa.so.6 => not found\n"
           "\tlibxcb-icccm.so.4 => not found\n"
           "\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)\n"
           "\tlibxcb-icccm.so.4 => not found\n"
           "\tlibxcb-keysyms.so.1 => not found\n")

    def fake_run(cmd, **kwargs):
        assert cmd == ["ldd", str(plugin)]
        return subprocess.CompletedProcess(cmd, 0, stdout=out, stderr="")

    assert missing_libraries(plugin, run=fake_run) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


def test_main_exits_2_before_creating_the_application(monkeypatch, capsys):
    from relu_studio import app

    monkeypatch.setattr(display_check, "check_display", lambda: "no way to draw here")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    import PySide6.QtWidgets as qtw

    before = qtw.QApplication.instance()
    assert app.main([]) == 2
    assert "relu-studio: no way to draw here" in capsys.readouterr().err
    assert qtw.QApplication.instance() is before


def test_the_core_never_imports_the_package_above_it():
    """The core is the bottom layer: it imports neither the package face nor anything beside it."""
    import ast

    core = ROOT / "relu_studio" / "core"
    bad = []
    for path in sorted(core.rglob("*.py")):
        package = ["relu_studio", *path.relative_to(ROOT / "relu_studio").parent.parts]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                names = [".".join(base + ([node.module] if node.module else []))]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            bad += [f"{path.relative_to(core)} imports {n}" for n in names
                    if n.split(".")[0] == "relu_studio" and not n.startswith("relu_studio.core")]
    assert not bad, bad
