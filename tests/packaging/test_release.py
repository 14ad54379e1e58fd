"""scripts/release.sh packs the bundle built once for tests/packaging (``--from``); the archive unpacks
to the same tree, symbolic links included, and the unpacked copy passes its self-test. Without
``strip`` neither release.sh nor build.spec goes ahead."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from relu_studio import __version__

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "scripts" / "release.sh"


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> "link:<target>", "dir" or "file:<size>"."""
    out = {}
    for dirpath, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(dirpath) / name
            rel = str(p.relative_to(folder))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = f"file:{p.stat().st_size}"
    return out


def path_without(tool: str, tmp_path: Path) -> str:
    """A PATH with every command of /usr/bin and /bin but ``tool``."""
    bin_ = tmp_path / f"bin-without-{tool}"
    bin_.mkdir()
    for d in ("/usr/local/bin", "/usr/bin", "/bin"):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if name != tool and not (bin_ / name).exists():
                (bin_ / name).symlink_to(os.path.join(d, name))
    return str(bin_)


def test_release_archive_unpacks_to_the_bundle_and_self_tests(bundle, app_env, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "ZSTD_LEVEL": "3"}  # a release uses 19; the archive's shape is the same
    proc = subprocess.run(["bash", str(RELEASE), "--from", str(bundle), "--out", str(out), "--no-self-test"],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    archive = out / f"relu-studio-{__version__}-linux-x86_64.tar.zst"
    assert archive.is_file(), sorted(os.listdir(out))
    print("\n" + proc.stdout.strip().splitlines()[-1])
    digest, name = (out / (archive.name + ".sha256")).read_text().split()
    assert name == archive.name and digest == hashlib.sha256(archive.read_bytes()).hexdigest()

    names = subprocess.run(["tar", "--zstd", "-tf", str(archive)], capture_output=True, text=True, check=True).stdout
    assert {n.split("/")[0] for n in names.splitlines()} == {f"relu-studio-{__version__}"}
    listing = subprocess.run(["tar", "--zstd", "-tvf", str(archive)], capture_output=True, text=True, check=True).stdout
    assert any(line.startswith("l") for line in listing.splitlines()), "no symbolic links in the archive"
    assert all(" 0/0 " in line for line in listing.splitlines()), "files not owned by root in the archive"

    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "--zstd", "-xf", str(archive), "-C", str(unpacked)], check=True)
    folder = unpacked / f"relu-studio-{__version__}"
    assert tree(folder) == tree(bundle), "the unpacked archive differs from the bundle"
    for paper in ("README.txt", "VERSION", "LICENSE", "THIRD-PARTY-NOTICES.txt", "licenses/index.json"):
        assert (folder / paper).is_file(), paper

    run = subprocess.run([str(folder / "relu-studio"), "--self-test"], env=app_env, capture_output=True,
                         text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1] == "self-test passed"


def test_release_refuses_to_run_without_strip(tmp_path):
    env = {"PATH": path_without("strip", tmp_path), "HOME": str(tmp_path)}
    proc = subprocess.run(["/bin/bash", str(RELEASE), "--out", str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "'strip' is missing (binutils)" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_release_refuses_a_folder_built_as_another_version(bundle, tmp_path):
    fake = tmp_path / "relu-studio"
    fake.mkdir()
    for paper in ("README.txt", "LICENSE", "THIRD-PARTY-NOTICES.txt"):
        shutil.copy(bundle / paper, fake / paper)
    (fake / "licenses").mkdir()
    shutil.copy(bundle / "licenses" / "index.json", fake / "licenses" / "index.json")
    (fake / "relu-studio").symlink_to(bundle / "relu-studio")
    (fake / "VERSION").write_text("version=0.0.0-old\ncommit=unknown\n")
    proc = subprocess.run(["bash", str(RELEASE), "--from", str(fake), "--out", str(tmp_path / "out"), "--no-self-test"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert f"was built as version '0.0.0-old', but relu_studio/core/version.py says {__version__}" in proc.stderr


def test_build_spec_stops_at_once_without_strip(tmp_path):
    env = {**os.environ, "PATH": path_without("strip", tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(tmp_path / "dist"),
                           "--workpath", str(tmp_path / "build"), str(ROOT / "build.spec")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "build.spec: missing 'strip' (binutils)" in proc.stdout + proc.stderr, proc.stderr[-3000:]
    assert not (tmp_path / "dist" / "relu-studio").exists()
