"""The command line under faults: a termination, a reader that goes away, a cell that runs out of
memory, a full disk. Finished runs are written, and the user gets one line, not a traceback."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from relu_studio import cli
from relu_studio.core.io import run_files

FAST = ["--steps", "2000", "--save-every", "500", "--quiet"]


def console() -> list[str]:
    exe = Path(sys.executable).with_name("relu-studio-run")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "relu_studio.cli"]


def test_sigterm_mid_grid_writes_the_finished_runs_and_exits_143(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([*console(), "--widths", "2", "1000", "--modes", "all", "--steps", "400000",
                             "--save-every", "10000", "--jobs", "2", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Progress counts all steps. The width-2 run (half of them) is about 15 times faster per
        # step than the width-1000 one, so it ends when progress reads about 53 %; it has surely
        # ended at 75 % (unless the width-2 thread got less than half the other's CPU time), and
        # the width-1000 run still has half its steps, seconds of work, to go.
        deadline = time.time() + 120
        while time.time() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            if "%" in line and float(line.split("%")[0].split()[-1]) >= 75:
                break
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert "cancelling after the current chunk" in stderr and "Traceback" not in stderr
    assert (out / "w2_all_seed0.npz").exists() and (out / "results.csv").exists()
    assert not (out / "w1000_all_seed0.npz").exists()
    run_files.load_run_npz(out / "w2_all_seed0.npz")  # complete and readable
    assert "w2" not in stdout or "all" in stdout  # the table of what finished was printed


def test_a_reader_that_goes_away_costs_no_results(tmp_path):
    out = tmp_path / "out"
    cmd = " ".join([*console(), "--widths", "3", *FAST, "--out", str(out)]) + " | true"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert {p.name for p in out.iterdir()} >= {"w3_all_seed0.npz", "w3_ridge_seed0.csv", "results.csv"}


def test_a_cell_that_runs_out_of_memory_costs_only_that_cell(tmp_path, monkeypatch, capsys):
    from relu_studio.core import experiment

    real = experiment.ridge_run

    def ridge_run(net, data, lam, seed):
        if net.width == 5:
            raise MemoryError("simulated")
        return real(net, data, lam, seed)

    monkeypatch.setattr(experiment, "ridge_run", ridge_run)
    out = tmp_path / "out"
    assert cli.main(["--widths", "3", "5", *FAST, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "width 5, mode ridge, seed 0: no run (MemoryError: simulated)" in err
    assert (out / "w3_ridge_seed0.npz").exists() and (out / "w5_all_seed0.npz").exists()
    assert not (out / "w5_ridge_seed0.npz").exists()


def test_a_full_disk_while_exporting_networks_is_one_line(tmp_path, monkeypatch, capsys):
    import errno

    def full(fd):  # the disk fills up while the first .pt file is written
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert cli.main(["--widths", "3", *FAST, "--export-pt", str(tmp_path / "pt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("relu-studio-run: error: cannot write the networks") and "Traceback" not in err
    assert "No space left on device" in err
    assert not [p for p in (tmp_path / "pt").iterdir()], "a half-written file was left behind"


def test_an_empty_output_folder_is_refused(capsys):
    assert cli.main(["--out", ""]) == 2
    assert "an empty folder name" in capsys.readouterr().err


def test_ctrl_c_while_the_app_starts_is_not_a_traceback(monkeypatch, capsys):
    from relu_studio import app

    def interrupted(argv=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(app, "_main", interrupted)
    assert app.main([]) == 130
    assert capsys.readouterr().err.strip() == "relu-studio: interrupted"
