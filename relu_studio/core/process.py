"""What the operating system says about a process (Linux ``/proc``; None elsewhere)."""
from __future__ import annotations

import os
import sys
import time

__all__ = ["proc_stat", "seconds_since_start"]


def proc_stat(pid: int | str = "self") -> tuple[str, int] | None:
    """``(state, start time in clock ticks since boot)`` of a process, from ``/proc/<pid>/stat``
    (fields 3 and 22 of proc(5)); None where that cannot be read."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("ascii", "replace")
        fields = text[text.rfind(")") + 2:].split()  # after "pid (comm) "
        return fields[0], int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def seconds_since_start() -> float | None:
    """How long this process has existed (so it includes interpreter start-up and, in the
    bundle, the bootloader); None where that cannot be read."""
    st = proc_stat("self")
    if st is None:
        return None
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME) - st[1] / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
