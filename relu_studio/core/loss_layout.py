"""Where the loss pane puts things, computed without Qt.

- :func:`step_span`: the end of the step axis, the planned end of the run so that the curves grow
  into a fixed frame.
- :func:`log_step_position` and :func:`log_step_ticks`: the log step axis, ``ln(1 + step/knee)``
  as the timeline's, so that step 0 sits at the axis start.
- :func:`run_starts`: each run's start, mode and learning rate, from the history's per-snapshot
  tags and learning rates (a new start wherever the mode or the lr changes, or SGD resumes after
  an edit, a ridge fit or an import).
- :func:`point_marks`: the snapshots made by hand edits, ridge fits and imports (one mark each).
- :func:`previous_label`: how the legend names a replaced run's curves.
- :func:`spread_labels`: labels at given heights moved apart just enough not to overlap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .settings import MODE_INFO, SGD_MODES

__all__ = ["RunStart", "step_span", "log_step_position", "log_step_ticks", "run_starts",
           "point_marks", "previous_label", "spread_labels", "short_step", "MARK_KINDS", "RUN_TAGS"]

#: Tags of the snapshots that runs made (the notebook's imported history counts as one run).
RUN_TAGS = SGD_MODES + ("notebook",)
#: Tags of one-snapshot changes, each shown as a mark of its own.
MARK_KINDS = ("edit", "ridge", "import")


def step_span(last_step: int, planned_last_step: int | None, next_run_steps: int,
              reference_last_step: int = 0) -> int:
    """The step the axis ends at: the planned last step of the run in progress; without one, the
    last step reached, or the next run's steps while nothing has been trained; never less than
    the last step of a reference drawn with it (a previous run)."""
    if planned_last_step is not None:
        end = max(int(planned_last_step), int(last_step))
    elif last_step > 0:
        end = int(last_step)
    else:
        end = int(next_run_steps)
    return max(end, int(reference_last_step), 1)


def log_step_position(steps, knee: float = 1.0) -> np.ndarray:
    """Where a step sits on the log step axis: ``ln(1 + step / knee)``, the timeline's log axis
    (:mod:`relu_studio.core.playback`; the knee is the snapshot interval). Step 0 sits at 0, the
    axis start; a step of ``knee`` at ln 2, and every tenfold beyond the knee takes about the
    same room."""
    return np.log1p(np.asarray(steps, dtype=np.float64) / float(knee))


def short_step(step: int) -> str:
    """``150000`` -> ``"150k"`` (a whole thousand, million...), else ``"1,500"``."""
    for div, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if step >= div and step % div == 0:
            return f"{step // div:,}{suffix}"
    return f"{step:,}"


def log_step_ticks(span: int, knee: float = 1.0) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """``(major, minor)`` ticks of the log step axis up to ``span``: (position, label) pairs.
    Labelled: 0, and 1, 2 and 5 times each power of ten from the knee on (below the knee the
    axis is nearly linear and they would crowd at 0); unlabelled: those below the knee."""
    major = [(0.0, "0")]
    minor = []
    e = 0
    while 10 ** e <= span:
        for m in (1, 2, 5):
            step = m * 10 ** e
            if step > span:
                break
            pos = float(log_step_position(step, knee))
            (major if step >= knee else minor).append((pos, short_step(step) if step >= knee else ""))
        e += 1
    return major, minor


@dataclass(frozen=True)
class RunStart:
    """A run's start: its first snapshot's index, the step it started from, mode and lr."""

    index: int
    step: int
    mode: str
    lr: float

    @property
    def label(self) -> str:
        """``"all layers · lr 0.02"`` (``"notebook history"`` for an imported one)."""
        if self.mode not in MODE_INFO:
            return f"{self.mode} history"
        return f"{MODE_INFO[self.mode].short} · lr {self.lr:g}"


def run_starts(steps, tags, lrs) -> tuple[RunStart, ...]:
    """Each run in a history: where a snapshot made by a run follows one that was not, or one of
    another mode or learning rate. A run starts at the step of the snapshot before its first
    one (the network it trained from). Vectorised: histories can hold millions of snapshots."""
    steps = np.asarray(steps)
    tags = np.asarray(tags, dtype=str)
    lrs = np.asarray(lrs, dtype=np.float64)
    if tags.size == 0:
        return ()
    prev_tag = np.concatenate([np.array([""]), tags[:-1]])
    prev_lr = np.concatenate([[np.nan], lrs[:-1]])
    same_lr = (lrs == prev_lr) | (np.isnan(lrs) & np.isnan(prev_lr))
    new = np.isin(tags, RUN_TAGS) & ~((tags == prev_tag) & same_lr)
    return tuple(RunStart(int(i), int(steps[i - 1] if i > 0 else steps[i]), str(tags[i]), float(lrs[i]))
                 for i in np.flatnonzero(new))


def point_marks(tags) -> dict[str, np.ndarray]:
    """kind -> the indices of the snapshots made that way (hand edits, ridge fits, imports)."""
    tags = np.asarray(tags, dtype=str)
    return {kind: np.flatnonzero(tags == kind) for kind in MARK_KINDS}


def previous_label(steps, tags, lrs) -> str:
    """``"previous run: all layers · lr 0.02"``: the runs of a replaced history, in order (the
    first and the last when there are more than two)."""
    runs = [r.label for r in run_starts(steps, tags, lrs)]
    if not runs:
        return "previous history"
    if len(runs) > 2:
        return f"previous runs: {runs[0]} … {runs[-1]}"
    return "previous run: " + ", then ".join(runs)


def spread_labels(centres, heights, lo: float, hi: float) -> np.ndarray:
    """Centres for labels of ``heights`` as near as possible to ``centres`` without two
    overlapping, inside ``[lo, hi]`` when they fit (coordinates grow one way: pixels down, or
    values up). The labels keep their order."""
    c = np.asarray(centres, dtype=np.float64)
    h = np.asarray(heights, dtype=np.float64)
    if c.size == 0:
        return c.copy()
    order = np.argsort(c, kind="stable")
    start = c[order] - h[order] / 2
    size = h[order]
    start[0] = max(start[0], lo)
    for i in range(1, start.size):  # push down (towards hi) what overlaps the one before
        start[i] = max(start[i], start[i - 1] + size[i - 1])
    if start[-1] + size[-1] > hi:  # too far: pull back up from the end
        start[-1] = hi - size[-1]
        for i in range(start.size - 2, -1, -1):
            start[i] = min(start[i], start[i + 1] - size[i])
        if start[0] < lo:  # more than fits: stacked from lo (the last ones go past hi)
            start = lo + np.concatenate([[0.0], np.cumsum(size[:-1])])
    out = np.empty_like(c)
    out[order] = start + size / 2
    return out
