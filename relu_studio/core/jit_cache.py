"""Where the compiled training kernels are cached, decided before they are compiled.

numba caches a compiled function next to its module by default, which is read-only in
site-packages and in the bundle. With ``cache=True`` and no writable folder numba refuses to
define the function at all ("cannot cache function 'mse': no locator available"), so the folder
has to be chosen before the kernels are decorated. :func:`configure_numba_cache` tries, in order:

1. ``NUMBA_CACHE_DIR``, if the user set it and it is writable;
2. the per-user cache folder, ``<user cache dir>/relu-studio/numba`` (``~/.cache/...`` on Linux);
3. a private folder in the temporary directory, ``<tmp>/relu-studio-<uid>/numba``, used only if
   this user owns it and nobody else can write to it: numba's cache index is a pickle, and a
   folder that another user can write to would let them run code in this process;
4. no cache: the kernels compile on every start (a few seconds).

It sets ``numba.config.CACHE_DIR`` (not ``os.environ``, so child processes make their own
choice) to a subfolder named by :func:`kernel_fingerprint`: numba checks a cached kernel only
against its own module's file, not against the modules it uses (``_batch_kernels`` and
``_optim_kernels`` take ``relu`` and ``mse`` from ``_kernels``), so kernels compiled from other
sources (an upgrade, an edit) must not be found at all. It logs one line on the ``relu_studio`` logger (a warning for the last two choices) and
returns the choice; ``_kernels`` passes ``choice.enabled`` as the decorators' ``cache=``.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "relu-studio"
ENV_VAR = "NUMBA_CACHE_DIR"

log = logging.getLogger("relu_studio")

#: Kinds of choice, in the order they are tried.
ENV, USER, TEMP, NONE = "NUMBA_CACHE_DIR", "per-user cache folder", "temporary folder", "none"

_current: "CacheChoice | None" = None


@dataclass(frozen=True)
class CacheChoice:
    kind: str  # ENV, USER, TEMP or NONE
    folder: Path | None  # None: no caching
    skipped: tuple[str, ...] = ()  # why the earlier options were not taken

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def describe(self) -> str:
        """One line: ``JIT cache: <where> (<why not the earlier options>)``."""
        if self.folder is None:
            where = "none, the training kernels compile on every start"
        else:
            where = f"{self.kind} {self.folder}"
        why = f" ({'; '.join(self.skipped)})" if self.skipped else ""
        return f"JIT cache: {where}{why}"


def user_cache_dir() -> Path:
    """The per-user cache folder (XDG on Linux, the platform's convention elsewhere)."""
    try:
        from platformdirs import user_cache_dir as _ucd

        return Path(_ucd(APP_NAME, appauthor=False))
    except ImportError:  # pragma: no cover - platformdirs is a declared dependency
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / APP_NAME


def _writable(folder: Path) -> None:
    """Create ``folder`` if needed and check that a file can be created in it, as numba's own
    cache locators do; raises OSError otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    tempfile.TemporaryFile(dir=folder).close()


def _private_temp_folder(temp_root: Path) -> Path:
    """``<temp_root>/relu-studio-<user>/numba``, created private to this user; raises OSError if
    it exists but is not a real folder of this user's that only they can write to."""
    if hasattr(os, "getuid"):
        uid = os.getuid()
        base = temp_root / f"{APP_NAME}-{uid}"
        try:
            base.mkdir(mode=0o700)
        except FileExistsError:
            pass
        st = os.lstat(base)
        if not stat.S_ISDIR(st.st_mode):
            raise OSError(f"{base} is not a folder")
        if st.st_uid != uid:
            raise OSError(f"{base} belongs to another user")
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise OSError(f"{base} is writable by other users")
    else:  # pragma: no cover - Windows: the temporary directory is already per user
        base = temp_root / APP_NAME
    folder = base / "numba"
    _writable(folder)
    return folder


def choose_cache_folder(environ=None, temp_root: Path | str | None = None) -> CacheChoice:
    """Pick the cache folder (see the module's docstring); creates it, never raises."""
    environ = os.environ if environ is None else environ
    skipped: list[str] = []
    given = environ.get(ENV_VAR)
    if given:
        try:
            _writable(Path(given))
            return CacheChoice(ENV, Path(given))
        except OSError as exc:
            skipped.append(f"{ENV_VAR}={given} is not writable: {exc}")
    user = user_cache_dir() / "numba"
    try:
        _writable(user)
        return CacheChoice(USER, user, tuple(skipped))
    except OSError as exc:
        skipped.append(f"the per-user cache folder {user} is not writable: {exc}")
    try:
        root = Path(temp_root) if temp_root is not None else Path(tempfile.gettempdir())
        return CacheChoice(TEMP, _private_temp_folder(root), tuple(skipped))
    except OSError as exc:
        skipped.append(f"no private temporary folder: {exc}")
    return CacheChoice(NONE, None, tuple(skipped))


#: The modules whose kernels are cached, and what they compile in (they import each other's
#: helpers; batch_lanes is the batched kernel's lane count).
KERNEL_MODULES = ("_kernels.py", "_batch_kernels.py", "_optim_kernels.py", "batch_lanes.py")
_FINGERPRINT = re.compile(r"[0-9a-f]{16}")


def kernel_fingerprint(folder: Path | None = None) -> str:
    """16 hex digits of a hash of numba's version and the kernel modules' sources (in
    ``folder``, default this package's core): the cache subfolder for these kernels."""
    import numba

    folder = Path(__file__).resolve().parent if folder is None else Path(folder)
    h = hashlib.sha256(f"numba {numba.__version__}\n".encode())
    for name in KERNEL_MODULES:
        try:
            h.update(name.encode() + b"\n" + (folder / name).read_bytes())
        except OSError:
            h.update(name.encode() + b" missing\n")
    return h.hexdigest()[:16]


#: A subfolder of other kernels is removed once no process has used it for this long: another
#: version of the app (a bundle next to a pip install, an upgrade while the old one still runs)
#: may be using it right now, and removing the folder under a running process breaks its cache.
STALE_AFTER_S = 14 * 24 * 3600


def kernels_folder(choice: CacheChoice, fingerprint: str | None = None,
                   now: float | None = None) -> Path | None:
    """The folder numba caches into for ``choice``: its folder's fingerprint subfolder (created,
    and marked used now). In the app's own folders (not a NUMBA_CACHE_DIR the user gave) the
    subfolders of other fingerprints that no process has used for :data:`STALE_AFTER_S`, kernels
    of sources no longer installed, are removed."""
    if choice.folder is None:
        return None
    fingerprint = fingerprint or kernel_fingerprint()
    now = time.time() if now is None else now
    if choice.kind in (USER, TEMP):
        for old in choice.folder.iterdir():
            try:
                stale = (old.name != fingerprint and _FINGERPRINT.fullmatch(old.name)
                         and old.is_dir() and not old.is_symlink()
                         and now - old.stat().st_mtime > STALE_AFTER_S)
            except OSError:  # removed by another process meanwhile
                continue
            if stale:
                shutil.rmtree(old, ignore_errors=True)
    sub = choice.folder / fingerprint
    sub.mkdir(exist_ok=True)
    os.utime(sub)  # used now: other versions' processes leave it alone for STALE_AFTER_S
    return sub


def configure_numba_cache() -> CacheChoice:
    """Choose the folder, point numba at it (``numba.config.CACHE_DIR``) and log the choice."""
    global _current
    from numba.core import config

    choice = choose_cache_folder()
    try:
        sub = kernels_folder(choice)
    except OSError as exc:  # the folder checked writable a moment ago: not expected, but say so
        choice = CacheChoice(NONE, None, (*choice.skipped, f"no kernel subfolder in {choice.folder}: {exc}"))
        sub = None
    config.CACHE_DIR = str(sub) if sub is not None else ""
    (log.info if choice.kind in (ENV, USER) else log.warning)(choice.describe())
    _current = choice
    return choice


def current() -> CacheChoice | None:
    """The choice made when the kernels were defined (None before that)."""
    return _current
