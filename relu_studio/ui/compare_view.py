"""The Compare view: the notebook's whole study (widths x modes x seeds) on one screen.

It presents a :class:`~relu_studio.ui.compare_controller.CompareController` and forwards what
the user asks for; the controller owns the grid, its job and what is selected.

- Controls: widths (any list), modes, optimizers (typed as ``sgd, momentum 0.9, adam lr=1e-3``
  or added from a menu), seeds, steps, snapshot interval, learning rates; *Run grid* trains the
  grid on all cores, with progress and *Cancel* (finished cells are kept).
- Small multiples (rows widths, columns modes x optimizers, ridge once): data, truth, prediction
  and elbows of the shown seed, all at the step of one shared timeline. A click selects a cell for the panes on the
  right; a double click (or *Open in studio*) opens it in the studio.
- Loss pane of the selected cell: minibatch, full-train and test MSE on a log axis, median and
  25-75 % band over seeds; ridge as a horizontal line.
- Elbow trajectories (kymographs) of the selected width's SGD modes side by side (output layer
  only | all layers) with the selected column's optimizer for the shown seed, with the target's kinks, on a log step axis by default.
- Results table (final or best MSE, median [q25, q75] over seeds), sortable, Ctrl+C, CSV export.
"""
from __future__ import annotations

import re

from PySide6.QtCore import QPoint, QRect, QSignalBlocker, QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.activations import ACTIVATION_LABELS, ACTIVATIONS, Activation
from ..core.losses import LOSS_LABELS, LOSSES, Loss
from ..core.optimizer_specs import format_optimizer, format_optimizers, parse_optimizers
from ..core.optimizers import Optimizer
from ..core.settings import (
    LIMITS,
    MAX_GRID_OPTIMIZERS,
    MAX_GRID_WIDTHS,
    MAX_WIDTH,
    MODE_INFO,
    MODES,
    parse_widths,
)
from . import style
from .band_loss_plot import BandLossPlot
from .compare_controller import CompareController
from .elbow_kymograph import KymographRow
from .fields import ERROR_STYLE, NumberField, _Validated, choice_combo, spin_box
from .results_table_view import ResultsTableView
from .small_multiples import SmallMultiples
from .timeline import Timeline

__all__ = ["CompareView"]


class FlowLayout(QLayout):
    """Widgets left to right, wrapping onto the next line when the width runs out (Qt's flow
    layout example); each item keeps its size hint, aligned to the top of its line."""

    def __init__(self, parent=None, spacing: int = 6):
        super().__init__(parent)
        self._items = []
        self.setContentsMargins(0, 0, 0, 0)
        self.setSpacing(spacing)

    def addItem(self, item):
        self._items.append(item)

    def count(self):
        return len(self._items)

    def itemAt(self, i):
        return self._items[i] if 0 <= i < len(self._items) else None

    def takeAt(self, i):
        return self._items.pop(i) if 0 <= i < len(self._items) else None

    def expandingDirections(self):
        return Qt.Orientation(0)

    def hasHeightForWidth(self):
        # Not announced: a scroll area holding the view would then size it by height-for-width.
        # The FlowBox below sets its own height from heightForWidth instead.
        return False

    def heightForWidth(self, width):
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect):
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self):
        return self.minimumSize()

    def minimumSize(self):
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _place(self, rect, move: bool) -> int:
        m = self.contentsMargins()
        r = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line = r.x(), r.y(), 0
        gap = self.spacing()
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            if x + hint.width() > r.right() + 1 and line > 0:
                x, y, line = r.x(), y + line + 4, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + gap
            line = max(line, hint.height())
        return y + line - rect.y() + m.bottom()


class FlowBox(QWidget):
    """A widget with a :class:`FlowLayout` whose height follows its width (one or more lines)."""

    def __init__(self, parent=None, spacing: int = 6):
        super().__init__(parent)
        self.flow = FlowLayout(self, spacing)

    def _fit(self):
        h = self.flow.heightForWidth(self.width())
        if h > 0 and h != self.height():
            self.setFixedHeight(h)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit()

    def showEvent(self, event):
        super().showEvent(event)
        self._fit()


class WidthsField(_Validated):
    """A list of widths typed as ``10 20 40``; refused at the field with the reason beneath."""

    def __init__(self, widths, parent=None):
        edit = QLineEdit(" ".join(map(str, widths)))
        super().__init__(edit, parse_widths, "Hidden-layer widths, separated by spaces or commas "
                         f"(1..{MAX_WIDTH}, at most {MAX_GRID_WIDTHS})", parent)
        self._value = tuple(widths)
        edit.editingFinished.connect(self.validate)
        edit.setMinimumWidth(90)

    def text(self) -> str:
        return self.editor.text()

    def set_value(self, widths):
        with QSignalBlocker(self):
            self.editor.setText(" ".join(map(str, widths)))
            self.validate()


#: The optimizers the "+" menu adds, as the field writes them.
OPTIMIZER_MENU = (("SGD (the notebook's)", Optimizer()),
                  ("SGD with momentum 0.9", Optimizer("momentum")),
                  ("SGD with Nesterov momentum 0.9", Optimizer("momentum", nesterov=True)),
                  ("Adam (lr 0.001)", Optimizer("adam")),
                  ("AdamW (lr 0.001, weight decay 0.01)", Optimizer("adamw")),
                  ("RMSprop (lr 0.01)", Optimizer("rmsprop")))


class OptimizersField(_Validated):
    """The grid's optimizers typed as ``sgd, momentum 0.9, adam lr=1e-3`` (core.optimizer_specs:
    parsed, never evaluated); refused at the field with the reason beneath."""

    def __init__(self, optimizers, parent=None):
        edit = QLineEdit(format_optimizers(optimizers))
        super().__init__(edit, parse_optimizers, (
            f"The optimizers to compare (1..{MAX_GRID_OPTIMIZERS}), e.g. sgd, momentum 0.9, "
            "nesterov, adam lr=1e-3, adamw wd=0.05, rmsprop alpha=0.9.\nA number after a name is "
            "momentum's momentum, else the learning rate; settings: lr, momentum, dampening, "
            "nesterov, beta1, beta2, eps, wd, alpha, centered.\nWithout lr, Adam/AdamW/RMSprop "
            "use torch's default and SGD/momentum the mode's lr. Each SGD mode trains once per "
            "optimizer, from the same initial network and minibatches."), parent)
        self._value = tuple(optimizers)
        edit.editingFinished.connect(self.validate)
        edit.setMinimumWidth(230)
        edit.setPlaceholderText("sgd, momentum 0.9, adam")

    def text(self) -> str:
        return self.editor.text()

    def set_value(self, optimizers):
        with QSignalBlocker(self):
            self.editor.setText(format_optimizers(optimizers))
            self.validate()

    def add(self, optimizer: Optimizer) -> None:
        """Append ``optimizer`` (if not there yet) and apply the field."""
        text = self.editor.text().strip().rstrip(",")
        if self.validate() and optimizer in self.value():
            return
        self.editor.setText(f"{text}, {format_optimizer(optimizer)}" if text else format_optimizer(optimizer))
        self.validate()


def _legend_html() -> str:
    """The small multiples' legend, as coloured text (cheaper than a legend in every cell)."""
    return (f"<span style='color:{style.DATA}'>●</span> data &nbsp; "
            f"<span style='color:{style.TRUTH}'><b>- -</b></span> truth &nbsp; "
            f"<span style='color:{style.PREDICTION}'><b>—</b></span> prediction &nbsp; "
            f"<span style='color:{style.ELBOW}'>●</span> elbows (x = −b/w, on y = 0)")


#: What the status line says before any grid (instead of an empty progress bar).
READY = "Ready: choose widths, modes and seeds, then Run grid."


class CompareView(QWidget):
    """Presents a :class:`CompareController` (``self.c``); see the module docstring."""

    def __init__(self, controller: CompareController, parent=None):
        super().__init__(parent)
        self.c = controller
        self._build()
        self._needs_preview = True  # drawn when first shown: keeps the app's start-up short
        c = controller
        c.settingsChanged.connect(self._show_settings)
        c.gridChanged.connect(self._grid_changed)
        c.runsArrived.connect(self._runs_arrived)
        c.selectionChanged.connect(self._show_selected)
        c.stepChanged.connect(self._step_changed)
        c.progressChanged.connect(self._progress)
        c.runningChanged.connect(self._running)
        c.message.connect(self._say)
        c.kymographOptionsChanged.connect(self._kymograph_options)
        self._say(READY, "info")

    # ------------------------------------------------------------------ layout
    def _build(self):
        s = self.c.settings
        self.widths = WidthsField(s.widths)
        self.mode_boxes: dict[str, QCheckBox] = {}
        for m in MODES:
            cb = QCheckBox(MODE_INFO[m].short)
            cb.setChecked(m in s.modes)
            cb.setToolTip(MODE_INFO[m].tip)
            self.mode_boxes[m] = cb
        seeds = LIMITS["seeds"]
        self.seeds = spin_box(int(seeds.lo), int(seeds.hi), s.seeds, f"Seeds 0..k-1 (1..{int(seeds.hi)}): "
                              "each seed is its own initial network and minibatch sequence, shared by every mode")
        self.steps = spin_box(1, int(LIMITS["steps"].hi), s.steps, "SGD steps per run")
        self.steps.setSingleStep(10_000)
        self.save_every = spin_box(1, int(LIMITS["save_every"].hi), s.save_every, "Keep a snapshot every K steps")
        self.save_every.setSingleStep(100)
        self.lr_output = NumberField(s.lr_output, minimum=0.0, exclusive_min=True,
                                     tooltip="Learning rate of mode 'output layer' (the notebook's: 0.2)")
        self.lr_all = NumberField(s.lr_all, minimum=0.0, exclusive_min=True,
                                  tooltip="Learning rate of mode 'all layers' (the notebook's: 0.02)")
        for f in (self.lr_output, self.lr_all):
            f.editor.setMaximumWidth(60)
        self.optimizers = OptimizersField(s.optimizers)
        # Every run's activation and loss (torch's default parameters here; a grid opened from a
        # session or the CLI keeps its own, shown by name).
        self.activation_box = choice_combo(
            ACTIVATIONS, ACTIVATION_LABELS, s.activation.name,
            "The hidden layer's activation of every run (torch.nn's, its default parameter); "
            "ReLU is the notebook's")
        self.loss_box = choice_combo(
            LOSSES, LOSS_LABELS, s.loss.name,
            "The training loss of every run (the full-train and test errors stay MSE); MSE is "
            "the notebook's")
        self.add_optimizer = QToolButton()
        self.add_optimizer.setText("+")
        self.add_optimizer.setToolTip("Add an optimizer with torch's defaults (edit its settings "
                                      "in the field)")
        self.add_optimizer.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_optimizer)
        for label, opt in OPTIMIZER_MENU:
            menu.addAction(label).triggered.connect(lambda _=False, o=opt: self.optimizers.add(o))
        self.add_optimizer.setMenu(menu)
        self.run_button = QPushButton("Run grid")
        self.run_button.setToolTip("Train every width x mode x seed on all cores")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the grid; the cells finished so far are kept")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress.setFixedWidth(260)
        self.progress.setToolTip("The grid's progress: runs finished and steps trained")
        self.progress.hide()  # shown once a grid runs: an empty bar reads as a text field
        self.status = QLabel("")
        self.status.setWordWrap(False)
        # A long message is cut (its tooltip has it whole) rather than widening the view.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.run_button.clicked.connect(self.run_grid)
        self.cancel_button.clicked.connect(self._cancel)
        # One control, one setting: a valid value goes to the controller at once.
        self.widths.valueChanged.connect(lambda v: self._set("widths", v))
        for cb in self.mode_boxes.values():
            cb.toggled.connect(self._modes_toggled)
        self.seeds.valueChanged.connect(lambda v: self._set("seeds", v))
        self.steps.valueChanged.connect(lambda v: self._set("steps", v))
        self.save_every.valueChanged.connect(lambda v: self._set("save_every", v))
        self.lr_output.valueChanged.connect(lambda v: self._set("lr_output", v))
        self.lr_all.valueChanged.connect(lambda v: self._set("lr_all", v))
        self.optimizers.valueChanged.connect(lambda v: self._set("optimizers", v))
        self.activation_box.currentIndexChanged.connect(
            lambda i: self._set_choice("activation", Activation(ACTIVATIONS[i])))
        self.loss_box.currentIndexChanged.connect(lambda i: self._set_choice("loss", Loss(LOSSES[i])))

        # The controls flow onto a second line when the view is narrow (a laptop screen with the
        # lesson dock open), instead of widening the window or scrolling the plots away.
        top_box = FlowBox(spacing=10)
        top = top_box.flow

        def group(*items):
            box = QWidget()
            lay = QHBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(4)
            for item in items:
                if isinstance(item, str):
                    item = QLabel(item)
                    lay.addWidget(item, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignVCenter)
                else:
                    lay.addWidget(item, 0, Qt.AlignmentFlag.AlignTop)
            top.addWidget(box)

        group("Widths", self.widths)
        group("Modes", *self.mode_boxes.values())
        group("Seeds", self.seeds)
        group("Steps", self.steps)
        group("Snapshot every", self.save_every)
        group("lr output", self.lr_output, "lr all", self.lr_all)
        group("Optimizers", self.optimizers, self.add_optimizer)
        group("Activation", self.activation_box, "Loss", self.loss_box)
        group(self.run_button, self.cancel_button)

        # ---- small multiples, their legend and the shared timeline
        self.small = SmallMultiples()
        self.small.cellClicked.connect(lambda key: self.c.select_cell(*key))
        self.small.cellDoubleClicked.connect(lambda key: self.c.open_cell(*key))
        scroll = QScrollArea()
        scroll.setWidget(self.small)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.legend = QLabel(_legend_html())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        hint = QLabel("click: details · double-click: open in the studio")
        hint.setStyleSheet("color: #777777;")
        hint.setWordWrap(True)  # wraps on a narrow view, never widens it
        hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        hint.setToolTip("Click a cell to show its details on the right; double-click it (or Open "
                        "in studio) to continue it in the studio. Drag or wheel in any cell to pan "
                        "or zoom them all")
        self.seed_box = QComboBox()
        self.seed_box.setToolTip("The seed the cells, the elbow trajectories and 'Open' show")
        self.seed_box.currentIndexChanged.connect(self._seed_chosen)
        self.view_button = QPushButton("Default view")
        self.view_button.setToolTip("The notebook's view [0, 1] x [-2.5, 2.5] in every cell")
        self.view_button.clicked.connect(self.small.reset_view)
        legend_row = QHBoxLayout()
        legend_row.addWidget(self.legend, 3)
        legend_row.addWidget(hint, 2)
        self.timeline = Timeline()
        self.timeline.slider.setToolTip("The shared timeline: every cell, the loss cursor and the "
                                        "elbow cursor follow it")
        self.timeline.indexChanged.connect(self.c.set_step_index)
        self.timeline.set_steps_source(lambda: self.c.steps)  # log-time playback and axis in steps
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.setSpacing(2)
        lv.addLayout(legend_row)
        lv.addWidget(scroll, 1)
        lv.addWidget(self.timeline)

        # ---- the selected cell: losses and elbow trajectories
        self.cell_title = QLabel("")
        self.cell_title.setTextFormat(Qt.TextFormat.RichText)
        self.open_button = QPushButton("Open in studio")
        self.open_button.setToolTip("Load the selected cell's run (shown seed) into the studio view")
        self.open_button.clicked.connect(lambda: self.c.selected and self.c.open_cell(*self.c.selected))
        self.open_button.setEnabled(False)
        head = QHBoxLayout()
        head.addWidget(self.cell_title, 1)
        head.addWidget(self.open_button)
        self.loss = BandLossPlot()
        self.kymos = KymographRow()
        self.kymos.logToggled.connect(self.c.set_log_steps)
        right_split = QSplitter(Qt.Orientation.Vertical)
        right_split.addWidget(self.loss)
        right_split.addWidget(self.kymos)
        right_split.setStretchFactor(0, 2)
        right_split.setStretchFactor(1, 3)
        right_split.setSizes([300, 450])
        self.right_split = right_split
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.setSpacing(2)
        rv.addLayout(head)
        rv.addWidget(right_split, 1)

        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(right)
        body.setStretchFactor(0, 1)
        body.setStretchFactor(1, 1)
        body.setSizes([700, 700])

        # ---- the results table
        self.table = ResultsTableView()
        self.table_kind = QComboBox()
        self.table_kind.addItem("final errors", "final")
        self.table_kind.addItem("best errors", "best")
        self.table_kind.setToolTip("The last snapshot's errors, or the lowest seen during training")
        self.table_kind.currentIndexChanged.connect(lambda _i: self.c.set_table_kind(self.table_kind.currentData()))
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the selected cells (or the whole table) as tab-separated text (Ctrl+C)")
        self.copy_button.clicked.connect(self.table.copy_selection)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save the table as CSV: the same columns as the CLI's results.csv")
        self.export_button.clicked.connect(lambda: self.export_csv())
        tb = QHBoxLayout()
        tb.addWidget(QLabel("<b>Results</b> — median [25 %, 75 %] over seeds"))
        tb.addStretch(1)
        tb.addWidget(self.table_kind)
        tb.addWidget(self.copy_button)
        tb.addWidget(self.export_button)
        table_box = QWidget()
        tv = QVBoxLayout(table_box)
        tv.setContentsMargins(0, 0, 0, 0)
        tv.setSpacing(2)
        tv.addLayout(tb)
        tv.addWidget(self.table, 1)

        main_split = QSplitter(Qt.Orientation.Vertical)
        main_split.addWidget(body)
        main_split.addWidget(table_box)
        main_split.setStretchFactor(0, 5)
        main_split.setStretchFactor(1, 1)
        main_split.setSizes([700, 140])
        self.main_split = main_split

        prog = QHBoxLayout()
        prog.addWidget(self.progress)
        prog.addWidget(self.status, 1)
        prog.addWidget(QLabel("Show seed"))
        prog.addWidget(self.seed_box)
        prog.addWidget(self.view_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        lay.addWidget(top_box)
        lay.addLayout(prog)
        lay.addWidget(main_split, 1)

    # ------------------------------------------------------------------ intent
    def _set(self, name, value):
        err = self.c.set_field(name, value)
        if err:
            self._say(err, "error")

    def _set_choice(self, name, value):
        """A combo's activation or loss; one of the same name (e.g. Leaky ReLU 0.1 from a
        session) is kept with its parameter."""
        if getattr(self.c.settings, name).name != value.name:
            self._set(name, value)

    def _cancel(self):
        self.cancel_button.setEnabled(False)
        self.c.cancel()

    def _modes_toggled(self, _on):
        modes = tuple(m for m in MODES if self.mode_boxes[m].isChecked())
        if modes:
            self._set("modes", modes)

    def run_grid(self) -> str | None:
        """Start the grid from the controls; returns an error text instead of raising."""
        if not self.widths.validate():
            return self._say(f"Widths: {self.widths.reason.text()}", "error")
        for name, f in (("lr output", self.lr_output), ("lr all", self.lr_all),
                        ("Optimizers", self.optimizers)):
            if not f.validate():
                return self._say(f"{name}: {f.reason.text()}", "error")
        modes = tuple(m for m in MODES if self.mode_boxes[m].isChecked())
        if not modes:
            return self._say("Choose at least one mode.", "error")
        # What the controls show is what runs (a field may not have been confirmed yet).
        err = self.c.set_settings(self.c.settings.changed(
            widths=self.widths.value(), modes=modes, seeds=self.seeds.value(),
            steps=self.steps.value(), save_every=self.save_every.value(),
            lr_output=self.lr_output.value(), lr_all=self.lr_all.value(),
            optimizers=self.optimizers.value()))
        return self._say(err, "error") if err else self.c.run_grid()

    def export_csv(self, path=None) -> str | None:
        """Write the results table as CSV; asks for a path if none is given (None: cancelled)."""
        if path is None:
            if self.c.result is None or not self.c.result.runs:
                return self.c.export_csv("")  # says there is nothing yet
            path, _filter = QFileDialog.getSaveFileName(self, "Export the results table", "results.csv",
                                                        "CSV files (*.csv);;All files (*)")
            if not path:
                return None
        return self.c.export_csv(path)

    def _seed_chosen(self, i: int):
        res = self.c.result
        if res is not None and 0 <= i < len(res.seeds):
            self.c.set_shown_seed(res.seeds[i])

    # ------------------------------------------------------------------ presenting
    def _show_settings(self, names):
        """Show the grid settings that changed (only those: a control being typed in keeps its text)."""
        s = self.c.settings
        if "widths" in names:
            self.widths.set_value(s.widths)
        if "modes" in names:
            for m, cb in self.mode_boxes.items():
                with QSignalBlocker(cb):
                    cb.setChecked(m in s.modes)
        for name, w in (("seeds", self.seeds), ("steps", self.steps), ("save_every", self.save_every)):
            if name in names and w.value() != getattr(s, name):
                with QSignalBlocker(w):
                    w.setValue(getattr(s, name))
        for name, f in (("lr_output", self.lr_output), ("lr_all", self.lr_all)):
            if name in names and f.value() != getattr(s, name):
                f.set_value(getattr(s, name))
        if "optimizers" in names and self.optimizers.value() != s.optimizers:
            self.optimizers.set_value(s.optimizers)
        for name, box, keys in (("activation", self.activation_box, ACTIVATIONS),
                                ("loss", self.loss_box, LOSSES)):
            if name in names:
                with QSignalBlocker(box):
                    box.setCurrentIndex(keys.index(getattr(s, name).name))
        if self.c.result is None and not self.c.running and names & {
                "widths", "modes", "steps", "optimizers", "lr_output", "lr_all"}:
            self._preview()

    def _titles(self) -> dict:
        """Each column's title (HTML): the mode, and the optimizer as it trains. A grid of the
        notebook's SGD alone keeps the short one-line titles (three columns fit a laptop's half
        screen); with optimizers the title takes two lines."""
        c = self.c
        plain = len(c.optimizers()) == 1 and c.optimizers()[0] == Optimizer()
        gs = (c.result.settings if c.result is not None else None) or c.settings
        t = {}
        for m, o in c.columns():
            name = "output only" if m == "output" else MODE_INFO[m].short if m in MODE_INFO else m
            if m == "ridge":
                t[(m, o)] = "<b>ridge (closed form)</b>"
            elif plain:
                t[(m, o)] = f"<b>{name} · lr {gs.lr_for(m):g}</b>"
            else:  # the optimizer on a line of its own, its lr and weight decay on the next
                label = c.column_optimizer_label(m, o)  # short: "mom. 0.9", "Nesterov 0.9"
                label = re.sub(r"momentum (\S+) \(Nesterov\)", r"Nesterov \1", label)
                head, *rest = re.split(r" (?=lr |wd )", label.replace("momentum", "mom."))
                t[(m, o)] = f"<b>{name}</b><br>{head}<br>{' '.join(rest) or '&nbsp;'}"
        return t

    def _grid_changed(self):
        res = self.c.result
        if res is None:
            self._preview()
            return
        self.small.set_grid(res.widths, res.columns, res.data, self._titles())
        placeholder = "running…" if self.c.running else "not run"
        for w in res.widths:
            for m, o in res.columns:
                self.small.set_run(w, m, None, placeholder, o)
        with QSignalBlocker(self.seed_box):
            self.seed_box.clear()
            self.seed_box.addItems([f"seed {s}" for s in res.seeds])
        self.table.set_rows([], self.c.table_kind, res.modes)
        self._step_changed()

    def _preview(self):
        """Before any grid: the cells of the controls' grid on the current data, not run."""
        self._needs_preview = False
        s = self.c.settings
        try:
            data = self.c.data_provider()
        except Exception:  # the provider belongs to the caller; a preview must not fail
            data = None
        self.small.set_grid(s.widths, self.c.columns(), data, self._titles())
        for w in s.widths:
            for m, o in self.c.columns():
                self.small.set_run(w, m, None, "not run yet: press Run grid", o)
        self.timeline.set_count(1, index=0)
        self.timeline.set_label(0, 0, 0, 1)
        self.loss.set_bands({}, s.steps, title="The selected cell's losses appear here after Run grid")
        self._show_kymographs(None)
        self.cell_title.setText("")
        self.open_button.setEnabled(False)
        with QSignalBlocker(self.seed_box):
            self.seed_box.clear()
        self.table.set_rows([], self.c.table_kind)

    def showEvent(self, event):
        super().showEvent(event)
        if self.c.result is None and not self.c.running:
            if self._needs_preview:
                self._preview()
            else:
                self.small.set_dataset(self.c.data_provider())  # the studio's data may have changed

    def _runs_arrived(self, cells):
        """Draw newly finished runs (``cells``: the (width, mode, optimizer) keys touched;
        None: all)."""
        c, res = self.c, self.c.result
        if res is None:
            return
        if cells is None or cells:
            keys = cells if cells is not None else [(w, m, o) for w in res.widths for m, o in res.columns]
            placeholder = "running…" if c.running else "not run"
            for w, m, o in keys:
                self.small.set_run(w, m, c.run_of(w, m, o), placeholder, o)
            if c.selected is not None and (cells is None or c.selected in cells):
                self._show_selected()
        with QSignalBlocker(self.table_kind):
            self.table_kind.setCurrentIndex(self.table_kind.findData(c.table_kind))
        self.table.set_rows(c.table_rows(), c.table_kind, res.modes)
        with QSignalBlocker(self.seed_box):
            if res.seeds and c.shown_seed in res.seeds:
                self.seed_box.setCurrentIndex(res.seeds.index(c.shown_seed))

    def _step_changed(self):
        c = self.c
        step = c.step
        self.timeline.set_count(len(c.steps), index=c.step_index)
        self.small.show_step(step)
        self.loss.set_cursor(step)
        self.kymos.set_cursor(step)
        self.timeline.set_label(step, c.steps[-1], c.step_index, len(c.steps))

    def _show_selected(self):
        c, res, sel = self.c, self.c.result, self.c.selected
        if res is None or sel is None:
            return
        w, m, o = sel
        self.small.select(w, m, o)
        bands = c.cell_bands(w, m, o)
        n_seeds = max((b.seeds for b in bands.values()), default=0)
        x_max = c.steps[-1] if c.steps else 1
        ridge_test = None
        if m != "ridge" and "ridge" in res.modes:
            rb = c.cell_bands(w, "ridge")
            if rb:
                ridge_test = float(rb["test_error"].median[0])
        floor = res.data.noise_floor if res.data.target is not None else None
        what = MODE_INFO[m].title if m in MODE_INFO else m
        if o is not None and len(res.optimizers) > 1:
            what = f"{what} · {c.column_optimizer_label(m, o)}"
        if n_seeds > 1:
            title = f"H = {w}, {what}: median and 25–75 % band over {n_seeds} seeds"
        elif n_seeds == 1:
            title = f"H = {w}, {what}: seed {res.cell(w, m, o)[0].settings.seed}"
        else:
            title = f"H = {w}, {what}: not finished"
        diverged = sum(r.diverged for r in res.cell(w, m, o))
        if diverged:
            title += f" ({diverged} diverged)"
        self.loss.set_bands(bands, x_max, ridge_test, floor, title)
        run = c.run_of(w, m, o)
        seed = c.shown_seed
        self._show_kymographs(w, o)
        self.loss.set_cursor(c.step)
        self.kymos.set_cursor(c.step)
        self.cell_title.setText(f"<b>Selected: H = {w}, {what}</b>, seed {seed}")
        self.open_button.setEnabled(run is not None)

    def _kymograph_options(self):
        if self.c.result is not None and self.c.selected is not None:
            self._show_selected()
        else:
            self._show_kymographs(None)

    def _show_kymographs(self, width, optimizer=None):
        """The elbows of ``width``'s SGD modes with ``optimizer`` (None: the grid's first) side
        by side (width None: the grid has not run)."""
        c = self.c
        if optimizer is None:
            optimizer = c.optimizers()[0]
        modes = c.kymograph_modes()
        self.kymos.set_log(c.log_steps)
        self.kymos.set_modes(modes or ("all",))
        kinks = c.kinks()
        gs = (c.result.settings if c.result is not None else None) or c.settings
        if width is None:
            lo, hi = (1.0, float(gs.steps)) if c.log_steps else (0.0, float(gs.steps))
            if c.log_steps and gs.steps > gs.save_every:
                lo = gs.save_every / 10 ** 0.5
        else:
            lo, hi = c.kymograph_range()
        kink_txt = "dashed: the target's kinks" if kinks else "this target has no kinks"
        if width is None:
            head = "<b>Elbows against the step</b> of the selected width's modes side by side, after Run grid"
        else:
            head = f"<b>Elbows x = −b/w against the step</b> · H = {width}, seed {c.shown_seed} · {kink_txt}"
        if not modes:
            head += " · ridge trains no hidden layer: its elbows are the initial network's"
        self.kymos.title.setText(head)
        for m, plot in self.kymos.plots.items():
            mode_name = 'output only' if m == 'output' else MODE_INFO[m].short
            if len(c.optimizers()) == 1 and optimizer == Optimizer():
                name = f"{mode_name} · lr {gs.lr_for(m):g}"
            else:
                name = f"{mode_name} · {c.column_optimizer_label(m, optimizer)}"
            paths = c.elbow_paths(width, m, optimizer) if width is not None and modes else None
            if paths is None:
                x = y = ()
                note = "" if width is None or not modes else ": not finished"
            else:
                x, y = paths
                run = c.run_of(width, m, optimizer)
                note = " · elbows fixed" if m == "output" else ""
                if run.diverged:
                    note += f", diverged at {run.diverged_at:,}"
            plot.set_paths(x, y, kinks, (lo, hi), c.log_steps, f"{name}{note}")
            plot.set_cursor(c.step)

    def _progress(self, permille: int, text: str):
        """Progress of a grid; nothing to report (no grid) hides the bar."""
        if permille >= 0:
            self.progress.setValue(permille)
        self.progress.setFormat(text)
        self.progress.setVisible(bool(text) or permille > 0)
        if not self.progress.isVisible() and not self.status.text():
            self._say(READY, "info")

    def _running(self, on: bool):
        self.run_button.setEnabled(not on)
        self.cancel_button.setEnabled(on)

    def _say(self, text: str, level: str) -> str | None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet(ERROR_STYLE if level == "error" else
                                  ("color: #9a6700;" if level == "warning" else ""))
        return text if level in ("error", "warning") and text else None
