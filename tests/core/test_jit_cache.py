"""The JIT cache folder is chosen before the kernels are compiled, and training works whatever it is.

Unwritable folders are made with paths that cannot be created by anyone (below a regular file),
not with file modes, so these tests mean the same as root and as a user.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from relu_studio.core import jit_cache
from relu_studio.core.jit_cache import ENV, NONE, TEMP, USER, choose_cache_folder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def blocked(tmp_path) -> Path:
    """A regular file: no folder can be created below it, whoever asks."""
    f = tmp_path / "a-file"
    f.write_text("not a folder")
    return f


def user_cache_at(monkeypatch, folder: Path):
    """platformdirs' per-user cache folder is ``$XDG_CACHE_HOME`` (else ``$HOME/.cache``)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.setenv("HOME", str(folder))


def test_the_per_user_cache_folder_comes_first(tmp_path, monkeypatch):
    user_cache_at(monkeypatch, tmp_path / "cache")
    choice = choose_cache_folder({}, temp_root=tmp_path / "tmp")
    assert choice.kind == USER and choice.enabled and choice.skipped == ()
    assert choice.folder == tmp_path / "cache" / "relu-studio" / "numba" and choice.folder.is_dir()
    assert choice.describe() == f"JIT cache: per-user cache folder {choice.folder}"


def test_numba_cache_dir_wins_when_writable_and_is_skipped_with_the_reason_when_not(tmp_path, monkeypatch, blocked):
    user_cache_at(monkeypatch, tmp_path / "cache")
    given = tmp_path / "mine"
    choice = choose_cache_folder({"NUMBA_CACHE_DIR": str(given)}, temp_root=tmp_path / "tmp")
    assert choice.kind == ENV and choice.folder == given and given.is_dir()

    choice = choose_cache_folder({"NUMBA_CACHE_DIR": str(blocked / "x")}, temp_root=tmp_path / "tmp")
    assert choice.kind == USER
    assert len(choice.skipped) == 1 and choice.skipped[0].startswith(f"NUMBA_CACHE_DIR={blocked / 'x'} is not writable")


def test_an_unwritable_user_cache_falls_back_to_a_private_temporary_folder(tmp_path, monkeypatch, blocked):
    user_cache_at(monkeypatch, blocked)
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    choice = choose_cache_folder({}, temp_root=temp_root)
    assert choice.kind == TEMP and choice.enabled
    assert choice.folder.parent == temp_root / f"relu-studio-{os.getuid()}" and choice.folder.is_dir()
    base = os.lstat(choice.folder.parent)
    assert base.st_uid == os.getuid() and stat.S_IMODE(base.st_mode) & 0o077 == 0, oct(base.st_mode)
    assert "the per-user cache folder" in choice.describe() and "is not writable" in choice.describe()
    # The next start finds the same folder (so the kernels compiled now are reused).
    assert choose_cache_folder({}, temp_root=temp_root).folder == choice.folder


@pytest.mark.parametrize("plant", ["writable by others", "a symlink", "a file"])
def test_a_temporary_folder_that_others_could_have_planted_is_refused(tmp_path, monkeypatch, blocked, plant):
    """numba's cache index is a pickle: never load one from a folder another user can write."""
    user_cache_at(monkeypatch, blocked)
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    base = temp_root / f"relu-studio-{os.getuid()}"
    if plant == "writable by others":
        base.mkdir()
        base.chmod(0o777)
    elif plant == "a symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        base.symlink_to(tmp_path / "elsewhere")
    else:
        base.write_text("")
    choice = choose_cache_folder({}, temp_root=temp_root)
    assert choice.kind == NONE and not choice.enabled and choice.folder is None
    assert choice.describe().startswith("JIT cache: none, the training kernels compile on every start (")
    assert "no private temporary folder" in choice.skipped[-1]


def _run(code: str, extra_env: dict, *args) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}
    e.update(extra_env)
    return subprocess.run([sys.executable, *(["-c", code] if code else []), *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)


TRAIN = """
import os
import relu_studio as rs
from relu_studio.core import jit_cache
run = rs.train(rs.init_network(4, 0), rs.make_dataset("abs", n=20, noise=0.0), steps=200, save_every=100)
print(jit_cache.current().kind, "|", os.environ.get("NUMBA_CACHE_DIR"), "|", run.steps.tolist())
"""


@pytest.mark.parametrize("temp", ["private", "refused"])
def test_training_works_when_the_user_cache_cannot_be_written(tmp_path, blocked, temp):
    """The issue's failure ("cannot cache function 'mse': no locator available"), from source: the
    kernels compile with the fallback, one log line says which, and nothing leaks into os.environ."""
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    if temp == "refused":
        (temp_root / f"relu-studio-{os.getuid()}").write_text("")
    proc = _run(TRAIN, {"XDG_CACHE_HOME": str(blocked), "HOME": str(blocked), "TMPDIR": str(temp_root)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    kind = TEMP if temp == "private" else NONE
    assert proc.stdout.strip() == f"{kind} | None | [1, 100, 200]", proc.stdout
    logged = [line for line in proc.stderr.splitlines() if line.startswith("JIT cache: ")]
    assert len(logged) == 1, proc.stderr
    if temp == "private":
        cached = list((temp_root / f"relu-studio-{os.getuid()}" / "numba").rglob("*.nbi"))
        # A ReLU run compiles the notebook's kernel only: sgd_relu_mse_chunk, mse, and the
        # snapshots' network_mse with its activate_into (not sgd_chunk's general steps)
        assert sorted(p.name.split("-")[0] for p in cached) == [
            "_kernels.activate_into", "_kernels.mse", "_kernels.network_mse",
            "_kernels.sgd_relu_mse_chunk"], cached


def test_the_headless_command_runs_when_the_user_cache_cannot_be_written(tmp_path, blocked):
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    (temp_root / f"relu-studio-{os.getuid()}").write_text("")  # and no temporary folder either
    proc = _run("", {"XDG_CACHE_HOME": str(blocked), "HOME": str(blocked), "TMPDIR": str(temp_root)},
                "-m", "relu_studio", "run", "--widths", "3", "--modes", "all", "--steps", "300",
                "--save-every", "100", "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "JIT cache: none, the training kernels compile on every start" in proc.stderr


def test_the_kernels_are_cached_where_the_recorded_choice_says():
    from relu_studio.core import _batch_kernels, _kernels, _optim_kernels

    choice = _kernels.CACHE
    assert jit_cache.current() is choice
    for kernel in (_kernels.mse, _kernels.sgd_chunk, _batch_kernels.sgd_lanes,
                   _batch_kernels.draw_minibatches, _optim_kernels.optim_chunk):
        path = kernel._cache.cache_path
        if choice.enabled:
            assert Path(path).is_relative_to(choice.folder), (path, choice)
        else:
            assert path is None, path


def _listing(cache: Path) -> dict:
    """Every file in the cache folder and when it was last written."""
    return {p.name: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}


PREPARE = """
from relu_studio.core import kernel_preparation
kernel_preparation.KERNELS.wait_all()
print("error:", kernel_preparation.KERNELS.error)
"""


def test_the_prepared_kernels_include_the_batched_ones_and_a_second_start_loads_them(tmp_path):
    """The studio prepares every kernel on its first start (its own, then the grid's batched
    ones), all of them land in the cache, and the next start compiles nothing."""
    cache = tmp_path / "cache"

    first = _run(PREPARE, {"NUMBA_CACHE_DIR": str(cache)})
    assert first.returncode == 0 and "error: None" in first.stdout, first.stderr[-3000:]
    written = _listing(cache)
    for kernel in ("_kernels.sgd_chunk", "_kernels.mse", "_batch_kernels.sgd_lanes",
                   "_batch_kernels.draw_minibatches"):
        assert any(name.startswith(kernel + "-") and name.endswith(".nbc") for name in written), (
            kernel, sorted(written))
    second = _run(PREPARE, {"NUMBA_CACHE_DIR": str(cache)})
    assert second.returncode == 0 and "error: None" in second.stdout, second.stderr[-3000:]
    assert _listing(cache) == written, "the second start compiled kernels again"


OPTIM = """
import relu_studio as rs
from relu_studio.core import kernel_preparation
kernel_preparation.KERNELS.wait_all()
import sys
print("optim loaded before use:", "relu_studio.core._optim_kernels" in sys.modules)
rs.train(rs.init_network(3, 0), rs.make_dataset("abs", n=10, noise=0.0), steps=3,
         optimizer=rs.Optimizer("adam"))
"""


def test_the_optimizer_kernel_compiles_on_first_use_only_and_is_cached(tmp_path):
    """The studio's start-up preparation leaves the optimizers' kernel alone (start-up is not
    slower); the first run with an optimizer compiles it into the cache, the next start loads it."""
    cache = tmp_path / "cache"

    first = _run(OPTIM, {"NUMBA_CACHE_DIR": str(cache)})
    assert first.returncode == 0 and "optim loaded before use: False" in first.stdout, first.stderr[-3000:]
    written = _listing(cache)
    # (a ReLU run with MSE: the optimizers' kernel of the notebook's activation and loss)
    assert any(n.startswith("_optim_kernels.optim_relu_mse_chunk-") and n.endswith(".nbc")
               for n in written), sorted(written)
    second = _run(OPTIM, {"NUMBA_CACHE_DIR": str(cache)})
    assert second.returncode == 0, second.stderr[-3000:]
    assert _listing(cache) == written, "the second start compiled the optimizer kernel again"


def test_the_studio_kernel_is_ready_before_the_grids_are_compiled():
    """The studio can train as soon as its own kernel is ready; the grid's batched kernels
    compile after it on the same thread, and a failure there is not the studio's."""
    import threading

    from relu_studio.core.kernel_preparation import KernelPreparation

    gate = threading.Event()
    calls = []

    def then():
        calls.append("then")
        gate.wait(30)
        raise RuntimeError("no batched kernel")

    prep = KernelPreparation(prepare=lambda: calls.append("prepare"), then=then)
    assert prep.wait(30) and prep.error is None
    assert not prep.wait_all(0.2) and prep.finish(0.01) is False  # the grid's part still runs
    gate.set()
    assert prep.wait_all(30) and prep.finish(30)
    assert calls == ["prepare", "then"] and prep.error is None


def test_kernels_compiled_from_other_sources_are_never_found(tmp_path):
    """numba checks a cached kernel against its own module only, and the batched and optimizer
    kernels use ``_kernels``' relu and mse: the cache subfolder is named by a hash of all three
    modules' sources, so an edit or an upgrade of any of them compiles afresh."""
    core = Path(jit_cache.__file__).parent
    for name in jit_cache.KERNEL_MODULES:
        (tmp_path / name).write_bytes((core / name).read_bytes())
    here = jit_cache.kernel_fingerprint()
    assert jit_cache.kernel_fingerprint(tmp_path) == here and len(here) == 16
    for name in jit_cache.KERNEL_MODULES:
        src = tmp_path / name
        original = src.read_bytes()
        src.write_bytes(original.replace(b"def relu", b"def relu ", 1) + b"\n# edited\n")
        assert jit_cache.kernel_fingerprint(tmp_path) != here, name
        src.write_bytes(original)
    assert jit_cache.kernel_fingerprint(tmp_path) == here


def test_the_app_s_cache_drops_kernels_unused_for_weeks_a_given_folder_is_left_alone(tmp_path):
    week = 7 * 24 * 3600
    for kind in (USER, ENV):
        folder = tmp_path / kind.replace(" ", "-")
        stale, recent, other = folder / "0123456789abcdef", folder / "1123456789abcdef", folder / "notes"
        for d in (stale, recent, other):
            d.mkdir(parents=True)
            (d / "f").write_text("x")
        now = time.time()
        old = now - jit_cache.STALE_AFTER_S - week
        for d in (stale, other):
            os.utime(d, (old, old))
        os.utime(recent, (now - week, now - week))  # another version's process, used last week
        sub = jit_cache.kernels_folder(jit_cache.CacheChoice(kind, folder), "fedcba9876543210", now=now)
        assert sub == folder / "fedcba9876543210" and sub.is_dir()
        assert other.is_dir()  # not ours: kept
        assert recent.is_dir()  # maybe in use by a running older/newer version: kept
        assert stale.is_dir() == (kind == ENV)  # unused old kernels go, except from a folder the user gave
        assert now - sub.stat().st_mtime < 60  # ours is marked used
    assert jit_cache.kernels_folder(jit_cache.CacheChoice(NONE, None)) is None


def test_compiled_kernels_go_to_the_fingerprint_subfolder(tmp_path):
    code = ("from relu_studio.core import jit_cache; c = jit_cache.configure_numba_cache(); "
            "from numba.core import config; print(c.folder, '|', config.CACHE_DIR)")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "given")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120).stdout.strip()
    folder, numba_dir = (s.strip() for s in out.split("|"))
    assert folder == str(tmp_path / "given")
    assert numba_dir == str(tmp_path / "given" / jit_cache.kernel_fingerprint())
