"""Build the PyInstaller bundle once per session (only when a test asks for it)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_env(tmp_path) -> dict:
    """The environment of a user's fresh desktop session, offscreen: the test's own cache, config
    and data folders (so the numba cache starts empty), no Python or numba overrides."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "NUMBA_CACHE_DIR", "RELU_STUDIO_DATA_DIR")}
    for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        env[name] = str(tmp_path / name.lower())
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    """``dist/relu-studio/`` built from the repository's build.spec with this Python.

    Set RELU_STUDIO_BUNDLE to an already built folder to test that one instead.
    """
    given = os.environ.get("RELU_STUDIO_BUNDLE")
    if given:
        yield Path(given)
        return
    out = tmp_path_factory.mktemp("pyinstaller")
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(out / "dist"), "--workpath", str(out / "build"), str(ROOT / "build.spec")]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        pytest.fail(f"PyInstaller failed ({proc.returncode}) after {took:.0f} s:\n"
                    f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    print(f"\nbuilt {out / 'dist' / 'relu-studio'} in {took:.0f} s")
    shutil.rmtree(out / "build", ignore_errors=True)  # ~1 GB of intermediate files
    yield out / "dist" / "relu-studio"
    if not os.environ.get("RELU_STUDIO_KEEP_BUNDLE"):
        shutil.rmtree(out, ignore_errors=True)
