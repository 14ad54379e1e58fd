"""The lesson tour: a non-modal panel that walks through a lesson step by step.

:class:`LessonTour` (a controller, no widgets) holds the lessons and the position, and carries out
a step through the studio's and Compare's public controller API (set_setting, regenerate,
reinitialise, reset_to_initial, start, fit_ridge_now, run_grid), following the plan of
:func:`~relu_studio.core.lessons.step_plan`. :class:`LessonPanel` presents it with Back / Next;
:class:`Outline` marks the view a step points at without covering it.
"""
from __future__ import annotations

import html
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..core.lessons import (
    LOOK_AT,
    Lesson,
    LessonError,
    find_lessons,
    load_lesson,
    step_plan,
)

__all__ = ["LessonTour", "LessonPanel", "Outline"]

#: The outline's colour: the selection colour of the app (not a data colour).
OUTLINE = "#e8590c"


class LessonTour(QObject):
    """Lessons and the position in one; ``point_at(view or None)`` shows the view a step names.

    Position -1 is the lesson's summary page (nothing done yet); ``next()`` from there carries
    out step 0. ``back()`` only shows the previous step; ``do_step()`` carries out the shown one.
    """

    changed = Signal()  # the lesson, the position or a message

    def __init__(self, studio, compare, point_at: Callable[[str | None], None] | None = None,
                 lessons=None, parent=None):
        super().__init__(parent)
        self.studio, self.compare = studio, compare
        self.point_at = point_at or (lambda _key: None)
        if lessons is None:
            lessons, errors = find_lessons()
        else:
            errors = []
        self.lessons: list[Lesson] = list(lessons)
        self.errors: list[str] = list(errors)
        self.lesson_index = 0 if self.lessons else -1
        self.position = -1
        self.messages: list[str] = list(errors)

    # ------------------------------------------------------------------ state
    @property
    def lesson(self) -> Lesson | None:
        return self.lessons[self.lesson_index] if 0 <= self.lesson_index < len(self.lessons) else None

    @property
    def step(self):
        les = self.lesson
        return les.steps[self.position] if les is not None and 0 <= self.position < len(les.steps) else None

    # ------------------------------------------------------------------ intent
    def choose(self, index: int) -> None:
        """Show lesson ``index``'s summary page (nothing is done until Next)."""
        if 0 <= index < len(self.lessons) and index != self.lesson_index:
            self.lesson_index = index
            self.position = -1
            self.messages = []
            self.point_at(None)
            self.changed.emit()

    def add_file(self, path) -> str | None:
        """Load a lesson file and choose it; the reason (naming the file and step) if refused."""
        try:
            lesson = load_lesson(path)
        except LessonError as exc:
            self.messages = [str(exc)]
            self.changed.emit()
            return str(exc)
        self.lessons.append(lesson)
        self.lesson_index = len(self.lessons) - 1
        self.position = -1
        self.messages = []
        self.point_at(None)
        self.changed.emit()
        return None

    def next(self, actions: bool = True) -> list[str]:
        """Go to the next step and carry it out (``actions=False``: its settings only)."""
        les = self.lesson
        if les is None or self.position >= len(les.steps) - 1:
            return []
        self.position += 1
        return self.do_step(actions)

    def back(self) -> None:
        if self.position > -1:
            self.position -= 1
            self.messages = []
            self.point_at(self.step.look_at if self.step else None)
            self.changed.emit()

    def do_step(self, actions: bool = True) -> list[str]:
        """Carry out the shown step (``actions=False``: apply its settings, run nothing); returns
        (and shows) what could not be done."""
        step = self.step
        self.messages = []
        if step is None:
            self.changed.emit()
            return []
        plan = step_plan(step, self.studio.settings)
        if not actions:
            plan = [(name, kw) for name, kw in plan if name not in step.actions]
        for name, kwargs in plan:
            err = self._call(name, kwargs)
            if err:
                self.messages.append(err)
        self.point_at(step.look_at)
        self.changed.emit()
        return list(self.messages)

    def _call(self, name: str, kw: dict) -> str | None:
        c, cc = self.studio, self.compare
        if name == "set_setting":
            return c.set_setting(kw["name"], kw["value"])
        if name == "regenerate":
            return c.regenerate(**kw)
        if name == "reinitialise":
            return c.reinitialise(**kw)
        if name == "set_grid":
            if cc.running:
                return "A Compare grid is running: its settings were not changed."
            return cc.set_settings(cc.settings.changed(**kw))
        if name == "reset":
            c.reset_to_initial()
            return None
        if name == "train":
            return c.start()
        if name == "fit_ridge":
            return c.fit_ridge_now()
        if name == "run_grid":
            return cc.run_grid()
        return f"Unknown step action {name!r}."  # the lesson checker lets none through


def _html(text: str) -> str:
    return html.escape(text)


class LessonPanel(QWidget):
    """The tour's panel: lesson chooser, the step's text, what to look at, the question, Back /
    Do this step / Next."""

    def __init__(self, tour: LessonTour, parent=None):
        super().__init__(parent)
        self.tour = tour
        self.chooser = QComboBox()
        self.chooser.setToolTip("The lesson to follow (one file each in relu_studio/lessons)")
        self.chooser.currentIndexChanged.connect(self.tour.choose)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Follow a lesson file of your own (JSON; see relu_studio/lessons/README.md)")
        self.open_button.clicked.connect(self.open_file)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.counter = QLabel()
        self.counter.setStyleSheet("color: #777777;")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.MarkdownText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.look = QLabel()
        self.look.setWordWrap(True)
        self.look.setTextFormat(Qt.TextFormat.RichText)
        self.question = QLabel()
        self.question.setWordWrap(True)
        self.question.setTextFormat(Qt.TextFormat.RichText)
        self.question.setFrameShape(QFrame.Shape.StyledPanel)
        self.question.setStyleSheet("QLabel { padding: 6px; background: palette(alternate-base); }")
        self.answer_button = QPushButton("Show answer")
        self.answer_button.setToolTip("An answer to the step's question, from the notes' theory")
        self.answer_button.setCheckable(True)
        self.answer_button.toggled.connect(self._show_answer)
        self.answer = QLabel()
        self.answer.setWordWrap(True)
        self.answer.setTextFormat(Qt.TextFormat.MarkdownText)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b3261e;")
        self.back_button = QPushButton("◀ Back")
        self.back_button.setToolTip("Show the previous step (without doing it again)")
        self.back_button.clicked.connect(self.tour.back)
        self.do_button = QPushButton("Do this step")
        self.do_button.setToolTip("Apply this step's settings and actions again")
        self.do_button.clicked.connect(lambda: self.tour.do_step())
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("Go to the next step: it sets the parameters and runs what it says")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(lambda: self.tour.next())

        body = QWidget()
        bv = QVBoxLayout(body)
        bv.setContentsMargins(0, 0, 0, 0)
        for wdg in (self.title, self.counter, self.text, self.look, self.question, self.answer_button,
                    self.answer, self.message):
            bv.addWidget(wdg)
        bv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        top = QHBoxLayout()
        top.addWidget(self.chooser, 1)
        top.addWidget(self.open_button)
        nav = QHBoxLayout()
        nav.addWidget(self.back_button)
        nav.addWidget(self.do_button)
        nav.addStretch(1)
        nav.addWidget(self.next_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(scroll, 1)
        lay.addLayout(nav)
        tour.changed.connect(self.refresh)
        self._fill_chooser()
        self.refresh()

    def _fill_chooser(self):
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for les in self.tour.lessons:
            self.chooser.addItem(les.title)
            self.chooser.setItemData(self.chooser.count() - 1, les.summary, Qt.ItemDataRole.ToolTipRole)
        self.chooser.setCurrentIndex(self.tour.lesson_index)
        self.chooser.blockSignals(False)

    def open_file(self, path: str | None = None) -> str | None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open a lesson", "", "Lessons (*.json);;All files (*)")
            if not path:
                return None
        n = len(self.tour.lessons)
        err = self.tour.add_file(path)
        if len(self.tour.lessons) != n:
            self._fill_chooser()
        return err

    def _show_answer(self, on: bool):
        step = self.tour.step
        self.answer.setVisible(bool(on and step is not None and step.answer))
        self.answer_button.setText("Hide answer" if on else "Show answer")

    def refresh(self):
        t = self.tour
        les = t.lesson
        if self.chooser.currentIndex() != t.lesson_index:
            self._fill_chooser()
        step = t.step
        self.answer_button.setChecked(False)
        if les is None:
            self.title.setText("<b>No lessons found</b>")
            self.counter.setText("")
            self.text.setText("")
        elif step is None:  # the summary page
            self.title.setText(f"<h3>{_html(les.title)}</h3>")
            self.counter.setText(f"{len(les.steps)} steps")
            self.text.setText(les.summary + "\n\nPress **Next** to begin. Each step sets the studio's "
                              "parameters and runs what it says; its changes to the network, the data and the history can be undone (Ctrl+Z).")
        else:
            self.title.setText(f"<h3>{_html(step.title)}</h3>")
            self.counter.setText(f"{_html(les.title)} · step {t.position + 1} of {len(les.steps)}")
            self.text.setText(step.text)
        look = step.look_at if step is not None else None
        self.look.setVisible(look is not None)
        if look is not None:
            self.look.setText(f"<span style='color:{OUTLINE}'>▶</span> Look at {_html(LOOK_AT[look])} "
                              "(outlined).")
        q = step.question if step is not None else ""
        self.question.setVisible(bool(q))
        self.question.setText(f"<b>Question.</b> {_html(q)}")
        has_answer = step is not None and bool(step.answer)
        self.answer_button.setVisible(has_answer)
        self.answer.setText(step.answer if has_answer else "")
        self.answer.setVisible(False)
        self.message.setText("\n".join(t.messages))
        self.message.setVisible(bool(t.messages))
        n = len(les.steps) if les is not None else 0
        self.back_button.setEnabled(t.position > -1)
        self.do_button.setEnabled(step is not None)
        self.next_button.setEnabled(les is not None and t.position < n - 1)
        self.next_button.setText("Start ▶" if t.position == -1 else "Next ▶")


class Outline(QWidget):
    """A coloured frame drawn around a view (a child on top of it that ignores the mouse and
    paints only its border): it points at the view without covering what the view shows."""

    def __init__(self, target: QWidget):
        super().__init__(target)
        self.setObjectName("lesson-outline")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self._target = target
        target.installEventFilter(self)
        self.setGeometry(target.rect())
        self.raise_()
        self.show()

    def remove(self) -> None:
        try:
            self._target.removeEventFilter(self)
            self.hide()
            self.deleteLater()
        except RuntimeError:  # the view (and this child with it) is already gone
            pass

    def target(self) -> QWidget:
        return self._target

    def eventFilter(self, obj, event):
        if obj is self._target and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._target.rect())
            self.raise_()
        return False

    def paintEvent(self, _event):
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(OUTLINE), 4)
        p.setPen(pen)
        p.drawRoundedRect(self.rect().adjusted(2, 2, -2, -2), 6, 6)
        p.end()

