"""The headless command line ``relu-studio-run`` (relu_studio.cli.main)."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import relu_studio as rs
from relu_studio.core.io.data_csv import data_to_csv
from relu_studio import cli
from relu_studio.core.io import run_files as hio
from relu_studio.core.experiment import ALL_MODES, ridge_run, run_experiment
from relu_studio.core.report import format_table
from relu_studio.core.settings import GridSettings, StudioSettings

STEPS, SAVE = 2000, 500
FAST = ["--steps", str(STEPS), "--save-every", str(SAVE)]
ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2")
LR = {"output": 0.2, "all": 0.02}


def assert_same_run(a, b):
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), name
    assert a.initial.equals(b.initial)
    assert a.settings == b.settings
    assert a.diverged_at == b.diverged_at
    assert a.completed_steps == b.completed_steps


def table_lines(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if ln.strip()]


def has_row(stdout: str, width: int, mode: str) -> bool:
    return any(re.match(rf"^\s*{width}\s+{re.escape(mode)}\s", ln) for ln in stdout.splitlines())


def console_command() -> list[str]:
    exe = Path(sys.executable)
    for cand in (exe.parent / "relu-studio-run", exe.parent / "relu-studio-run.exe"):
        if cand.exists():
            return [str(cand)]
    found = shutil.which("relu-studio-run", path=str(exe.parent))
    return [found] if found else [sys.executable, "-m", "relu_studio.cli"]


# --------------------------------------------------------------------------- the grid and --out
def test_out_folder_holds_every_run_bit_for_bit(tmp_path, capsys):
    out = tmp_path / "results"
    code = cli.main([*FAST, "--widths", "3", "6", "--seeds", "2", "--jobs", "2",
                     "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""  # --quiet: no progress bar, no status lines

    stems = [f"w{w}_{m}_seed{s}" for w in (3, 6) for m in ALL_MODES for s in (0, 1)]
    expected = {f"{st}.{ext}" for st in stems for ext in ("npz", "csv")} | {"results.csv", "settings.json"}
    assert {p.name for p in out.iterdir()} == expected

    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    for w in (3, 6):
        for s in (0, 1):
            net = rs.init_network(w, s)
            for mode in ALL_MODES:
                if mode == "ridge":
                    want = ridge_run(net, data, lam=1e-5, seed=s)
                else:
                    want = rs.train(net, data, mode, LR[mode], STEPS, save_every=SAVE, seed=s)
                got = hio.load_run_npz(out / f"w{w}_{mode}_seed{s}.npz")
                assert_same_run(want, got)
                assert got.extra == want.extra
                rows = list(csv.reader(io.StringIO((out / f"w{w}_{mode}_seed{s}.csv").read_text())))
                assert rows[0] == ["step", "train_mse", "full_train_mse", "test_mse"]
                assert [int(r[0]) for r in rows[1:]] == want.steps.tolist()
                assert np.array_equal([float(r[3]) for r in rows[1:]], want.test_error)

    # The printed table has every width and mode, then the timing line.
    for w in (3, 6):
        for mode in ALL_MODES:
            assert has_row(captured.out, w, mode), captured.out
    assert "final test MSE" in captured.out
    assert re.search(r"total wall time [\d.]+ s; 16,000 model-steps, [\d,]+ model-steps/s",
                     captured.out)

    with open(out / "results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["width"], r["mode"], r["seeds"]) for r in table] == [
        (str(w), m, "2") for w in (3, 6) for m in ALL_MODES]
    columns = ["width", "mode", "optimizer", "activation", "loss", "seeds"] + [
        f"{metric}_{kind}_{stat}" for metric in ("train", "full_train", "test")
        for kind in ("final", "best") for stat in ("median", "q25", "q75")] + ["diverged"]
    assert list(table[0]) == columns
    w6_all = [hio.load_run_npz(out / f"w6_all_seed{s}.npz") for s in (0, 1)]
    finals = [r.test_error[-1] for r in w6_all]
    row = next(r for r in table if r["width"] == "6" and r["mode"] == "all")
    assert float(row["test_final_median"]) == np.percentile(finals, 50)
    assert float(row["test_final_q25"]) == np.percentile(finals, 25)
    assert float(row["train_best_q75"]) == np.percentile([np.nanmin(r.train_error) for r in w6_all], 75)

    settings = json.loads((out / "settings.json").read_text())
    assert settings["widths"] == [3, 6] and settings["modes"] == list(ALL_MODES)
    assert settings["seeds"] == [0, 1] and settings["steps"] == STEPS
    assert settings["batch_size"] == 40 and settings["cancelled"] is False
    assert settings["data"] == {"source": "target", "target": "piecewise_linear", "n": 200,
                                "noise": 0.1, "seed": 1}
    assert sorted(settings["runs"]) == sorted(stems)


def test_table_matches_run_experiment(capsys):
    code = cli.main([*FAST, "--widths", "4", "--modes", "all", "ridge", "--table", "best",
                     "--target", "sin(20x)", "--n", "60", "--noise", "0.05", "--data-seed", "7",
                     "--lr-all", "0.05", "--batch-size", "9", "--lam", "1e-3", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    data = rs.make_dataset("sin(20x)", n=60, noise=0.05, seed=7)
    res = run_experiment(data, widths=(4,), modes=("all", "ridge"), seeds=1, steps=STEPS,
                         save_every=SAVE, lr_all=0.05, batch_size=9, lam=1e-3)
    expected = format_table(rs.results_table(res), "best")
    assert out.startswith(expected + "\n")
    assert "best test MSE" in out


def test_csv_data_file(tmp_path, capsys):
    data = rs.make_dataset("abs", n=40, noise=0.2, seed=3)
    path = tmp_path / "points.csv"
    path.write_text(data_to_csv(data))
    out = tmp_path / "o"
    code = cli.main(["--data", str(path), *FAST, "--widths", "5", "--modes", "output", "ridge",
                     "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "points.csv (40 points)" in captured.err
    loaded = rs.load_csv(path)
    want = rs.train(rs.init_network(5, 0), loaded, "output", 0.2, STEPS, save_every=SAVE, seed=0)
    assert_same_run(want, hio.load_run_npz(out / "w5_output_seed0.npz"))
    settings = json.loads((out / "settings.json").read_text())
    assert settings["data"] == {"source": "csv", "path": str(path.resolve()), "n": 40}
    assert settings["batch_size"] == 8


def test_duplicates_are_dropped_and_order_kept(capsys):
    assert cli.main([*FAST, "--widths", "5", "3", "5", "--modes", "ridge", "ridge", "--quiet"]) == 0
    rows = [ln.split()[:2] for ln in table_lines(capsys.readouterr().out)[2:-1]]
    assert rows == [["5", "ridge"], ["3", "ridge"]]


def test_divergence_is_reported(capsys):
    code = cli.main([*FAST, "--widths", "5", "--modes", "all", "--lr-all", "100", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0
    assert "(1 diverged)" in captured.out
    assert "warning: width 5, mode all, seed 0: Training diverged" in captured.err


def test_progress_goes_to_stderr(capsys):
    assert cli.main([*FAST, "--widths", "3", "--modes", "output"]) == 0
    captured = capsys.readouterr()
    assert "relu-studio-run: 100.0%  2,000/2,000 steps" in captured.err
    assert "\r" not in captured.err  # not a terminal: plain lines
    assert "%" not in captured.out


# --------------------------------------------------------------------------- the progress bar
def test_progress_bar_on_a_terminal():
    buf = io.StringIO()
    bar = cli.ProgressBar(buf, tty=True, interval=3600, width=10)  # throttled: one draw per hour
    bar.start()
    bar(1000, 4000)
    for k in range(1, 20):  # far more often than allowed: no redraw
        bar(1000 + k, 4000)
    first = buf.getvalue()
    assert first.count("\r") <= 2 and " 25.0%" in first and "1,000/4,000 steps" in first
    assert "steps/s" in first and "ETA" in first
    bar(4000, 4000)  # the end is always drawn
    bar.finish()
    text = buf.getvalue()
    assert text.endswith("\n") and "100.0%" in text and "4,000/4,000 steps" in text
    assert "1,019/4,000" not in text  # the throttled updates were never drawn


def test_progress_bar_plain_and_quiet():
    buf = io.StringIO()
    bar = cli.ProgressBar(buf, tty=False, prefix="p: ")
    for d in range(0, 10_001, 500):
        bar(d, 10_000)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 11 and all(ln.startswith("p: ") for ln in lines)
    assert "\r" not in buf.getvalue() and "[" not in buf.getvalue()
    bar.finish()
    assert len(buf.getvalue().splitlines()) == 11

    quiet = io.StringIO()
    bar = cli.ProgressBar(quiet, enabled=False, tty=True)
    bar(5, 10)
    bar.finish()
    assert quiet.getvalue() == "" and bar.done == 5


# --------------------------------------------------------------------------- bad input
ONE_LINE = [
    (["--n", "-3"], "--n must be a whole number between 1 and"),
    (["--n", "3"], "the default batch size n // 5 is 0 for 3 points; pass --batch-size"),
    (["--noise", "-0.5"], "--noise must be a finite number >= 0, got -0.5"),
    (["--data-seed", "-1"], "--data-seed must be a whole number between 0 and"),
    (["--target", "import os"], "--target 'import os': the formula is not a valid expression"),
    (["--target", "sin(x"], "--target 'sin(x': the formula is not a valid expression"),
    (["--target", "__import__('os').system('true')"], "--target"),
    (["--target", "foo(x)"], "unknown function 'foo'"),
    (["--target", "1/x"], "is not finite everywhere on [0, 1]"),
    (["--widths", "0"], "--widths: every width must be a whole number between 1 and 100000, got 0"),
    (["--widths", "10", "100001"], "got 100001"),
    (["--lr-all", "-1"], "--lr-all must be a finite number > 0, got -1.0"),
    (["--lr-output", "0"], "--lr-output must be a finite number > 0"),
    (["--lr-output", "nan"], "--lr-output must be a finite number > 0"),
    (["--lam", "-1e-3"], "--lam must be a finite number >= 0, got -0.001"),
    (["--lr-all", "-inf"], "--lr-all must be a finite number > 0, got -inf"),
    (["--widths", "-1e1"], "--widths: every width must be a whole number between 1 and 100000, got -10"),
    (["--steps", "0"], "--steps must be a whole number between 1 and 1000000000, got 0"),
    (["--steps", "1e18"], "--steps must be a whole number between 1 and 1000000000, got 1000000000000000000"),
    (["--save-every", "0"], "--save-every must be a whole number between 1 and 1000000000"),
    (["--batch-size", "0"], "--batch-size must be a whole number between 1 and 1000000"),
    (["--seeds", "0"], "--seeds must be a whole number between 1 and 1000"),
    (["--seeds", "1001"], "--seeds must be a whole number between 1 and 1000"),
    (["--jobs", "0"], "--jobs must be a whole number >= 1"),
]


@pytest.mark.parametrize("argv, message", ONE_LINE, ids=[" ".join(a) for a, _m in ONE_LINE])
def test_bad_values_give_one_line_and_exit_2(argv, message, capsys):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("relu-studio-run: error: ")
    assert captured.err.count("\n") == 1, captured.err
    assert message in captured.err


def test_missing_and_bad_csv_files(tmp_path, capsys):
    assert cli.main(["--data", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("relu-studio-run: error: cannot read missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,z\n1,2,3\n")
    assert cli.main(["--data", str(bad)]) == 2
    assert "bad.csv, line 1: expected two columns x,y, found 3" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text("0.1,1\n0.5,2\n")
    assert cli.main(["--data", str(good), "--n", "10", "--noise", "0"]) == 2
    assert "--n, --noise apply to generated data, not to --data" in capsys.readouterr().err


def test_out_must_be_a_folder(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert cli.main(["--out", str(f), "--modes", "ridge"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


ARGPARSE = [
    (["--modes", "foo"], "argument --modes: invalid choice: 'foo'"),
    (["--steps", "abc"], "argument --steps: invalid whole number: 'abc'"),
    (["--steps", "1.5"], "invalid whole number: '1.5'"),
    (["--noise", "lots"], "argument --noise: invalid number: 'lots'"),
    (["--table", "worst"], "argument --table: invalid choice: 'worst'"),
    (["--widths"], "argument --widths: expected at least one argument"),
    (["--data", "a.csv", "--target", "abs"], "not allowed with argument"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
]


@pytest.mark.parametrize("argv, message", ARGPARSE, ids=[" ".join(a) for a, _m in ARGPARSE])
def test_argparse_errors_exit_2_with_usage(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: relu-studio-run")
    assert f"relu-studio-run: error: {message}" in err or message in err


def test_numbers_accept_underscores_and_exponents():
    parser = cli.build_parser()
    args = parser.parse_args(["--steps", "150_000", "--save-every", "1e3", "--widths", "2e1"])
    assert (args.steps, args.save_every, args.widths) == (150_000, 1000, [20])


def test_defaults_are_the_notebooks():
    args = cli.build_parser().parse_args([])
    assert args.target == "piecewise_linear" and args.data is None
    assert args.widths == [10, 20, 40] and tuple(args.modes) == ALL_MODES
    assert (args.steps, args.save_every, args.lam, args.seeds) == (150_000, 1000, 1e-5, 1)
    s = cli._validate(args)
    assert (s.grid.lr_output, s.grid.lr_all, s.optimizer) == (0.2, 0.02, None)
    assert (s.data.n, s.data.noise, s.data.data_seed, s.grid.batch_size) == (200, 0.1, 1, None)
    assert s.grid == GridSettings() and s.data == StudioSettings()  # the app's one schema
    assert s.jobs == (os.cpu_count() or 1)


def test_help_and_version(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: relu-studio-run") and "--save-every" in out and "sin(20x)" in out
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"relu-studio-run {rs.__version__}"


def test_prog_name_for_the_gui_entry_point(capsys):
    assert cli.main(["--steps", "0"], prog="relu-studio run") == 2
    assert capsys.readouterr().err.startswith("relu-studio run: error: --steps")


def test_help_does_not_import_numba_or_torch():
    code = ("import sys\nfrom relu_studio.cli import main\nassert main(['--help']) == 0\n"
            "bad = [m for m in ('numba', 'torch', 'PySide6') if m in sys.modules]\n"
            "sys.exit(f'imported {bad}' if bad else 0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- the installed script
def test_console_script_runs(tmp_path):
    cmd = console_command() + ["--steps", "1000", "--save-every", "500", "--widths", "5", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("width  mode")
    for mode in ALL_MODES:
        assert has_row(proc.stdout, 5, mode), proc.stdout
    assert "model-steps/s" in proc.stdout


def test_module_entry_point_reports_errors(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "relu_studio.cli", "--widths", "0"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("relu-studio-run: error: --widths")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_cancels_and_prints_the_partial_table(tmp_path):
    out = tmp_path / "partial"
    cmd = console_command() + ["--steps", "100000000", "--widths", "20", "--modes", "all", "ridge",
                               "--jobs", "1", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        err_lines = []
        while True:  # wait until training has started (the first progress line)
            line = proc.stderr.readline()
            assert line, "the process ended before training started: " + "".join(err_lines)
            err_lines.append(line)
            if "steps/s" in line:
                break
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=100)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    stderr = "".join(err_lines) + stderr
    assert proc.returncode == 130, stderr
    assert "cancelling after the current chunk" in stderr
    assert "cancelled: 1 of 2 runs finished" in stderr
    assert has_row(stdout, 20, "ridge") and not has_row(stdout, 20, "all")
    assert "total wall time" in stdout
    settings = json.loads((out / "settings.json").read_text())
    assert settings["cancelled"] is True and settings["runs"] == ["w20_ridge_seed0"]
    assert not (out / "w20_all_seed0.npz").exists()


# --------------------------------------------------------------------------- torch files
def test_init_from_and_export_pt(tmp_path, capsys):
    from relu_studio.core.io.torch_files import export_state_dict, load_network_pt

    net = rs.init_network(6, 11).with_unit(2, w2=0.75)  # not any seed's init: it must come from the file
    pt = export_state_dict(net, tmp_path / "start.pt")
    out, nets = tmp_path / "o", tmp_path / "nets"
    code = cli.main(["--init-from", str(pt), *FAST, "--seeds", "2", "--out", str(out),
                     "--export-pt", str(nets)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"every run starts from {pt} (width 6)" in captured.err
    assert "wrote 6 .pt files to" in captured.err
    for mode in ALL_MODES:
        assert has_row(captured.out, 6, mode), captured.out
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    stems = [f"w6_{m}_seed{s}" for m in ALL_MODES for s in (0, 1)]
    assert sorted(p.name for p in nets.iterdir()) == sorted(f"{st}.pt" for st in stems)
    for s in (0, 1):
        for mode in ALL_MODES:
            if mode == "ridge":
                want = ridge_run(net, data, lam=1e-5, seed=s)
            else:  # every seed starts from the file's network; the seed picks the minibatches
                want = rs.train(net, data, mode, LR[mode], STEPS, save_every=SAVE, seed=s)
            got = hio.load_run_npz(out / f"w6_{mode}_seed{s}.npz")
            assert got.initial.equals(net)
            assert_same_run(want, got)
            assert load_network_pt(nets / f"w6_{mode}_seed{s}.pt").equals(want.final)
    settings = json.loads((out / "settings.json").read_text())
    assert settings["init_from"] == str(pt.resolve()) and settings["widths"] == [6]


def test_export_pt_alone_matches_the_grid(tmp_path, capsys):
    from relu_studio.core.io.torch_files import load_network_pt

    nets = tmp_path / "nets"
    assert cli.main([*FAST, "--widths", "3", "--modes", "output", "--export-pt", str(nets),
                     "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    want = rs.train(rs.init_network(3, 0), data, "output", 0.2, STEPS, save_every=SAVE, seed=0)
    assert [p.name for p in nets.iterdir()] == ["w3_output_seed0.pt"]
    assert load_network_pt(nets / "w3_output_seed0.pt").equals(want.final)


def test_init_from_with_matching_widths(tmp_path, capsys):
    from relu_studio.core.io.torch_files import export_state_dict

    pt = export_state_dict(rs.init_network(4, 0), tmp_path / "n.pt")
    assert cli.main(["--init-from", str(pt), "--widths", "4", "4", "--modes", "ridge", "--quiet"]) == 0
    assert has_row(capsys.readouterr().out, 4, "ridge")


def _bad_pt_files(tmp_path):
    import pickle

    import torch

    from relu_studio.core.io.torch_files import export_state_dict

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned_marker'}",))

    export_state_dict(rs.init_network(5, 0), tmp_path / "w5.pt")
    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump(Evil(), f, protocol=2)
    sd = rs.init_network(5, 0).to_state_dict(as_torch=True)
    sd["0.bias"] = sd["0.bias"].long()
    torch.save(sd, tmp_path / "ints.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    return {
        "width": (["--init-from", str(tmp_path / "w5.pt"), "--widths", "10", "20"],
                  "--init-from w5.pt: the network has width 5, but --widths asks for 10 20; "
                  "drop --widths or pass --widths 5"),
        "evil": (["--init-from", str(tmp_path / "evil.pt")],
                 "--init-from evil.pt: refused: the file contains Python code or objects"),
        "ints": (["--init-from", str(tmp_path / "ints.pt")],
                 "--init-from ints.pt: '0.bias' has dtype torch.int64"),
        "empty": (["--init-from", str(tmp_path / "empty.pt")], "--init-from empty.pt: the file is empty"),
        "missing": (["--init-from", str(tmp_path / "absent.pt")],
                    "--init-from absent.pt: cannot read the file"),
        "export to a file": (["--export-pt", str(tmp_path / "w5.pt"), "--modes", "ridge"],
                             "--export-pt " + str(tmp_path / "w5.pt") + ": exists and is not a folder"),
    }


def test_bad_torch_flags_give_one_line_and_exit_2(tmp_path, capsys):
    cases = _bad_pt_files(tmp_path)
    for name, (argv, message) in cases.items():
        assert cli.main([*FAST, *argv]) == 2, name
        captured = capsys.readouterr()
        assert captured.out == "", name
        assert captured.err.startswith("relu-studio-run: error: "), (name, captured.err)
        assert captured.err.count("\n") == 1, (name, captured.err)
        assert message in captured.err, (name, captured.err)
    assert not (tmp_path / "pwned_marker").exists()


def test_torch_flags_are_in_the_help(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--init-from FILE.pt" in out and "--export-pt FOLDER" in out


# --------------------------------------------------------------------------- optimizers
def test_optimizer_flags_train_every_run_with_that_optimizer(tmp_path, capsys):
    """``--optimizer adam --betas ...``: each run saved equals rs.train with that Optimizer, the
    learning rate defaulting to torch's (1e-3) when no --lr-* is given; settings.json records it."""
    out = tmp_path / "adam"
    code = cli.main([*FAST, "--widths", "4", "--seeds", "2", "--modes", "output", "all",
                     "--optimizer", "adam", "--betas", "0.8", "0.99", "--weight-decay", "0.001",
                     "--lr-output", "0.01", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    opt = rs.Optimizer("adam", betas=(0.8, 0.99), weight_decay=0.001)
    for mode, lr in (("output", 0.01), ("all", 1e-3)):
        for s in (0, 1):
            want = rs.train(rs.init_network(4, s), data, mode=mode, lr=lr, steps=STEPS,
                            save_every=SAVE, seed=s, optimizer=opt)
            got = hio.load_run_npz(out / f"w4_{mode}_seed{s}.npz")
            assert_same_run(got, want)
    saved = json.loads((out / "settings.json").read_text())
    assert saved["optimizer"]["name"] == "adam" and saved["optimizer"]["betas"] == [0.8, 0.99]
    assert saved["lr_all"] == 1e-3 and saved["lr_output"] == 0.01


def test_dampening_and_centered_flags_reach_the_optimizer(tmp_path, capsys):
    """``--dampening`` and ``--centered``: the runs equal rs.train with those settings."""
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    for flags, opt in ((["--optimizer", "momentum", "--dampening", "0.3"], rs.Optimizer("momentum", dampening=0.3)),
                       (["--optimizer", "rmsprop", "--centered", "--momentum", "0.5"],
                        rs.Optimizer("rmsprop", centered=True, momentum=0.5))):
        out = tmp_path / flags[1]
        assert cli.main([*FAST, "--widths", "4", "--seeds", "1", "--modes", "all", *flags,
                         "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
        want = rs.train(rs.init_network(4, 0), data, mode="all", steps=STEPS, save_every=SAVE,
                        seed=0, optimizer=opt)
        assert_same_run(hio.load_run_npz(out / "w4_all_seed0.npz"), want)
        assert json.loads((out / "settings.json").read_text())["optimizer"] == opt.to_dict()


def test_plain_sgd_flag_is_todays_default(capsys):
    assert cli.main([*FAST, "--widths", "3", "--modes", "all", "--quiet"]) == 0
    default = capsys.readouterr().out.splitlines()[:-1]  # the last line is the wall time
    assert cli.main([*FAST, "--widths", "3", "--modes", "all", "--optimizer", "sgd", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[:-1] == default


@pytest.mark.parametrize("argv, message", [
    (["--optimizer", "adagrad"], "invalid choice: 'adagrad'"),
    (["--optimizer", "adam", "--betas", "0.9", "1.5"], r"--betas: beta2 must be a number in \[0, 1\)"),
    (["--optimizer", "sgd", "--momentum", "0.9"], "--momentum: SGD has no setting 'momentum'"),
    (["--optimizer", "momentum", "--momentum", "1"], r"--momentum: the momentum must be a number in \(0, 1\)"),
    (["--optimizer", "adamw", "--eps", "0"], "--eps: eps must be a finite number > 0"),
    (["--optimizer", "rmsprop", "--weight-decay", "-1e-3"], "--weight-decay: the weight decay must be"),
    (["--optimizer", "adam", "--nesterov"], "--nesterov: Adam has no setting 'nesterov'"),
    (["--optimizer", "momentum", "--dampening", "1.5"], "--dampening: the dampening must be"),
    (["--optimizer", "momentum", "--nesterov", "--dampening", "0.1"], "--nesterov: Nesterov momentum requires zero dampening"),
    (["--optimizer", "adam", "--centered"], "--centered: Adam has no setting 'centered'"),
])
def test_bad_optimizer_flags_exit_2_with_one_line(argv, message, capsys):
    assert cli.main([*FAST, "--widths", "3", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert re.search(message, err[-1]), err  # one error line (argparse prints its usage first)


# --------------------------------------------------------------------------- the optimizer axis
def test_optimizers_train_the_grid_over_each_one(tmp_path, capsys):
    """``--optimizers sgd "momentum:..." "adam:lr=1e-3"``: every SGD mode once per optimizer, each
    run file equal to rs.train with that optimizer; ridge once; the table, results.csv and
    settings.json name the optimizers."""
    out = tmp_path / "axis"
    code = cli.main([*FAST, "--widths", "4", "--seeds", "1", "--modes", "output", "all", "ridge",
                     "--optimizers", "sgd", "momentum:momentum=0.8,nesterov=true", "adam:lr=1e-3",
                     "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    data = rs.make_dataset("piecewise_linear", n=200, noise=0.1, seed=1)
    axis = {"": None, "_nesterov-0.8": rs.Optimizer("momentum", momentum=0.8, nesterov=True),
            "_adam-lr=0.001": rs.Optimizer("adam", lr=1e-3)}
    for part, opt in axis.items():
        for mode in ("output", "all"):
            want = rs.train(rs.init_network(4, 0), data, mode=mode, steps=STEPS, save_every=SAVE,
                            seed=0, optimizer=opt)
            assert_same_run(hio.load_run_npz(out / f"w4_{mode}{part}_seed0.npz"), want)
    assert sorted(p.name for p in out.glob("*ridge*.npz")) == ["w4_ridge_seed0.npz"]
    with open(out / "results.csv", newline="") as f:
        table = [(r["mode"], r["optimizer"]) for r in csv.DictReader(f)]
    assert table == [("output", "SGD lr 0.2"), ("output", "momentum 0.8 (Nesterov) lr 0.2"),
                     ("output", "Adam lr 0.001"), ("all", "SGD lr 0.02"),
                     ("all", "momentum 0.8 (Nesterov) lr 0.02"), ("all", "Adam lr 0.001"), ("ridge", "")]
    for _mode, label in table[:-1]:
        assert label in printed
    saved = json.loads((out / "settings.json").read_text())
    assert saved["optimizers"] == [rs.Optimizer().to_dict(), *(o.to_dict() for o in list(axis.values())[1:])]


def test_one_optimizer_in_the_axis_is_the_optimizer_flag(tmp_path, capsys):
    """``--optimizers adam`` trains what ``--optimizer adam`` trains, into the same file names."""
    args = [*FAST, "--widths", "3", "--seeds", "1", "--modes", "all", "--quiet"]
    assert cli.main([*args, "--optimizer", "adam", "--out", str(tmp_path / "flag")]) == 0
    assert cli.main([*args, "--optimizers", "adam", "--out", str(tmp_path / "axis")]) == 0
    capsys.readouterr()
    a, b = (hio.load_run_npz(tmp_path / d / "w3_all_seed0.npz") for d in ("flag", "axis"))
    assert_same_run(a, b)
    assert a.settings.optimizer == b.settings.optimizer == rs.Optimizer("adam", lr=1e-3)


@pytest.mark.parametrize("argv, message", [
    (["--optimizers", "adagrad"], "--optimizers: 'adagrad': start with an optimizer's name"),
    (["--optimizers", "sgd", "adam:lr=fast"], "--optimizers: 'adam lr=fast': lr must be a number, got 'fast'"),
    (["--optimizers", "momentum:momentum=1.5"], r"--optimizers: .*the momentum must be a number in \(0, 1\)"),
    (["--optimizers", "adam", "ADAM"], "--optimizers: 'ADAM' is given twice"),
    (["--optimizers", "sgd adam"], "--optimizers: .*one optimizer per item"),
    (["--optimizers", "sgd", "momentum", "--momentum", "0.5"], "--momentum applies to --optimizer; "
                                                              "with --optimizers write the setting"),
    (["--optimizers", "sgd", "--optimizer", "adam"], "not allowed with argument"),
])
def test_bad_optimizer_specs_exit_2_with_one_line(argv, message, capsys):
    assert cli.main([*FAST, "--widths", "3", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert re.search(message, err[-1]), err
