"""The studio's training pace: how many steps a run may have done after so much wall time.

A :class:`Pace` is full speed (no schedule: the worker trains as fast as it can, as Compare and
the command line always do), a constant rate of ``r`` steps per second, or *log time*: the run
starts at ``r`` steps per second and speeds up in proportion to the steps it has done past a knee
``K``, so that every tenfold of steps beyond ``K`` takes the same wall time, ``K ln(10) / r``.
Early steps, where the elbows migrate, are slow; the long tail is fast.

With steps ``s`` counted from the start of the run (closed forms; ``T`` is the wall time at which
step ``s`` is due, ``S`` its inverse)::

    constant   T(s) = s / r                  S(t) = r t                    rate(s) = r
    log time   T(s) = (K / r) ln(1 + s / K)  S(t) = K (exp(r t / K) - 1)   rate(s) = r (1 + s / K)

A :class:`PaceSchedule` anchors a pace at a step and a time (a run's start, a resume, a change
of pace during a run) and says how many steps are due at a later time, or how long to wait for
the next few: the worker's loop asks it between chunks. It never sleeps and reads no clock: the
caller passes the time, so it is tested with a fake clock. The pace changes only *when* steps
run, never which: a paced run is bit for bit the run at full speed.

:class:`RateMeter` measures the rate actually reached (steps per wall-clock second).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .settings import (DEFAULT_PACE_LOG_TIME, DEFAULT_PACE_RATE, PACE_LOG_KNEE, PACE_MAX, PACE_MIN,
                       SettingsError, check)

__all__ = ["Pace", "FULL_SPEED", "DEFAULT_PACE", "PaceSchedule", "RateMeter", "pace_ladder",
           "nearest_rung", "FRAME_SECONDS"]

#: A paced worker runs its steps in groups of about this much wall time (one frame at 60 Hz), so
#: that snapshots arrive smoothly even at a slow pace.
FRAME_SECONDS = 1 / 60
#: Beyond this exponent the log-time schedule has overflowed float64: every step is due.
_MAX_EXP = 700.0


@dataclass(frozen=True)
class Pace:
    """Full speed (``rate`` None) or ``rate`` steps per second, constant or, with ``log_time``,
    the starting rate of a log-time schedule with knee ``knee`` steps."""

    rate: float | None = None
    log_time: bool = False
    knee: float = PACE_LOG_KNEE

    def __post_init__(self):
        if self.rate is not None:
            r = self.rate
            if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or r <= 0:
                raise ValueError(f"a pace must be a positive number of steps per second, got {r!r}")
            object.__setattr__(self, "rate", float(r))
        if not (isinstance(self.knee, (int, float)) and math.isfinite(self.knee) and self.knee > 0):
            raise ValueError(f"the log-time knee must be a positive number of steps, got {self.knee!r}")
        object.__setattr__(self, "log_time", bool(self.log_time))

    # ------------------------------------------------------------------ closed forms
    @property
    def full_speed(self) -> bool:
        return self.rate is None

    def seconds(self, steps: float) -> float:
        """T(s): the wall time at which step ``steps`` of a run is due (0 at full speed)."""
        if self.rate is None:
            return 0.0
        s = max(0.0, float(steps))
        if self.log_time:
            return self.knee / self.rate * math.log1p(s / self.knee)
        return s / self.rate

    def steps_at(self, seconds: float) -> float:
        """S(t): the steps due after ``seconds`` of wall time from the run's start (inf at full
        speed); the inverse of :meth:`seconds`."""
        if self.rate is None:
            return math.inf
        t = max(0.0, float(seconds))
        if self.log_time:
            x = self.rate * t / self.knee
            return math.inf if x > _MAX_EXP else self.knee * math.expm1(x)
        return self.rate * t

    def rate_at(self, steps: float) -> float:
        """Steps per second at step ``steps`` (inf at full speed)."""
        if self.rate is None:
            return math.inf
        if self.log_time:
            return self.rate * (1.0 + max(0.0, float(steps)) / self.knee)
        return self.rate

    # ------------------------------------------------------------------ words and JSON
    def describe(self) -> str:
        """``"full speed"``, ``"500 steps/s"``, ``"500 steps/s, log time"``."""
        if self.rate is None:
            return "full speed"
        text = f"{self.rate:,.0f} steps/s"
        return text + ", log time" if self.log_time else text

    def to_json(self) -> dict:
        return {"rate": self.rate, "log_time": self.log_time}

    @classmethod
    def from_json(cls, obj) -> "Pace":
        """From :meth:`to_json`'s form; a rate must lie within the studio's pace limits
        (:class:`~relu_studio.core.settings.SettingsError` names what is wrong)."""
        if not isinstance(obj, dict):
            raise SettingsError("pace", f"the pace must be a JSON object, got {type(obj).__name__}")
        rate = obj.get("rate")
        log_time = obj.get("log_time", False)
        if not isinstance(log_time, bool):
            raise SettingsError("pace", f"the pace's 'log_time' must be true or false, got {log_time!r}")
        if rate is not None:
            rate = check("pace", rate)
        return cls(rate, log_time)


FULL_SPEED = Pace()
DEFAULT_PACE = Pace(DEFAULT_PACE_RATE, DEFAULT_PACE_LOG_TIME)


def pace_ladder(lo: float = PACE_MIN, hi: float = PACE_MAX) -> tuple[int, ...]:
    """The rates a pace slider offers between ``lo`` and ``hi``: 1, 1.5, 2, 3, 5, 7 per decade
    (about equal steps on a log scale, and numbers a person reads at a glance)."""
    out = []
    decade = 10 ** math.floor(math.log10(lo))
    while decade <= hi:
        for m in (1, 1.5, 2, 3, 5, 7):
            r = int(round(m * decade))
            if lo <= r <= hi:
                out.append(r)
        decade *= 10
    return tuple(out)


def nearest_rung(rate: float, ladder: tuple) -> int:
    """The index of the rung of ``ladder`` nearest to ``rate`` on a log scale."""
    lr = math.log(rate)
    return min(range(len(ladder)), key=lambda i: abs(math.log(ladder[i]) - lr))


class PaceSchedule:
    """A pace anchored at step ``step`` of a run at wall time ``now`` (seconds, any clock).

    From there on the run follows the pace's curve as if it had always been on it: log time
    continues at the rate of the anchored step rather than starting over.
    """

    def __init__(self, pace: Pace, step: int, now: float):
        self.pace = pace
        self.step0 = int(step)
        self.t0 = float(now)
        self._T0 = pace.seconds(self.step0)

    def due(self, now: float) -> float:
        """The step the run should have reached by ``now`` (inf at full speed)."""
        p = self.pace
        if p.rate is None:
            return math.inf
        elapsed = max(0.0, float(now) - self.t0)
        if p.log_time:  # K (exp(r (T0 + e) / K) - 1) = (K + s0) exp(r e / K) - K, without T0's round-off
            x = p.rate * elapsed / p.knee
            if x > _MAX_EXP:
                return math.inf
            return (p.knee + self.step0) * math.exp(x) - p.knee
        return self.step0 + p.rate * elapsed

    def time_of(self, step: float) -> float:
        """The wall time at which ``step`` is due (``t0`` at full speed)."""
        return self.t0 + self.pace.seconds(step) - self._T0

    def plan(self, step: int, now: float, frame: float = FRAME_SECONDS) -> tuple[int | None, float]:
        """What a run at ``step`` does at ``now``: ``(k, 0)`` runs ``k`` steps now (None: as many as
        it likes, at full speed), ``(0, wait)`` waits ``wait`` seconds first, until about one
        frame's worth of steps (at least one) is due."""
        p = self.pace
        if p.rate is None:
            return None, 0.0
        due = self.due(now)
        if due == math.inf:
            return None, 0.0
        k = math.floor(due + 1e-9) - int(step)
        if k >= 1:
            return int(k), 0.0
        group = max(1, math.floor(p.rate_at(step) * frame))
        return 0, max(0.0, self.time_of(int(step) + group) - float(now))


class RateMeter:
    """Steps per second actually reached: the steps between the oldest and newest sample that
    span the last ``window`` seconds, over the time between them."""

    def __init__(self, window: float = 0.5):
        self.window = float(window)
        self._samples: deque = deque()

    def reset(self) -> None:
        self._samples.clear()

    def add(self, now: float, step: int) -> None:
        s = self._samples
        s.append((float(now), int(step)))
        # Keep one sample at or before the window's start, so the span covers the whole window.
        while len(s) > 2 and s[-1][0] - s[1][0] >= self.window:
            s.popleft()

    @property
    def rate(self) -> float:
        s = self._samples
        if len(s) < 2:
            return 0.0
        (t0, a), (t1, b) = s[0], s[-1]
        return (b - a) / (t1 - t0) if t1 > t0 else 0.0
