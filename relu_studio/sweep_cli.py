"""``relu-studio sweep``: many runs over width, mode, lr, steps, n, noise, λ and seed, one results
row per run, locally or on a Dask cluster. No window needed.

    relu-studio sweep --widths 1:1000:log40 --modes ridge all --seeds 30 --lam 1e-8 --out dd/
    relu-studio sweep sweep.toml --out runs/ --dask local:4
    relu-studio sweep --preset double-descent --out dd/ --scheduler tcp://host:8786

Values are numbers, names or ranges (``A:B``, ``A:B:K``, ``A:B:logK``; see
:mod:`relu_studio.core.sweep_spec`); flags override the TOML file's ``[sweep]`` values. The rows go
to ``FOLDER/results.csv`` (and ``results.parquet`` when pyarrow is installed), rewritten
atomically as runs finish; running the same command again skips the runs already there.

Exit status: 0 done, 1 the results could not be written or a run failed on the cluster, 2 bad
arguments, 130 cancelled with Ctrl+C, 143 ended by SIGTERM (finished runs are kept in both).
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .cli import (ProgressBar, UsageError, _folder, _print, _SignalsCancel, _whole,
                  run_in_helper_thread)
from .core.settings import MODES
from .core.sweep_spec import AXES, DOUBLE_DESCENT, SweepError, load_spec, spec_from_toml

__all__ = ["main", "build_parser", "PROG", "PRESETS"]

PROG = "relu-studio sweep"
#: Named sweeps (TOML texts).
PRESETS = {"double-descent": DOUBLE_DESCENT}
#: Flag -> the axis or fixed setting it sets.
AXIS_FLAGS = {"widths": "width", "modes": "mode", "lrs": "lr", "steps": "steps", "n": "n",
              "noise": "noise", "lam": "lam"}
FIXED_FLAGS = {"target": "target", "data_seed": "data_seed", "batch_size": "batch_size",
               "save_every": "save_every"}


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Sweep ReLU networks over width, mode, learning rate, steps, n, noise, λ and "
                    "seed: every combination is one run and one row of FOLDER/results.csv "
                    "(settings, final and best train, full-train and test MSE, steps/s). "
                    "VALUES are numbers or names, or ranges A:B (every whole number), A:B:K "
                    "(K evenly spaced) or A:B:logK (K log-spaced), e.g. --widths 1:1000:log40.",
        epilog="Running the same command again skips the runs already in the results (resume). "
               "Exit status: 0 done, 1 the results could not be written or runs failed, 2 bad "
               "arguments, 130 Ctrl+C, 143 SIGTERM (finished runs are kept).")
    p.add_argument("spec", nargs="?", type=Path, metavar="SWEEP.toml",
                   help="a sweep file ([data], [sweep], [[runs]]; see the README)")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="a named sweep (double-descent: ridge on random ReLU features, n = 40, "
                        "widths 1..400, λ 1e-9, 30 seeds)")
    ax = p.add_argument_group("what to sweep (each takes one or more VALUES)")
    ax.add_argument("--widths", nargs="+", metavar="VALUES", help="hidden-layer widths")
    ax.add_argument("--modes", nargs="+", metavar="MODE", help=f"modes: {', '.join(MODES)}")
    ax.add_argument("--lrs", "--lr", nargs="+", metavar="VALUES",
                    help="learning rates of the SGD modes (default: each mode's, 0.2 / 0.02)")
    ax.add_argument("--steps", nargs="+", metavar="VALUES", help="SGD steps per run")
    ax.add_argument("--n", nargs="+", metavar="VALUES", help="numbers of training points")
    ax.add_argument("--noise", nargs="+", metavar="VALUES", help="noise σ of the targets")
    ax.add_argument("--lam", nargs="+", metavar="VALUES", help="ridge λ")
    seeds = ax.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=_whole, metavar="K", help="seeds 0..K-1")
    seeds.add_argument("--seed", nargs="+", metavar="VALUES", help="these seeds (e.g. 10:19)")
    fx = p.add_argument_group("fixed for the whole sweep")
    fx.add_argument("--target", metavar="NAME|FORMULA", help="a preset target or a formula in x")
    fx.add_argument("--data-seed", type=_whole, metavar="SEED", help="seed of the generated data")
    fx.add_argument("--batch-size", type=_whole, metavar="B", help="minibatch size (default n // 5)")
    fx.add_argument("--save-every", type=_whole, metavar="K", help="snapshot interval")
    ex = p.add_argument_group("where to run")
    where = ex.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=_whole, metavar="J", help="local threads (default: all cores)")
    where.add_argument("--dask", metavar="local:N",
                       help="a Dask LocalCluster of N worker processes (needs relu-studio[sweep])")
    where.add_argument("--scheduler", metavar="tcp://HOST:8786",
                       help="a running Dask scheduler (dask scheduler; dask worker tcp://HOST:8786)")
    out = p.add_argument_group("output")
    out.add_argument("--out", type=_folder, required=True, metavar="FOLDER",
                     help="results.csv (+ results.parquet with pyarrow) and, with --histories, "
                          "histories/<run_id>.npz")
    out.add_argument("--histories", action="store_true", help="keep every run's history")
    out.add_argument("--plan", action="store_true",
                     help="only say how many runs the sweep has and how many are still to do")
    out.add_argument("--quiet", action="store_true", help="no progress bar or status lines")
    return p


def _spec(args):
    """The sweep from the file or preset, with the flags' values over it."""
    if args.spec is not None and args.preset is not None:
        raise UsageError("give a sweep file or --preset, not both")
    try:
        if args.spec is not None:
            base = load_spec(args.spec)
        elif args.preset is not None:
            base = spec_from_toml(PRESETS[args.preset], source=f"preset {args.preset}")
        else:
            base = None
        axes, fixed, runs = {}, {}, None
        if base is not None:
            if len(base.grids) > 1:
                runs = [dict(g) for g in base.grids]
            else:
                axes = dict(base.grids[0])
            fixed = dict(base.fixed)
        labels = {}
        for flag, axis in AXIS_FLAGS.items():
            value = getattr(args, flag)
            if value is not None:
                axes[axis] = value
                labels[axis] = "--" + flag.replace("_", "-")
        if args.seeds is not None:
            axes.pop("seed", None)
            axes["seeds"] = args.seeds
            labels["seeds"] = "--seeds"
        if args.seed is not None:
            axes["seed"] = args.seed
            labels["seed"] = "--seed"
        for flag, name in FIXED_FLAGS.items():
            value = getattr(args, flag)
            if value is not None:
                fixed[name] = value
                labels[name] = "--" + flag.replace("_", "-")
        from .core.sweep_spec import SweepSpec

        if runs is not None and axes:
            runs = [{**r, **axes} for r in runs]
            axes = {}
        return SweepSpec.from_values(axes, fixed, runs, source=base.source if base else "",
                                     labels=labels)
    except SweepError as exc:
        raise UsageError(str(exc)) from None


def _executor(args):
    from .core.sweep_run import LocalExecutor

    if args.dask is not None:
        kind, _, count = args.dask.partition(":")
        if kind != "local" or not count.isdigit() or not 1 <= int(count) <= 256:
            raise UsageError(f"--dask {args.dask!r}: expected local:N with N from 1 to 256 "
                             "(for a running cluster use --scheduler tcp://HOST:8786)")
        from .core.sweep_dask import DaskExecutor, dask_available

        if not dask_available():
            raise UsageError("--dask needs dask.distributed: pip install 'relu-studio[sweep]'")
        return DaskExecutor(local_workers=int(count))
    if args.scheduler is not None:
        if "://" not in args.scheduler and ":" not in args.scheduler:
            raise UsageError(f"--scheduler {args.scheduler!r}: expected an address such as "
                             "tcp://HOST:8786")
        from .core.sweep_dask import DaskExecutor, dask_available

        if not dask_available():
            raise UsageError("--scheduler needs dask.distributed: pip install 'relu-studio[sweep]'")
        return DaskExecutor(address=args.scheduler)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be a whole number >= 1, got {args.jobs}")
    return LocalExecutor(args.jobs)


def main(argv=None, *, prog: str = PROG) -> int:
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    try:
        return _run(args, prog)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{prog}: cancelled", file=sys.stderr)
        return 130


def _run(args, prog: str) -> int:
    from .core.sweep_run import RESULTS_CSV, RESULTS_PARQUET, SweepResults, parquet_available, run_sweep
    from .core.sweep_spec import expand

    spec = _spec(args)
    runs = expand(spec)
    err = sys.stderr
    say = (lambda m: print(m, file=err, flush=True)) if not args.quiet else (lambda m: None)
    out = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    try:
        existing = SweepResults(out, [r.key for r in runs]) if (out / RESULTS_CSV).exists() else None
    except SweepError as exc:
        raise UsageError(f"--out {out}: {exc}; choose another folder") from None
    already = sum(1 for r in runs if existing is not None and r.key in existing)
    swept = ", ".join(f"{a} ({len({v for g in spec.grids for v in g[a]})})" for a in spec.swept)
    say(f"{prog}: {len(runs):,} runs (swept: {swept or 'nothing'}); {already:,} already in "
        f"{out / RESULTS_CSV}, {len(runs) - already:,} to do")
    if args.plan or already == len(runs):
        _print(f"{len(runs)} runs, {already} done, {len(runs) - already} to do")
        return 0
    executor = _executor(args)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder: {exc.strerror or exc}") from None
    cancel = threading.Event()
    bar = ProgressBar(err, enabled=not args.quiet, prefix=f"{prog}: ", unit="runs")
    box: dict = {}

    def work():
        try:
            with executor as ex:
                say(f"{prog}: running on {ex.describe()}")
                bar.start()
                box["outcome"] = run_sweep(runs, out, ex, histories=args.histories, progress=bar,
                                           cancel=cancel, parquet=True)
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc

    signals = _SignalsCancel(cancel, err, prog)
    with signals:
        run_in_helper_thread(work, cancel, "relu-sweep")
        bar.finish()
    if "error" in box:
        exc = box["error"]
        from .core.sweep_dask import DaskUnavailable

        if isinstance(exc, (DaskUnavailable, SweepError)):
            raise UsageError(str(exc)) from None
        if isinstance(exc, OSError):
            print(f"{prog}: error: cannot write the results to {out}: {exc.strerror or exc}",
                  file=err)
            return 1
        if isinstance(exc, MemoryError):
            print(f"{prog}: error: out of memory; try fewer jobs or smaller runs", file=err)
            return 1
        print(f"{prog}: error: {type(exc).__name__}: {exc} (the finished runs are in "
              f"{out / RESULTS_CSV}; run the same command again to resume)", file=err)
        return 1
    o = box["outcome"]
    rate = o.ran / o.wall if o.wall > 0 else 0.0
    files = RESULTS_CSV + (f" and {RESULTS_PARQUET}" if parquet_available() else "")
    if o.cancelled:
        print(f"{prog}: cancelled: {o.ran:,} of {o.planned - o.skipped:,} runs finished and "
              f"written; run the same command again to resume", file=err)
    if o.failed:
        print(f"{prog}: warning: {o.failed} run{'s' if o.failed != 1 else ''} failed (see the "
              "message column)", file=err)
    _print(f"{o.planned} runs: {o.skipped} already done, {o.ran} trained in {o.wall:.2f} s "
           f"({rate:,.1f} runs/s, {o.model_steps:,} model-steps); wrote {files} to {out}")
    if signals.received == signal.SIGTERM:
        return 128 + signal.SIGTERM
    return 130 if o.cancelled else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
