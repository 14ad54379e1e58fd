"""Atomic writes: every file ReLU Studio writes goes to a temporary file beside its target, is
flushed and fsynced, then renamed over the target (``os.replace``), so that a reader -- or the
user after a crash, a full disk or a kill -- sees the old file or the new one, never half of one.
"""
from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "replacing"]


@contextmanager
def replacing(path):
    """Yield a temporary path beside ``path`` (``.<name>.<random>.tmp``) for a writer that needs
    a file name (ffmpeg, Qt's image writers); when the block ends without an exception the file
    is fsynced and renamed over ``path``. On any failure it is removed and ``path`` is untouched.

    A symbolic link is followed (the file it points to is replaced, the link stays), and a
    read-only file is not replaced (PermissionError), as an editor would not overwrite it.
    """
    path = Path(path)
    if path.is_symlink():  # write where the link points; the link stays a link
        path = Path(os.path.realpath(path))
    if path.exists() and not os.access(path, os.W_OK):
        # A rename would replace it anyway (the folder allows it): respect the file's mode.
        raise PermissionError(errno.EACCES, "the file is read-only", str(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    _give_mode(tmp, path)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    _fsync_folder(path.parent)


def atomic_write(path, write) -> Path:
    """Call ``write(f)`` with a binary file object, then put the result at ``path`` atomically.

    If ``write`` or the rename fails, the temporary file is removed, the exception propagates
    and whatever was at ``path`` before is untouched.
    """
    path = Path(path)
    with replacing(path) as tmp:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
    return path


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` as UTF-8 (``\\n`` line ends on every platform) atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (/proc), else by the
    usual set-and-restore."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _give_mode(tmp: Path, target: Path) -> None:
    """The new file gets the mode the replaced one had, or a new file's usual mode (0666 less the
    umask), not mkstemp's owner-only 0600: a session saved in a shared folder stays readable."""
    if os.name != "posix":
        return
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        os.chmod(tmp, mode)
    except OSError:
        pass


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
