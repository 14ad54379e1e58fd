"""How much training does a ``kill -9`` lose? (a script, not a test)

    python tests/benchmarks/bench_crash.py [--trials 10]

Each trial starts the app offscreen in a child process, trains, and kills it with SIGKILL at a
random moment 3-9 s into the run; then it recovers the autosave as the next start would. Work
lost is the time from the moment the child had trained as far as the recovered session goes to
the moment it was killed (the child logs its step every 20 ms). Trials alternate between this
version's autosave while training (every RUN_AUTOSAVE_INTERVAL seconds) and the fixed 5 s
interval it replaced, so both see the same machine; the script prints median and max of each
and their ratio, and stops if a recovered file is ever unreadable (a kill before the first
autosave loses the whole run so far, and counts so).
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

CHILD = textwrap.dedent("""
    import os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    import relu_studio.ui.file_actions as file_actions
    if sys.argv[1] != "current":
        file_actions.RUN_AUTOSAVE_INTERVAL = float(sys.argv[1])
    from relu_studio.ui.main_window import MainWindow
    w = MainWindow(ask_to_save=False)
    w.show()
    c = w.c
    from relu_studio.core.pace import FULL_SPEED
    c.set_pace(FULL_SPEED)
    c.set_setting("steps", 1_000_000_000)
    c.set_setting("save_every", 1000)
    c.start()
    t0 = 0.0
    while True:
        app.processEvents()
        time.sleep(0.002)
        if c.last_snapshot is not None and time.time() - t0 > 0.02:
            t0 = time.time()
            print(t0, c.last_snapshot.step, flush=True)
""")


def trial(interval: str, kill_after: float) -> tuple[float, int]:
    """Seconds of training lost, and the step recovered."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, RELU_STUDIO_DATA_DIR=tmp, QT_QPA_PLATFORM="offscreen")
        proc = subprocess.Popen([sys.executable, "-c", CHILD, interval], env=env,
                                stdout=subprocess.PIPE, text=True)
        log: list[tuple[float, int]] = []
        try:
            while True:
                line = proc.stdout.readline()
                if not line:
                    raise SystemExit("the child app stopped before it was killed")
                t, step = line.split()
                log.append((float(t), int(step)))
                if log[-1][0] - log[0][0] > kill_after:
                    break
        finally:
            proc.send_signal(signal.SIGKILL)
            killed_at = time.time()
            proc.wait()
        os.environ["RELU_STUDIO_DATA_DIR"] = tmp
        from relu_studio.core.io import autosave
        from relu_studio.core.io.session import load_session

        path = autosave.find_recovery()
        if path is None:  # killed before the first autosave: the whole run is lost
            return killed_at - log[0][0], 0
        recovered = int(load_session(path).history.steps[-1])  # raises if the file is damaged
        reached = next((t for t, s in log if s >= recovered), log[-1][0])
        return killed_at - reached, recovered


def main() -> int:
    from relu_studio.ui.file_actions import RUN_AUTOSAVE_INTERVAL

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10, help="kills per configuration (default 10)")
    ap.add_argument("--before", default="5", help="the autosave interval compared with (s)")
    args = ap.parse_args()
    configs = {f"while training, every {RUN_AUTOSAVE_INTERVAL:g} s (this version)": "current",
               f"every {args.before} s (the interval before)": args.before}
    lost: dict[str, list[float]] = {k: [] for k in configs}
    print(f"{'trial':>5}  {'configuration':<44} {'killed after s':>14} {'recovered step':>15} {'lost s':>7}")
    for i in range(args.trials):
        for name, interval in configs.items():
            k = random.uniform(3, 9)
            seconds, step = trial(interval, k)
            lost[name].append(seconds)
            print(f"{i + 1:5d}  {name:<44} {k:14.1f} {step:15,} {seconds:7.2f}", flush=True)
    print()
    for name, xs in lost.items():
        print(f"{name:<44} work lost: median {statistics.median(xs):5.2f} s, max {max(xs):5.2f} s "
              f"({len(xs)} kills, every autosave readable)")
    now, before = (lost[k] for k in configs)
    print(f"ratio this version / before: median {statistics.median(now) / statistics.median(before):.2f}, "
          f"max {max(now) / max(before):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
