"""Studio sessions on disk: the ``.relustudio`` file that reopens exactly as it was saved.

A session is everything the studio shows: the data (hand-edited points included), the target
definition, the initial network, the full snapshot history (whose last entry is the current
network), the training settings, the view toggles, and the compare grid with its finished runs.
Saving and loading it is lossless: every array comes back with the same dtype, shape and bytes.

File format (version 1)
-----------------------
A ``.relustudio`` file is a ZIP archive; no member is ever unpickled, and unknown members are
ignored (so later 1.x writers may add some). Full reference: ``docs/session-format.md``.

============================  ================================================================
member                        contents
============================  ================================================================
``manifest.json``             ``{"format": "relu-studio-session", "format_version": 1,
                              "app_version": "0.1.0", "created": "<ISO 8601 UTC>"}``
``settings.json``             the studio's settings (:meth:`StudioSettings.to_json`; keys of a
                              newer version are kept as they are)
``view.json``                 view toggles (JSON object, free-form for the GUI)
``data.json``                 ``{"target": spec or null, "noise": σ, "seed": int or null,
                              "source": "generated" | "edited" | "csv" | ..., "extra": {...}}``
``history.json``              ``{"tags": [one string per snapshot], "activation": {...}}``:
                              the activation of the initial network and of every snapshot
                              (:meth:`Activation.to_dict`; optional: without it, ReLU)
``arrays.npz``                NumPy arrays (``allow_pickle=False``): ``data_x``, ``data_y``,
                              ``data_x_test``, ``data_y_test`` (float64, 1-D);
                              ``initial_w1``, ``initial_b1``, ``initial_w2`` (float32, (H,)),
                              ``initial_b2`` (float32, (1,)); ``history_steps`` (int64, (m,)),
                              ``history_train_error``, ``history_full_train_error``,
                              ``history_test_error`` (float64, (m,)), ``history_w1``,
                              ``history_b1``, ``history_w2`` (float32, (m, H)), ``history_b2``
                              (float32, (m,)), ``history_lr`` (float64, (m,): the learning rate
                              that trained each snapshot, NaN where none did; optional);
                              ``history_data_first``, ``history_data_sizes`` (int64, (k,)),
                              ``history_data_x``, ``history_data_y`` (float64): the points each
                              snapshot from ``first`` on was made on (size -1: the session's
                              data; optional: without them the history does not know)
``compare.json``              ``{"settings": object or null, "runs": [{"width": w, "mode": m,
                              "seed": s, "member": "compare/w{w}_{m}_seed{s}.npz",
                              "optimizer": Optimizer.to_dict() (an SGD mode's run; optional:
                              without it, the grid's first optimizer)}, ...],
                              "data": {data.json's keys, "member": "compare/data.npz"}}``:
                              the grid's settings (:meth:`GridSettings.to_json`) with what
                              Compare shows (``shown_seed``, ``selected``, ``step``, ``table``),
                              and the data the grid was trained on (optional: without it, the
                              session's data)
``compare/*.npz``             one finished grid run each, in the run-file layout of
                              :mod:`relu_studio.core.io.run_files` (``relu-studio-run`` v1);
                              ``compare/data.npz``: ``x``, ``y``, ``x_test``, ``y_test``
``resume.json``, ``.npz``      optional: a run in progress when the session was saved
                              (:class:`~relu_studio.core.run_resume.ResumePoint`: its settings,
                              steps done, minibatch generator and optimizer state); Train
                              continues it exactly from the history's last network
============================  ================================================================

JSON is UTF-8; floats are written with ``repr`` precision, so they read back exactly (JSON has
no tuples: a tuple in ``settings``/``view``/``compare`` comes back as a list).

Compatibility: a reader accepts ``format_version`` up to :data:`FORMAT_VERSION`; a file from a
newer major version is refused with a message asking to update ReLU Studio.

Writing is atomic (a temporary file in the same folder, fsynced, then ``os.replace``), and a
session is checked with the same validation :func:`load_session` applies *before* anything is
written, so ReLU Studio never writes a session file it would refuse to open.

No Qt, no torch.
"""
from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..activations import Activation
from ..arrays import read_only
from ..budget import (MAX_JSON_BYTES, MAX_UNPACKED_BYTES, BudgetError, check_regular_file, human)
from ..dataset import DataError, Dataset, make_dataset
from ..formula import FormulaError
from ..history import History
from ..inits import make_network
from ..network import Network
from ..run_resume import ResumePoint
from ..settings import (
    MAX_POINTS,
    MAX_WIDTH,
    MODES,
    GridSettings,
    SettingsError,
    StudioSettings,
    check,
)
from ..targets import get_target
from ..version import __version__
from .atomic import atomic_write
from .npz import NpzError, read_npz
from ..optimizers import Optimizer
from .run_files import HistoryFileError, run_from_npz_bytes, run_stem, run_to_npz_bytes

__all__ = ["Session", "SessionFileError", "save_session", "load_session", "session_to_bytes",
           "FORMAT", "FORMAT_VERSION", "SUFFIX", "COMPARE_VIEW_KEYS"]

FORMAT = "relu-studio-session"
FORMAT_VERSION = 1
SUFFIX = ".relustudio"
#: What Compare shows, saved beside the grid's settings in ``compare.json``.
COMPARE_VIEW_KEYS = ("shown_seed", "selected", "step", "table")

#: Refuse archives with more members than this (a damaged or hostile file).
MAX_MEMBERS = 100_000

_REQUIRED_MEMBERS = ("manifest.json", "settings.json", "view.json", "data.json", "history.json",
                     "arrays.npz", "compare.json")
_DATA_ARRAYS = ("data_x", "data_y", "data_x_test", "data_y_test")
_INITIAL_ARRAYS = ("initial_w1", "initial_b1", "initial_w2", "initial_b2")
_HISTORY_ARRAYS = {"steps": "iu", "train_error": "f", "full_train_error": "f", "test_error": "f",
                   "w1": "f", "b1": "f", "w2": "f", "b2": "f"}
_COMPARE_DATA = "compare/data.npz"


class SessionFileError(ValueError):
    """A session file that cannot be opened; the message names the file and says why."""


# --------------------------------------------------------------------------- the session
@dataclass(eq=False)
class Session:
    """Everything a studio window holds, as plain core objects.

    ``history`` is the snapshot timeline; its last entry is the current network
    (:attr:`current`). ``view`` and ``compare_view`` must be JSON-able (what is shown: toggles,
    the view range, Compare's seed, cell and step). ``grid`` and ``compare_runs`` (keyed
    ``(width, mode, seed)``) are the Compare grid and its finished runs, trained on
    ``compare_data`` (None: on ``data``). ``extra_settings`` holds settings this version does
    not know (from a newer one), kept as they were.
    """

    settings: StudioSettings
    data: Dataset
    initial: Network
    history: History
    view: dict = field(default_factory=dict)
    grid: GridSettings | None = None
    compare_view: dict = field(default_factory=dict)
    compare_runs: dict = field(default_factory=dict)
    compare_data: Dataset | None = None
    extra_settings: dict = field(default_factory=dict)
    #: A run in progress when the session was saved (core.run_resume): Train continues it
    #: exactly. Its network is the history's last entry.
    resume: ResumePoint | None = None

    @property
    def current(self) -> Network:
        """The current network: the history's last snapshot."""
        return self.history.last

    @classmethod
    def from_settings(cls, settings: StudioSettings | None = None, **changes) -> "Session":
        """A fresh session: data, initial network and a one-entry history built from settings
        (default: the notebook's; ``changes`` replace single fields)."""
        s = (settings or StudioSettings()).changed(**changes)
        data = make_dataset(s.target, s.n, s.noise, s.data_seed)
        net = make_network(s.init, s.width, s.init_seed, data, s.activation)
        return cls(settings=s, data=data, initial=net, history=History.start(net, data))


# --------------------------------------------------------------------------- validation helpers
def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_compare_view(view) -> dict:
    """Compare's shown seed, selected cell, step and table kind (each optional)."""
    if not isinstance(view, dict):
        raise ValueError("Compare's view must be an object")
    out = {}
    if view.get("shown_seed") is not None:
        out["shown_seed"] = check("seed", view["shown_seed"], "'shown_seed'")
    sel = view.get("selected")
    if sel is not None:
        if not (isinstance(sel, (list, tuple)) and len(sel) == 2 and sel[1] in MODES):
            raise ValueError(f"'selected' must be [width, mode] or null, got {sel!r}")
        out["selected"] = [check("width", sel[0], "the selected width"), sel[1]]
    if view.get("step") is not None:
        if not (_is_int(view["step"]) and view["step"] >= 0):
            raise ValueError(f"'step' must be a whole number >= 0 or null, got {view['step']!r}")
        out["step"] = view["step"]
    if view.get("table") is not None:
        if view["table"] not in ("final", "best"):
            raise ValueError(f"'table' must be 'final' or 'best', got {view['table']!r}")
        out["table"] = view["table"]
    return out


def _json_bytes(obj, what: str) -> bytes:
    try:
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the session's {what} are not plain JSON data ({exc})") from None
    return (text + "\n").encode("utf-8")


def _data_meta(data: Dataset) -> dict:
    return {"target": None if data.target is None else data.target.spec,
            "noise": float(data.noise), "seed": None if data.seed is None else int(data.seed),
            "source": str(data.source), "extra": dict(data.extra)}


# --------------------------------------------------------------------------- writing
def _members(session: Session) -> dict[str, bytes]:
    """The archive members of ``session`` (name -> bytes), in writing order."""
    if not isinstance(session, Session):
        raise TypeError(f"expected a Session, got {type(session).__name__}")
    data, net, h = session.data, session.initial, session.history
    if not isinstance(data, Dataset):
        raise TypeError("session.data must be a Dataset")
    if not isinstance(net, Network):
        raise TypeError("session.initial must be a Network")
    if not isinstance(h, History):
        raise TypeError("session.history must be a History (freeze a HistoryView first)")
    arrays = {
        "data_x": np.asarray(data.x), "data_y": np.asarray(data.y),
        "data_x_test": np.asarray(data.x_test), "data_y_test": np.asarray(data.y_test),
        "initial_w1": np.asarray(net.w1), "initial_b1": np.asarray(net.b1),
        "initial_w2": np.asarray(net.w2), "initial_b2": np.array([net.b2], dtype=np.float32),
    }
    for k in _HISTORY_ARRAYS:
        arrays[f"history_{k}"] = np.asarray(getattr(h, k))
    arrays["history_lr"] = np.asarray(h.lrs, np.float64)
    arrays.update(_history_data_arrays(h, data))
    buf = io.BytesIO()
    np.savez(buf, **arrays)

    runs, run_members = [], {}
    for key, run in session.compare_runs.items():
        # (width, mode, seed), or (width, mode, optimizer, seed) as core.experiment keys runs
        opt = key[2] if isinstance(key, tuple) and len(key) == 4 else None
        if not (isinstance(key, tuple) and len(key) in (3, 4) and isinstance(key[0], (int, np.integer))
                and key[1] in MODES and isinstance(key[-1], (int, np.integer))
                and not isinstance(key[0], bool) and not isinstance(key[-1], bool)
                and (opt is None or isinstance(opt, Optimizer))):
            raise ValueError(f"compare run keys must be (width, mode, seed) or (width, mode, optimizer, seed), got {key!r}")
        four = len(key) == 4
        if four:
            key = (key[0], key[1], key[3])
        key = (int(key[0]), key[1], int(key[2]))
        name = f"compare/{run_stem(*key, opt)}.npz"
        entry = {"width": key[0], "mode": key[1], "seed": key[2], "member": name}
        if four:  # null for ridge
            entry["optimizer"] = None if opt is None else opt.to_dict()
        runs.append(entry)
        run_members[name] = run_to_npz_bytes(run)
    compare = {"settings": None if session.grid is None else
               {**session.grid.to_json(), **session.compare_view}, "runs": runs}
    if session.compare_data is not None:
        cd = session.compare_data
        buf_cd = io.BytesIO()
        np.savez(buf_cd, x=np.asarray(cd.x), y=np.asarray(cd.y), x_test=np.asarray(cd.x_test),
                 y_test=np.asarray(cd.y_test))
        run_members[_COMPARE_DATA] = buf_cd.getvalue()
        compare["data"] = {**_data_meta(cd), "member": _COMPARE_DATA}

    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "app_version": __version__,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if not isinstance(session.settings, StudioSettings):
        raise TypeError("session.settings must be StudioSettings")
    members = {
        "manifest.json": _json_bytes(manifest, "manifest"),
        "settings.json": _json_bytes({**session.extra_settings, **session.settings.to_json()},
                                     "settings"),
        "view.json": _json_bytes(session.view, "view settings"),
        "data.json": _json_bytes(_data_meta(data), "data description"),
        "history.json": _json_bytes(_history_doc(h), "history tags"),
        "compare.json": _json_bytes(compare, "compare settings"),
        "arrays.npz": buf.getvalue(),
    }
    members.update(run_members)
    if session.resume is not None:
        if not isinstance(session.resume, ResumePoint):
            raise TypeError("session.resume must be a ResumePoint or None")
        members["resume.json"] = _json_bytes({**session.resume.to_json(), "history_length": len(h)},
                                             "run in progress")
        buf_r = io.BytesIO()
        np.savez(buf_r, **session.resume.arrays())
        members[_RESUME_ARRAYS] = buf_r.getvalue()
    return members


def _zip_bytes(members: dict[str, bytes], f) -> None:
    with zipfile.ZipFile(f, "w") as zf:
        for name, raw in members.items():
            # Arrays hardly compress; JSON does.
            kind = zipfile.ZIP_STORED if name.endswith(".npz") else zipfile.ZIP_DEFLATED
            zf.writestr(name, raw, compress_type=kind)


def session_to_bytes(session: Session) -> bytes:
    """The bytes of the ``.relustudio`` file of ``session`` (checked like :func:`save_session`)."""
    members = _members(session)
    _check_before_writing(members)
    buf = io.BytesIO()
    _zip_bytes(members, buf)
    return buf.getvalue()


def _check_before_writing(members: dict[str, bytes]) -> None:
    try:
        _session_from_members(lambda member, limit=None: members[member], set(members), "the session")
    except SessionFileError as exc:
        raise ValueError(f"cannot save: {str(exc).removeprefix('the session: ')}") from None


def save_session(session: Session, path) -> Path:
    """Write ``session`` to ``path`` (used as given; ``.relustudio`` is the usual suffix).

    The session is validated first (``ValueError``/``TypeError`` and nothing written if it is
    inconsistent or not JSON-able), then written atomically: a temporary file in the same
    folder, fsynced, then renamed over ``path``. An interrupted save leaves the old file intact.
    """
    members = _members(session)
    _check_before_writing(members)
    return atomic_write(path, lambda f: _zip_bytes(members, f))


# --------------------------------------------------------------------------- reading
def load_session(path) -> Session:
    """Open a ``.relustudio`` file, checking everything; raises :class:`SessionFileError`.

    Checked: the file is a readable, undamaged ZIP archive (every member's CRC); the manifest
    names this format and a version this reader knows; every required member is there; arrays
    load without pickles and have the expected dtypes and consistent shapes (x and y of equal
    length, finite data, history widths equal to the initial network's width, ...); the JSON
    members have the expected structure; the target can be rebuilt; every compare run is a
    valid run file. Nothing outside the returned object is changed.
    """
    path = Path(path)
    name = path.name

    def bad(why):
        return SessionFileError(f"{name}: {why}")

    try:
        check_regular_file(path, "the session")
        with open(path, "rb") as f:
            head = f.read(4)
            size = f.seek(0, 2)
            f.seek(max(0, size - 22))
            tail = f.read(22)
    except BudgetError as exc:
        raise bad(str(exc)) from None
    except OSError as exc:
        raise bad(f"cannot read the file: {exc.strerror or exc}") from None
    if size == 0:
        raise bad("the file is empty")
    if not head.startswith(b"PK"):
        raise bad("not a ReLU Studio session file (it is not a ZIP archive)")
    # Sessions carry no archive comment, so the end record is the last 22 bytes. Without this
    # check a cut-off file could be taken for the stored arrays.npz archive inside it.
    if not tail.startswith(b"PK\x05\x06"):
        raise bad("the file is truncated or damaged (the end of the ZIP archive is missing)")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise bad(f"the file is truncated or damaged ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise bad(f"the archive has too many members ({len(infos)})")
        total = sum(i.file_size for i in infos)
        if total > MAX_UNPACKED_BYTES:
            raise bad(f"the archive unpacks to {human(total)}, more than a session can hold "
                      f"({human(MAX_UNPACKED_BYTES)})")
        sizes = {i.filename: i.file_size for i in infos}

        def read(member, limit=None):
            if limit is not None and sizes[member] > limit:  # checked before it is unpacked
                raise bad(f"'{member}' unpacks to {human(sizes[member])}, more than it can hold "
                          f"({human(limit)})")
            try:
                return zf.read(member)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                    NotImplementedError, RuntimeError) as exc:
                raise bad(f"the member '{member}' is damaged ({exc})") from None

        return _session_from_members(read, set(sizes), name)


def _session_from_members(read, names: set, name: str) -> Session:
    """Build and check a session from archive members; ``read(member, limit=None) -> bytes``
    refuses a member that unpacks to more than ``limit`` bytes before unpacking it."""

    def bad(why):
        return SessionFileError(f"{name}: {why}")

    def json_member(member, kinds, what):
        raw = read(member, MAX_JSON_BYTES)
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad(f"'{member}' is not valid JSON ({exc})") from None
        except RecursionError:
            raise bad(f"'{member}' is nested too deeply to be a session's JSON") from None
        if not isinstance(obj, kinds):
            raise bad(f"'{member}' does not hold {what}")
        return obj

    # -- manifest first: a file from a newer version must say so, whatever else it holds.
    if "manifest.json" not in names:
        raise bad("not a ReLU Studio session file (no manifest.json)")
    manifest = json_member("manifest.json", dict, "a JSON object")
    if manifest.get("format") != FORMAT:
        raise bad(f"not a ReLU Studio session file (format {manifest.get('format')!r})")
    version = manifest.get("format_version")
    if not _is_int(version) or version < 1:
        raise bad(f"the manifest's format_version {version!r} is invalid")
    if version > FORMAT_VERSION:
        raise bad(f"written by a newer ReLU Studio (session format version {version}; this "
                  f"version reads up to {FORMAT_VERSION}); please update ReLU Studio to open it")
    missing = [m for m in _REQUIRED_MEMBERS if m not in names]
    if missing:
        raise bad(f"incomplete session file: missing {', '.join(missing)}")

    # -- JSON members
    try:
        settings, extra_settings = StudioSettings.from_json(
            json_member("settings.json", dict, "a JSON object of settings"))
    except SettingsError as exc:
        raise bad(f"settings.json: {exc}") from None
    view = json_member("view.json", dict, "a JSON object of view settings")
    meta = json_member("data.json", dict, "a JSON object describing the data")
    history_doc = json_member("history.json", dict, "a JSON object")
    tags = history_doc.get("tags")
    try:
        activation = Activation.from_dict(history_doc.get("activation", "relu"))
    except (SettingsError, TypeError) as exc:
        raise bad(f"history.json: the activation is invalid: {exc}") from None
    compare_doc = json_member("compare.json", dict, "a JSON object")

    # -- arrays
    need = [*_DATA_ARRAYS, *_INITIAL_ARRAYS, *(f"history_{k}" for k in _HISTORY_ARRAYS)]
    arrays = _npz_member(read("arrays.npz"), "arrays.npz", bad, [*need, "history_lr", *_HISTORY_DATA])
    missing = [k for k in need if k not in arrays]
    if missing:
        raise bad(f"arrays.npz lacks {', '.join(missing)}")

    data = _dataset(arrays, meta, bad)
    initial = _initial(arrays, bad).replace(activation=activation)
    history = _history(arrays, tags, initial.width, bad)
    history = replace(history, data=_history_data(arrays, len(history), data, bad),
                      activation=activation)

    # -- compare grid
    grid, compare_view = None, {}
    cmp_settings = compare_doc.get("settings")
    if cmp_settings is not None:
        if not isinstance(cmp_settings, dict):
            raise bad("compare.json: 'settings' must be an object or null")
        try:
            grid = GridSettings.from_json(cmp_settings)
            compare_view = _check_compare_view({k: cmp_settings.get(k) for k in COMPARE_VIEW_KEYS})
        except (SettingsError, ValueError) as exc:
            raise bad(f"compare.json: {exc}") from None
    entries = compare_doc.get("runs", [])
    if not isinstance(entries, list):
        raise bad("compare.json: 'runs' must be a list")
    compare_runs = {}
    for e in entries:
        if not (isinstance(e, dict) and _is_int(e.get("width")) and e.get("mode") in MODES
                and _is_int(e.get("seed")) and isinstance(e.get("member"), str)):
            raise bad(f"compare.json: malformed run entry {e!r}")
        key = (e["width"], e["mode"], e["seed"])
        if "optimizer" in e:  # (width, mode, optimizer, seed); null for ridge
            try:
                opt = None if e["optimizer"] is None else Optimizer.from_dict(e["optimizer"])
            except SettingsError as exc:
                raise bad(f"compare.json: run {key}: {exc}") from None
            key = (key[0], key[1], opt, key[2])
        if key in compare_runs:
            raise bad(f"compare.json: run {key} is listed twice")
        member = e["member"]
        if not member.startswith("compare/") or member not in names:
            raise bad(f"incomplete session file: missing {member}")
        try:
            run = run_from_npz_bytes(read(member), member)
        except HistoryFileError as exc:
            raise bad(str(exc)) from None
        if run.initial.width != key[0] or (len(run) and run.w1.shape[1] != key[0]):
            raise bad(f"{member}: the run's width differs from its key's width {key[0]}")
        if run.settings.mode != key[1]:
            raise bad(f"{member}: the run's mode {run.settings.mode!r} differs from its key's {key[1]!r}")
        compare_runs[key] = run
    compare_data = None
    cd_meta = compare_doc.get("data")
    if cd_meta is not None:
        if not (isinstance(cd_meta, dict) and cd_meta.get("member") == _COMPARE_DATA):
            raise bad(f"compare.json: 'data' must name {_COMPARE_DATA}")
        if _COMPARE_DATA not in names:
            raise bad(f"incomplete session file: missing {_COMPARE_DATA}")
        cd = _npz_member(read(_COMPARE_DATA), _COMPARE_DATA, bad, ("x", "y", "x_test", "y_test"))
        missing = [k for k in ("x", "y", "x_test", "y_test") if k not in cd]
        if missing:
            raise bad(f"{_COMPARE_DATA} lacks {', '.join(missing)}")
        compare_data = _dataset({f"data_{k}": v for k, v in cd.items()}, cd_meta, bad)

    resume = None
    if "resume.json" in names:
        resume = _resume(json_member("resume.json", dict, "a JSON object"),
                         _npz_member(read(_RESUME_ARRAYS), _RESUME_ARRAYS, bad, _RESUME_KEYS)
                         if _RESUME_ARRAYS in names else {}, history, bad)

    return Session(settings=settings, data=data, initial=initial, history=history, view=view,
                   grid=grid, compare_view=compare_view, compare_runs=compare_runs,
                   compare_data=compare_data, extra_settings=extra_settings, resume=resume)


#: The arrays of a run in progress (see core.run_resume).
_RESUME_ARRAYS = "resume.npz"
_RESUME_KEYS = ("rng_key", "optimizer_state", "optimizer_counts")


def _resume(doc: dict, arrays: dict, history: History, bad) -> ResumePoint:
    """The run in progress of ``resume.json``/``resume.npz``; it continues from the history's last
    network, so the history must be the one it was saved with."""
    if doc.get("history_length") != len(history) or history.tags[-1] not in MODES:
        raise bad("resume.json: the run in progress does not belong to this history (it was "
                  f"saved with {doc.get('history_length')!r} snapshots, the history has {len(history)})")
    try:
        return ResumePoint.from_json(doc, arrays, history.width)
    except ValueError as exc:
        raise bad(f"resume.json: {exc}") from None


def _npz_member(raw: bytes, member: str, bad, keys) -> dict:
    """The arrays ``keys`` of an ``.npz`` member (never a pickle; sizes checked from the headers)."""
    try:
        return read_npz(raw, keys)
    except NpzError as exc:
        raise bad(f"'{member}' is {exc}" if exc.damaged else f"'{member}': {exc}") from None


#: Which points each stretch of the history was made on (see the module docstring).
_HISTORY_DATA = ("history_data_first", "history_data_sizes", "history_data_x", "history_data_y")


def _history_data_arrays(h: History, data: Dataset) -> dict:
    """The arrays of the history's data marks; the session's own data are stored once (size -1)."""
    if not h.data:
        return {}
    first, sizes, xs, ys = [], [], [], []
    for i, d in h.data:
        first.append(int(i))
        same = d is data or (d.x.shape == data.x.shape and np.array_equal(d.x, data.x)
                             and np.array_equal(d.y, data.y))
        sizes.append(-1 if same else int(d.n))
        if not same:
            xs.append(np.asarray(d.x, np.float64))
            ys.append(np.asarray(d.y, np.float64))
    cat = lambda a: np.concatenate(a) if a else np.zeros(0)  # noqa: E731
    return {"history_data_first": np.asarray(first, np.int64),
            "history_data_sizes": np.asarray(sizes, np.int64),
            "history_data_x": cat(xs), "history_data_y": cat(ys)}


def _history_data(arrays, m: int, data: Dataset, bad) -> tuple:
    """The history's data marks from their arrays (checked), or () if the file has none."""
    present = [k for k in _HISTORY_DATA if k in arrays]
    if not present:
        return ()
    if len(present) != len(_HISTORY_DATA):
        raise bad(f"arrays.npz has {', '.join(present)} but not all of {', '.join(_HISTORY_DATA)}")
    first, sizes = arrays["history_data_first"], arrays["history_data_sizes"]
    x, y = (_float_array(arrays, k, bad, 1) for k in ("history_data_x", "history_data_y"))
    if first.dtype.kind not in "iu" or sizes.dtype.kind not in "iu" or first.ndim != 1 \
            or sizes.shape != first.shape:
        raise bad("'history_data_first' and 'history_data_sizes' must be integer arrays of one length")
    if first.size and (first[0] < 0 or first[-1] >= m or np.any(np.diff(first) <= 0)):
        raise bad(f"'history_data_first' must increase within the history's {m} snapshots")
    if np.any((sizes < 1) & (sizes != -1)) or np.any(sizes > MAX_POINTS):
        raise bad(f"'history_data_sizes' must be -1 or 1..{MAX_POINTS}")
    total = int(sizes[sizes > 0].sum())
    if x.shape != (total,) or y.shape != (total,):
        raise bad(f"'history_data_x' and 'history_data_y' must hold {total} values")
    marks, at = [], 0
    for i, n in zip(first.tolist(), sizes.tolist()):
        if n == -1:
            marks.append((i, data))
            continue
        try:
            marks.append((i, data.with_points(x[at:at + n], y[at:at + n])))
        except DataError as exc:
            raise bad(f"the points of snapshot {i} on: {exc}") from None
        at += n
    return tuple(marks)


def _float_array(arrays, key, bad, ndim):
    a = arrays[key]
    if a.dtype.kind != "f":
        raise bad(f"'{key}' has dtype {a.dtype}; a floating-point array is needed")
    if a.ndim != ndim:
        raise bad(f"'{key}' has shape {a.shape}; expected {ndim} dimension{'s' if ndim > 1 else ''}")
    return a


def _dataset(arrays, meta, bad) -> Dataset:
    x, y, xt, yt = (_float_array(arrays, k, bad, 1) for k in _DATA_ARRAYS)
    if x.shape != y.shape:
        raise bad(f"the data have {x.size} x values but {y.size} y values")
    if xt.shape != yt.shape:
        raise bad(f"the test set has {xt.size} inputs but {yt.size} targets")
    if x.size == 0 or xt.size == 0:
        raise bad("the data set has no points")
    if x.size > MAX_POINTS:
        raise bad(f"the data set has too many points ({x.size})")
    for k, a in zip(_DATA_ARRAYS, (x, y, xt, yt)):
        if not np.all(np.isfinite(a)):
            raise bad(f"'{k}' contains NaN or infinite values")
    spec, noise, seed = meta.get("target"), meta.get("noise"), meta.get("seed")
    source, extra = meta.get("source", "generated"), meta.get("extra", {})
    if spec is not None and not isinstance(spec, str):
        raise bad("data.json: 'target' must be a string or null")
    try:
        noise = check("noise", noise, "data.json: 'noise'")
        if seed is not None:
            seed = check("data_seed", seed, "data.json: 'seed'")
    except SettingsError as exc:
        raise bad(str(exc)) from None
    if not isinstance(source, str) or not isinstance(extra, dict):
        raise bad("data.json: 'source' must be a string and 'extra' an object")
    target = None
    if spec is not None:
        try:
            target = get_target(spec)
        except FormulaError as exc:
            raise bad(f"data.json: the target {spec!r} is not valid ({exc})") from None
    return Dataset(x, y, xt, yt, target=target, noise=noise, seed=seed, source=source,
                   extra=extra)


def _initial(arrays, bad) -> Network:
    w1, b1, w2, b2 = (_float_array(arrays, k, bad, 1) for k in _INITIAL_ARRAYS)
    h = w1.shape[0]
    if not 1 <= h <= MAX_WIDTH:
        raise bad(f"the initial network has width {h}; expected 1..{MAX_WIDTH}")
    if b1.shape != (h,) or w2.shape != (h,) or b2.shape != (1,):
        raise bad(f"the initial network's arrays have inconsistent shapes: w1 {w1.shape}, "
                  f"b1 {b1.shape}, w2 {w2.shape}, b2 {b2.shape}")
    for k, a in zip(_INITIAL_ARRAYS, (w1, b1, w2, b2)):
        if not np.all(np.isfinite(a)):
            raise bad(f"'{k}' contains NaN or infinite values")
    return Network(w1, b1, w2, float(b2[0]))


def _history_doc(h: History) -> dict:
    """history.json: the tags, and the activation unless it is the notebook's ReLU (a ReLU
    session's file stays as older versions wrote it)."""
    doc = {"tags": list(h.tags)}
    if not h.activation.is_relu:
        doc["activation"] = h.activation.to_dict()
    return doc


def _history(arrays, tags, h, bad) -> History:
    a = {}
    for k, kinds in _HISTORY_ARRAYS.items():
        v = arrays[f"history_{k}"]
        if v.dtype.kind not in kinds:
            raise bad(f"'history_{k}' has dtype {v.dtype}")
        a[k] = v
    steps = a["steps"]
    if steps.ndim != 1 or steps.size == 0:
        raise bad(f"'history_steps' has shape {steps.shape}; expected at least one snapshot")
    m = steps.size
    want = {"train_error": (m,), "full_train_error": (m,), "test_error": (m,),
            "w1": (m, h), "b1": (m, h), "w2": (m, h), "b2": (m,)}
    for k, shape in want.items():
        if a[k].shape != shape:
            extra = (f" (the history's width {a[k].shape[1]} differs from the initial network's {h})"
                     if a[k].ndim == 2 and a[k].shape[0] == m and len(shape) == 2 else "")
            raise bad(f"'history_{k}' has shape {a[k].shape}; expected {shape}{extra}")
    if np.any(steps < 0) or (m > 1 and np.any(np.diff(steps) < 0)) or np.any(steps > 2**53):
        raise bad("the history's steps are negative, decreasing or beyond 2**53")
    if not (isinstance(tags, list) and len(tags) == m and all(isinstance(t, str) for t in tags)):
        raise bad(f"history.json: 'tags' must list one string per snapshot ({m})")
    lrs = arrays.get("history_lr")  # added in 0.2; older files: unknown (NaN)
    if lrs is not None and (lrs.dtype.kind != "f" or lrs.shape != (m,)):
        raise bad(f"'history_lr' has dtype {lrs.dtype} and shape {lrs.shape}; expected ({m},) floats")
    for v in a.values():
        read_only(v)
    return History(tags=tuple(tags), lrs=None if lrs is None else read_only(lrs), **a)
