"""Autosave and crash recovery of the studio session (pure helpers; the GUI owns the timer).

Where: ``autosave_dir()`` is ``<user data dir>/autosave`` (``platformdirs.user_data_dir
("relu-studio")``); the environment variable ``RELU_STUDIO_DATA_DIR`` replaces the user data dir
(tests, portable installs).

What is written: each running studio process is an *instance* with an id ``<pid>-<random>``.
It owns two files in the folder:

- ``autosave-<id>.relustudio``: its latest session (:func:`write_autosave`, atomic: a temporary
  file then ``os.replace``, so a crash or a full disk mid-write leaves the previous autosave);
- ``autosave-<id>.json``: its marker, ``{"pid", "start", "host", "created", "app_version"}``,
  written before the first autosave. ``start`` identifies the process beyond its PID (the
  process start time on Linux), so a PID reused by another process is not mistaken for it.

Semantics:

- The GUI calls :func:`write_autosave` every :data:`AUTOSAVE_INTERVAL` seconds while the
  session has unsaved changes, and after each finished run.
- :func:`mark_clean_exit` on a normal quit removes this instance's autosave and marker, so a
  clean exit leaves no recovery offer.
- At start-up the GUI calls :func:`find_recovery`: it returns the newest autosave whose owner is
  gone without a clean exit (its marker names a process that is not running, or the marker is
  missing or unreadable), or None. Autosaves of other running instances are never offered, nor
  are those written on another host (their PID cannot be checked from here).
- If the user restores it (``load_session(path)``) or declines, the GUI calls
  :func:`discard_recovery(path) <discard_recovery>`; from then on the session is autosaved under
  the new instance. If ``load_session`` refuses the file, :func:`set_aside` keeps it under
  another name (and the GUI says where): a file from a newer version is never deleted.

No Qt, no torch.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

from ..process import proc_stat
from ..version import __version__
from .atomic import atomic_write_text
from .session import SUFFIX, Session, save_session

__all__ = ["autosave_dir", "autosave_path", "write_autosave", "find_recovery", "list_recoveries",
           "mark_clean_exit", "discard_recovery", "set_aside", "instance_id", "AUTOSAVE_INTERVAL",
           "ENV_VAR"]

#: Seconds between autosaves while there are unsaved changes ("a crash loses seconds of work").
AUTOSAVE_INTERVAL = 5.0
ENV_VAR = "RELU_STUDIO_DATA_DIR"
APP_NAME = "relu-studio"
PREFIX = "autosave-"
MARKER_SUFFIX = ".json"

_instance: tuple[int, str] | None = None


def instance_id() -> str:
    """This process's instance id ``<pid>-<random hex>`` (new in a forked child)."""
    global _instance
    pid = os.getpid()
    if _instance is None or _instance[0] != pid:
        _instance = (pid, f"{pid}-{uuid.uuid4().hex[:12]}")
    return _instance[1]


def autosave_dir() -> Path:
    """The autosave folder (not created here): ``$RELU_STUDIO_DATA_DIR/autosave`` if the variable
    is set, else ``platformdirs.user_data_dir("relu-studio")/autosave``."""
    root = os.environ.get(ENV_VAR)
    if not root:
        import platformdirs

        root = platformdirs.user_data_dir(APP_NAME, appauthor=False)
    return Path(root) / "autosave"


def autosave_path() -> Path:
    """This instance's autosave file."""
    return autosave_dir() / f"{PREFIX}{instance_id()}{SUFFIX}"


def _marker_path(iid: str) -> Path:
    return autosave_dir() / f"{PREFIX}{iid}{MARKER_SUFFIX}"


# --------------------------------------------------------------------------- process identity
def _start_token(pid: int) -> str | None:
    st = proc_stat(pid)
    return None if st is None else str(st[1])


def _pid_alive(pid: int, start: str | None) -> bool:
    """Is the process ``pid`` (started at ``start``, if known) still running?"""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    except OSError:
        return False
    st = proc_stat(pid)
    if st is not None:
        state, now_start = st
        if state == "Z":  # killed, not yet reaped: gone
            return False
        if start is not None and str(now_start) != start:  # the PID was reused
            return False
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5  # ERROR_ACCESS_DENIED: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


# --------------------------------------------------------------------------- writing
def _write_marker(iid: str) -> None:
    pid = os.getpid()
    marker = {"pid": pid, "start": _start_token(pid), "host": socket.gethostname(),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "app_version": __version__}
    atomic_write_text(_marker_path(iid), json.dumps(marker) + "\n")


def write_autosave(session: Session) -> Path:
    """Save ``session`` as this instance's autosave (atomically) and return its path.

    Creates the folder and this instance's marker on first use. Raises ``OSError`` if the
    folder cannot be written and ``ValueError``/``TypeError`` for an invalid session; in every
    case the previous autosave is left as it was.
    """
    folder = autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    iid = instance_id()
    if not _marker_path(iid).exists():
        _write_marker(iid)
    return save_session(session, autosave_path())


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def mark_clean_exit() -> None:
    """A normal quit: remove this instance's autosave, then its marker (no recovery offer)."""
    iid = instance_id()
    _remove(autosave_path())
    _remove(_marker_path(iid))
    _remove_temporaries(iid)


def _remove_temporaries(iid: str) -> None:
    folder = autosave_dir()
    try:
        leftovers = list(folder.glob(f".{PREFIX}{iid}*.tmp"))
    except OSError:
        return
    for p in leftovers:
        try:
            p.unlink()
        except OSError:
            pass


# --------------------------------------------------------------------------- recovery
def _stale(marker: Path) -> bool:
    """True if the marker's instance is gone (or the marker cannot be trusted)."""
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
        pid, start, host = info["pid"], info.get("start"), info.get("host")
    except (OSError, ValueError, KeyError, TypeError):
        return True
    if not isinstance(pid, int) or isinstance(pid, bool):
        return True
    if host is not None and host != socket.gethostname():
        return False  # another machine's instance: cannot tell, leave it alone
    return not _pid_alive(pid, start if isinstance(start, str) else None)


def list_recoveries() -> list[Path]:
    """Autosaves left by instances that did not exit cleanly, newest first (see module docs)."""
    folder = autosave_dir()
    if not folder.is_dir():
        return []
    own = instance_id()
    found = []
    for p in folder.glob(f"{PREFIX}*{SUFFIX}"):
        iid = p.name[len(PREFIX):-len(SUFFIX)]
        if iid == own:
            continue
        marker = folder / f"{PREFIX}{iid}{MARKER_SUFFIX}"
        if marker.exists() and not _stale(marker):
            continue
        try:
            found.append((p.stat().st_mtime, p))
        except OSError:
            continue
    return [p for _t, p in sorted(found, key=lambda tp: tp[0], reverse=True)]


def find_recovery() -> Path | None:
    """The newest autosave of a session that did not exit cleanly, or None. Changes nothing."""
    found = list_recoveries()
    return found[0] if found else None


def discard_recovery(path=None) -> None:
    """Remove a recovery autosave (after it was restored or declined) with its marker.

    ``path`` is a file returned by :func:`find_recovery`; None discards every recovery on offer
    (and markers of dead instances that left no autosave). Autosaves of running instances are
    never removed; a path outside the autosave folder or not named like an autosave raises
    ``ValueError``.
    """
    if path is None:
        for p in list_recoveries():
            discard_recovery(p)
        folder = autosave_dir()
        own = instance_id()
        for marker in (folder.glob(f"{PREFIX}*{MARKER_SUFFIX}") if folder.is_dir() else ()):
            iid = marker.name[len(PREFIX):-len(MARKER_SUFFIX)]
            if iid != own and not (folder / f"{PREFIX}{iid}{SUFFIX}").exists() and _stale(marker):
                _remove(marker)
                _remove_temporaries(iid)
        return
    path = Path(path)
    folder, iid = _autosave_id(path)
    name = path.name
    marker = folder / f"{PREFIX}{iid}{MARKER_SUFFIX}"
    if iid == instance_id() or (marker.exists() and not _stale(marker)):
        raise ValueError(f"{name} belongs to a running ReLU Studio; it is not discarded")
    _remove(path)
    _remove(marker)
    _remove_temporaries(iid)


def _autosave_id(path: Path) -> tuple[Path, str]:
    """The autosave folder and the instance id of ``path``, an autosave in that folder; else
    ValueError (nothing outside the folder, or not named like an autosave, is touched)."""
    folder = autosave_dir()
    name = path.name
    if (path.parent.resolve() != folder.resolve() or not name.startswith(PREFIX)
            or not name.endswith(SUFFIX)):
        raise ValueError(f"{path} is not an autosave in {folder}")
    return folder, name[len(PREFIX):-len(SUFFIX)]


def set_aside(path) -> Path:
    """Keep a recovery autosave that this version cannot read (e.g. written by a newer one): it is
    renamed ``unreadable-<id>-<time>.relustudio`` in the same folder, where it is no longer
    offered but nothing is lost, and its marker is removed. Returns the new path."""
    path = Path(path)
    folder, iid = _autosave_id(path)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kept = folder / f"unreadable-{iid}-{stamp}{SUFFIX}"
    os.replace(path, kept)
    _remove(folder / f"{PREFIX}{iid}{MARKER_SUFFIX}")
    return kept
