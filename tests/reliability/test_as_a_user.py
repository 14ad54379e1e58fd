"""File permissions as an ordinary user sees them. Root ignores file modes, so as root these cases
run their code without the capabilities that let root do so (``setpriv`` drops CAP_DAC_OVERRIDE
and CAP_DAC_READ_SEARCH); as any other user they run as they are."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
pytestmark = pytest.mark.skipif(os.name != "posix" or (IS_ROOT and not shutil.which("setpriv")),
                                reason="as root, needs setpriv to give up root's file access")


def as_nobody(code: str, tmp_path, env=None, timeout=300) -> subprocess.CompletedProcess:
    """Run ``code`` in a new Python whose file access obeys file modes, as an ordinary user's does."""
    script = tmp_path / "case.py"
    script.write_text(textwrap.dedent(code))
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
            "HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen",
            "OPENBLAS_NUM_THREADS": "1"}
    drop = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if IS_ROOT else []
    return subprocess.run([*drop, sys.executable, str(script)], env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, cwd=str(tmp_path))


def test_a_read_only_file_is_not_overwritten_and_the_user_is_told(tmp_path):
    target = tmp_path / "figure.svg"
    target.write_text("the user's own figure")
    os.chmod(target, 0o444)
    proc = as_nobody(f"""
        from relu_studio.core.io.atomic import atomic_write_text
        try:
            atomic_write_text(r"{target}", "new")
            print("WRITTEN")
        except PermissionError as exc:
            print("REFUSED", exc)
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "REFUSED" in proc.stdout and "read-only" in proc.stdout
    assert target.read_text() == "the user's own figure"


def read_only_copy(tmp_path) -> Path:
    """The package installed where it cannot be written (site-packages, the bundle): numba cannot
    fall back to caching next to the module."""
    pkg = tmp_path / "site"
    shutil.copytree(ROOT / "relu_studio", pkg / "relu_studio",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    for folder, _dirs, files in os.walk(pkg):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
        os.chmod(folder, 0o555)
    return pkg


def test_training_works_when_no_cache_folder_can_be_written(tmp_path):
    """A read-only home (and the cache folder the user named in it), no writable temporary
    folder, the package in a read-only place: the kernels compile without a cache, training works."""
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, 0o555)
    pkg = read_only_copy(tmp_path)
    proc = as_nobody("""
        import sys
        from relu_studio.cli import main
        sys.exit(main(["--widths", "3", "--modes", "all", "--steps", "500", "--save-every", "100",
                       "--quiet"]))
    """, tmp_path, env={"XDG_CACHE_HOME": str(home / "cache"), "TMPDIR": str(home / "tmp"),
                        "NUMBA_CACHE_DIR": str(home / "numba"), "PYTHONPATH": str(pkg)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all" in proc.stdout and "Traceback" not in proc.stderr


def test_exporting_over_a_read_only_figure_says_so_and_keeps_it(tmp_path):
    """Item 14: an SVG export over a read-only file used to say "Exported" (and replace it)."""
    target = tmp_path / "canvas.svg"
    target.write_text("the user's own figure")
    os.chmod(target, 0o444)
    proc = as_nobody(f"""
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from relu_studio.ui.main_window import MainWindow
        win = MainWindow(ask_to_save=False, autosave=False)
        win.show()
        said = []
        win.c.message.connect(lambda text, level: said.append((level, text)))
        win.files.export_figure(win.canvas, "svg", r"{target}")
        print(said)
        win.close()
    """, tmp_path, env={"RELU_STUDIO_DATA_DIR": str(tmp_path / "data")})
    assert proc.returncode == 0, proc.stderr
    assert "('error', 'Could not export canvas.svg: the file is read-only (" in proc.stdout, proc.stdout
    assert "Exported" not in proc.stdout
    assert target.read_text() == "the user's own figure"
