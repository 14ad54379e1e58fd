"""``relu-studio-run``: the notebook's experiment from the command line, no window needed.

Trains one-hidden-layer ReLU networks of several widths in every mode ("output": the output layer
only, "all": all layers, "ridge": the output layer in closed form) for a number of seeds, on all
cores, and prints a table of the final (or best) training and test errors. With ``--out`` every
run's history is saved (``.npz``, lossless, and ``.csv``) with the table and the settings.
``--init-from FILE.pt`` starts every run from a network saved as the notebook's ``state_dict``,
and ``--export-pt FOLDER`` saves each run's final network as one (both without torch).

``--optimizers sgd "momentum 0.9" adam:lr=1e-3`` adds the optimizer as an axis of the grid (each
SGD mode once per optimizer; core.optimizer_specs reads each spec, never evaluating it);
``--optimizer NAME`` with ``--momentum``, ``--betas``, ... trains every run with one optimizer.

The defaults are the notebook's experiment. ``relu-studio run ...`` is the same command.

Exit status: 0 done, 1 the results could not be written (or memory ran out), 2 bad arguments or
data, 130 cancelled with Ctrl+C, 143 ended by SIGTERM (in both cases the runs finished so far are
still written and reported).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import threading
import time

# Only light modules at import time (numpy at most): the compiled kernels (numba) are imported
# by the first training run, so ``--help`` and argument errors stay fast.
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

# results.csv is written by the core's writer, the same one the Compare view exports with.
from .core.io.run_files import run_stem
from .core.report import TABLE_KINDS, results_csv
from .core.experiment import optimizer_label
from .core.optimizer_specs import parse_optimizer
from .core.activations import ACTIVATIONS, Activation
from .core.losses import LOSSES, Loss
from .core.optimizers import OPTIMIZERS, Optimizer
from .core.settings import (
    DEFAULT_LR,
    LIMITS,
    MAX_WIDTH,
    MODES,
    GridSettings,
    SettingsError,
    StudioSettings,
    check,
)
from .core.targets import PRESETS

__all__ = ["main", "build_parser", "PROG"]

PROG = "relu-studio-run"
KINDS = TABLE_KINDS  # --table: "final" or "best"
#: The command line's flag of each setting (messages name the flag the user typed).
FLAGS = {"n": "--n", "noise": "--noise", "data_seed": "--data-seed", "seeds": "--seeds",
         "steps": "--steps", "save_every": "--save-every", "lr_output": "--lr-output",
         "lr_all": "--lr-all", "batch_size": "--batch-size", "lam": "--lam", "jobs": "--jobs"}


_NEGATIVE_NUMBER = re.compile(r"^-(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$",
                              re.IGNORECASE)


class UsageError(Exception):
    """A bad value on the command line or in the data: reported in one line, exit status 2."""


# --------------------------------------------------------------------------- argument parsing
def _whole(text: str) -> int:
    """An integer; also accepts ``150_000`` and ``1.5e5`` when the value is whole."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid whole number: {text!r}") from None
    if not math.isfinite(v) or v != int(v):
        raise argparse.ArgumentTypeError(f"invalid whole number: {text!r}")
    return int(v)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    d = {**StudioSettings().to_json(), **GridSettings().to_json()}
    p = argparse.ArgumentParser(
        prog=prog,
        description="Train one-hidden-layer ReLU networks on a 1-D function, as the course "
                    "notebook does: several widths x modes x seeds on all cores, then a table of "
                    "the errors (median [25%, 75%] over seeds). The defaults are the notebook's "
                    "experiment.",
        epilog="Exit status: 0 done, 1 the results could not be written, 2 bad arguments or data, "
               "130 cancelled with Ctrl+C, 143 ended by SIGTERM (finished runs are still written "
               "and reported).",
    )
    data = p.add_argument_group("data")
    src = data.add_mutually_exclusive_group()
    src.add_argument("--target", default=d["target"], metavar="NAME|FORMULA",
                     help=f"a preset ({', '.join(PRESETS)}) or a formula in x such as "
                          f"'sin(2*pi*x) + 0.3*x' (default: {d['target']})")
    src.add_argument("--data", metavar="CSV", type=Path,
                     help="train on the x,y points of a CSV file instead (the test set is then "
                          "the training set)")
    data.add_argument("--n", type=_whole, metavar="N",
                      help=f"number of generated training points (default: {d['n']})")
    data.add_argument("--noise", type=_number, metavar="SIGMA",
                      help=f"standard deviation of the noise added to the targets (default: {d['noise']})")
    data.add_argument("--data-seed", type=_whole, metavar="SEED",
                      help=f"seed of the generated data (default: {d['data_seed']})")

    grid = p.add_argument_group("experiment")
    grid.add_argument("--widths", type=_whole, nargs="+", default=list(d["widths"]), metavar="H",
                      action=_StoreWidths,
                      help=f"hidden-layer widths, 1..{MAX_WIDTH} "
                           f"(default: {' '.join(map(str, d['widths']))})")
    grid.add_argument("--modes", nargs="+", choices=MODES, default=list(d["modes"]), metavar="MODE",
                      help="output (train the output layer), all (train all layers), ridge "
                           f"(solve the output layer in closed form) (default: {' '.join(MODES)})")
    grid.add_argument("--seeds", type=_whole, default=d["seeds"], metavar="K",
                      help=f"number of seeds (0..K-1), 1..{LIMITS['seeds'].hi} (default: {d['seeds']})")
    grid.add_argument("--steps", type=_whole, default=d["steps"],
                      help=f"SGD steps per run (default: {d['steps']})")
    grid.add_argument("--save-every", type=_whole, default=d["save_every"], metavar="K",
                      help=f"keep a snapshot every K steps (default: {d['save_every']})")
    grid.add_argument("--lr-output", type=_number, metavar="LR",
                      help=f"learning rate of mode output (default: {d['lr_output']}; with "
                           "--optimizer adam/adamw/rmsprop torch's default, 0.001/0.001/0.01)")
    grid.add_argument("--lr-all", type=_number, metavar="LR",
                      help=f"learning rate of mode all (default: {d['lr_all']}; with "
                           "--optimizer adam/adamw/rmsprop torch's default, 0.001/0.001/0.01)")
    grid.add_argument("--batch-size", type=_whole, metavar="B",
                      help="minibatch size (default: n // 5)")
    grid.add_argument("--lam", type=_number, default=d["lam"], metavar="LAMBDA",
                      help=f"ridge regularisation of mode ridge (default: {d['lam']:g})")
    grid.add_argument("--jobs", type=_whole, metavar="J",
                      help="runs trained in parallel (default: all cores)")

    opt = p.add_argument_group("optimizer (torch.optim's update rules and defaults)")
    which = opt.add_mutually_exclusive_group()
    which.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                       help="train every run with this optimizer, at the modes' learning rates: "
                            "sgd: the notebook's plain SGD (default); momentum: SGD with "
                            "momentum; adam, adamw, rmsprop (settings: the flags below)")
    which.add_argument("--optimizers", nargs="+", metavar="SPEC",
                       help="compare optimizers: train every SGD mode once with each, e.g. "
                            "--optimizers sgd momentum adam, or with settings "
                            "\"momentum:momentum=0.9,nesterov=true\" \"adam:lr=1e-3\" (keys: lr, "
                            "momentum, dampening, nesterov, beta1, beta2, eps, wd, alpha, "
                            "centered; a bare number is the momentum of momentum, else the lr). "
                            "Without lr=, Adam/AdamW/RMSprop train at torch's default lr, sgd "
                            "and momentum at --lr-output/--lr-all")
    opt.add_argument("--momentum", type=_number, metavar="M",
                     help="momentum of --optimizer momentum (default 0.9) or rmsprop (default 0)")
    opt.add_argument("--dampening", type=_number, metavar="D",
                     help="dampening of --optimizer momentum (default 0; not with --nesterov)")
    opt.add_argument("--nesterov", action="store_true", help="Nesterov momentum (--optimizer momentum)")
    opt.add_argument("--betas", type=_number, nargs=2, metavar=("B1", "B2"),
                     help="Adam's/AdamW's betas (default: 0.9 0.999)")
    opt.add_argument("--eps", type=_number, metavar="EPS", help="Adam/AdamW/RMSprop eps (default 1e-8)")
    opt.add_argument("--alpha", type=_number, metavar="A", help="RMSprop's smoothing (default 0.99)")
    opt.add_argument("--centered", action="store_true",
                     help="centered RMSprop (normalised by an estimate of the gradient's variance)")
    opt.add_argument("--weight-decay", type=_number, metavar="WD",
                     help="weight decay (default 0; AdamW 0.01, decoupled)")

    act = p.add_argument_group("activation and loss (torch.nn's definitions)")
    act.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                     help="the hidden layer's activation (default relu, the notebook's; the "
                          "experiment grid trains ReLU with the MSE only for now)")
    act.add_argument("--slope", type=_number, metavar="S", help="Leaky ReLU's negative slope (default 0.01)")
    act.add_argument("--elu-alpha", type=_number, metavar="A", help="ELU's alpha (default 1)")
    act.add_argument("--softplus-beta", type=_number, metavar="B", help="softplus's beta (default 1)")
    act.add_argument("--loss", choices=LOSSES, default="mse",
                     help="the training loss: mse (default, the notebook's), mae (L1) or huber")
    act.add_argument("--delta", type=_number, metavar="D", help="Huber's delta (default 1)")

    out = p.add_argument_group("output")
    out.add_argument("--out", type=_folder, metavar="FOLDER",
                     help="save every run's history as w{width}_{mode}_seed{seed}.npz/.csv, the "
                          "table as results.csv and the settings as settings.json")
    out.add_argument("--table", choices=KINDS, default="final",
                     help="show the final errors or the best seen during training (default: final)")
    out.add_argument("--quiet", action="store_true", help="no progress bar or status lines")

    pt = p.add_argument_group("PyTorch files (the notebook's state_dict keys 0.weight, 0.bias, "
                              "2.weight, 2.bias)")
    pt.add_argument("--init-from", type=Path, metavar="FILE.pt",
                    help="start every run from this network (a state_dict of nn.Sequential("
                         "Linear(1,H), ReLU(), Linear(H,1)), read with weights_only=True) instead "
                         "of the notebook's initialisation; the width is the file's H, and the "
                         "seeds then only change the minibatches")
    pt.add_argument("--export-pt", type=_folder, metavar="FOLDER",
                    help="save every run's final network as w{width}_{mode}_seed{seed}.pt, a "
                         "state_dict that nn.Sequential(...).load_state_dict accepts")
    from .core.version import __version__

    out.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # Let values such as "-1e-3" and "-inf" reach the checks (and their clear messages) instead of
    # being taken for options; no option of this parser looks like a number.
    p._negative_number_matcher = _NEGATIVE_NUMBER
    return p


class _StoreWidths(argparse.Action):
    """Stores --widths and notes that it was given (--init-from must then agree with it)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.widths_given = True


@dataclass(frozen=True)
class CliSettings:
    """The command line's settings, validated by the app's one schema (core.settings)."""

    data: StudioSettings  # its target, n, noise and data seed (the rest stays at the defaults)
    grid: GridSettings
    jobs: int
    optimizer: Optimizer | None = None  # --optimizer (None: the notebook's plain SGD)
    #: --optimizers given: the grid's optimizer axis (grid.optimizers) is the user's
    compares_optimizers: bool = False
    activation: Activation = Activation()
    loss: Loss = Loss()


#: The activation flags and the Activation fields they set.
ACTIVATION_FLAGS = {"slope": "--slope", "alpha": "--elu-alpha", "beta": "--softplus-beta"}


def _activation_and_loss(args) -> tuple[Activation, Loss]:
    """The activation and loss the flags describe, checked by core.activations/core.losses
    (UsageError naming the flag)."""
    values = {field: v for field, dest in (("slope", "slope"), ("alpha", "elu_alpha"),
                                           ("beta", "softplus_beta"))
              if (v := getattr(args, dest, None)) is not None}
    try:
        activation = Activation(args.activation, **values)
    except SettingsError as exc:
        flag = ACTIVATION_FLAGS.get(exc.field)
        raise UsageError(f"{flag}: {exc}" if flag else f"--activation: {exc}") from None
    try:
        loss = Loss(args.loss, **({} if args.delta is None else {"delta": args.delta}))
    except SettingsError as exc:
        raise UsageError(f"--delta: {exc}" if exc.field == "delta" else f"--loss: {exc}") from None
    return activation, loss


#: The optimizer flags and the Optimizer fields they set.
OPTIMIZER_FLAGS = {"momentum": "--momentum", "dampening": "--dampening", "nesterov": "--nesterov",
                   "betas": "--betas", "eps": "--eps", "alpha": "--alpha", "centered": "--centered",
                   "weight_decay": "--weight-decay"}


def _optimizer(args) -> Optimizer | None:
    """The optimizer the flags describe (None: plain SGD), checked by core.optimizers."""
    values = {k: v for k in OPTIMIZER_FLAGS
              if (v := getattr(args, k)) is not None and v is not False}  # 0 is a value
    if getattr(args, "optimizers", None):
        if values:
            flag = OPTIMIZER_FLAGS[next(iter(values))]
            raise UsageError(f"{flag} applies to --optimizer; with --optimizers write the setting "
                             "into the spec, e.g. --optimizers sgd \"momentum:momentum=0.95\" "
                             "\"adam:lr=1e-3,beta2=0.99\"")
        return None
    if "betas" in values:
        values["betas"] = tuple(values["betas"])
    try:
        opt = Optimizer(args.optimizer, **values)
    except SettingsError as exc:
        flag = OPTIMIZER_FLAGS.get(exc.field)
        raise UsageError(f"{flag}: {exc}" if flag else str(exc)) from None
    return None if opt.is_plain_sgd and not values else opt


def _optimizers(args) -> tuple | None:
    """The --optimizers axis (None if not given), each spec read by core.optimizer_specs."""
    if not getattr(args, "optimizers", None):
        return None
    out = []
    for spec in args.optimizers:
        try:
            opt = parse_optimizer(spec)
        except SettingsError as exc:
            raise UsageError(f"--optimizers: {exc}") from None
        if opt in out:
            raise UsageError(f"--optimizers: {spec!r} is given twice")
        out.append(opt)
    return tuple(out)


def _validate(args) -> CliSettings:
    """Check every number against the schema's limits (UsageError naming the flag)."""

    def checked(name, value):
        return check(name, value, FLAGS[name])

    if args.data is not None:
        given = [f for f, v in (("--n", args.n), ("--noise", args.noise), ("--data-seed", args.data_seed))
                 if v is not None]
        if given:
            raise UsageError(f"{', '.join(given)} apply to generated data, not to --data")
    optimizer = _optimizer(args)
    axis = _optimizers(args)
    lr_default = {m: (DEFAULT_LR[m] if optimizer is None else optimizer.lr_or(DEFAULT_LR[m]))
                  for m in DEFAULT_LR}
    lr_output = lr_default["output"] if args.lr_output is None else args.lr_output
    lr_all = lr_default["all"] if args.lr_all is None else args.lr_all
    try:
        data = {k: checked(k, getattr(args, k)) for k in ("n", "noise", "data_seed")
                if getattr(args, k) is not None}
        widths = [check("width", w, "--widths: every width") for w in args.widths]
        grid = GridSettings(
            widths=tuple(widths), modes=tuple(args.modes), seeds=checked("seeds", args.seeds),
            steps=checked("steps", args.steps), save_every=checked("save_every", args.save_every),
            lr_output=checked("lr_output", lr_output), lr_all=checked("lr_all", lr_all),
            batch_size=checked("batch_size", args.batch_size), lam=checked("lam", args.lam),
            **({} if axis is None else {"optimizers": axis}))
        grid = grid.validated()
        jobs = checked("jobs", args.jobs) if args.jobs is not None else (os.cpu_count() or 1)
    except SettingsError as exc:
        message = str(exc)
        if exc.field in ("widths", "optimizers"):
            message = f"--{exc.field}: {message}"
        raise UsageError(message) from None
    activation, loss = _activation_and_loss(args)
    grid = replace(grid, activation=activation, loss=loss)
    return CliSettings(replace(StudioSettings(), **data), grid, jobs, optimizer, axis is not None,
                       activation, loss)


# --------------------------------------------------------------------------- progress
class ProgressBar:
    """A progress bar with rate and ETA (tqdm's) on ``stream``, fed from worker threads.

    On a terminal tqdm redraws it in place at most ``1 / interval`` times a second; otherwise one
    plain line (tqdm's meter as text) is written per tenth of the work. ``enabled=False`` only
    counts. ``unit`` names what is counted ("steps", "runs").
    """

    def __init__(self, stream, enabled: bool = True, tty: bool | None = None, interval: float = 0.1,
                 width: int = 30, prefix: str = "", unit: str = "steps"):
        self.stream = stream
        self.prefix = prefix
        self.enabled = enabled
        if tty is None:
            try:
                tty = bool(stream.isatty())
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.interval = interval
        self.width = width
        self.unit = unit
        self.done = 0
        self.total = 0
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._last_tenth = -1
        self._bar = None

    @property
    def _format(self) -> str:
        return ("{percentage:5.1f}%|{bar}| {n:,}/{total:,} " + self.unit
                + "  {rate_fmt}  ETA {remaining}")

    def start(self) -> None:
        self._start = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            self.done = max(self.done, int(done))
            self.total = int(total)
            if not self.enabled or self.total <= 0:
                return
            if self.tty:
                self._draw_tty()
            else:
                tenth = (10 * self.done) // self.total
                if tenth > self._last_tenth:
                    self._last_tenth = tenth
                    self._write(self._plain_line() + "\n")

    def _draw_tty(self) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=self.total, file=_Guarded(self.stream), unit=f" {self.unit}",
                             mininterval=self.interval, maxinterval=max(self.interval, 10.0),
                             ncols=self.width + 70, bar_format=self._format, leave=True,
                             dynamic_ncols=False, smoothing=0.1, ascii=" #", initial=self.done)
            self._bar.start_t = self._bar.last_print_t = self._bar._time() - (
                time.monotonic() - self._start)
        if self._bar.total != self.total:
            self._bar.total = self.total
        step = self.done - self._bar.n
        if step > 0:
            self._bar.update(step)
        if self.done >= self.total:
            self._bar.refresh()

    def _plain_line(self) -> str:
        from tqdm import tqdm

        elapsed = max(time.monotonic() - self._start, 1e-9)
        meter = tqdm.format_meter(self.done, self.total, elapsed, unit=f" {self.unit}",
                                  bar_format=self._format.replace("|{bar}| ", "  "))
        return f"{self.prefix}{meter}"

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError, RuntimeError):
            pass

    def finish(self) -> None:
        """End the bar's line (terminal only)."""
        with self._lock:
            if self._bar is not None:
                try:
                    self._bar.close()
                except (OSError, ValueError, RuntimeError):
                    pass
                self._bar = None


class _Guarded:
    """A stream whose write errors (a closed pipe, a closed terminal) are ignored: the progress
    bar must never cost a run."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        try:
            return self.stream.write(text)
        except (OSError, ValueError, RuntimeError):
            return 0

    def flush(self):
        try:
            self.stream.flush()
        except (OSError, ValueError, RuntimeError):
            pass

    def isatty(self):
        return True


# --------------------------------------------------------------------------- Ctrl+C
class _SignalsCancel:
    """While active, Ctrl+C (SIGINT) or SIGTERM sets ``cancel``: the grid stops after the current
    chunk and the runs finished so far are reported and written. A second signal quits at once."""

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self, cancel: threading.Event, err, prog: str):
        self.cancel, self.err, self.prog = cancel, err, prog
        self._old = {}
        self.received: int | None = None

    def _handler(self, signum, frame):
        if self.cancel.is_set():
            try:
                sys.stdout.flush()
                self.err.write(f"\n{self.prog}: interrupted\n")
                self.err.flush()
            finally:
                os._exit(128 + signum)
        self.received = signum
        self.cancel.set()
        key = "press Ctrl+C again" if signum == signal.SIGINT else "send it again"
        try:
            self.err.write(f"\n{self.prog}: cancelling after the current chunk; the finished runs "
                           f"are kept ({key} to quit at once)\n")
            self.err.flush()
        except (OSError, ValueError, RuntimeError):
            pass

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                sig = getattr(signal, name, None)
                if sig is not None:
                    self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


def run_in_helper_thread(work, cancel: threading.Event, name: str) -> None:
    """Run ``work()`` in a helper thread while the main thread wakes every 0.1 s, so Ctrl+C is
    handled promptly on every platform (a lock wait without timeout is not interruptible
    everywhere); if no signal handler could be installed, a KeyboardInterrupt sets ``cancel``
    and waits for the work to stop."""
    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        cancel.set()
        thread.join()


def _print(text: str = "") -> None:
    """Print to stdout; a reader that went away (``| head``, ``| true``) is not an error."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it at nothing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _folder(text: str) -> Path:
    """A folder argument; an empty one is refused (it would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty folder name (use . for the current folder)")
    return Path(text)


# --------------------------------------------------------------------------- results
def _describe_data(args, data) -> str:
    if args.data is not None:
        return f"{args.data} ({data.n} points)"
    return f"target {data.target.spec}, n={data.n}, noise {data.noise:g}, data seed {data.seed}"


def _output_folder(folder: Path, flag: str) -> None:
    """Create ``folder`` if needed and check it is writable (UsageError otherwise)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{flag} {folder}: exists and is not a folder") from None
    except OSError as exc:
        raise UsageError(f"{flag} {folder}: cannot create the folder: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {folder}: the folder is not writable")


def _describe_optimizers(grid: GridSettings) -> str:
    """``"SGD lr 0.2 (output) / 0.02 (all); Adam lr 0.001"``: each optimizer as it trains."""
    parts = []
    for o in grid.optimizers:
        lrs = {m: grid.lr_for(m, o) for m in grid.sgd_modes}
        text = o.with_lr(None).describe()
        if len(set(lrs.values())) == 1:
            text += f" lr {next(iter(lrs.values())):g}"
        else:
            text += " lr " + " / ".join(f"{lr:g} ({m})" for m, lr in lrs.items())
        parts.append(text)
    return "; ".join(parts)


# --------------------------------------------------------------------------- torch files
def _load_init_from(args, grid: GridSettings):
    """The --init-from network and the grid with its width (UsageError if --widths differs)."""
    from .core.io.torch_files import TorchFileError, load_network_pt

    try:
        net = load_network_pt(args.init_from)
    except TorchFileError as exc:
        raise UsageError(f"--init-from {exc}") from None
    if getattr(args, "widths_given", False) and grid.widths != (net.width,):
        raise UsageError(f"--init-from {args.init_from.name}: the network has width {net.width}, "
                         f"but --widths asks for {' '.join(map(str, grid.widths))}; drop --widths "
                         f"or pass --widths {net.width}")
    return net, replace(grid, widths=(net.width,))


def _export_pt(folder: Path, result, prog, out_err) -> int:
    """Write each run's final network as ``folder/{run_stem}.pt``; returns the count."""
    import numpy as np

    from .core.io.torch_files import export_state_dict

    written = 0
    for key in sorted(result.runs, key=lambda k: _order(k, result)):
        net = result.runs[key].final
        if not all(np.all(np.isfinite(a)) for a in (net.w1, net.b1, net.w2, [net.b2])):
            print(f"{prog}: warning: {_which(key, result)}: the final network is not finite; "
                  "no .pt written", file=out_err)
            continue
        export_state_dict(net, folder / f"{_stem(key, result)}.pt")
        written += 1
    return written


# --------------------------------------------------------------------------- main
def main(argv=None, *, prog: str = PROG) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or an argparse error (already printed)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    try:
        return _run(args, prog, sys.argv[1:] if argv is None else list(argv))
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{prog}: cancelled", file=sys.stderr)
        return 130


def _run(args, prog: str, argv: list) -> int:
    s = _validate(args)
    out_err = sys.stderr
    say = (lambda msg: print(msg, file=out_err, flush=True)) if not args.quiet else (lambda msg: None)

    from .core.dataset import DataError, make_dataset
    from .core.formula import FormulaError
    from .core.io.data_csv import load_csv
    from .core.targets import get_target
    from .core.training import TrainingError

    try:
        if args.data is not None:
            data = load_csv(args.data)
        else:
            try:
                target = get_target(args.target)
            except FormulaError as exc:
                raise UsageError(f"--target {args.target!r}: {exc}") from None
            data = make_dataset(target, s.data.n, s.data.noise, s.data.data_seed)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    grid, init_net = s.grid, None
    if args.init_from is not None:
        init_net, grid = _load_init_from(args, grid)
    if init_net is not None:
        if args.activation == "relu":  # not asked for: the network file's activation
            grid = replace(grid, activation=init_net.activation)
        elif init_net.activation != grid.activation:
            init_net = init_net.replace(activation=grid.activation)

    sgd_modes = grid.sgd_modes
    batch = grid.batch_size
    if batch is None:
        batch = data.n // 5
        if batch < 1 and sgd_modes:
            raise UsageError(f"the default batch size n // 5 is 0 for {data.n} points; "
                             "pass --batch-size")
    batch = max(batch, 1)

    out = args.out
    if out is not None:
        _output_folder(out, "--out")
    if args.export_pt is not None:
        _output_folder(args.export_pt, "--export-pt")

    seeds = grid.seeds
    n_runs = grid.run_count
    n_sgd = len(grid.widths) * len(sgd_modes) * len(grid.optimizers) * seeds
    jobs = max(1, min(s.jobs, n_sgd or 1))
    if init_net is not None:
        say(f"{prog}: every run starts from {args.init_from} (width {init_net.width})")
    if s.optimizer is not None:
        say(f"{prog}: optimizer {s.optimizer.describe()} (learning rates: --lr-output "
            f"{grid.lr_output:g}, --lr-all {grid.lr_all:g})")
    if s.compares_optimizers and sgd_modes:
        say(f"{prog}: optimizers {_describe_optimizers(grid)}")
    if not (grid.activation.is_relu and grid.loss.is_mse):
        say(f"{prog}: activation {grid.activation.describe()}, loss {grid.loss.describe()}")
    axis = f" x {len(grid.optimizers)} optimizers" if s.compares_optimizers and sgd_modes else ""
    say(f"{prog}: {_describe_data(args, data)}; widths {' '.join(map(str, grid.widths))} x modes "
        f"{' '.join(grid.modes)}{axis} x {seeds} seed{'s' if seeds != 1 else ''} = {n_runs} runs"
        + (f", {grid.steps:,} steps each on {jobs} thread{'s' if jobs != 1 else ''}" if n_sgd else ""))

    from .core.experiment import run_experiment
    from .core.report import format_table
    from .core.summary import results_table

    cancel = threading.Event()
    bar = ProgressBar(out_err, enabled=not args.quiet, prefix=f"{prog}: ")
    started = datetime.now(timezone.utc)
    box: dict = {}

    def work():
        try:
            box["result"] = run_experiment(
                data, widths=grid.widths, modes=grid.modes, seeds=seeds, steps=grid.steps,
                save_every=grid.save_every, lr_output=grid.lr_output, lr_all=grid.lr_all,
                batch_size=batch, lam=grid.lam, jobs=jobs, progress=bar, cancel=cancel,
                initial=init_net, optimizer=s.optimizer,
                optimizers=grid.optimizers if s.compares_optimizers else None,
                activation=grid.activation, loss=grid.loss,
            )
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc

    signals = _SignalsCancel(cancel, out_err, prog)
    with signals:
        t0 = time.perf_counter()
        bar.start()
        run_in_helper_thread(work, cancel, "relu-experiment")
        wall = time.perf_counter() - t0
        bar.finish()
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, (TrainingError, ValueError)):
            raise UsageError(str(exc)) from None
        if isinstance(exc, MemoryError):
            print(f"{prog}: error: out of memory while training the grid; try fewer or narrower "
                  "widths, fewer snapshots or fewer jobs", file=out_err)
            return 1
        raise exc
    result = box["result"]

    for key in sorted(result.runs, key=lambda k: _order(k, result)):
        run = result.runs[key]
        if run.diverged:
            print(f"{prog}: warning: {_which(key, result)}: {run.message}", file=out_err)
    for key, why in result.failures.items():
        print(f"{prog}: warning: {_which(key, result)}: no run ({why})", file=out_err)
    if result.cancelled:
        print(f"{prog}: cancelled: {len(result.runs)} of {n_runs} runs finished; the table shows "
              "those only", file=out_err)

    rows = results_table(result)
    model_steps = bar.done
    rate = model_steps / wall if wall > 0 else 0.0
    # The files first: a reader of the table that goes away must not cost the results.
    if out is not None:
        try:
            _write_outputs(out, result, rows, grid, args, data, batch, jobs, wall, model_steps,
                           started, argv)
        except OSError as exc:
            print(f"{prog}: error: cannot write the results to {out}: {exc.strerror or exc}",
                  file=out_err)
            return 1
        say(f"{prog}: wrote {2 * len(result.runs) + 2} files to {out}")
    if args.export_pt is not None:
        try:
            n_pt = _export_pt(args.export_pt, result, prog, out_err)
        except OSError as exc:
            print(f"{prog}: error: cannot write the networks to {args.export_pt}: "
                  f"{getattr(exc, 'strerror', None) or exc}", file=out_err)
            return 1
        say(f"{prog}: wrote {n_pt} .pt file{'s' if n_pt != 1 else ''} to {args.export_pt}")
    _print(format_table(rows, args.table))
    _print(f"total wall time {wall:.2f} s; {model_steps:,} model-steps, {rate:,.0f} model-steps/s "
           f"on {jobs} thread{'s' if jobs != 1 else ''}")
    if signals.received == signal.SIGTERM:
        return 128 + signal.SIGTERM
    return 130 if result.cancelled else 0


def _order(key, result):
    """Runs in the table's order: width, mode, optimizer, seed (key: core.experiment.grid_key)."""
    w, m, o, seed = key
    return (result.widths.index(w), result.modes.index(m),
            -1 if o is None else result.optimizers.index(o), seed)


def _stem(key, result) -> str:
    """A run's file stem; it names the optimizer only in a grid of several."""
    w, m, o, seed = key
    return run_stem(w, m, seed, o if len(result.optimizers) > 1 else None)


def _which(key, result) -> str:
    """A run in a message: ``width 10, mode all, seed 2``; in a grid of several optimizers
    ``width 10, mode all, Adam lr 0.001, seed 2``."""
    w, m, o, seed = key
    run = result.runs.get(key)
    several = len(result.optimizers) > 1 and o is not None and run is not None
    return f"width {w}, mode {m}, {optimizer_label(run) + ', ' if several else ''}seed {seed}"


def _write_outputs(out: Path, result, rows, grid: GridSettings, args, data, batch, jobs, wall,
                   model_steps, started, argv) -> None:
    from .core.io.atomic import atomic_write_text
    from .core.io.run_files import write_run
    from .core.version import __version__

    stems = []
    for key in sorted(result.runs, key=lambda k: _order(k, result)):
        stem = _stem(key, result)
        write_run(result.runs[key], out, stem)
        stems.append(stem)
    atomic_write_text(out / "results.csv", results_csv(rows))
    if args.data is not None:
        data_info = {"source": "csv", "path": str(Path(args.data).resolve()), "n": data.n}
    else:
        data_info = {"source": "target", "target": data.target.spec, "n": data.n,
                     "noise": data.noise, "seed": data.seed}
    settings = {
        "program": PROG, "version": __version__, "argv": [str(a) for a in argv],
        "started": started.isoformat(timespec="seconds"),
        "data": data_info, "widths": list(grid.widths), "modes": list(grid.modes),
        "seeds": list(result.seeds), "steps": grid.steps, "save_every": grid.save_every,
        "lr_output": grid.lr_output, "lr_all": grid.lr_all, "batch_size": batch, "lam": grid.lam,
        "jobs": jobs, "table": args.table, "cancelled": bool(result.cancelled),
        "wall_time_s": wall, "model_steps": model_steps, "runs": stems,
        "init_from": None if args.init_from is None else str(Path(args.init_from).resolve()),
        "optimizer": None if (opt := _optimizer(args)) is None else opt.to_dict(),
        "optimizers": [o.to_dict() for o in result.optimizers],
        "activation": grid.activation.to_dict(), "loss": grid.loss.to_dict(),
    }
    atomic_write_text(out / "settings.json", json.dumps(settings, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
