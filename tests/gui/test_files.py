"""Sessions, recent files, title and unsaved-changes handling, imports, exports, autosave."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QMessageBox

import gui_mouse as mouse
from relu_studio.core.io import autosave
from relu_studio.core.io.data_csv import load_csv
from relu_studio.core.io.session import load_session
from session_compare import session_diff
from relu_studio.core.io.torch_files import load_network_pt
from studio_helpers import configure, run_to_end


def run_briefly(qtbot, c, steps=4000):
    configure(c, steps=steps, save_every=1000)
    run_to_end(qtbot, c)


def hand_edit(window):
    """One elbow drag and one added point."""
    cv, c = window.canvas, window.c
    mouse.prepare(cv)
    net = c.network
    e = net.elbows
    j = int(np.nonzero((e > 0.2) & (e < 0.8))[0][0])
    start = mouse.to_pixel(cv, e[j], 0.0)
    mouse.drag(cv, start, start + QPointF(25, 0))
    mouse.click(cv, mouse.to_pixel(cv, 0.42, 1.7), modifiers=Qt.KeyboardModifier.ControlModifier)


def test_save_and_reopen_restores_everything_bit_for_bit(window, qtbot, tmp_path):
    from relu_studio.ui.main_window import MainWindow

    c = window.c
    run_briefly(qtbot, c)
    hand_edit(window)
    window.panel.scaled.setChecked(True)
    window.action("follow").setChecked(True)
    window.flush_views()
    window.timeline.set_index(2)  # the user scrubs back
    assert window.c.shown_index == 2
    assert window.isWindowModified()
    path = tmp_path / "lesson.relustudio"
    assert window.files.save_to(path)
    assert not window.isWindowModified() and window.windowTitle().startswith("lesson.relustudio")
    saved = window.files.session()

    other = MainWindow(ask_to_save=False, autosave=False)
    qtbot.addWidget(other)
    other.show()
    assert other.files.open_path(path)
    assert session_diff(other.files.session(), saved) == []
    assert other.c.data.source == "edited" and other.c.data.n == 201
    other.flush_views()
    assert other.canvas.scaled and other.c.ridge_follow and other.c.shown_index == 2
    assert other.timeline.index == 2
    assert other.panel.scaled.isChecked()
    assert not other.isWindowModified()
    assert str(path) in other.files.recent()
    other.close()


def test_a_broken_file_is_refused_and_nothing_changes(window, tmp_path):
    c = window.c
    before = window.files.session()
    bad = tmp_path / "broken.relustudio"
    bad.write_bytes(b"PK\x03\x04 this is not a session")
    assert not window.files.open_path(bad)
    assert window.banner.isVisible() and "broken.relustudio" in window.banner.text()
    assert session_diff(window.files.session(), before) == []
    assert c.undo_stack.count() == 0


def test_title_marks_unsaved_changes_and_undo_back_to_saved_clears_it(window, tmp_path):
    assert window.windowTitle().startswith("Untitled")
    assert not window.isWindowModified()
    window.action("ridge").trigger()
    assert window.isWindowModified()
    window.action("undo").trigger()
    assert not window.isWindowModified()


def test_closing_with_unsaved_changes_asks(window, monkeypatch):
    window.files.ask_to_save = True
    window.action("ridge").trigger()
    answers = []

    def ask(*args, **kwargs):
        answers.append(args[2])
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", ask)
    window.close()
    assert window.isVisible() and answers and "Save the changes" in answers[0]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window.close()
    assert not window.isVisible()


def test_torch_network_import_and_export(window, tmp_path):
    c = window.c
    net = torch.nn.Sequential(torch.nn.Linear(1, 7), torch.nn.ReLU(), torch.nn.Linear(7, 1))
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    window.files.import_network(as_initial=True, path=str(path))
    assert c.initial.width == 7 and c.network.width == 7
    np.testing.assert_array_equal(c.initial.w1, net[0].weight.detach().numpy().ravel())
    assert window.panel.width.value() == 7
    # A broken file is refused with a reason; nothing changes.
    bad = tmp_path / "bad.pt"
    torch.save({"0.weight": torch.zeros(3, 2)}, bad)
    count = c.undo_stack.count()
    window.files.import_network(as_initial=False, path=str(bad))
    assert c.undo_stack.count() == count and c.network.width == 7
    assert "bad.pt" in window.banner.text()
    # Export the current network and load it into the notebook's model.
    out = tmp_path / "out.pt"
    window.files.export_network(current=True, path=str(out))
    back = load_network_pt(out)
    assert back.equals(c.network)
    model = torch.nn.Sequential(torch.nn.Linear(1, 7), torch.nn.ReLU(), torch.nn.Linear(7, 1))
    model.load_state_dict(torch.load(out, weights_only=True))
    x = np.linspace(0, 1, 50)
    with torch.no_grad():
        y = model(torch.from_numpy(x).float()[:, None]).numpy().ravel()
    np.testing.assert_allclose(y, c.network.predict(x), atol=1e-5)


def test_csv_exports_and_data_import(window, qtbot, tmp_path):
    c = window.c
    run_briefly(qtbot, c, 3000)
    window.files.export_history_csv(str(tmp_path / "h.csv"))
    rows = (tmp_path / "h.csv").read_text().strip().splitlines()
    assert rows[0] == "step,train_mse,full_train_mse,test_mse" and len(rows) == 1 + len(c.history)
    window.files.export_data_csv(str(tmp_path / "d.csv"))
    back = load_csv(tmp_path / "d.csv")
    np.testing.assert_array_equal(back.x, c.data.x)
    (tmp_path / "mine.csv").write_text("x,y\n0.1,1\n0.5,-1\n0.9,0.5\n0.3,0\n0.7,0.2\n")
    window.files.import_csv(str(tmp_path / "mine.csv"))
    assert c.data.n == 5 and c.data.target is None
    window.flush_views()
    xs, _ = window.canvas.point_positions()
    assert xs.size == 5
    c.undo_stack.undo()
    assert c.data.n == 200


CHILD = textwrap.dedent("""
    import os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from relu_studio.ui.main_window import MainWindow
    w = MainWindow(ask_to_save=False)
    w.files.set_autosave_interval(1.0)
    w.show()
    c = w.c
    c.set_setting("steps", 500_000_000)
    c.set_setting("save_every", 1000)
    c.start()
    t0 = time.time()
    while True:
        app.processEvents()
        time.sleep(0.002)
        if c.last_snapshot is not None and time.time() - t0 > 0.2:
            print(c.last_snapshot.step, flush=True)
            t0 = time.time()
""")


def test_autosave_recovers_a_killed_session(tmp_path):
    env = dict(os.environ, RELU_STUDIO_DATA_DIR=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True)
    steps = []
    trained_at = None  # when the child had trained for a while (a snapshot past step 0 exists)

    def saved_since(t):
        """An autosave written after ``t`` (a slow machine may still be writing an earlier one,
        from before the first snapshot, when the 16th step is printed)."""
        return any(p.stat().st_mtime > t
                   for p in (Path(tmp_path) / "autosave").glob("autosave-*.relustudio"))

    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            steps.append(int(line))
            if len(steps) == 16:
                trained_at = time.time()
            if trained_at is not None and saved_since(trained_at):
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert steps, "the child app never trained"
    old = os.environ.get("RELU_STUDIO_DATA_DIR")
    os.environ["RELU_STUDIO_DATA_DIR"] = str(tmp_path)
    try:
        path = autosave.find_recovery()
        assert path is not None
        session = load_session(path)  # never a corrupt file
        recovered = int(session.history.steps[-1])
        assert 0 < recovered <= steps[-1]
        autosave.discard_recovery(path)
        assert autosave.find_recovery() is None
    finally:
        if old is None:
            os.environ.pop("RELU_STUDIO_DATA_DIR")
        else:
            os.environ["RELU_STUDIO_DATA_DIR"] = old


def test_compare_grid_is_saved_with_the_session_and_a_cell_opens_in_the_studio(window, qtbot, tmp_path):
    from relu_studio.ui.main_window import MainWindow

    v = window.compare
    window.tabs.setCurrentIndex(1)
    v.widths.editor.setText("4 9")
    for m, cb in v.mode_boxes.items():
        cb.setChecked(m in ("all", "ridge"))
    v.seeds.setValue(2)
    v.steps.setValue(2000)
    v.save_every.setValue(500)
    with qtbot.waitSignal(v.c.gridFinished, timeout=60_000):
        assert v.run_grid() is None
    runs = dict(v.c.result.runs)
    assert len(runs) == 2 * 2 * 2
    path = tmp_path / "grid.relustudio"
    assert window.files.save_to(path)
    other = MainWindow(ask_to_save=False, autosave=False)
    qtbot.addWidget(other)
    other.show()
    assert other.files.open_path(path)
    back = other.compare_controller.result.runs
    assert set(back) == set(runs)
    for k, r in runs.items():
        assert np.array_equal(back[k].w1, r.w1) and np.array_equal(back[k].test_error, r.test_error)
    assert other.compare_controller.settings.widths == (4, 9)
    other.close()
    # Opening a cell loads its initial network and run into the studio (undoably).
    v.c.open_cell(9, "all")
    run = v.c.run_of(9, "all")
    assert window.tabs.currentIndex() == 0
    assert window.c.initial.equals(run.initial) and window.c.network.equals(run.final)
    assert len(window.c.history) == 1 + len(run)
    assert "Open Compare cell" in window.c.undo_stack.undoText()


def test_the_next_start_offers_to_restore_a_crashed_session(window, monkeypatch, tmp_path):
    from relu_studio.core.io.session import Session

    env = dict(os.environ, RELU_STUDIO_DATA_DIR=str(tmp_path))
    code = ("import os; from relu_studio.core.io import autosave; from relu_studio.core.io.session import Session; "
            "autosave.write_autosave(Session.from_settings(width=13, init_seed=5)); os._exit(0)")
    subprocess.run([sys.executable, "-c", code], env=env, check=True)  # dies without a clean exit
    monkeypatch.setenv("RELU_STUDIO_DATA_DIR", str(tmp_path))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    assert window.files.offer_recovery()
    assert asked and "did not close properly" in asked[0]
    assert window.c.network.width == 13 and window.c.initial.equals(Session.from_settings(width=13, init_seed=5).initial)
    assert window.isWindowModified()  # restored work is not saved anywhere yet
    assert autosave.find_recovery() is None  # offered once
    assert not window.files.offer_recovery()


def test_a_saved_grid_reopens_and_opens_cells_on_its_own_data(window, qtbot, tmp_path):
    """A grid trained on data A, saved while the studio holds data B, reopened in a window whose
    studio holds yet other data: the cells draw A and a cell opens in the studio on A."""
    from relu_studio.ui.main_window import MainWindow

    c, v = window.c, window.compare
    data_a = c.data
    window.tabs.setCurrentIndex(1)
    v.widths.editor.setText("4")
    for m, cb in v.mode_boxes.items():
        cb.setChecked(m in ("all", "ridge"))
    v.seeds.setValue(1)
    v.steps.setValue(1000)
    v.save_every.setValue(500)
    with qtbot.waitSignal(v.c.gridFinished, timeout=60_000):
        assert v.run_grid() is None
    assert c.regenerate(target="sin(20x)", n=50, seed=7) is None  # the studio moves on: data B
    data_b = c.data
    assert data_b.n == 50 and data_a.n == 200
    path = tmp_path / "grid-on-a.relustudio"
    assert window.files.save_to(path)

    other = MainWindow(ask_to_save=False, autosave=False)
    qtbot.addWidget(other)
    other.show()
    assert other.c.regenerate(n=30, seed=3) is None  # whatever the studio held before opening
    assert other.files.open_path(path)
    assert other.c.data.n == 50  # the studio: the session's data B
    cmp = other.compare_controller
    assert np.array_equal(cmp.result.data.x, data_a.x) and np.array_equal(cmp.result.data.y, data_a.y)
    other.tabs.setCurrentIndex(1)
    for cell in other.compare.small.cells.values():  # drawn on A
        xs, ys = cell.points.getData()
        np.testing.assert_array_equal(xs, data_a.x)
        np.testing.assert_array_equal(ys, data_a.y)
    assert other.compare.small.cell(4, "all").truth.getData()[1].size == data_a.y_test.size
    assert cmp.open_cell(4, "all")
    assert other.tabs.currentIndex() == 0
    assert np.array_equal(other.c.data.x, data_a.x) and np.array_equal(other.c.data.y, data_a.y)
    assert other.c.data.target.spec == data_a.target.spec
    # The panel's data settings describe the data shown (Regenerate would draw A again).
    s = other.c.settings
    assert (s.target, s.n, s.noise, s.data_seed) == (data_a.target.spec, data_a.n, data_a.noise, data_a.seed)
    run = cmp.result.run(4, "all", None, 0)
    assert other.c.network.equals(run.final)
    assert other.c.history.frozen().full_train_error[-1] == run.full_train_error[-1]  # errors on A
    other.close()
