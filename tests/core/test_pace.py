"""The training pace (core/pace.py): its closed forms against an independent numerical integral,
the schedule driven by a fake clock, the rate meter, the slider's rungs and the JSON form."""
from __future__ import annotations

import math

import numpy as np
import pytest

from relu_studio.core.pace import (DEFAULT_PACE, FRAME_SECONDS, FULL_SPEED, Pace, PaceSchedule,
                                   RateMeter, nearest_rung, pace_ladder)
from relu_studio.core.settings import (DEFAULT_PACE_RATE, PACE_LOG_KNEE, PACE_MAX, PACE_MIN,
                                       SettingsError)

PACES = [Pace(500), Pace(2000), Pace(500, log_time=True), Pace(37.5, log_time=True, knee=300)]


def integral_seconds(pace: Pace, steps: float, n: int = 200_001) -> float:
    """T(s) = integral of ds / rate(s), by the trapezoid rule on a fine grid (independent of the
    closed form: it only uses rate_at)."""
    s = np.linspace(0.0, steps, n)
    inv = 1.0 / np.array([pace.rate_at(v) for v in s])
    return float(np.sum((inv[1:] + inv[:-1]) * np.diff(s)) / 2)


@pytest.mark.parametrize("pace", PACES, ids=str)
@pytest.mark.parametrize("steps", [1.0, 999.0, 30_000.0, 150_000.0])
def test_time_to_reach_a_step_is_the_integral_of_one_over_the_rate(pace, steps):
    # The trapezoid rule's error is at most h^2/12 |f'(end) - f'(0)| for a convex f = 1/rate,
    # with f' = -(r/K) / rate^2 in log time (0 for a constant rate), h the grid's spacing.
    h = steps / 200_000
    slope = (lambda s: -(pace.rate / pace.knee) / pace.rate_at(s) ** 2) if pace.log_time else (lambda s: 0.0)
    bound = h * h / 12 * abs(slope(steps) - slope(0))
    assert abs(pace.seconds(steps) - integral_seconds(pace, steps)) <= 1.01 * bound + 1e-12


@pytest.mark.parametrize("pace", PACES, ids=str)
def test_steps_at_inverts_seconds(pace):
    for s in (0.0, 1.0, 17.0, 2000.0, 1e5, 1e8):
        assert pace.steps_at(pace.seconds(s)) == pytest.approx(s, rel=1e-12, abs=1e-9)
    for t in (0.0, 0.01, 1.0, 60.0):
        assert pace.seconds(pace.steps_at(t)) == pytest.approx(t, rel=1e-12, abs=1e-12)


def test_constant_pace_is_steps_over_rate():
    p = Pace(2000)
    assert p.seconds(150_000) == 75.0 and p.steps_at(3.0) == 6000.0 and p.rate_at(1e6) == 2000.0


def test_log_time_gives_every_decade_past_the_knee_the_same_time():
    p = Pace(500, log_time=True, knee=2000)
    decade = 2000 * math.log(10) / 500
    # (K/r) ln((K + 10 a) / (K + a)) = (K/r) (ln 10 + ln((1 + K/10a) / (1 + K/a))): within a
    # relative K/a of the same time per decade
    for a in (1e4, 1e5, 1e6, 1e7):
        d = p.seconds(10 * a) - p.seconds(a)
        assert d == pytest.approx(2000 / 500 * math.log((2000 + 10 * a) / (2000 + a)), rel=1e-12)
        assert abs(d / decade - 1) < 2000 / a
    # and the early steps are slow: the rate grows by the factor (1 + s/K)
    assert p.rate_at(0) == 500 and p.rate_at(2000) == 1000 and p.rate_at(150_000) == 500 * 76


def test_the_default_pace_shows_the_notebooks_run_in_about_17_seconds_mostly_the_migration():
    p = DEFAULT_PACE
    assert p.log_time and p.rate == DEFAULT_PACE_RATE and p.knee == PACE_LOG_KNEE
    whole = p.seconds(150_000)
    migration = p.seconds(30_000)
    assert 15 <= whole <= 30  # the README's "about 17 s"
    assert whole == pytest.approx(4 * math.log(76))
    assert migration / whole > 0.6  # the first fifth of the steps gets most of the time


def test_full_speed_never_waits():
    s = PaceSchedule(FULL_SPEED, 0, 10.0)
    assert FULL_SPEED.full_speed and FULL_SPEED.seconds(1e9) == 0 and FULL_SPEED.steps_at(0) == math.inf
    for step in (0, 1, 10**9):
        assert s.plan(step, 10.0) == (None, 0.0)


def simulate(schedule: PaceSchedule, step: int, start: float, until: float, chunk: int = 10**9,
             compute=0.0):
    """The worker's loop on a fake clock: run what is due (at most ``chunk``, taking ``compute``
    fake seconds per step), else advance the clock by the wait. Records (time, step) after each
    chunk and checks the run is never ahead of its pace nor more than a frame behind."""
    t, trace = start, [(start, step)]
    while t < until:
        k, wait = schedule.plan(step, t)
        if k == 0:
            assert wait > 0
            t += wait
            continue
        k = min(k, chunk)
        step += k
        t += compute * k
        trace.append((t, step))
        due = schedule.due(t)
        assert step <= math.floor(due + 1e-6)  # never ahead
    return step, trace


@pytest.mark.parametrize("pace", [Pace(500), Pace(12_345), Pace(500, log_time=True)], ids=str)
def test_a_paced_loop_runs_the_due_steps_within_a_frame(pace):
    sched = PaceSchedule(pace, 0, 100.0)
    step, trace = simulate(sched, 0, 100.0, 130.0)
    for t, s in trace:
        due = sched.due(t)
        group = max(1, math.floor(pace.rate_at(s) * FRAME_SECONDS))
        assert due - s <= group + 1  # at most about one frame behind
    # steps per (fake) second within 10 % of the set rate, every second
    times, steps = np.array(trace).T
    for sec in range(100, 129):
        a, b = np.interp([sec, sec + 1], times, steps)
        want = pace.steps_at(sec + 1 - 100) - pace.steps_at(sec - 100)
        assert abs((b - a) - want) <= 0.1 * want, (sec, b - a, want)


def test_chunks_at_a_slow_pace_are_about_one_frame():
    sched = PaceSchedule(Pace(600), 0, 0.0)
    _, trace = simulate(sched, 0, 0.0, 5.0)
    sizes = np.diff([s for _, s in trace])
    assert sizes.max() <= 600 * FRAME_SECONDS + 1 and len(sizes) >= 5 * 50  # ~60 chunks per second


def test_a_pace_change_continues_from_the_current_step():
    slow = PaceSchedule(Pace(1000, log_time=True), 0, 0.0)
    step, _ = simulate(slow, 0, 0.0, 3.0)
    fast = PaceSchedule(Pace(50_000), step, 3.0)  # what the worker does on a new pace
    step2, _ = simulate(fast, step, 3.0, 4.0)
    assert step2 - step == pytest.approx(50_000, rel=0.01)
    # log time re-anchored at step s continues at its rate there, not from the start
    again = PaceSchedule(Pace(1000, log_time=True), step, 4.0)
    assert again.due(4.1) - step == pytest.approx(
        (Pace(1000, log_time=True).steps_at(Pace(1000, log_time=True).seconds(step) + 0.1) - step), rel=1e-9)


def test_a_slow_computer_catches_up_but_never_runs_ahead():
    # each step costs 1 ms of (fake) time but the pace asks 2000/s: the run goes as fast as it can
    sched = PaceSchedule(Pace(2000), 0, 0.0)
    step, _ = simulate(sched, 0, 0.0, 2.0, chunk=50, compute=0.001)
    assert 1900 <= step <= 2050


def test_the_rate_meter_measures_steps_per_wall_second():
    m = RateMeter(window=0.5)
    assert m.rate == 0.0
    for i in range(200):
        m.add(i * 0.01, 30 * i)  # 3000 steps/s
    assert m.rate == pytest.approx(3000)
    for i in range(200, 300):
        m.add(i * 0.01, 30 * 200 + 10 * (i - 200))  # now 1000 steps/s
    assert m.rate == pytest.approx(1000)
    m.reset()
    assert m.rate == 0.0


def test_the_ladder_covers_the_limits_in_readable_rungs():
    lad = pace_ladder()
    assert lad[0] == PACE_MIN and lad[-1] == PACE_MAX and DEFAULT_PACE_RATE in lad
    ratios = np.array(lad[1:]) / np.array(lad[:-1])
    assert ratios.min() > 1.3 and ratios.max() < 1.7  # about even steps on a log scale
    assert nearest_rung(510, lad) == lad.index(500) and nearest_rung(1e9, lad) == len(lad) - 1


def test_pace_json_round_trips_and_refuses_what_it_cannot_use():
    for p in (FULL_SPEED, DEFAULT_PACE, Pace(3000)):
        assert Pace.from_json(p.to_json()) == p
    for bad, words in (([500], "JSON object"), ({"rate": 1e9}, "between 100 and 200000"),
                       ({"rate": "fast"}, "pace"), ({"rate": 500, "log_time": "yes"}, "log_time"),
                       ({"rate": float("nan")}, "finite")):
        with pytest.raises(SettingsError, match=words):
            Pace.from_json(bad)
    for bad in (0, -1, float("inf"), True):
        with pytest.raises(ValueError):
            Pace(bad)
    assert Pace(500, True).describe() == "500 steps/s, log time" and FULL_SPEED.describe() == "full speed"
