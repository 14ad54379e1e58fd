"""How much work does a ``kill -9`` mid-training lose? (a script, not a test)

    python tests/benchmarks/bench_autosave_kill.py [--trials 3]

Starts the app offscreen in a child process, trains, kills it with SIGKILL at a random moment,
then recovers the autosave as the next start would and compares the recovered training step with
the step the child had reached. Bar (issue 5): at most the autosave interval (5 s) of work lost,
and never a corrupt file.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

CHILD = textwrap.dedent("""
    import os, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from relu_studio.ui.main_window import MainWindow
    w = MainWindow(ask_to_save=False)
    w.show()
    c = w.c
    c.set_setting("steps", 1_000_000_000)
    c.set_setting("save_every", 1000)
    c.start()
    t0 = time.time()
    while True:
        app.processEvents()
        time.sleep(0.002)
        if c.last_snapshot is not None and time.time() - t0 > 0.05:
            print(time.time(), c.last_snapshot.step, c.steps_per_second, flush=True)
            t0 = time.time()
""")


def trial(kill_after: float) -> tuple[float, int, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, RELU_STUDIO_DATA_DIR=tmp, QT_QPA_PLATFORM="offscreen")
        proc = subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True)
        last = None
        started = None
        while True:
            line = proc.stdout.readline()
            if not line:
                break
            t, step, rate = line.split()
            last = (float(t), int(step), float(rate))
            started = started or time.time()
            if time.time() - started > kill_after:
                break
        proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        proc.wait()
        os.environ["RELU_STUDIO_DATA_DIR"] = tmp
        from relu_studio.core.io import autosave
        from relu_studio.core.io.session import load_session

        path = autosave.find_recovery()
        if path is None:
            return float("nan"), last[1], 0, 0.0
        session = load_session(path)
        recovered = int(session.history.steps[-1])
        age = killed_at - path.stat().st_mtime
        return age, last[1], recovered, last[2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=3)
    args = ap.parse_args()
    print(f"{'killed after':>12} {'reached step':>13} {'recovered':>10} {'lost steps':>11} {'lost s':>7} {'autosave age s':>15}")
    for _ in range(args.trials):
        k = random.uniform(6, 14)
        age, reached, recovered, rate = trial(k)
        lost = reached - recovered
        print(f"{k:12.1f} {reached:13,} {recovered:10,} {lost:11,} {lost / rate if rate else float('nan'):7.2f} {age:15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
