"""The one-folder executable: build it from build.spec, then run it as a user would.

    python -m pytest tests/packaging -m packaging

Builds ``dist/relu-studio/`` into a temporary folder (about two minutes on two cores, once for all
of tests/packaging), checks what is inside, runs its ``--self-test`` twice (the second start must
reuse the compiled kernels from the per-user cache), as another user whose home cannot be written,
its ``--check-pt``, its ``--startup-report`` with a session to open, and its desktop-entry
installer. test_licenses.py, test_floor.py and test_release.py check the same bundle.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from elf import Elf, is_elf  # noqa: E402

pytestmark = pytest.mark.packaging

APP = "relu-studio"
#: The hard limit (what a release may weigh).
MAX_BUNDLE_MIB = 700
#: What the bundle weighs now (310 MiB as du counts it, built on Debian 12) plus a little: a
#: regression guard, far under the 640 MiB the issue asked for (60 MiB of headroom). It was 669 MiB
#: with torch (353 MiB), which the app no longer needs: it reads and writes .pt files itself.
#: llvmlite (153 MiB), Qt (72 MiB) and OpenBLAS (28 MiB) are 80 % of what is left.
SIZE_GUARD_MIB = 320
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


def apparent_size(folder: Path) -> int:
    """Bytes, as ``du -sb`` counts them (file sizes; symbolic links by their own size)."""
    return sum(os.lstat(os.path.join(d, n)).st_size for d, dirs, files in os.walk(folder) for n in dirs + files)


def test_bundle_is_lean_and_carries_its_resources(bundle):
    exe = bundle / APP
    assert exe.is_file() and os.access(exe, os.X_OK)
    internal = bundle / "_internal"
    size = disk_usage(bundle)
    print(f"\nbundle: {size / 2**20:.0f} MiB on disk (du -sm), {apparent_size(bundle):,} bytes (du -sb)")
    assert size <= MAX_BUNDLE_MIB * 2**20, f"the bundle takes {size / 2**20:.0f} MiB (> {MAX_BUNDLE_MIB} MiB)"
    assert size <= SIZE_GUARD_MIB * 2**20, (
        f"the bundle grew to {size / 2**20:.0f} MiB (guard {SIZE_GUARD_MIB} MiB): what was added?")

    res = internal / "resources"
    for n in ICON_SIZES:
        png = res / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "relu-studio.png"
        assert png.is_file(), png
        assert png.read_bytes()[16:24] == n.to_bytes(4, "big") * 2, f"{png} is not {n}x{n}"
    assert (res / "icons" / "hicolor" / "scalable" / "apps" / "relu-studio.svg").is_file()
    desktop = (res / "relu-studio.desktop").read_text()
    assert "Exec=relu-studio" in desktop and "Icon=relu-studio" in desktop

    # The Help menu's lessons, where core/lessons.py looks for them.
    shipped = sorted(p.name for p in (internal / "relu_studio" / "lessons").glob("*.json"))
    repo = Path(__file__).resolve().parents[2]
    assert shipped and shipped == sorted(p.name for p in (repo / "relu_studio" / "lessons").glob("*.json"))
    # numba needs the kernels' source file to cache them per user.
    assert (internal / "relu_studio" / "core" / "_kernels.py").is_file()
    assert (internal / "relu_studio" / "core" / "_batch_kernels.py").is_file()
    assert (internal / "relu_studio" / "core" / "_optim_kernels.py").is_file()
    # What build.spec leaves out: torch (the app reads and writes .pt files without it) and what
    # only torch needs, Qt's translations, QML and network, the GTK theme's cairo.
    from test_licenses import archive_top_modules

    for gone in ("torch", "torchgen", "functorch", "sympy", "networkx", "PySide6/Qt/translations",
                 "PySide6/Qt/qml", "libQt6Network.so.6", "libcairo.so.2"):
        assert not (internal / gone).exists(), f"{gone} should not be in the bundle"
    assert not {"torch", "torchgen", "functorch", "sympy", "networkx", "jinja2", "fsspec",
                "filelock", "mpmath"} & archive_top_modules(bundle)
    assert not list(internal.glob("libtorch*")) and not list(internal.rglob("libtorch_cpu.so"))


def test_what_can_never_load_or_is_never_used_is_left_out(bundle):
    internal = bundle / "_internal"
    names = {str(p.relative_to(internal)) for p in internal.rglob("*")}
    for pattern in (r"(^|/)libQt6Test\.so", r"(^|/)QtTest\.abi3\.so$",  # QtTest
                    r"(^|/)lib(ssl|crypto)\.so", r"/_ssl\.cpython", r"/_hashlib\.cpython",  # OpenSSL
                    r"/_codecs_(cn|hk|iso2022|jp|kr|tw)\.cpython", r"/_multibytecodec\.cpython",  # CJK codecs
                    r"^pyqtgraph/icons/peegee/"):
        found = sorted(n for n in names if re.search(pattern, n))
        assert not found, f"{pattern}: {found}"
    if shutil.which("ldconfig") and "libtbb.so" not in subprocess.run(["ldconfig", "-p"], capture_output=True,
                                                                        text=True).stdout:
        assert not list(internal.glob("numba/np/ufunc/tbbpool*")), "tbbpool cannot load without libtbb"
    icu = internal / "PySide6" / "Qt" / "lib"
    (data,) = icu.glob("libicudata.so.*")
    assert data.stat().st_size < 12 * 2**20, f"ICU's data is not reduced: {data.stat().st_size / 2**20:.1f} MiB"


def test_every_binary_is_stripped_except_auditwheels(bundle):
    """A symbol table (.symtab) is what strip removes; auditwheel-patched wheels break when stripped."""
    internal = bundle / "_internal"
    patched = {p.name for p in internal.glob("*.libs")} | {p.name[:-len(".libs")] for p in internal.glob("*.libs")}
    unstripped = []
    for path in internal.rglob("*"):
        rel = path.relative_to(internal)
        if path.is_symlink() or not path.is_file() or rel.parts[0] in patched or not is_elf(path):
            continue
        if Elf(path).section(".symtab") is not None:
            unstripped.append(str(rel))
    assert not unstripped, f"not stripped: {unstripped[:10]}"


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
    assert re.search(rf"^\[ok\] training kernel ready: \d+\.\d s; JIT cache: per-user cache folder {re.escape(str(cache))}$",
                     out, re.M), out

    compiled = cache_files(cache)
    assert any(k.endswith(".nbi") for k in compiled) and any(k.endswith(".nbc") for k in compiled), (
        f"no numba cache written to {cache}: {sorted(compiled)}")

    second, t_second = run(bundle / APP, "--self-test", env=env)
    assert second.returncode == 0, f"second self-test failed:\n{second.stdout}\n{second.stderr[-4000:]}"
    assert second.stdout.strip().splitlines()[-1] == "self-test passed"
    assert cache_files(cache) == compiled, "the second start compiled the kernels again"
    print(f"\nself-test: first start {t_first:.1f} s (compiles), second start {t_second:.1f} s (cached)")


def test_pt_files_are_written_read_and_refused_in_the_bundle(bundle, app_env):
    proc, _ = run(bundle / APP, "--check-pt", env=app_env)
    assert proc.returncode == 0, f"--check-pt failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    assert "pt check: ok" in proc.stdout
    assert "non-tensor file refused" in proc.stdout and "torch not imported" in proc.stdout


def test_window_paints_before_torch_loads_with_the_session_given_on_the_command_line(bundle, app_env, tmp_path):
    from relu_studio.core.io.session import Session, save_session

    session = tmp_path / "week 2.relustudio"
    save_session(Session.from_settings(), session)
    proc, _ = run(bundle / APP, "--startup-report", str(session), env=app_env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    m = re.search(r"^startup: first paint (\d+\.\d+) s \(since process start\)$", proc.stdout, re.M)
    assert m, proc.stdout
    assert "torch=no" in proc.stdout, proc.stdout
    assert "startup: window icon sizes: 16, 32, 48, 64, 128, 256" in proc.stdout, proc.stdout
    assert "startup: window title: week 2.relustudio" in proc.stdout, proc.stdout
    print(f"\nbundle: {m.group(0)}")


def test_the_bundle_installs_a_desktop_entry_that_starts_it(bundle, app_env, tmp_path):
    from test_desktop_entry import check_installed_entry

    home = tmp_path / "share"
    proc, _ = run(bundle / APP, "--install-desktop-entry", env={**app_env, "XDG_DATA_HOME": str(home)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_installed_entry(home, want_command=[str((bundle / APP).resolve())])


# ------------------------------------------------------------------ another user, unwritable home
def _as_user_tool() -> list[str] | None:
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=nobody", "--regid=" + _nobody_group(), "--clear-groups", "--"]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "-g", _nobody_group(), "--"]
    return None


def _nobody_group() -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name


@pytest.fixture
def readable_bundle(bundle):
    """The bundle where user nobody can read it (pytest's folders are private to root): a copy made
    of hard links (instant) in a world-readable temporary folder."""
    if os.geteuid() != 0:
        pytest.skip("running the bundle as another user needs root (setpriv/runuser)")
    if _as_user_tool() is None:
        pytest.skip("neither setpriv nor runuser is installed")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("there is no user 'nobody'")
    top = Path(tempfile.mkdtemp(prefix="relu-studio-other-user-"))
    try:
        top.chmod(0o755)

        def link(src, dst):
            try:
                os.link(src, dst)
            except OSError:  # another file system
                shutil.copy2(src, dst)

        shutil.copytree(bundle, top / APP, symlinks=True, copy_function=link)
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_runs_as_another_user_whose_home_cannot_be_written(readable_bundle):
    """As user nobody, HOME read-only: the kernels are cached in a private temporary folder (and
    reused at the next start); when even that is refused, they compile without a cache. Training
    works either way; one line says which choice was made."""
    top = readable_bundle
    home = top / "home"
    home.mkdir(mode=0o555)  # owned by root: nobody cannot create ~/.cache in it
    tmp = top / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(home), "TMPDIR": str(tmp),
           "QT_QPA_PLATFORM": "offscreen"}
    cmd = [*_as_user_tool(), str(top / APP / APP), "--self-test"]

    def self_test():
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"self-test as nobody failed:\n{proc.stdout}\n{proc.stderr[-3000:]}"
        assert proc.stdout.strip().splitlines()[-1] == "self-test passed", proc.stdout
        assert "cannot cache function" not in proc.stdout + proc.stderr
        return proc

    uid = pwd.getpwnam("nobody").pw_uid
    private = tmp / f"relu-studio-{uid}" / "numba"
    first = self_test()
    line = f"JIT cache: temporary folder {private} (the per-user cache folder {home}/.cache/relu-studio/numba is not writable"
    assert re.search(r"^\[ok\] training kernel ready: .*" + re.escape(line), first.stdout, re.M), first.stdout
    logged = [ln for ln in first.stderr.splitlines() if ln.startswith("JIT cache: ")]
    assert len(logged) == 1 and logged[0].startswith(line), first.stderr  # the one log line
    st = os.lstat(private.parent)
    assert st.st_uid == uid and stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
    compiled = cache_files(private)
    assert any(k.endswith(".nbi") for k in compiled), compiled
    self_test()
    assert cache_files(private) == compiled, "the second start compiled the kernels again"

    # Someone else's folder in its place: refused, and the kernels compile without a cache.
    shutil.rmtree(private.parent)
    private.parent.mkdir()
    private.parent.chmod(0o777)
    third = self_test()
    assert "JIT cache: none, the training kernels compile on every start" in third.stdout, third.stdout
    assert f"no private temporary folder: {private.parent} belongs to another user" in third.stdout, third.stdout
    assert not private.exists()
