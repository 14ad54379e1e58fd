"""``relu-studio --install-desktop-entry``: put ReLU Studio in the application menu (Linux).

Writes, under ``$XDG_DATA_HOME`` (default ``~/.local/share``):

- ``applications/relu-studio.desktop``: resources/relu-studio.desktop with ``Exec``, ``TryExec``
  and ``Icon`` set to full paths (this executable, the installed 256 px icon), so the entry works
  without ``relu-studio`` on the ``PATH``; ``Exec`` ends in ``%f`` so a file manager can open a
  session with it;
- ``icons/hicolor/<size>/apps/relu-studio.png`` and ``.../scalable/apps/relu-studio.svg``;
- ``mime/packages/relu-studio.xml``: the ``application/x-relustudio`` type of ``*.relustudio``
  files (resources/relu-studio-mime.xml),

then refreshes the MIME and desktop databases when ``update-mime-database`` and
``update-desktop-database`` are installed. ``--uninstall-desktop-entry`` removes the same files.
No Qt; nothing outside ``$XDG_DATA_HOME`` is touched.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

APP = "relu-studio"
MIME_TYPE = "application/x-relustudio"
ICON_SIZES = (16, 32, 48, 64, 128, 256)
#: The icon the entry's ``Icon=`` names (a PNG: every menu implementation reads those).
MENU_ICON_SIZE = 256


def data_home(environ=None) -> Path:
    environ = os.environ if environ is None else environ
    value = environ.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):  # the spec: a relative value is invalid and ignored
        return Path(value)
    return Path(environ.get("HOME") or os.path.expanduser("~")) / ".local" / "share"


def _resources() -> Path:
    """resources/ in the bundle or next to the package (source checkout, editable install), else
    ``<prefix>/share/relu-studio`` where a wheel install puts them (pyproject's data-files): the
    environment's prefix, or the user's base for ``pip install --user``."""
    import site

    from .resources import resource_path

    candidates = [Path(resource_path())]
    for base in (sys.prefix, sysconfig.get_path("data"), getattr(site, "USER_BASE", None)):
        if base:
            candidates.append(Path(base) / "share" / APP)
    for folder in candidates:
        if (folder / "relu-studio.desktop").is_file():
            return folder
    return candidates[0]


def launcher() -> list[str]:
    """The command that starts this installation of ReLU Studio, as absolute paths."""
    if getattr(sys, "frozen", False):  # the bundle
        return [os.path.abspath(sys.executable)]
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == APP and argv0.is_file():  # the command the user just ran
        return [str(argv0.resolve())]
    for scripts in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = Path(scripts) / APP
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate)]
    return [os.path.abspath(sys.executable), "-m", "relu_studio"]


def _escape_value(text: str) -> str:
    r"""A desktop-entry string value: backslash, newline, tab and CR escaped (\\, \n, \t, \r)."""
    return (text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r"))


def _quote_arg(arg: str) -> str:
    """One argument of ``Exec``: double-quoted when it holds a reserved character, with ``"``,
    backquote, ``$`` and backslash escaped inside the quotes; ``%`` doubled (field codes)."""
    arg = arg.replace("%", "%%")
    if arg and not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    return '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'


def exec_line(command: list[str]) -> str:
    """The ``Exec`` value (before the string-level escaping) for ``command`` plus ``%f``."""
    return " ".join(_quote_arg(a) for a in command) + " %f"


def desktop_entry(command: list[str], icon: Path, template: str) -> str:
    """The template with Exec/TryExec/Icon replaced by full paths."""
    values = {"Exec": exec_line(command), "TryExec": command[0], "Icon": str(icon)}
    out, seen, group = [], set(), None
    for line in template.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            group = stripped
        key = line.split("=", 1)[0].strip() if "=" in line else None
        if group == "[Desktop Entry]" and key in values:
            out.append(f"{key}={_escape_value(values[key])}")
            seen.add(key)
        else:
            out.append(line)
    missing = [k for k in values if k not in seen]
    if missing:
        raise ValueError(f"the desktop-entry template has no {', '.join(missing)} key")
    return "\n".join(out) + "\n"


def _check_mime_xml(path: Path) -> None:
    import xml.etree.ElementTree as ET

    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{path} is not valid XML: {exc}") from None
    types = [t.get("type") for t in root.iter(f"{ns}mime-type")]
    if root.tag != f"{ns}mime-info" or types != [MIME_TYPE]:
        raise ValueError(f"{path} does not define {MIME_TYPE}")


def _targets(home: Path) -> dict[str, Path]:
    icons = home / "icons" / "hicolor"
    out = {"desktop": home / "applications" / f"{APP}.desktop",
           "mime": home / "mime" / "packages" / f"{APP}.xml",
           "svg": icons / "scalable" / "apps" / f"{APP}.svg"}
    for n in ICON_SIZES:
        out[f"png{n}"] = icons / f"{n}x{n}" / "apps" / f"{APP}.png"
    return out


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _refresh(home: Path, say) -> None:
    for tool, folder in (("update-mime-database", home / "mime"),
                         ("update-desktop-database", home / "applications")):
        if not folder.is_dir():
            continue
        exe = shutil.which(tool)
        if exe is None:
            say(f"note: {tool} is not installed; the desktop picks the change up at its next scan")
            continue
        proc = subprocess.run([exe, str(folder)], capture_output=True, text=True)
        if proc.returncode != 0:
            say(f"note: {tool} {folder} failed: {(proc.stderr or proc.stdout).strip()}")


def install(home: Path | None = None, command: list[str] | None = None, say=print) -> dict[str, Path]:
    """Write the entry, icons and MIME type under ``home`` (``$XDG_DATA_HOME``); returns the files."""
    home = data_home() if home is None else Path(home)
    command = launcher() if command is None else command
    res = _resources()
    targets = _targets(home)
    sources = {"svg": res / "icons" / "hicolor" / "scalable" / "apps" / f"{APP}.svg",
               "mime": res / "relu-studio-mime.xml"}
    for n in ICON_SIZES:
        sources[f"png{n}"] = res / "icons" / "hicolor" / f"{n}x{n}" / "apps" / f"{APP}.png"
    missing = [str(p) for p in [*sources.values(), res / "relu-studio.desktop"] if not p.is_file()]
    if missing:
        raise FileNotFoundError("ReLU Studio's resources are missing: " + ", ".join(missing))
    _check_mime_xml(sources["mime"])  # update-mime-database skips a broken file and still exits 0
    for name, src in sources.items():
        _write(targets[name], src.read_bytes())
    template = (res / "relu-studio.desktop").read_text(encoding="utf-8")
    entry = desktop_entry(command, targets[f"png{MENU_ICON_SIZE}"], template)
    _write(targets["desktop"], entry.encode("utf-8"))
    _refresh(home, say)
    say(f"Installed the ReLU Studio menu entry: {targets['desktop']}")
    say(f"  starts: {' '.join(command)}")
    say(f"  opens *.relustudio files ({MIME_TYPE}: {targets['mime']})")
    return targets


def uninstall(home: Path | None = None, say=print) -> list[Path]:
    """Remove what :func:`install` wrote; returns the files removed."""
    home = data_home() if home is None else Path(home)
    removed = []
    for path in _targets(home).values():
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    _refresh(home, say)
    say(f"Removed {len(removed)} files of the ReLU Studio menu entry from {home}")
    return removed
