"""Can Qt open a window here? Checked before the QApplication exists.

On Linux, Qt aborts the process (SIGABRT) when it has no display to connect to, or when its X11
platform plugin cannot load a system library, and its message often names the wrong library. This
module finds out first and says exactly what is wrong and which packages to install, so that
``relu-studio`` can exit with status 2 and a clear message instead. No Qt import: the plugin's
libraries are read with ``ldd`` (or, without ldd, by loading the plugin with ``ctypes``).
"""
from __future__ import annotations

import ctypes
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

__all__ = ["check_display", "missing_libraries", "platform_plugin", "has_display",
           "PACKAGES", "install_hint"]

#: Shared libraries Qt's X11 and Wayland plugins load, and the packages that provide them:
#: soname -> (Debian/Ubuntu package, Fedora package).
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libXau.so.6": ("libxau6", "libXau"),
    "libXdmcp.so.6": ("libxdmcp6", "libXdmcp"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libGLdispatch.so.0": ("libglvnd0", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)
_X_DISPLAY = re.compile(r"^(?P<host>[^:/]*)(?:/unix)?:(?P<number>\d+)(?:\.\d+)?$")


def platform_plugin(name: str) -> Path | None:
    """Qt's platform plugin ``libq<name>.so`` of the PySide6 this program uses (None if absent)."""
    roots = []
    meipass = getattr(sys, "_MEIPASS", None)  # the PyInstaller bundle
    if meipass:
        roots.append(Path(meipass) / "PySide6")
    try:
        import importlib.util

        spec = importlib.util.find_spec("PySide6")
        roots += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    except (ImportError, ValueError):
        pass
    for root in roots:
        plugin = root / "Qt" / "plugins" / "platforms" / f"libq{name}.so"
        if plugin.is_file():
            return plugin
    return None


def _bundled(soname: str, plugin: Path) -> bool:
    """True if ``soname`` ships with PySide6 or the bundle itself (then the loader finds it)."""
    roots = [plugin.parents[3]]  # .../PySide6/Qt/plugins/platforms/libq*.so -> .../PySide6
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        roots.append(Path(meipass))
    return any(next(iter(r.rglob(soname)), None) is not None for r in roots)


def missing_libraries(plugin: Path, run=subprocess.run) -> list[str] | None:
    """The shared libraries ``plugin`` needs that the system's loader cannot find.

    Read from ``ldd`` (all of them at once); without ``ldd``, loading the plugin with ``ctypes``
    names the first one. Returns None if neither can tell.
    """
    try:
        out = run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        out = None
    if out is not None and out.returncode == 0:
        found = dict.fromkeys(_NOT_FOUND.findall(out.stdout))  # ordered, no duplicates
        return [lib for lib in found if not _bundled(lib, plugin)]
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        first = re.match(r"^(\S+?\.so[.\d]*): cannot open shared object file", str(exc))
        return [first.group(1)] if first else None
    return []


def install_hint(libraries) -> str:
    """The commands that install ``libraries`` on Debian/Ubuntu and on Fedora."""
    known = [PACKAGES[lib] for lib in libraries if lib in PACKAGES]
    unknown = [lib for lib in libraries if lib not in PACKAGES]
    lines = []
    if known:
        deb = " ".join(dict.fromkeys(d for d, _f in known))
        rpm = " ".join(dict.fromkeys(f for _d, f in known))
        lines += [f"  Debian/Ubuntu:  sudo apt install {deb}", f"  Fedora:         sudo dnf install {rpm}"]
    if unknown:
        lines.append(f"  and the packages that provide {', '.join(unknown)} "
                     "(apt-file search <library> / dnf provides '*/<library>')")
    return "\n".join(lines)


def has_display(environ) -> bool:
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def _x_server_reachable(display: str) -> bool | None:
    """Whether the X server of ``display`` accepts a connection (None: cannot tell)."""
    m = _X_DISPLAY.match(display)
    if m is None:
        return None
    number = int(m.group("number"))
    host = m.group("host")
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        for address in ("\0" + path, path):  # Linux servers listen on an abstract socket too
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(2.0)
                    s.connect(address)
                    return True
            except OSError:
                continue
        return False
    try:
        with socket.create_connection((host, 6000 + number), timeout=2.0):
            return True
    except OSError:
        return False


NO_DISPLAY = (
    "ReLU Studio cannot open its window: there is no display (neither DISPLAY nor "
    "WAYLAND_DISPLAY is set).\n"
    "Start it from a desktop session, or over SSH with X forwarding (ssh -X). Without a display:\n"
    "  relu-studio run --help     trains and writes results from the command line\n"
    "  relu-studio --self-test    checks the installation offscreen")


def check_display(environ=None, platform: str | None = None, plugin_dir=platform_plugin,
                  missing=missing_libraries) -> str | None:
    """None if Qt can open a window here, else the message that says why not and what to do.

    Only Linux is checked, and only the platform Qt will use: ``QT_QPA_PLATFORM`` if set (any
    value other than xcb or wayland needs no check), else Wayland where ``WAYLAND_DISPLAY`` is set
    (X11 as its fallback) and X11 where ``DISPLAY`` is set.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    chosen = environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if chosen and chosen not in ("xcb", "wayland"):
        return None  # offscreen, vnc, eglfs, ...: the user knows what they asked for
    if chosen == "xcb" and not environ.get("DISPLAY"):
        return NO_DISPLAY.replace("neither DISPLAY nor WAYLAND_DISPLAY is set",
                                  "QT_QPA_PLATFORM=xcb, but DISPLAY is not set")
    if not has_display(environ):
        return NO_DISPLAY
    candidates = [chosen] if chosen else (
        (["wayland"] if environ.get("WAYLAND_DISPLAY") else []) + (["xcb"] if environ.get("DISPLAY") else []))
    problems = []
    for name in candidates:
        plugin = plugin_dir(name)
        if plugin is None:
            problems.append((name, None))
            continue
        libs = missing(plugin)
        if not libs:  # all there (or we cannot tell: let Qt try)
            if name == "xcb" and _x_server_reachable(environ.get("DISPLAY", "")) is False:
                return (f"ReLU Studio cannot open its window: the X display "
                        f"{environ.get('DISPLAY')!r} does not accept connections (is the X server "
                        "running, and is DISPLAY right?).")
            return None
        problems.append((name, libs))
    name, libs = problems[-1]  # X11 where there is a choice: the one most desktops fall back to
    what = {"xcb": "X11", "wayland": "Wayland"}.get(name, name)
    if libs is None:
        return f"ReLU Studio cannot open its window: Qt's {what} platform plugin is not installed."
    return (f"ReLU Studio cannot open its window: Qt's {what} platform plugin needs system "
            f"libraries that are not installed: {', '.join(libs)}.\nInstall them with:\n"
            + install_hint(libs))
