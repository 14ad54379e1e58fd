"""``relu-studio --install-desktop-entry`` from source (quick, no bundle; test_bundle.py runs the
bundle's): a valid menu entry with full paths, the icons, and the .relustudio MIME type."""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from relu_studio import desktop_entry as de

ROOT = Path(__file__).resolve().parents[2]
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def read_entry(path: Path) -> dict[str, str]:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(path, encoding="utf-8")
    return dict(entry["Desktop Entry"])


def unescape_value(value: str) -> str:
    """A desktop-entry string value, unescaped (the spec's \\s \\n \\t \\r \\\\)."""
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_exec(value: str) -> list[str]:
    """``Exec`` split into arguments as the Desktop Entry Specification says a launcher must."""
    text, args, cur, i, quoted, any_ = unescape_value(value), [], [], 0, False, False
    while i < len(text):
        c = text[i]
        if quoted:
            if c == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
                cur.append(text[i + 1])
                i += 1
            elif c == '"':
                quoted = False
            else:
                cur.append(c)
        elif c == '"':
            quoted, any_ = True, True
        elif c == " ":
            if cur or any_:
                args.append("".join(cur))
            cur, any_ = [], False
        else:
            cur.append(c)
        i += 1
    assert not quoted, f"unterminated quote in {value!r}"
    if cur or any_:
        args.append("".join(cur))
    return [a.replace("%%", "%") if a != "%f" else a for a in args]


def install_from_source(tmp_path) -> tuple[Path, subprocess.CompletedProcess]:
    home = tmp_path / "data home"  # a space, as in many real home folders
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["XDG_DATA_HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-m", "relu_studio", "--install-desktop-entry"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return home, proc


def check_installed_entry(home: Path, want_command: list[str] | None = None) -> dict[str, str]:
    """What every installed entry must satisfy (also used by test_bundle.py)."""
    path = home / "applications" / "relu-studio.desktop"
    d = read_entry(path)
    argv = split_exec(d["Exec"])
    assert argv[-1] == "%f", d["Exec"]
    program = Path(argv[0])
    assert program.is_absolute() and program.is_file() and os.access(program, os.X_OK), d["Exec"]
    if want_command is not None:
        assert argv[:-1] == want_command, (argv, want_command)
    try_exec = Path(unescape_value(d["TryExec"]))
    assert try_exec == program, "TryExec must name the program Exec starts (GLib drops the entry otherwise)"
    icon = Path(unescape_value(d["Icon"]))
    assert icon.is_absolute() and icon.is_relative_to(home), d["Icon"]
    assert icon.read_bytes()[16:24] == (256).to_bytes(4, "big") * 2, f"{icon} is not a 256x256 PNG"
    assert "application/x-relustudio" in d["MimeType"].split(";")
    assert d["Type"] == "Application" and d["Name"] == "ReLU Studio" and d["Terminal"] == "false"
    validate = shutil.which("desktop-file-validate")
    if validate:
        proc = subprocess.run([validate, str(path)], capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr
    for n in de.ICON_SIZES:
        png = home / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "relu-studio.png"
        assert png.read_bytes()[16:24] == n.to_bytes(4, "big") * 2, png
    assert (home / "icons" / "hicolor" / "scalable" / "apps" / "relu-studio.svg").is_file()
    mime = ET.parse(home / "mime" / "packages" / "relu-studio.xml").getroot()
    (mt,) = mime.iter(f"{MIME_NS}mime-type")
    assert mt.get("type") == "application/x-relustudio"
    assert [g.get("pattern") for g in mt.iter(f"{MIME_NS}glob")] == ["*.relustudio"]
    if shutil.which("update-mime-database"):
        globs = (home / "mime" / "globs2").read_text()
        assert "application/x-relustudio:*.relustudio" in globs, globs
    return d


def test_install_writes_a_valid_entry_with_full_paths_icons_and_the_mime_type(tmp_path):
    home, proc = install_from_source(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Installed the ReLU Studio menu entry: {home / 'applications' / 'relu-studio.desktop'}" in proc.stdout
    d = check_installed_entry(home)
    # From a virtual environment: its relu-studio launcher, not a bare name that needs PATH.
    assert Path(split_exec(d["Exec"])[0]) == Path(sys.executable).parent / "relu-studio"


@pytest.mark.skipif(shutil.which("gio") is None, reason="gio (GLib) is not installed")
def test_glib_accepts_the_entry_and_makes_it_the_default_for_sessions(tmp_path):
    """GLib-based menus drop an entry whose TryExec is not found; gio lists only entries it loaded."""
    home, proc = install_from_source(tmp_path)
    assert proc.returncode == 0, proc.stderr
    env = {**os.environ, "XDG_DATA_HOME": str(home), "XDG_DATA_DIRS": "/usr/share"}
    out = subprocess.run(["gio", "mime", "application/x-relustudio"], env=env, capture_output=True, text=True)
    assert 'Default application for “application/x-relustudio”: relu-studio.desktop' in out.stdout, out
    session = tmp_path / "lesson one.relustudio"
    session.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip, as a session file is a zip
    info = subprocess.run(["gio", "info", "-a", "standard::content-type", str(session)], env=env,
                          capture_output=True, text=True)
    assert "standard::content-type: application/x-relustudio" in info.stdout, info


def test_uninstall_removes_what_install_wrote(tmp_path):
    home = tmp_path / "share"
    written = de.install(home, command=["/opt/relu studio/relu-studio"], say=lambda _m: None)
    assert all(p.is_file() for p in written.values())
    removed = de.uninstall(home, say=lambda _m: None)
    assert sorted(removed) == sorted(written.values())
    assert not any(p.exists() for p in written.values())


@pytest.mark.parametrize("command", [
    ["/opt/relu-studio/relu-studio"],
    ["/home/ana maria/Apps/relu studio/relu-studio"],
    ['/tmp/we"ird/$HOME/`x`/back\\slash/100%/relu-studio'],
    ["/usr/bin/python3", "-m", "relu_studio"],
])
def test_exec_survives_spaces_quotes_dollars_backslashes_and_percent(tmp_path, command):
    template = (ROOT / "resources" / "relu-studio.desktop").read_text()
    text = de.desktop_entry(command, tmp_path / "icon.png", template)
    path = tmp_path / "relu-studio.desktop"
    path.write_text(text)
    d = read_entry(path)
    assert split_exec(d["Exec"]) == [*command, "%f"]
    assert unescape_value(d["TryExec"]) == command[0]
    validate = shutil.which("desktop-file-validate")
    if validate:
        (tmp_path / "icon.png").write_bytes(b"")
        proc = subprocess.run([validate, str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_xdg_data_home_is_respected_and_a_relative_one_ignored(tmp_path):
    assert de.data_home({"XDG_DATA_HOME": str(tmp_path), "HOME": "/h"}) == tmp_path
    assert de.data_home({"XDG_DATA_HOME": "relative/x", "HOME": "/h"}) == Path("/h/.local/share")
    assert de.data_home({"HOME": "/h"}) == Path("/h/.local/share")


def test_a_broken_mime_file_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    res = tmp_path / "res"
    shutil.copytree(ROOT / "resources", res, ignore=shutil.ignore_patterns("*.png"), dirs_exist_ok=True)
    shutil.copytree(ROOT / "resources" / "icons", res / "icons", dirs_exist_ok=True)
    (res / "relu-studio-mime.xml").write_text("<!-- a -- comment --><mime-info/>")
    monkeypatch.setattr(de, "_resources", lambda: res)
    with pytest.raises(ValueError, match="not valid XML"):
        de.install(tmp_path / "share", command=["/x/relu-studio"], say=lambda _m: None)
    assert not (tmp_path / "share").exists()


def test_install_works_from_a_wheel_install(tmp_path):
    """pip install (not editable) puts the icons, desktop file and MIME type under
    <prefix>/share/relu-studio (pyproject's data-files); the installer finds them there."""
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(wheels), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("relu_studio-*.whl")
    prefix = tmp_path / "prefix"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    # --python: pip works on that environment only (with --prefix it would uninstall this one's copy).
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(prefix / "bin" / "python"), "install",
                                "-q", "--no-deps", "--ignore-installed", str(wheel)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert (prefix / "share" / "relu-studio" / "icons" / "hicolor" / "256x256" / "apps" / "relu-studio.png").is_file()
    import numpy

    deps = os.path.dirname(os.path.dirname(numpy.__file__))  # this environment's site-packages, for numpy & co
    site_packages = next(prefix.glob("lib/python*/site-packages"))
    home = tmp_path / "share"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(XDG_DATA_HOME=str(home), PYTHONPATH=os.pathsep.join([str(site_packages), deps]))
    proc = subprocess.run([str(prefix / "bin" / "python"), "-c",
                           "import relu_studio, sys; assert relu_studio.__file__.startswith(sys.prefix), relu_studio.__file__;"
                           "from relu_studio.app import main; sys.exit(main(['--install-desktop-entry']))"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_installed_entry(home, want_command=[str(prefix / "bin" / "relu-studio")])
