"""The one-folder executable: build it from build.spec, then run it as a user would.

    python -m pytest tests/packaging -m packaging

Builds ``dist/relu-studio/`` into a temporary folder (about two minutes on two cores), checks what
is inside, runs its ``--self-test`` twice (the second start must reuse the compiled kernels from
the per-user cache), its ``--check-torch`` and its ``--startup-report``.
"""
from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

APP = "relu-studio"
MAX_BUNDLE_MIB = 700
SELF_TEST_CHECKS = ("[ok] window opened", "[ok] trained 20,000 steps", "[ok] ridge fit equals the core's",
                    "[ok] scrubbing shows that snapshot", "[ok] animation export writes a GIF")
ICON_SIZES = (16, 32, 48, 64, 128, 256)


def run(exe: Path, *args, env, timeout=300) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return proc, time.perf_counter() - t0


def disk_usage(folder: Path) -> int:
    """Bytes on disk, as ``du`` counts them (symbolic links not followed)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def cache_files(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_bundle_is_lean_and_carries_its_resources(bundle):
    exe = bundle / APP
    assert exe.is_file() and os.access(exe, os.X_OK)
    internal = bundle / "_internal"
    size = disk_usage(bundle)
    print(f"\nbundle: {size / 2**20:.0f} MiB ({size / 1e6:.0f} MB) on disk")
    assert size <= MAX_BUNDLE_MIB * 2**20, f"the bundle takes {size / 2**20:.0f} MiB (> {MAX_BUNDLE_MIB} MiB)"

    res = internal / "resources"
    for n in ICON_SIZES:
        png = res / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "relu-studio.png"
        assert png.is_file(), png
        assert png.read_bytes()[16:24] == n.to_bytes(4, "big") * 2, f"{png} is not {n}x{n}"
    assert (res / "icons" / "hicolor" / "scalable" / "apps" / "relu-studio.svg").is_file()
    desktop = (res / "relu-studio.desktop").read_text()
    assert "Exec=relu-studio" in desktop and "Icon=relu-studio" in desktop

    # numba needs the kernels' source file to cache them per user.
    assert (internal / "relu_studio" / "core" / "_kernels.py").is_file()
    # What build.spec leaves out.
    for gone in ("torch/include", "torch/test", "torch/share", "torch/_inductor", "torch/_dynamo",
                 "torch/lib/libtorchbind_test.so", "PySide6/Qt/translations", "PySide6/Qt/qml",
                 "libQt6Network.so.6", "libcairo.so.2"):
        assert not (internal / gone).exists(), f"{gone} should not be in the bundle"
    assert not list(internal.glob("torch/lib/*.a"))
    assert list((internal / "torch" / "bin").iterdir()) == [internal / "torch" / "bin" / "torch_shm_manager"]


def test_self_test_passes_and_second_start_reuses_compiled_kernels(bundle, app_env):
    env = app_env
    first, t_first = run(bundle / APP, "--self-test", env=env)
    out = first.stdout
    assert first.returncode == 0, f"self-test failed ({first.returncode}):\n{out}\n{first.stderr[-4000:]}"
    for line in SELF_TEST_CHECKS:
        assert line in out, f"missing {line!r} in:\n{out}"
    assert "[FAIL]" not in out
    assert out.strip().splitlines()[-1] == "self-test passed"

    cache = Path(env["XDG_CACHE_HOME"]) / "relu-studio" / "numba"
    compiled = cache_files(cache)
    assert any(k.endswith(".nbi") for k in compiled) and any(k.endswith(".nbc") for k in compiled), (
        f"no numba cache written to {cache}: {sorted(compiled)}")

    second, t_second = run(bundle / APP, "--self-test", env=env)
    assert second.returncode == 0, f"second self-test failed:\n{second.stdout}\n{second.stderr[-4000:]}"
    assert second.stdout.strip().splitlines()[-1] == "self-test passed"
    assert cache_files(cache) == compiled, "the second start compiled the kernels again"
    print(f"\nself-test: first start {t_first:.1f} s (compiles), second start {t_second:.1f} s (cached)")


def test_torch_saves_and_loads_state_dicts_in_the_bundle(bundle, app_env):
    proc, _ = run(bundle / APP, "--check-torch", env=app_env)
    assert proc.returncode == 0, f"--check-torch failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    assert "torch check: ok" in proc.stdout
    assert "non-tensor file refused" in proc.stdout


def test_window_paints_before_torch_loads(bundle, app_env):
    proc, _ = run(bundle / APP, "--startup-report", env=app_env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    m = re.search(r"^startup: first paint (\d+\.\d+) s \(since process start\)$", proc.stdout, re.M)
    assert m, proc.stdout
    assert "torch=no" in proc.stdout, proc.stdout
    assert "startup: window icon sizes: 16, 32, 48, 64, 128, 256" in proc.stdout, proc.stdout
    print(f"\nbundle: {m.group(0)}")
