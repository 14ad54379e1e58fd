"""Writing training playbacks as animations: GIF with Pillow, MP4 through ffmpeg when present.

Which snapshots become frames is chosen in steps (:func:`frame_indices`): a range of steps and a
number of frames, spaced evenly in steps or in log(1 + step) (the early steps, where the elbows
move most, get more frames). Frames are RGB ``uint8`` arrays of one size. Files are written
atomically (:mod:`.atomic`), so a cancelled or failed export never leaves a half file behind.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .atomic import replacing

__all__ = ["write_gif", "write_mp4", "ffmpeg_path", "frame_indices", "snapshot_at_step",
           "AnimationError", "Cancelled", "SPACINGS"]

#: How frames are spaced over the chosen steps.
SPACINGS = ("even", "log")


class AnimationError(RuntimeError):
    """The animation could not be written; the message says why."""


class Cancelled(Exception):
    """The export was cancelled by the user; nothing was written."""


def snapshot_at_step(steps, step: float) -> int:
    """The index of the last snapshot at or before ``step`` (the first one if none is)."""
    steps = np.asarray(steps)
    return max(0, int(np.searchsorted(steps, step, side="right")) - 1)


def frame_indices(steps, first_step: float, last_step: float, frames: int,
                  spacing: str = "even") -> list[int]:
    """The snapshots (indices into ``steps``, which never decrease) that make ``frames`` frames
    from ``first_step`` to ``last_step``: at target steps spaced evenly (``"even"``) or evenly in
    log(1 + step) (``"log"``), each the last snapshot at or before its target, or the next unused
    one where targets crowd. A snapshot is used once (fewer frames when there are fewer
    snapshots), the snapshots at the two ends always."""
    if spacing not in SPACINGS:
        raise ValueError(f"unknown frame spacing {spacing!r} (one of {', '.join(SPACINGS)})")
    steps = np.asarray(steps)
    if steps.size == 0:
        return []
    a, b = sorted((float(first_step), float(last_step)))
    frames = max(1, int(frames))
    if frames == 1 or a == b:
        targets = np.array([b])
    elif spacing == "log":
        targets = np.expm1(np.linspace(np.log1p(max(a, 0.0)), np.log1p(max(b, 0.0)), frames))
    else:
        targets = np.linspace(a, b, frames)
    first = snapshot_at_step(steps, a)
    if steps[first] < a and first + 1 < steps.size and steps[first + 1] <= b:
        first += 1  # the first snapshot inside the range
    last = max(first, snapshot_at_step(steps, b))
    out: list[int] = []
    for t in targets:
        # The snapshot at or before the target, or the next unused one where targets crowd (a
        # log spacing's first frames): every frame a different snapshot, in order.
        i = max(snapshot_at_step(steps, t), first, out[-1] + 1 if out else first)
        if i > last:
            break
        out.append(int(i))
    if out[-1] != last:
        out[-1] = last
    return out


def ffmpeg_path() -> str | None:
    """The ffmpeg executable if one is installed (MP4 export needs it)."""
    return shutil.which("ffmpeg")


def write_gif(frames: Iterable[np.ndarray], path, fps: float = 20.0,
              progress: Callable[[int], bool] | None = None) -> Path:
    """Write RGB frames as a looping GIF. ``progress(i)`` returning False cancels."""
    from PIL import Image

    path = Path(path)
    images = []
    for i, f in enumerate(frames):
        f = np.asarray(f)
        if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
            raise AnimationError("frames must be RGB uint8 arrays")
        images.append(Image.fromarray(f).quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
        if progress is not None and progress(i) is False:
            raise Cancelled()
    if not images:
        raise AnimationError("there are no frames to write")
    try:
        with replacing(path) as tmp:
            images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                           duration=max(20, int(round(1000 / fps))), loop=0, optimize=False)
    except OSError as exc:
        raise AnimationError(f"cannot write {path.name}: {exc.strerror or exc}") from None
    return path


def write_mp4(frames: Iterable[np.ndarray], path, fps: float = 20.0,
              progress: Callable[[int], bool] | None = None) -> Path:
    """Write RGB frames as an H.264 MP4 by piping them to ffmpeg."""
    exe = ffmpeg_path()
    if exe is None:
        raise AnimationError("MP4 export needs ffmpeg, which is not installed; export a GIF instead")
    path = Path(path)
    proc = None
    try:
        with replacing(path) as tmp:
            for i, f in enumerate(frames):
                f = np.ascontiguousarray(f, dtype=np.uint8)
                if proc is None:
                    h, w = f.shape[:2]
                    proc = subprocess.Popen(
                        [exe, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                         "-s", f"{w}x{h}", "-r", str(fps), "-i", "-",
                         "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p",
                         "-c:v", "libx264", "-f", "mp4", str(tmp)],
                        stdin=subprocess.PIPE, stderr=subprocess.PIPE)
                proc.stdin.write(f.tobytes())
                if progress is not None and progress(i) is False:
                    raise Cancelled()
            if proc is None:
                raise AnimationError("there are no frames to write")
            proc.stdin.close()
            err = proc.stderr.read().decode(errors="replace")
            if proc.wait() != 0:
                raise AnimationError(f"ffmpeg failed: {err.strip()[:300]}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    return path
