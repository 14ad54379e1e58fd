"""One resource budget, checked before any byte is read or any array allocated.

A small input must never make the app allocate gigabytes: a file that declares a huge width, a
zip member that inflates to gigabytes, a run of 10^12 steps with a snapshot every step. Every
reader and every run checks what it is about to read or allocate against these limits first,
from what it can know cheaply (a file's size and type, a zip member's declared size, an array's
header, the settings), and refuses with a message that says which limit and why.

The limits are generous for the studio's purpose (the notebook's runs need a few MB) and well
inside a laptop's memory.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["BudgetError", "MAX_FILE_BYTES", "MAX_UNPACKED_BYTES", "MAX_JSON_BYTES",
           "MAX_HISTORY_BYTES", "MAX_BUFFER_ELEMENTS", "check_regular_file", "history_bytes",
           "check_history", "check_buffer", "check_run", "snapshot_count", "human"]

#: The largest file the app reads (a session, a run, a ``.pt``, a CSV).
MAX_FILE_BYTES = 2 * 1024**3
#: What all members of one session file may unpack to together.
MAX_UNPACKED_BYTES = 3 * 1024**3
#: One JSON member (settings, view, tags: a few kB in practice).
MAX_JSON_BYTES = 16 * 1024**2
#: The snapshots a run or a history may hold in memory: parameters and losses.
MAX_HISTORY_BYTES = 2 * 1024**3
#: One working buffer of the training kernel: minibatch x width activations (float32).
MAX_BUFFER_ELEMENTS = 2**28


class BudgetError(ValueError):
    """Reading or running this would exceed the resource budget; the message says which limit."""


def human(n: float) -> str:
    """``3.2 GiB``, ``512 MiB``, ``12 kB``."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("kB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def check_regular_file(path, what: str = "the file", max_bytes: int = MAX_FILE_BYTES) -> int:
    """The size of ``path`` if it is a regular file of at most ``max_bytes``; otherwise an error
    that says why (a folder, a FIFO or a device is refused before it is opened: reading a FIFO
    would wait forever, a device never ends). Raises OSError if it cannot be examined."""
    st = os.stat(Path(path))
    if stat.S_ISDIR(st.st_mode):
        raise BudgetError(f"{what} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise BudgetError(f"{what} is {kind}; only regular files are read")
    if st.st_size > max_bytes:
        raise BudgetError(f"{what} is too large ({human(st.st_size)}; at most {human(max_bytes)})")
    return st.st_size


def snapshot_count(steps: int, save_every: int) -> int:
    """How many snapshots a run keeps (step 1, every ``save_every`` steps and the last step),
    counted without listing them."""
    steps, save_every = int(steps), int(save_every)
    if steps <= 1:
        return 1
    return steps // save_every + (save_every != 1) + (steps % save_every != 0)


def check_run(steps: int, save_every: int, width: int, batch: int) -> None:
    """A run's snapshots and the kernel's minibatch buffer fit the budget (BudgetError if not)."""
    check_history(snapshot_count(steps, save_every), width)
    check_buffer(batch, width)


def history_bytes(snapshots: int, width: int) -> int:
    """Memory of ``snapshots`` snapshots of a width-``width`` network: 3 float32 arrays of
    ``width`` and a bias (16 bytes a unit), four float64 losses and a step each."""
    return int(snapshots) * (12 * int(width) + 44)


def check_history(snapshots: int, width: int, what: str = "the run") -> None:
    need = history_bytes(snapshots, width)
    if need > MAX_HISTORY_BYTES:
        raise BudgetError(
            f"{what} would keep {int(snapshots):,} snapshots of a width-{int(width):,} network "
            f"({human(need)}; at most {human(MAX_HISTORY_BYTES)}): keep fewer snapshots (a larger "
            "snapshot interval), or train fewer steps or a narrower network")


def check_buffer(batch: int, width: int) -> None:
    """The kernel keeps one minibatch's hidden activations: ``batch x width`` float32 values."""
    if int(batch) * int(width) > MAX_BUFFER_ELEMENTS:
        raise BudgetError(
            f"a minibatch of {int(batch):,} points on a width-{int(width):,} network needs "
            f"{human(4 * int(batch) * int(width))} of activations (at most "
            f"{human(4 * MAX_BUFFER_ELEMENTS)}): use a smaller batch size or width")
