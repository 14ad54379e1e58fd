"""Where the compiled training kernels are cached.

numba writes its cache next to the module by default, which is read-only in site-packages and in
a frozen bundle. Before numba is imported we point ``NUMBA_CACHE_DIR`` at a per-user cache folder
(unless the user already chose one), so the kernels compile once per machine, not once per start.
"""
from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "relu-studio"


def user_cache_dir() -> Path:
    """The per-user cache folder (XDG on Linux, the platform's convention elsewhere)."""
    try:
        from platformdirs import user_cache_dir as _ucd

        return Path(_ucd(APP_NAME, appauthor=False))
    except ImportError:  # pragma: no cover - platformdirs is a declared dependency
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / APP_NAME


def configure_numba_cache() -> Path | None:
    """Set NUMBA_CACHE_DIR to a writable folder; returns it (None if it cannot be created)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    folder = user_cache_dir() / "numba"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    return folder
