"""Lessons: guided tours through the studio, written as data (one JSON file per lesson).

A lesson is a title, a summary and a list of steps. Each step says what to read, which settings
to apply (names and values of :class:`~relu_studio.core.settings.StudioSettings`, checked by the
one schema), what to do (reset, train, fit ridge, run a Compare grid, ...), which view to look at
and which question to think about. The app's tour applies a step through the studio's and
Compare's public controller API; this module only reads, checks and plans, so a teacher can
write a lesson without code and a bad file is refused with the file and step named.
The format is documented in ``relu_studio/lessons/README.md``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from .settings import GridSettings, SettingsError, StudioSettings

__all__ = ["Lesson", "LessonStep", "LessonError", "FORMAT", "VERSION", "ACTIONS", "LOOK_AT",
           "DATA_KEYS", "NETWORK_KEYS", "parse_lesson", "load_lesson", "find_lessons",
           "bundled_lessons_dir", "step_plan", "MAX_LESSON_BYTES"]

FORMAT = "relu-studio-lesson"
VERSION = 1
#: What a step can do, in the order it does them (a step lists any of these).
ACTIONS = {
    "reset": "back to the initial network",
    "reinitialise": "a new initial network from the panel's width and init seed",
    "regenerate": "new data from the panel's target, n, σ and data seed",
    "train": "start training (the panel's mode, learning rate and steps)",
    "fit_ridge": "solve the output layer in closed form (ridge)",
    "run_grid": "run the Compare grid (the step's 'grid' settings)",
}
#: The views a step can point at.
LOOK_AT = {
    "canvas": "the canvas: data, truth, prediction, every unit and its elbow",
    "loss": "the loss pane: train and test MSE against the step",
    "timeline": "the timeline: scrub through the snapshots",
    "units": "the hidden units table",
    "parameters": "the parameter panel",
    "compare": "the Compare tab's small multiples",
    "kymographs": "Compare's elbows against the step, side by side",
    "compare_loss": "Compare's losses of the selected cell",
    "results": "Compare's results table",
}
#: Settings that need new data, or a new initial network, to take effect.
DATA_KEYS = ("target", "n", "noise", "data_seed")
NETWORK_KEYS = ("width", "init_seed")
_STEP_KEYS = {"title", "text", "settings", "grid", "actions", "look_at", "question", "answer"}
_LESSON_KEYS = {"format", "version", "title", "summary", "steps"}
MAX_LESSON_BYTES = 256 * 1024
MAX_STEPS = 200
MAX_TEXT = 8000


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the step."""


@dataclass(frozen=True)
class LessonStep:
    title: str
    text: str
    settings: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    actions: tuple = ()
    look_at: str | None = None
    question: str = ""
    answer: str = ""


@dataclass(frozen=True)
class Lesson:
    title: str
    summary: str
    steps: tuple
    source: str = ""  # the file it came from


def bundled_lessons_dir() -> Path:
    """The lessons shipped with the app (``relu_studio/lessons``, in the bundle too)."""
    return Path(__file__).resolve().parent.parent / "lessons"


def _text(value, what: str, where: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise LessonError(f"{where}: '{what}' must be {'non-empty ' if required else ''}text")
    if len(value) > MAX_TEXT:
        raise LessonError(f"{where}: '{what}' is longer than {MAX_TEXT} characters")
    return value.strip()


def _settings(obj, where: str) -> dict:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise LessonError(f"{where}: 'settings' must be an object of setting names and values")
    known = [f.name for f in fields(StudioSettings)]
    for k in obj:
        if k not in known:
            raise LessonError(f"{where}: unknown setting {k!r} (known: {', '.join(known)})")
    try:
        checked = StudioSettings().changed(**obj)
    except (SettingsError, TypeError) as exc:
        raise LessonError(f"{where}: {exc}") from None
    return {k: getattr(checked, k) for k in obj}  # normalised by the schema


def _grid(obj, where: str) -> dict:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise LessonError(f"{where}: 'grid' must be an object of Compare settings")
    known = [f.name for f in fields(GridSettings)]
    for k in obj:
        if k not in known:
            raise LessonError(f"{where}: unknown grid setting {k!r} (known: {', '.join(known)})")
    try:
        checked = GridSettings().changed(**obj)
    except (SettingsError, TypeError, ValueError) as exc:
        raise LessonError(f"{where}: grid: {exc}") from None
    return {k: getattr(checked, k) for k in obj}


def _step(obj, i: int, name: str) -> LessonStep:
    where = f"{name}: step {i + 1}"
    if not isinstance(obj, dict):
        raise LessonError(f"{where}: a step must be an object")
    title = obj.get("title")
    if isinstance(title, str) and title.strip():
        where = f"{where} ({title.strip()[:60]})"
    unknown = sorted(set(obj) - _STEP_KEYS)
    if unknown:
        raise LessonError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} "
                          f"(a step has {', '.join(sorted(_STEP_KEYS))})")
    actions = obj.get("actions", [])
    if isinstance(actions, str):
        actions = [actions]
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise LessonError(f"{where}: 'actions' must be a list of action names")
    for a in actions:
        if a not in ACTIONS:
            raise LessonError(f"{where}: unknown action {a!r} (known: {', '.join(ACTIONS)})")
    grid = _grid(obj.get("grid"), where)  # run_grid without one runs Compare's current settings
    look = obj.get("look_at")
    if look is not None and look not in LOOK_AT:
        raise LessonError(f"{where}: 'look_at' must be one of {', '.join(LOOK_AT)}, got {look!r}")
    return LessonStep(
        title=_text(obj.get("title"), "title", where),
        text=_text(obj.get("text"), "text", where),
        settings=_settings(obj.get("settings"), where),
        grid=grid,
        actions=tuple(a for a in ACTIONS if a in actions),  # always in ACTIONS' order
        look_at=look,
        question=_text(obj.get("question"), "question", where, required=False),
        answer=_text(obj.get("answer"), "answer", where, required=False),
    )


def parse_lesson(obj, name: str = "lesson") -> Lesson:
    """A :class:`Lesson` from the parsed JSON ``obj``; ``name`` (the file) starts every message."""
    if not isinstance(obj, dict):
        raise LessonError(f"{name}: a lesson must be a JSON object")
    if obj.get("format") != FORMAT:
        raise LessonError(f"{name}: not a lesson ('format' must be {FORMAT!r})")
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > VERSION or version < 1:
        raise LessonError(f"{name}: lesson format version {version!r} is not supported (this app reads "
                          f"version {VERSION})")
    unknown = sorted(set(obj) - _LESSON_KEYS)
    if unknown:
        raise LessonError(f"{name}: unknown key(s) {', '.join(map(repr, unknown))}")
    steps = obj.get("steps")
    if not isinstance(steps, list) or not steps:
        raise LessonError(f"{name}: 'steps' must be a non-empty list")
    if len(steps) > MAX_STEPS:
        raise LessonError(f"{name}: more than {MAX_STEPS} steps")
    return Lesson(title=_text(obj.get("title"), "title", name),
                  summary=_text(obj.get("summary"), "summary", name, required=False),
                  steps=tuple(_step(s, i, name) for i, s in enumerate(steps)), source=name)


def _no_constants(value):
    raise ValueError(f"{value} is not a number JSON allows")


def load_lesson(path) -> Lesson:
    """Read and check one lesson file; a :class:`LessonError` names the file (and step)."""
    path = Path(path)
    name = path.name
    try:
        if not path.is_file():
            raise LessonError(f"{name}: not a regular file")
        size = path.stat().st_size
        if size > MAX_LESSON_BYTES:
            raise LessonError(f"{name}: {size:,} bytes is too large for a lesson "
                              f"(at most {MAX_LESSON_BYTES:,})")
        raw = path.read_bytes()
    except OSError as exc:
        raise LessonError(f"{name}: cannot be read: {exc.strerror or exc}") from None
    try:
        obj = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise LessonError(f"{name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise LessonError(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:
        raise LessonError(f"{name}: {exc}") from None
    lesson = parse_lesson(obj, name)
    return Lesson(lesson.title, lesson.summary, lesson.steps, str(path))


def find_lessons(*folders) -> tuple[list[Lesson], list[str]]:
    """Every ``*.json`` lesson in ``folders`` (default: the bundled ones), sorted by file name
    within each folder; ``(lessons, messages)`` where a file that cannot be used gives a message
    instead of a lesson."""
    folders = folders or (bundled_lessons_dir(),)
    lessons, errors = [], []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json"), key=lambda p: p.name):
            try:
                lessons.append(load_lesson(path))
            except LessonError as exc:
                errors.append(str(exc))
    return lessons, errors


def step_plan(step: LessonStep, current: StudioSettings) -> list[tuple[str, dict]]:
    """The controller calls that carry out ``step`` from settings ``current``, in order:
    ``("set_setting", {"name", "value"})`` for each plain setting that differs,
    ``("regenerate", {...})`` if a data setting differs, ``("reinitialise", {...})`` if a
    network setting differs, ``("set_grid", {...})`` for Compare's settings, then one call per
    action (``("train", {})``, ...)."""
    s = step.settings
    calls: list[tuple[str, dict]] = []
    for k, v in s.items():
        if k not in DATA_KEYS and k not in NETWORK_KEYS and getattr(current, k) != v:
            calls.append(("set_setting", {"name": k, "value": v}))
    data = {k: s[k] for k in DATA_KEYS if k in s}
    if any(getattr(current, k) != v for k, v in data.items()):
        calls.append(("regenerate", {("seed" if k == "data_seed" else k): v for k, v in data.items()}))
    net = {k: s[k] for k in NETWORK_KEYS if k in s}
    if any(getattr(current, k) != v for k, v in net.items()):
        calls.append(("reinitialise", {("seed" if k == "init_seed" else k): v for k, v in net.items()}))
    if step.grid:
        calls.append(("set_grid", dict(step.grid)))
    calls += [(a, {}) for a in step.actions]
    return calls

