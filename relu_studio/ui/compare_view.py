"""The Compare view: the notebook's whole study (widths x modes x seeds) on one screen.

- Controls: widths (any list), modes, seeds, steps, snapshot interval, learning rates; *Run grid*
  trains the grid in the grid worker's thread on all cores, with progress and *Cancel* (finished
  cells are kept). Every (width, mode) cell starts from the same initial network per seed.
- Small multiples (rows widths, columns modes): data, truth, prediction and elbows of the shown
  seed, all at the step of one shared timeline. A click selects a cell for the panes on the
  right; a double click (or *Open in studio*) emits :attr:`CompareView.openCell`.
- Loss pane of the selected cell: minibatch, full-train and test MSE on a log axis, median and
  25-75 % band over seeds; ridge as a horizontal line.
- Elbow trajectories of the selected cell and shown seed, with the target's kinks.
- Results table (final or best MSE, median [q25, q75] over seeds), sortable, Ctrl+C, CSV export.

The view does no model math: the core computes runs, bands, trajectories and the table; the
grid runs through :mod:`relu_studio.grid_worker`, the only bridge to the core's training.
"""
from __future__ import annotations

import bisect
import re
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QScrollArea, QSizePolicy,
                               QSplitter, QVBoxLayout, QWidget)

from ..core.dataset import Dataset
from ..core.experiment import (ALL_MODES, ExperimentResult, cell_bands, elbow_trajectories,
                               grid_steps, results_table, write_results_csv)
from ..core.ridge import DEFAULT_LAMBDA
from ..core.training import DEFAULT_LR, snapshot_steps
from ..grid_worker import GridJob, GridThread
from . import style
from .band_loss_plot import BandLossPlot
from .elbow_kymograph import ElbowKymograph
from .fields import ERROR_STYLE, NumberField, _Validated, spin_box
from .parameter_panel import MAX_GUI_WIDTH
from .results_table_view import ResultsTableView
from .small_multiples import MODE_TITLES, SmallMultiples
from .timeline import Timeline

__all__ = ["CompareView", "POLL_MS", "MAX_SEEDS", "MAX_WIDTHS"]

#: The GUI collects progress and finished runs from the grid worker this often (about 10 Hz).
POLL_MS = 100
MAX_SEEDS = 50
MAX_WIDTHS = 12
MAX_STEPS = 10_000_000
MODE_LABELS = {"output": "output layer", "all": "all layers", "ridge": "ridge"}
MODE_TIPS = {"output": "SGD on the output layer only (a convex problem on fixed features)",
             "all": "SGD on all layers (the elbows move)",
             "ridge": "the output layer solved in closed form on the initial features"}
DEFAULT_STATE = {"widths": [10, 20, 40], "modes": list(ALL_MODES), "seeds": 1, "steps": 150_000,
                 "save_every": 1000, "lr_output": DEFAULT_LR["output"], "lr_all": DEFAULT_LR["all"],
                 "lam": DEFAULT_LAMBDA, "batch_size": None, "shown_seed": 0, "selected": None,
                 "step": None, "table": "final"}


def parse_widths(text: str) -> tuple[int, ...]:
    """``"10 20, 40"`` -> ``(10, 20, 40)``: whole numbers 1..MAX_GUI_WIDTH, duplicates dropped."""
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if not parts:
        raise ValueError("enter at least one width, e.g. 10 20 40")
    out = []
    for p in parts:
        try:
            w = int(p)
        except ValueError:
            raise ValueError(f"'{p}' is not a whole number") from None
        if not 1 <= w <= MAX_GUI_WIDTH:
            raise ValueError(f"widths must lie in 1..{MAX_GUI_WIDTH}, got {w}")
        if w not in out:
            out.append(w)
    if len(out) > MAX_WIDTHS:
        raise ValueError(f"at most {MAX_WIDTHS} widths")
    return tuple(out)


class WidthsField(_Validated):
    """A list of widths typed as ``10 20 40``; refused at the field with the reason beneath."""

    def __init__(self, widths, parent=None):
        edit = QLineEdit(" ".join(map(str, widths)))
        super().__init__(edit, parse_widths, "Hidden-layer widths, separated by spaces or commas "
                         f"(1..{MAX_GUI_WIDTH}, at most {MAX_WIDTHS})", parent)
        self._value = tuple(widths)
        edit.editingFinished.connect(self.validate)
        edit.setMinimumWidth(90)

    def text(self) -> str:
        return self.editor.text()

    def set_value(self, widths):
        self.editor.setText(" ".join(map(str, widths)))
        self.validate()


def _legend_html() -> str:
    """The small multiples' legend, as coloured text (cheaper than a legend in every cell)."""
    return (f"<span style='color:{style.DATA}'>●</span> data &nbsp; "
            f"<span style='color:{style.TRUTH}'><b>- -</b></span> truth &nbsp; "
            f"<span style='color:{style.PREDICTION}'><b>—</b></span> prediction &nbsp; "
            f"<span style='color:{style.ELBOW}'>●</span> elbows (x = −b/w, on y = 0)")


class CompareView(QWidget):
    """The grid of widths x modes x seeds; see the module docstring.

    ``data_provider()`` returns the :class:`Dataset` a new grid trains on (the studio's current
    data). Public API: :attr:`openCell`, :attr:`gridFinished`, :meth:`run_grid`, :meth:`cancel`,
    :meth:`shutdown`, :meth:`state`, :meth:`set_state`, :attr:`result`, :meth:`set_result`,
    :meth:`select_cell`, :meth:`open_cell`, :meth:`set_step_index`, :meth:`export_csv`.
    """

    #: ``(width, mode, seed, Run, initial Network)`` of a cell the user opens.
    openCell = Signal(object)
    #: The grid ended (finished, cancelled or failed); carries the ExperimentResult or None.
    gridFinished = Signal(object)

    def __init__(self, data_provider: Callable[[], Dataset], parent=None):
        super().__init__(parent)
        self.data_provider = data_provider
        self._result: ExperimentResult | None = None
        self._job: GridJob | None = None
        self._steps = [0]  # the shared timeline's steps
        self._selected: tuple | None = None
        self._bridge = GridThread(self)
        self._poll_timer = QTimer(self)
        self._poll_timer.setObjectName("relu-compare-poll")
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self._poll)
        self._bridge.worker.jobDone.connect(self._poll)  # queued: runs in the GUI thread
        self._build()
        self._needs_preview = True  # drawn when first shown: keeps the app's start-up short

    # ------------------------------------------------------------------ layout
    def _build(self):
        d = DEFAULT_STATE
        self.widths = WidthsField(d["widths"])
        self.mode_boxes: dict[str, QCheckBox] = {}
        for m in ALL_MODES:
            cb = QCheckBox(MODE_LABELS.get(m, m))
            cb.setChecked(m in d["modes"])
            cb.setToolTip(MODE_TIPS.get(m, ""))
            self.mode_boxes[m] = cb
        self.seeds = spin_box(1, MAX_SEEDS, d["seeds"], f"Seeds 0..k-1 (1..{MAX_SEEDS}): each seed is "
                           "its own initial network and minibatch sequence, shared by every mode")
        self.steps = spin_box(1, MAX_STEPS, d["steps"], "SGD steps per run")
        self.steps.setSingleStep(10_000)
        self.save_every = spin_box(1, 1_000_000, d["save_every"], "Keep a snapshot every K steps")
        self.save_every.setSingleStep(100)
        self.lr_output = NumberField(d["lr_output"], minimum=0.0, exclusive_min=True,
                                     tooltip="Learning rate of mode 'output layer' (the notebook's: 0.2)")
        self.lr_all = NumberField(d["lr_all"], minimum=0.0, exclusive_min=True,
                                  tooltip="Learning rate of mode 'all layers' (the notebook's: 0.02)")
        for f in (self.lr_output, self.lr_all):
            f.editor.setMaximumWidth(60)
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
        self.status = QLabel("")
        self.status.setWordWrap(False)
        self.status.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.run_button.clicked.connect(self.run_grid)
        self.cancel_button.clicked.connect(self.cancel)

        top = QHBoxLayout()
        top.setSpacing(6)

        def labelled(text, w, tip=""):
            lab = QLabel(text)
            if tip:
                lab.setToolTip(tip)
            top.addWidget(lab, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignVCenter)
            top.addWidget(w, 0, Qt.AlignmentFlag.AlignTop)

        labelled("Widths", self.widths)
        top.addSpacing(6)
        top.addWidget(QLabel("Modes"))
        for cb in self.mode_boxes.values():
            top.addWidget(cb)
        top.addSpacing(6)
        labelled("Seeds", self.seeds)
        labelled("Steps", self.steps)
        labelled("Snapshot every", self.save_every)
        labelled("lr output", self.lr_output)
        labelled("lr all", self.lr_all)
        top.addSpacing(8)
        top.addWidget(self.run_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addStretch(1)

        # ---- small multiples, their legend and the shared timeline
        self.small = SmallMultiples()
        self.small.cellClicked.connect(self.select_cell)
        self.small.cellDoubleClicked.connect(self.open_cell)
        scroll = QScrollArea()
        scroll.setWidget(self.small)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.legend = QLabel(_legend_html())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        hint = QLabel("click a cell: details on the right · double-click: open in the studio")
        hint.setStyleSheet("color: #777777;")
        hint.setToolTip("Drag or wheel in any cell to pan or zoom them all")
        self.seed_box = QComboBox()
        self.seed_box.setToolTip("The seed the cells, the elbow trajectories and 'Open' show")
        self.seed_box.currentIndexChanged.connect(self._seed_changed)
        self.view_button = QPushButton("Default view")
        self.view_button.setToolTip("The notebook's view [0, 1] x [-2.5, 2.5] in every cell")
        self.view_button.clicked.connect(self.small.reset_view)
        legend_row = QHBoxLayout()
        legend_row.addWidget(self.legend)
        legend_row.addStretch(1)
        legend_row.addWidget(hint)
        self.timeline = Timeline()
        self.timeline.slider.setToolTip("The shared timeline: every cell, the loss cursor and the "
                                        "elbow cursor follow it")
        self.timeline.indexChanged.connect(self._index_changed)
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
        self.open_button.clicked.connect(lambda: self._selected and self.open_cell(*self._selected))
        self.open_button.setEnabled(False)
        head = QHBoxLayout()
        head.addWidget(self.cell_title, 1)
        head.addWidget(self.open_button)
        self.loss = BandLossPlot()
        self.kymo = ElbowKymograph()
        right_split = QSplitter(Qt.Orientation.Vertical)
        right_split.addWidget(self.loss)
        right_split.addWidget(self.kymo)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.setSpacing(2)
        rv.addLayout(head)
        rv.addWidget(right_split, 1)

        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(right)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        body.setSizes([820, 560])

        # ---- the results table
        self.table = ResultsTableView()
        self.table_kind = QComboBox()
        self.table_kind.addItem("final errors", "final")
        self.table_kind.addItem("best errors", "best")
        self.table_kind.setToolTip("The last snapshot's errors, or the lowest seen during training")
        self.table_kind.currentIndexChanged.connect(lambda _i: self._refresh_table())
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the selected cells (or the whole table) as tab-separated text (Ctrl+C)")
        self.copy_button.clicked.connect(self.table.copy_selection)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save the table as CSV: the same columns as the CLI's results.csv")
        self.export_button.clicked.connect(lambda: self.export_csv())
        tb = QHBoxLayout()
        title = QLabel("<b>Results</b> — median [25 %, 75 %] over seeds")
        tb.addWidget(title)
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
        main_split.setStretchFactor(0, 4)
        main_split.setStretchFactor(1, 1)
        main_split.setSizes([600, 250])

        prog = QHBoxLayout()
        prog.addWidget(self.progress)
        prog.addWidget(self.status, 1)
        prog.addWidget(QLabel("Show seed"))
        prog.addWidget(self.seed_box)
        prog.addWidget(self.view_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addLayout(prog)
        lay.addWidget(main_split, 1)

    # ------------------------------------------------------------------ settings
    def _settings(self) -> dict:
        """The grid's settings from the controls; raises ValueError with the reason."""
        if not self.widths.validate():
            raise ValueError(f"Widths: {self.widths.reason.text()}")
        for name, f in (("lr output", self.lr_output), ("lr all", self.lr_all)):
            if not f.validate():
                raise ValueError(f"{name}: {f.reason.text()}")
        modes = tuple(m for m in ALL_MODES if self.mode_boxes[m].isChecked())
        if not modes:
            raise ValueError("Choose at least one mode.")
        return {"widths": self.widths.value(), "modes": modes, "seeds": self.seeds.value(),
                "steps": self.steps.value(), "save_every": self.save_every.value(),
                "lr_output": self.lr_output.value(), "lr_all": self.lr_all.value(),
                "lam": self._lam, "batch_size": self._batch_size}

    _lam = DEFAULT_LAMBDA
    _batch_size = None

    def state(self) -> dict:
        """The grid's settings and what is shown, as JSON-able values (for session files)."""
        modes = [m for m in ALL_MODES if self.mode_boxes[m].isChecked()]
        i = self.timeline.index
        return {
            "widths": list(self.widths.value()), "modes": modes, "seeds": self.seeds.value(),
            "steps": self.steps.value(), "save_every": self.save_every.value(),
            "lr_output": float(self.lr_output.value()), "lr_all": float(self.lr_all.value()),
            "lam": float(self._lam), "batch_size": self._batch_size,
            "shown_seed": self.shown_seed, "selected": list(self._selected) if self._selected else None,
            "step": int(self._steps[i]) if 0 <= i < len(self._steps) else None,
            "table": self.table_kind.currentData(),
        }

    def set_state(self, state: dict) -> None:
        """Restore :meth:`state` (missing keys take the defaults). Call after :meth:`set_result`
        to also restore the shown seed, the selected cell and the step."""
        s = dict(DEFAULT_STATE, **(state or {}))
        self.widths.set_value(s["widths"])
        for m, cb in self.mode_boxes.items():
            cb.setChecked(m in s["modes"])
        self.seeds.setValue(int(s["seeds"]))
        self.steps.setValue(int(s["steps"]))
        self.save_every.setValue(int(s["save_every"]))
        self.lr_output.set_value(float(s["lr_output"]))
        self.lr_all.set_value(float(s["lr_all"]))
        self._lam = float(s["lam"])
        self._batch_size = None if s["batch_size"] is None else int(s["batch_size"])
        k = self.table_kind.findData(s["table"])
        if k >= 0:
            self.table_kind.setCurrentIndex(k)
        res = self._result
        if res is not None:
            if s["shown_seed"] in res.seeds:
                self.seed_box.setCurrentIndex(res.seeds.index(s["shown_seed"]))
            sel = s["selected"]
            if sel and (int(sel[0]), str(sel[1])) in self.small.cells:
                self.select_cell(int(sel[0]), str(sel[1]))
            if s["step"] is not None:
                i = bisect.bisect_right(self._steps, int(s["step"])) - 1
                self.set_step_index(max(0, i))

    # ------------------------------------------------------------------ public queries
    @property
    def result(self) -> ExperimentResult | None:
        """The grid shown (during a run: the runs finished so far), or None."""
        return self._result

    @property
    def running(self) -> bool:
        return self._job is not None

    @property
    def shown_seed(self) -> int:
        res = self._result
        if res is None or not res.seeds:
            return 0
        i = self.seed_box.currentIndex()
        return res.seeds[i] if 0 <= i < len(res.seeds) else res.seeds[0]

    @property
    def step(self) -> int:
        """The shared timeline's step."""
        i = self.timeline.index
        return int(self._steps[i]) if 0 <= i < len(self._steps) else 0

    @property
    def steps_timeline(self) -> list[int]:
        return list(self._steps)

    # ------------------------------------------------------------------ running
    def run_grid(self) -> str | None:
        """Start the grid from the controls; returns an error text instead of raising."""
        if self._job is not None:
            return self._say("A grid is already running: cancel it first.", "warning")
        try:
            s = self._settings()
        except ValueError as exc:
            return self._say(str(exc), "error")
        data = self.data_provider()
        if data is None:
            return self._say("No data to train on.", "error")
        seeds = tuple(range(s["seeds"]))
        job = GridJob(data, widths=s["widths"], modes=s["modes"], seeds=seeds, steps=s["steps"],
                      save_every=s["save_every"], lr_output=s["lr_output"], lr_all=s["lr_all"],
                      lam=s["lam"], batch_size=s["batch_size"])
        self._job = job
        self._bridge.submit(job)  # training starts now, while the cells are laid out
        result = ExperimentResult(data, s["widths"], s["modes"], seeds)
        sgd = any(m != "ridge" for m in s["modes"])
        expected = snapshot_steps(s["steps"], s["save_every"]) if sgd else None
        self._install(result, expected, placeholder="running…",
                      titles=self._titles(s["lr_output"], s["lr_all"]))
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        n = len(s["widths"]) * len(s["modes"]) * len(seeds)
        self._say(f"Training {n} run{'s' if n != 1 else ''}…", "info")
        self._poll_timer.start()
        return None

    def cancel(self) -> None:
        """Stop the grid; the cells finished so far are kept."""
        if self._job is not None:
            self._job.cancel.set()
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("cancelling…")

    def shutdown(self) -> bool:
        """Stop any grid and its thread, and every timer of the view (call before closing)."""
        self.timeline.stop()
        ok = self._bridge.shutdown()
        if self._job is not None:
            self._poll()  # the worker has returned: keep what it finished
        self._poll_timer.stop()
        return ok

    def closeEvent(self, event):
        self.shutdown()
        super().closeEvent(event)

    def _poll(self):
        job = self._job
        if job is None:
            self._poll_timer.stop()
            return
        runs, done = job.take()
        res = self._result
        for key, run in runs:
            res.runs[key] = run
            res.initial.setdefault((key[0], key[2]), run.initial)
        if runs:
            self._runs_arrived({(k[0], k[1]) for k, _ in runs})
        total = job.total_steps or 0
        if total > 0:
            self.progress.setValue(int(1000 * min(1.0, job.done_steps / total)))
        n_all = len(res.widths) * len(res.modes) * len(res.seeds)
        if not done:
            if not job.cancel.is_set():
                self.progress.setFormat(f"{len(res.runs)}/{n_all} runs · %p%")
            return
        # The grid ended.
        self._poll_timer.stop()
        self._job = None
        self._bridge.shutdown()  # the worker has returned; no thread idles between grids
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if job.error is not None:
            self.progress.setFormat("failed")
            self._say(f"The grid could not run: {job.error}", "error")
        elif job.result is not None:
            final = job.result
            self._result = final  # the same Run objects as reported one by one, plus every initial net
            if final.cancelled:
                self.progress.setFormat(f"cancelled · {len(final.runs)}/{n_all} runs")
                self._say(f"Cancelled after {job.elapsed:.2f} s: {len(final.runs)} of {n_all} runs "
                          "finished and are kept.", "warning")
            else:
                self.progress.setValue(1000)
                self.progress.setFormat(f"{n_all}/{n_all} runs · done")
                diverged = sum(r.diverged for r in final.runs.values())
                extra = f"; {diverged} diverged (see the table)" if diverged else ""
                self._say(f"{n_all} runs in {job.elapsed:.2f} s{extra}.",
                          "warning" if diverged else "info")
            self._runs_arrived(None)
        else:  # cancelled before it started
            self.progress.setFormat("cancelled")
            self._say("Cancelled.", "warning")
        self.gridFinished.emit(self._result)

    # ------------------------------------------------------------------ showing a grid
    def set_result(self, result: ExperimentResult | None) -> None:
        """Show a finished grid (e.g. from a session file); None clears the view."""
        if self._job is not None:
            self.shutdown()
            self._job = None
            self.run_button.setEnabled(True)
            self.cancel_button.setEnabled(False)
        if result is None:
            self._result = None
            self._preview()
            return
        sgd = [r for r in result.runs.values() if r.settings.mode != "ridge"]
        lr = {m: next((r.settings.lr for r in sgd if r.settings.mode == m), None) for m in ("output", "all")}
        self.widths.set_value(result.widths)
        for m, cb in self.mode_boxes.items():
            cb.setChecked(m in result.modes)
        self.seeds.setValue(max(1, min(MAX_SEEDS, len(result.seeds))))
        if sgd:
            self.steps.setValue(int(sgd[0].settings.steps))
            self.save_every.setValue(int(sgd[0].settings.save_every))
        for m, f in (("output", self.lr_output), ("all", self.lr_all)):
            if lr[m] is not None:
                f.set_value(lr[m])
        self._install(result, None, placeholder="no run",
                      titles=self._titles(lr["output"], lr["all"]))
        self._runs_arrived(None)
        n = len(result.runs)
        self.progress.setValue(1000 if not result.cancelled else 0)
        self.progress.setFormat(f"{n} runs" + (" (cancelled)" if result.cancelled else ""))
        self._say("", "info")

    @staticmethod
    def _titles(lr_output, lr_all) -> dict:
        t = {}
        if lr_output is not None:
            t["output"] = f"output layer only (SGD, lr {lr_output:g})"
        if lr_all is not None:
            t["all"] = f"all layers (SGD, lr {lr_all:g})"
        return t

    def _install(self, result: ExperimentResult, expected, placeholder: str, titles: dict):
        """Lay out the cells of ``result`` (its runs are drawn by ``_runs_arrived``)."""
        self._result = result
        self.small.set_grid(result.widths, result.modes, result.data, titles)
        for w in result.widths:
            for m in result.modes:
                self.small.set_run(w, m, None, placeholder)
        self.seed_box.blockSignals(True)
        self.seed_box.clear()
        self.seed_box.addItems([f"seed {s}" for s in result.seeds])
        self.seed_box.blockSignals(False)
        self._expected = expected
        self._update_timeline(follow=True)
        w = result.widths[-1]
        m = "all" if "all" in result.modes else result.modes[0]
        self._selected = None
        self.select_cell(w, m)
        self.table.set_rows([], self.table_kind.currentData(), result.modes)

    _expected = None

    def _preview(self):
        """Before any grid: the cells of the controls' grid on the current data, not run."""
        self._needs_preview = False
        try:
            widths = self.widths.value()
            modes = tuple(m for m in ALL_MODES if self.mode_boxes[m].isChecked()) or ALL_MODES
            data = self.data_provider()
        except Exception:  # the provider belongs to the caller; a preview must not fail
            data, widths, modes = None, DEFAULT_STATE["widths"], ALL_MODES
        self.small.set_grid(widths, modes, data, self._titles(self.lr_output.value(), self.lr_all.value()))
        for w in widths:
            for m in modes:
                self.small.set_run(w, m, None, "not run yet: press Run grid")
        self._steps = [0]
        self.timeline.set_count(1, follow=True)
        self.timeline.set_label(0, 0, 0, 1)
        x_max = self.steps.value()
        self.loss.set_bands({}, x_max, title="The selected cell's losses appear here after Run grid")
        self.kymo.set_trajectories([], [], x_max=x_max,
                                   title="…and every unit's elbow against the step")
        self.cell_title.setText("")
        self.open_button.setEnabled(False)
        self.seed_box.clear()
        self.table.set_rows([], self.table_kind.currentData())

    def showEvent(self, event):
        super().showEvent(event)
        if self._needs_preview:
            self._needs_preview = False
            if self._result is None and self._job is None:
                self._preview()
        if self._result is None and self._job is None:
            self.small.set_dataset(self.data_provider())  # the studio's data may have changed

    def _update_timeline(self, follow=None):
        res = self._result
        steps = grid_steps(res, self._expected) if res is not None else [0]
        self._steps = [int(s) for s in steps]
        self.timeline.set_count(len(self._steps), follow=follow)
        self._index_changed(self.timeline.index)

    def _runs_arrived(self, cells):
        """Draw newly finished runs (``cells``: the (width, mode) keys touched; None: all)."""
        res = self._result
        if res is None:
            return
        seed = self.shown_seed
        keys = cells if cells is not None else [(w, m) for w in res.widths for m in res.modes]
        for w, m in keys:
            run = res.runs.get((w, m, seed))
            self.small.set_run(w, m, run, "running…" if self._job is not None else "not run")
        self._update_timeline()
        if self._selected is not None and (cells is None or self._selected in cells):
            self._show_selected()
        self._refresh_table()

    def _refresh_table(self):
        res = self._result
        rows = results_table(res) if res is not None else []
        self.table.set_rows(rows, self.table_kind.currentData(), res.modes if res else ())

    def _seed_changed(self, _i):
        res = self._result
        if res is None:
            return
        seed = self.shown_seed
        for w in res.widths:
            for m in res.modes:
                self.small.set_run(w, m, res.runs.get((w, m, seed)),
                                   "running…" if self._job is not None else "not run")
        self._show_selected()

    # ------------------------------------------------------------------ timeline
    def set_step_index(self, i: int) -> None:
        """Move the shared timeline to its ``i``-th step (every cell follows)."""
        self.timeline.set_index(int(i))
        self._index_changed(self.timeline.index)

    def _index_changed(self, i: int):
        if not self._steps:
            return
        i = max(0, min(int(i), len(self._steps) - 1))
        step = self._steps[i]
        self.small.show_step(step)
        self.loss.set_cursor(step)
        self.kymo.set_cursor(step)
        self.timeline.set_label(step, self._steps[-1], i, len(self._steps))

    # ------------------------------------------------------------------ cells
    def select_cell(self, width: int, mode: str) -> None:
        """Show the losses and elbow trajectories of the (width, mode) cell."""
        if (width, mode) not in self.small.cells:
            return
        self._selected = (int(width), str(mode))
        self.small.select(width, mode)
        self._show_selected()

    def _show_selected(self):
        res = self._result
        sel = self._selected
        if res is None or sel is None:
            return
        w, m = sel
        seed = self.shown_seed
        bands = cell_bands(res, w, m)
        n_seeds = max((b.seeds for b in bands.values()), default=0)
        x_max = self._steps[-1] if self._steps else 1
        ridge_test = None
        if m != "ridge" and "ridge" in res.modes:
            rb = cell_bands(res, w, "ridge")
            if rb:
                ridge_test = float(rb["test_error"].median[0])
        floor = res.data.noise_floor if res.data.target is not None else None
        what = MODE_TITLES.get(m, m)
        if n_seeds > 1:
            title = f"H = {w}, {what}: median and 25–75 % band over {n_seeds} seeds"
        elif n_seeds == 1:
            title = f"H = {w}, {what}: seed {res.cell(w, m)[0].settings.seed}"
        else:
            title = f"H = {w}, {what}: not finished"
        diverged = sum(r.diverged for r in res.cell(w, m))
        if diverged:
            title += f" ({diverged} diverged)"
        self.loss.set_bands(bands, x_max, ridge_test, floor, title)
        run = res.runs.get((w, m, seed))
        kinks = res.data.target.kinks if res.data.target is not None else None
        if run is not None:
            steps, elbows = elbow_trajectories(run, with_initial=True)
            note = " — not trained: they stand still" if m in ("ridge", "output") else ""
            if run.diverged:
                note += f" — diverged at step {run.diverged_at:,}"
            ktxt = "" if kinks else " (this target has no kinks)"
            self.kymo.set_trajectories(steps, elbows, kinks, x_max,
                                       f"Elbows of H = {w}, {MODE_LABELS.get(m, m)}, seed {seed}{note}{ktxt}")
        else:
            self.kymo.set_trajectories([], [], kinks, x_max, f"Elbows of H = {w}, {MODE_LABELS.get(m, m)}: not finished")
        i = self.timeline.index
        step = self._steps[i] if 0 <= i < len(self._steps) else 0
        self.loss.set_cursor(step)
        self.kymo.set_cursor(step)
        self.cell_title.setText(f"<b>Selected: H = {w}, {what}</b>, seed {seed}")
        self.open_button.setEnabled(run is not None)

    def open_cell(self, width: int, mode: str) -> bool:
        """Emit :attr:`openCell` with the cell's run of the shown seed; False if it has none."""
        res = self._result
        if res is None:
            return False
        seed = self.shown_seed
        run = res.runs.get((int(width), str(mode), seed))
        if run is None:
            self._say(f"H = {width}, {MODE_LABELS.get(mode, mode)}, seed {seed} has not finished.", "warning")
            return False
        self.openCell.emit((int(width), str(mode), seed, run, run.initial))
        return True

    # ------------------------------------------------------------------ export
    def export_csv(self, path=None) -> str | None:
        """Write the results table as CSV (the CLI's results.csv columns); asks for a path if
        none is given. Returns an error text, or None on success (or if the user cancelled)."""
        res = self._result
        if res is None or not res.runs:
            return self._say("Nothing to export yet: run the grid first.", "warning")
        if path is None:
            path, _filter = QFileDialog.getSaveFileName(self, "Export the results table", "results.csv",
                                                        "CSV files (*.csv);;All files (*)")
            if not path:
                return None
        try:
            write_results_csv(res, path)
        except OSError as exc:
            return self._say(f"Could not write {path}: {exc.strerror or exc}", "error")
        self._say(f"Saved the results table to {path}.", "info")
        return None

    # ------------------------------------------------------------------ messages
    def _say(self, text: str, level: str) -> str | None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet(ERROR_STYLE if level == "error" else
                                  ("color: #9a6700;" if level == "warning" else ""))
        return text if level in ("error", "warning") and text else None
