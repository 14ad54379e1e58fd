"""The user's work is never lost to a bad file, an unsaved run, a failed autosave or a bug:
a refused open leaves the window as it was, running and Compare work count as unsaved, an
autosave this version cannot read is kept, a failing autosave says so, an unexpected error is a
dialog and the session stays."""
from __future__ import annotations

import errno
import json
import math
import sys
import zipfile

import pytest
from PySide6.QtWidgets import QMessageBox

from relu_studio.core.io import autosave
from relu_studio.core.io.session import Session, load_session, save_session

TIMEOUT = 60_000


def rewrite(path, out, change):
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info)))
    return out


def json_member(member, edit):
    def change(name, raw):
        if name != member:
            return raw
        doc = json.loads(raw)
        edit(doc)
        return json.dumps(doc).encode()
    return change


def answer(monkeypatch, button):
    """Every question the window asks gets ``button``; returns the list of questions asked."""
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or button)
    return asked


def window_facts(win):
    c = win.c
    return (win.windowTitle(), win.isWindowModified(), win.files.path, c.network.width,
            c.undo_stack.count(), c.undo_stack.index(), c.undo_stack.isClean(), len(c.history),
            win.compare_controller.settings)


# --------------------------------------------------------------------------- 1. refused opens
@pytest.mark.parametrize("damage", ["compare steps 10**30", "newer format", "truncated"])
def test_a_refused_session_leaves_the_window_exactly_as_it_was(window, tmp_path, damage):
    mine = tmp_path / "mine.relustudio"
    assert window.c.reinitialise(width=20) is None
    assert window.files.save_to(mine)
    assert window.c.set_setting("steps", 3000) is None  # an unsaved change on top
    before = window_facts(window)

    foreign = save_session(Session.from_settings(width=7), tmp_path / "foreign.relustudio")
    bad = tmp_path / "bad.relustudio"
    if damage == "compare steps 10**30":
        rewrite(foreign, bad, json_member("compare.json", lambda d: d.update(settings={"widths": [3], "steps": 10**30})))
    elif damage == "newer format":
        rewrite(foreign, bad, json_member("manifest.json", lambda d: d.update(format_version=99)))
    else:
        bad.write_bytes(foreign.read_bytes()[:-200])

    assert not window.files.open_path(bad)
    assert window_facts(window) == before
    assert window.banner.isVisible() and "Could not open the session" in window.banner.text()
    # Ctrl+S now writes the user's own session to the user's own file, as before the attempt.
    assert window.files.save()
    back = load_session(mine)
    assert back.initial.width == 20 and back.settings.steps == 3000


def test_an_unusable_view_opens_with_the_default_view(window, tmp_path):
    def nan_view(d):
        d["view_range"] = [[math.nan, math.inf], [-math.inf, math.nan]]
        d["selected_unit"] = 10**6
        d["timeline_index"] = -5

    good = save_session(Session.from_settings(width=7), tmp_path / "good.relustudio")
    odd = rewrite(good, tmp_path / "odd.relustudio", json_member("view.json", nan_view))
    assert window.files.open_path(odd)
    assert window.c.network.width == 7 and window.files.path == odd
    (x0, x1), (y0, y1) = window.canvas.vb.viewRange()
    assert all(map(math.isfinite, (x0, x1, y0, y1))) and x0 < 0.5 < x1


# --------------------------------------------------------------------------- 2. unsaved work
def start_long_run(qtbot, c):
    assert c.set_setting("steps", 10**7) is None
    assert c.start() is None
    qtbot.waitUntil(lambda: c.run_state == "running" and len(c.history) > 2, timeout=TIMEOUT)


def test_a_run_in_progress_or_paused_is_unsaved_work(window, qtbot, monkeypatch):
    files, c = window.files, window.c
    files.ask_to_save = True
    c.undo_stack.setClean()
    files.update_title()
    assert not window.isWindowModified()
    start_long_run(qtbot, c)
    assert window.isWindowModified() and files.modified

    asked = answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    files.new_session()
    assert asked and c.run_state == "running"  # asked, and cancelling keeps the run going

    c.pause()
    qtbot.waitUntil(lambda: c.run_state == "paused", timeout=TIMEOUT)
    assert window.isWindowModified()
    window.close()
    assert len(asked) == 2 and window.isVisible() and c.run_state == "paused"
    files.autosave_now(force=True)
    files._autosave_thread.join(10)
    assert autosave.autosave_path().exists()

    # An explicit Discard is the one way work goes without a save; then the autosave goes too.
    answer(monkeypatch, QMessageBox.StandardButton.Discard)
    window.close()
    assert not window.isVisible()
    assert not autosave.autosave_path().exists()


def test_a_compare_grid_is_unsaved_work_until_saved(window, qtbot, monkeypatch, tmp_path):
    files, v = window.files, window.compare
    files.ask_to_save = True
    v.widths.editor.setText("3")
    for m, cb in v.mode_boxes.items():
        cb.setChecked(m == "ridge")
    v.seeds.setValue(1)
    v.steps.setValue(1000)
    v.save_every.setValue(500)
    assert files.save_to(tmp_path / "before.relustudio")
    assert not window.isWindowModified()
    with qtbot.waitSignal(v.c.gridFinished, timeout=TIMEOUT):
        assert v.run_grid() is None
    assert window.isWindowModified()
    asked = answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    files.new_session()
    assert asked and v.c.result is not None and v.c.result.runs
    assert files.save()
    assert not window.isWindowModified()
    assert load_session(files.path).compare_runs


# --------------------------------------------------------------------------- 3. unreadable autosave
def test_an_autosave_from_a_newer_version_is_kept_aside_and_its_path_shown(window, monkeypatch, tmp_path):
    monkeypatch.setenv("RELU_STUDIO_DATA_DIR", str(tmp_path))
    folder = tmp_path / "autosave"
    folder.mkdir()
    good = save_session(Session.from_settings(width=5), tmp_path / "good.relustudio")
    planted = rewrite(good, folder / "autosave-deadbeef.relustudio",
                      json_member("manifest.json", lambda d: d.update(format_version=99)))
    content = planted.read_bytes()
    assert autosave.find_recovery() == planted
    answer(monkeypatch, QMessageBox.StandardButton.Yes)
    assert not window.files.offer_recovery()
    kept = [p for p in folder.iterdir() if p.name.startswith("unreadable-")]
    assert len(kept) == 1 and kept[0].read_bytes() == content
    assert "newer ReLU Studio" in window.banner.text() and str(kept[0]) in window.banner.text()
    assert autosave.find_recovery() is None  # no longer offered at every start


# --------------------------------------------------------------------------- 11. autosave failures
def test_an_autosave_that_fails_is_reported_once_and_again_after_it_recovered(window, monkeypatch):
    files, c = window.files, window.c
    said = []
    c.message.connect(lambda text, level: said.append((text, level)))
    full = [True]
    real = autosave.write_autosave

    def write(session):
        if full[0]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(session)

    monkeypatch.setattr(autosave, "write_autosave", write)

    def tick():
        files.autosave_now(force=True)
        files._autosave_thread.join(10)

    for _ in range(3):
        tick()
    files.autosave_now()  # reports what the last write found
    warnings = [t for t, level in said if level == "warning"]
    assert len(warnings) == 1 and "No space left on device" in warnings[0] and "Ctrl+S" in warnings[0]
    full[0] = False
    tick()
    full[0] = True
    tick()
    tick()
    assert len([t for t, level in said if level == "warning"]) == 2


# --------------------------------------------------------------------------- 13. unexpected errors
def test_an_unexpected_error_is_a_dialog_and_the_session_stays(window, monkeypatch):
    from relu_studio.ui import error_dialog

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(
        (box.windowTitle(), box.text(), box.detailedText())) or 0)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    error_dialog.install_excepthook(lambda: window)
    assert window.c.reinitialise(width=11) is None
    before = window_facts(window)
    try:
        raise OverflowError("Python int too large to convert to C long")
    except OverflowError:
        sys.excepthook(*sys.exc_info())
    assert len(shown) == 1
    title, text, details = shown[0]
    assert "unexpected error" in title and "OverflowError" in text and "Traceback" in details
    assert window.isVisible() and window_facts(window) == before
