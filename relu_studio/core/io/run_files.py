"""Training runs on disk: a lossless ``.npz`` per run and a plain ``.csv`` of its errors.

Also the CSV text export of a studio session's history (:func:`export_history_csv`).

The ``.npz`` holds every array of a :class:`~relu_studio.core.training.Run` with its exact dtype
(so a saved run loads back bit for bit), the initial network, and the settings as JSON text. It is
read with ``allow_pickle=False``: a file can carry numbers and text, never code.

Files are written atomically (:mod:`.atomic`), so an interrupted write never leaves a
half-written history behind.

No Qt, no torch.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from ..activations import Activation
from ..arrays import read_only
from ..losses import Loss
from ..network import Network
from ..optimizers import Optimizer
from ..settings import MODES, SettingsError
from ..training import MODE_DTYPE, Run, TrainSettings
from ..budget import BudgetError, check_regular_file
from .atomic import atomic_write, atomic_write_text
from .npz import NpzError, read_npz

__all__ = ["HistoryFileError", "save_run_npz", "load_run_npz", "run_to_csv", "write_run",
           "run_to_npz_bytes", "run_from_npz_bytes", "export_history_csv", "run_stem",
           "FORMAT", "FORMAT_VERSION", "CSV_HEADER"]

FORMAT = "relu-studio-run"
FORMAT_VERSION = 1
CSV_HEADER = "step,train_mse,full_train_mse,test_mse"

#: Per-snapshot arrays of a Run and the dtype kinds they may have ("i": integer, "f": float).
_HISTORY = {"steps": "i", "train_error": "f", "full_train_error": "f", "test_error": "f",
            "w1": "f", "b1": "f", "w2": "f", "b2": "f"}
_INITIAL = ("initial_w1", "initial_b1", "initial_w2", "initial_b2")
_REQUIRED = (*_HISTORY, *_INITIAL, "settings", "meta", "diverged_at")
#: Per-snapshot mode and learning rate (added in 0.2; older files: the settings' for every one).
_OPTIONAL = ("modes", "lrs")
_SETTINGS_FIELDS = ("mode", "lr", "steps", "batch_size", "save_every", "seed")


class HistoryFileError(ValueError):
    """A run file that cannot be read; the message names the file and says why."""


# --------------------------------------------------------------------------- npz
def _settings_json(st: TrainSettings) -> str:
    out = {k: getattr(st, k) for k in _SETTINGS_FIELDS}
    if st.optimizer is not None:  # only then: files of plain SGD runs stay as they were
        out["optimizer"] = st.optimizer.to_dict()
    if st.loss is not None:  # likewise: no entry is the notebook's MSE
        out["loss"] = st.loss.to_dict()
    return json.dumps(out, allow_nan=True)


def _run_arrays(run: Run) -> dict:
    if not isinstance(run, Run):
        raise TypeError(f"expected a relu_studio Run, got {type(run).__name__}")
    arrays = {name: np.asarray(getattr(run, name)) for name in _HISTORY}
    net = run.initial
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "message": run.message,
            "completed_steps": int(run.completed_steps), "extra": dict(run.extra)}
    if not net.activation.is_relu:  # no entry: the notebook's ReLU (as older files)
        meta["activation"] = net.activation.to_dict()
    arrays.update(
        initial_w1=np.asarray(net.w1), initial_b1=np.asarray(net.b1), initial_w2=np.asarray(net.w2),
        initial_b2=np.array([net.b2], dtype=np.float32),
        settings=np.array([_settings_json(run.settings)]),
        meta=np.array([json.dumps(meta, allow_nan=True)]),
        diverged_at=np.array(-1 if run.diverged_at is None else int(run.diverged_at), dtype=np.int64),
        modes=np.asarray(run.modes, dtype=MODE_DTYPE), lrs=np.asarray(run.lrs, dtype=np.float64),
    )
    return arrays


def save_run_npz(run: Run, path) -> Path:
    """Save ``run`` losslessly to ``path`` (written atomically; the name is used as given)."""
    arrays = _run_arrays(run)
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def run_to_npz_bytes(run: Run) -> bytes:
    """The bytes :func:`save_run_npz` would write (used to embed runs in session files)."""
    arrays = _run_arrays(run)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def load_run_npz(path) -> Run:
    """Load a run saved by :func:`save_run_npz`; raises :class:`HistoryFileError` (a ValueError)."""
    path = Path(path)
    try:
        check_regular_file(path, "the run file")
        raw = path.read_bytes()
    except BudgetError as exc:
        raise HistoryFileError(f"{path.name}: {exc}") from None
    except OSError as exc:
        raise HistoryFileError(f"{path.name}: cannot read the file: {exc.strerror or exc}") from None
    return run_from_npz_bytes(raw, path.name)


def run_from_npz_bytes(raw: bytes, name: str = "run") -> Run:
    """Parse and fully check the bytes of a run ``.npz``; errors are prefixed with ``name``."""

    def bad(why):
        return HistoryFileError(f"{name}: {why}")

    if not raw.startswith(b"PK"):
        raise bad("not a ReLU Studio run file (.npz)")
    try:
        arrays = read_npz(raw, (*_REQUIRED, *_OPTIONAL))
    except NpzError as exc:
        raise bad(f"the file is {exc}" if exc.damaged else str(exc)) from None
    missing = [k for k in _REQUIRED if k not in arrays]
    if missing:
        raise bad(f"not a ReLU Studio run file: missing {', '.join(missing)}")

    try:
        meta = json.loads(_one_string(arrays["meta"]))
        settings = json.loads(_one_string(arrays["settings"]))
    except (TypeError, ValueError, RecursionError) as exc:
        raise bad(f"the settings are unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise bad("not a ReLU Studio run file")
    version = meta.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise bad(f"written by a newer ReLU Studio (format version {version}); please update")
    st = _settings(settings, bad)

    hist = {}
    for k, kind in _HISTORY.items():
        a = arrays[k]
        if a.dtype.kind != kind and not (kind == "i" and a.dtype.kind == "u"):
            raise bad(f"'{k}' has dtype {a.dtype}")
        hist[k] = a
    m = hist["steps"].shape[0] if hist["steps"].ndim == 1 else -1
    if m < 0:
        raise bad(f"'steps' has shape {hist['steps'].shape}; expected one dimension")
    init = {k: arrays[k] for k in _INITIAL}
    for k in _INITIAL:
        if init[k].dtype.kind != "f":
            raise bad(f"'{k}' has dtype {init[k].dtype}")
    h = init["initial_w1"].shape[0] if init["initial_w1"].ndim == 1 else -1
    if h < 1 or init["initial_b1"].shape != (h,) or init["initial_w2"].shape != (h,) \
            or init["initial_b2"].shape != (1,):
        raise bad("the initial network's arrays have inconsistent shapes")
    want = {"train_error": (m,), "full_train_error": (m,), "test_error": (m,),
            "w1": (m, h), "b1": (m, h), "w2": (m, h), "b2": (m,)}
    for k, shape in want.items():
        if hist[k].shape != shape:
            raise bad(f"'{k}' has shape {hist[k].shape}; expected {shape}")
    if m > 1 and np.any(np.diff(hist["steps"]) <= 0):
        raise bad("the snapshot steps are not increasing")
    if m and (hist["steps"].min() < 0 or hist["steps"].max() > 2**53):
        raise bad("the snapshot steps are negative or beyond 2**53")
    d = arrays["diverged_at"]
    if d.shape != () or d.dtype.kind not in "iu":
        raise bad("'diverged_at' is not a single integer")
    diverged_at = None if int(d) < 0 else int(d)
    completed = meta.get("completed_steps", 0)
    extra = meta.get("extra", {})
    message = meta.get("message", "")
    if isinstance(completed, bool) or not isinstance(completed, int) or completed < 0 \
            or not isinstance(extra, dict) or not isinstance(message, str):
        raise bad("the run's metadata are malformed")
    activation = _from_dict(Activation, meta.get("activation", "relu"), "activation", bad)
    try:
        initial = Network(init["initial_w1"], init["initial_b1"], init["initial_w2"],
                          float(init["initial_b2"][0]), activation)
    except ValueError as exc:  # pragma: no cover - shapes were checked above
        raise bad(f"the initial network is invalid ({exc})") from None
    per_snapshot = {}
    for k, kind in (("modes", "U"), ("lrs", "f")):
        a = arrays.get(k)
        if a is not None:
            if a.dtype.kind != kind or a.shape != (m,):
                raise bad(f"'{k}' has dtype {a.dtype} and shape {a.shape}; expected {m} values")
            if k == "modes" and not set(a.tolist()) <= set(MODES):
                raise bad(f"'modes' holds unknown modes {sorted(set(a.tolist()) - set(MODES))}")
            per_snapshot[k] = a.astype(MODE_DTYPE) if k == "modes" else a
    for a in (*hist.values(), *per_snapshot.values()):
        read_only(a)
    return Run(initial=initial, settings=st, diverged_at=diverged_at, message=message,
               completed_steps=completed, extra=extra, **hist, **per_snapshot)


def _one_string(a: np.ndarray) -> str:
    if a.dtype.kind != "U" or a.size != 1:
        raise ValueError("expected one JSON string")
    return str(a.reshape(-1)[0])


def _from_dict(cls, obj, what: str, bad):
    """``cls.from_dict(obj)`` (None if ``obj`` is None), a clear error naming ``what`` else."""
    if obj is None:
        return None
    try:
        return cls.from_dict(obj)
    except (SettingsError, TypeError) as exc:
        raise bad(f"the {what} is invalid: {exc}") from None


def _settings(s, bad) -> TrainSettings:
    if not isinstance(s, dict) or set(s) - {"optimizer", "loss"} != set(_SETTINGS_FIELDS):
        raise bad("the training settings are incomplete")
    optimizer = _from_dict(Optimizer, s.get("optimizer"), "optimizer", bad)
    loss = _from_dict(Loss, s.get("loss"), "loss", bad)
    mode, lr = s["mode"], s["lr"]
    ints = [s["steps"], s["save_every"], s["seed"]] + ([] if s["batch_size"] is None else [s["batch_size"]])
    ok = (mode in MODES and isinstance(lr, (int, float)) and not isinstance(lr, bool)
          and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints))
    if not ok:
        raise bad(f"the training settings are invalid: {s}")
    return TrainSettings(mode, float(lr), s["steps"], s["batch_size"], s["save_every"], s["seed"],
                         optimizer, loss)


# --------------------------------------------------------------------------- csv
def _errors_csv(steps, train, full, test) -> str:
    """One row per snapshot under :data:`CSV_HEADER`, at full float64 precision (``repr``: the
    values parse back exactly; an undefined minibatch loss is ``nan``)."""
    lines = [CSV_HEADER]
    for s, a, b, c in zip(np.asarray(steps).tolist(), np.asarray(train).tolist(),
                          np.asarray(full).tolist(), np.asarray(test).tolist()):
        lines.append(f"{int(s)},{float(a)!r},{float(b)!r},{float(c)!r}")
    return "\n".join(lines) + "\n"


def run_to_csv(run: Run) -> str:
    """The run's errors per snapshot as CSV text (header ``step,train_mse,full_train_mse,test_mse``)."""
    return _errors_csv(run.steps, run.train_error, run.full_train_error, run.test_error)


def export_history_csv(history) -> str:
    """A session history's errors as CSV text, in :func:`run_to_csv`'s columns.

    ``history`` is a :class:`~relu_studio.core.history.History`, a
    :class:`~relu_studio.core.history.HistoryView` (its finished part plus the live run) or a
    :class:`~relu_studio.core.training.Run`.
    """
    if hasattr(history, "curves"):
        return _errors_csv(*history.curves())
    return run_to_csv(history)


def run_stem(width: int, mode: str, seed: int, optimizer: Optimizer | None = None) -> str:
    """The file stem of one grid run: ``w{width}_{mode}_seed{seed}`` (CLI output, session files)
    for the notebook's SGD (``optimizer`` None or ``Optimizer()``), else with the optimizer as
    the Compare field writes it: ``w20_all_adam-lr=0.001_seed0``."""
    if optimizer is None or optimizer == Optimizer():
        return f"w{int(width)}_{mode}_seed{int(seed)}"
    from ..optimizer_specs import format_optimizer

    return f"w{int(width)}_{mode}_{format_optimizer(optimizer).replace(' ', '-')}_seed{int(seed)}"


def write_run(run: Run, folder, stem: str) -> tuple[Path, Path]:
    """Write ``folder/stem.npz`` and ``folder/stem.csv`` (each atomically); returns both paths."""
    folder = Path(folder)
    if not stem or os.sep in stem or (os.altsep and os.altsep in stem) or stem in (".", ".."):
        raise ValueError(f"invalid file stem {stem!r}")
    npz = save_run_npz(run, folder / f"{stem}.npz")
    csv = atomic_write_text(folder / f"{stem}.csv", run_to_csv(run))
    return npz, csv
