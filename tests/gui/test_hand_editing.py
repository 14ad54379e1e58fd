"""Hand edits with real mouse events: elbows, slopes, output weights, data points, undo/redo."""
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from relu_studio.core.dataset import make_dataset
from relu_studio.core.ridge import fit_ridge

import gui_mouse as mouse
from studio_helpers import configure

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def studio(window, qtbot):
    mouse.prepare(window.canvas)
    window.resize(1300, 850)
    qtbot.wait(20)
    return window


def record_moves(canvas):
    moves = []
    canvas.editMoved.connect(lambda t, x, y, m: moves.append((t, x, y)))
    return moves


def alive_unit_in_view(net, lo=0.15, hi=0.85):
    e = net.elbows
    ok = np.nonzero((e > lo) & (e < hi))[0]
    return int(ok[len(ok) // 2])


def test_dragging_an_elbow_sets_b_from_the_new_elbow_and_keeps_w(studio, qtbot):
    c, cv = studio.c, studio.canvas
    base = c.network
    j = alive_unit_in_view(base)
    moves = record_moves(cv)
    start = mouse.to_pixel(cv, base.elbows[j], 0.0)
    mouse.drag(cv, start, start + QPointF(60, 25))
    assert moves and moves[0][0] == ("elbow", j)
    x_last = moves[-1][1]
    net = c.network
    assert net.w1[j] == base.w1[j]
    assert net.b1[j] == np.float32(-x_last * np.float64(base.w1[j]))  # b = -e w, exactly
    assert np.array_equal(np.delete(net.b1, j), np.delete(base.b1, j))
    assert np.array_equal(net.w2, base.w2) and net.b2 == base.b2
    assert abs(net.elbows[j] - x_last) < 1e-6
    assert c.undo_stack.undoText() == f"Move elbow {j}"
    assert c.undo_stack.count() == 1  # one drag = one undo step


def test_shift_snaps_the_elbow_to_the_nearest_data_x(studio):
    c, cv = studio.c, studio.canvas
    base = c.network
    j = alive_unit_in_view(base)
    moves = record_moves(cv)
    start = mouse.to_pixel(cv, base.elbows[j], 0.0)
    mouse.drag(cv, start, start + QPointF(47, 0), modifiers=SHIFT)
    x_last = moves[-1][1]
    snapped = c.data.x[np.argmin(np.abs(c.data.x - x_last))]
    assert c.network.b1[j] == np.float32(-snapped * np.float64(base.w1[j]))


def test_right_click_mid_drag_cancels(studio):
    c, cv = studio.c, studio.canvas
    base = c.network
    j = alive_unit_in_view(base)
    start = mouse.to_pixel(cv, base.elbows[j], 0.0)
    mouse.press(cv, start)
    mouse.move(cv, start + QPointF(30, 0))
    mouse.move(cv, start + QPointF(80, 0))
    assert c.preview is not None and not c.preview.network.equals(base)
    mouse.press(cv, start + QPointF(80, 0), mouse.RIGHT)
    mouse.release(cv, start + QPointF(80, 0), mouse.RIGHT, buttons=Qt.MouseButton.LeftButton)
    mouse.move(cv, start + QPointF(90, 0))
    mouse.release(cv, start + QPointF(90, 0))
    assert c.preview is None
    assert c.network.equals(base)
    assert c.undo_stack.count() == 0


def test_slope_handle_changes_w_keeps_the_elbow_and_can_flip_sign(studio):
    c, cv = studio.c, studio.canvas
    base = c.network
    hx, hy = cv.handle_positions()
    e = base.elbows
    j = isolated_handle(cv, [k for k in np.argsort(np.abs(hy)) if 0.15 < e[k] < 0.85 and abs(hy[k]) < 2])
    moves = record_moves(cv)
    start = mouse.to_pixel(cv, hx[j], hy[j])
    # Drag the handle to the other side of zero: the slope's sign flips.
    end = mouse.to_pixel(cv, hx[j], -0.8 * np.sign(hy[j]) - 0.2 * np.sign(hy[j]))
    mouse.drag(cv, start, end)
    assert moves[0][0] == ("handle", j)
    y_last = moves[-1][2]
    want_w = np.float32(y_last / (hx[j] - base.elbows[j]))
    net = c.network
    assert net.w1[j] == want_w
    assert np.sign(net.w1[j]) == -np.sign(base.w1[j])
    assert net.b1[j] == np.float32(-base.elbows[j] * float(want_w))
    assert abs(net.elbows[j] - base.elbows[j]) < 1e-6  # the elbow stayed
    assert c.undo_stack.undoText() == f"Change slope of unit {j}"


def isolated_handle(cv, candidates):
    """A unit whose handle has no other handle or elbow within 12 px (the grab radius is 8) (so a press grabs it alone)."""
    hx, hy = cv.handle_positions()
    px = np.array([[mouse.to_pixel(cv, x, y).x(), mouse.to_pixel(cv, x, y).y()] for x, y in zip(hx, hy)])
    e = cv.net.elbows
    ex = np.array([[mouse.to_pixel(cv, x, 0).x(), mouse.to_pixel(cv, x, 0).y()] for x in np.nan_to_num(e, nan=-1e9)])
    for j in candidates:
        d = np.hypot(*(np.vstack([np.delete(px, j, 0), ex]) - px[j]).T)
        if d.min() > 12 and 5 < px[j][1] < cv.height() - 5:
            return int(j)
    pytest.skip("no isolated handle in this layout")


def test_scaled_view_drag_changes_output_weight(studio):
    c, cv = studio.c, studio.canvas
    studio.panel.scaled.setChecked(True)
    # Untrained output weights are small, so every contribution hugs y = 0; give one unit a large
    # output weight first (typed into the unit table) so its line stands apart.
    j = 3
    model = studio.units_table.model_
    assert model.setData(model.index(j, 4), "-6.0")
    studio.flush_views()  # the canvas shows the new output weight before its handle is looked for
    base = c.network
    hx, hy = cv.handle_positions()
    j = isolated_handle(cv, [j])
    moves = record_moves(cv)
    start = mouse.to_pixel(cv, hx[j], hy[j])
    mouse.drag(cv, start, start + QPointF(0, -40))
    assert moves[0][0] == ("handle", j)
    y_last = moves[-1][2]
    h = max(float(base.w1[j]) * hx[j] + float(base.b1[j]), 0.0)
    net = c.network
    assert net.w2[j] == np.float32(y_last / h)
    assert np.array_equal(net.w1, base.w1) and np.array_equal(net.b1, base.b1)
    assert c.undo_stack.undoText() == f"Change output weight of unit {j}"


def test_ridge_follow_refits_on_every_drag_event(studio):
    c, cv = studio.c, studio.canvas
    studio.action("follow").setChecked(True)
    base = c.network
    j = alive_unit_in_view(base)
    previews = []
    c.previewChanged.connect(lambda: previews.append(c.preview))
    moves = record_moves(cv)
    start = mouse.to_pixel(cv, base.elbows[j], 0.0)
    mouse.drag(cv, start, start + QPointF(50, 0), steps=5)
    shown = [p for p in previews if p is not None]
    assert len(shown) == len(moves) >= 5
    for p, (_t, x, _y) in zip(shown, moves):
        assert p.network.equals(fit_ridge(base.with_elbow(j, x), c.data, c.settings.lam))
    assert c.network.equals(fit_ridge(base.with_elbow(j, moves[-1][1]), c.data, c.settings.lam))


def test_undo_and_redo_restore_bit_for_bit(studio):
    c, cv = studio.c, studio.canvas
    base = c.network
    hist_len = len(c.history)
    j = alive_unit_in_view(base)
    start = mouse.to_pixel(cv, base.elbows[j], 0.0)
    mouse.drag(cv, start, start + QPointF(40, 0))
    after = c.network
    assert not after.equals(base) and len(c.history) == hist_len + 1
    studio.action("undo").trigger()
    assert c.network.equals(base) and len(c.history) == hist_len
    studio.action("redo").trigger()
    assert c.network.equals(after) and len(c.history) == hist_len + 1
    # Edit menu entries carry descriptive text.
    assert studio.action("undo").text() == f"Undo Move elbow {j}"


def test_data_points_add_move_delete_and_regenerate(studio):
    c, cv = studio.c, studio.canvas
    generated = c.data
    n = generated.n
    # Ctrl+click on empty canvas adds a point (any mode).
    mouse.click(cv, mouse.to_pixel(cv, 0.5, 2.0), modifiers=CTRL)
    assert c.data.n == n + 1
    assert np.any(np.isclose(c.data.x, 0.5, atol=0.01) & np.isclose(c.data.y, 2.0, atol=0.05))
    assert c.undo_stack.undoText() == "Add data point"
    # The test set and ground truth stay as generated.
    assert np.array_equal(c.data.x_test, generated.x_test) and np.array_equal(c.data.y_test, generated.y_test)
    # In edit-data mode, a drag moves a point.
    studio.action("edit_data").setChecked(True)
    i = int(np.argmax(c.data.y))  # the added point at y = 2
    start = mouse.to_pixel(cv, c.data.x[i], c.data.y[i])
    mouse.drag(cv, start, start + QPointF(0, 60))
    assert c.data.n == n + 1 and c.data.y.max() < 1.9
    assert c.undo_stack.undoText() == "Move data point"
    # Right-click removes it.
    moved_x, moved_y = c.data.x, c.data.y
    target = np.argmin(np.hypot(moved_x - 0.5, moved_y - 2.0 + 0.0))
    mouse.click(cv, mouse.to_pixel(cv, moved_x[target], moved_y[target]), button=mouse.RIGHT)
    assert c.data.n == n
    assert c.undo_stack.undoText() == "Delete data point"
    # Training uses the edited points.
    mouse.click(cv, mouse.to_pixel(cv, 0.25, -2.0), modifiers=CTRL)
    assert c.data.n == n + 1
    from relu_studio.core.training import Trainer
    assert Trainer(c.network, c.data, steps=1).data.n == n + 1
    # Regenerate restores the generated data exactly.
    studio.panel.regenerate.click()
    assert np.array_equal(c.data.x, make_dataset().x) and np.array_equal(c.data.y, make_dataset().y)


def test_delete_key_removes_the_selected_point(studio):
    c, cv = studio.c, studio.canvas
    n = c.data.n
    k = 100
    mouse.click(cv, mouse.to_pixel(cv, c.data.x[k], c.data.y[k]))
    studio.action("delete_point").trigger()
    assert c.data.n == n - 1
    studio.action("undo").trigger()
    assert c.data.n == n


def test_editing_is_blocked_while_training_and_a_paused_run_is_kept(studio, qtbot):
    c, cv = studio.c, studio.canvas
    configure(c, steps=50_000_000)
    c.start()
    qtbot.waitUntil(lambda: c.run_state == "running" and c.last_snapshot is not None, timeout=60_000)
    assert cv.hint.isVisible() and "pause" in cv.hint.text().lower()
    net = c.network
    j = alive_unit_in_view(net)
    moves = record_moves(cv)
    start = mouse.to_pixel(cv, net.elbows[j], 0.0)
    mouse.drag(cv, start, start + QPointF(40, 0))
    assert not moves  # the drag panned the view instead
    c.pause()
    qtbot.waitUntil(lambda: c.run_state == "paused", timeout=10_000)
    assert not cv.hint.isVisible()
    qtbot.wait(50)
    steps_before = c.last_snapshot.step
    shown = studio.c.shown_network
    j = alive_unit_in_view(shown)
    start = mouse.to_pixel(cv, shown.elbows[j], 0.0)
    mouse.drag(cv, start, start + QPointF(30, 0))
    assert moves, "the drag should grab an elbow once the run is paused"
    j = moves[0][0][1]  # elbows may sit within a pixel of each other after training
    assert c.run_state == "idle"
    # The paused run's history is kept, then the edit follows it.
    assert c.history.base.tags[-1] == "edit"
    assert c.history.step(len(c.history) - 1) == steps_before
    assert c.undo_stack.undoText() == f"Move elbow {j}"
    qtbot.wait(100)


def test_typed_values_in_the_unit_table_are_undoable(studio):
    c = studio.c
    base = c.network
    model = studio.units_table.model_
    assert model.rowCount() == base.width
    j = 3
    assert model.setData(model.index(j, 1), "0.4321")  # elbow
    assert c.network.b1[j] == np.float32(-0.4321 * np.float64(base.w1[j]))
    assert model.setData(model.index(j, 4), "-1.5")  # output weight
    assert c.network.w2[j] == np.float32(-1.5)
    assert not model.setData(model.index(j, 2), "abc")  # refused at the field
    assert c.undo_stack.count() == 2
    c.undo_stack.undo()
    c.undo_stack.undo()
    assert c.network.equals(base)


def test_reinitialise_regenerate_and_ridge_fit_are_undoable(studio):
    c = studio.c
    net0, data0 = c.network, c.data
    studio.action("ridge").trigger()
    assert c.undo_stack.undoText() == "Fit output layer by ridge"
    studio.panel.width.setValue(9)
    studio.panel.reinit.click()
    assert c.network.width == 9
    studio.panel.data_seed.setValue(5)
    studio.panel.regenerate.click()
    assert not np.array_equal(c.data.x, data0.x)
    for _ in range(3):
        c.undo_stack.undo()
    assert c.network.equals(net0) and c.data is data0
    assert studio.units_table.model_.rowCount() == 20


def test_one_drag_commit_redraws_each_view_once_and_an_lr_change_redraws_none(studio, qtbot):
    """A drag's end changes the history, the shown network and the preview: each view is redrawn
    once for it. A new learning rate changes nothing on screen: no view is redrawn and the panel
    field it came from is not written back."""
    c, cv = studio.c, studio.canvas
    qtbot.wait(50)
    studio.flush_views()
    counts = {name: p.redraw.count for name, p in studio.presenters.items()}
    j = alive_unit_in_view(c.network)
    start = mouse.to_pixel(cv, c.network.elbows[j], 0.0)
    mouse.drag(cv, start, start + QPointF(40, 0))
    qtbot.wait(50)  # the event loop turns: the redraws asked for by the commit run
    per_commit = {name: p.redraw.count - counts[name] for name, p in studio.presenters.items()}
    # The canvas follows every drag event (6 moves + the start); the others only the commit.
    assert per_commit["units"] == 1 and per_commit["timeline"] == 1 and per_commit["loss"] == 1
    assert per_commit["canvas"] <= 1 + 7
    print(f"\nredraws for one drag (7 events and the commit): {per_commit}")
    counts = {name: p.redraw.count for name, p in studio.presenters.items()}
    writes = []
    studio.panel.lr.set_value = lambda v: writes.append(v)  # the field the value came from
    studio.panel.lr.editor.setText("0.05")
    studio.panel.lr.validate()
    qtbot.wait(50)
    assert c.settings.lr_all == 0.05 and writes == []
    assert {name: p.redraw.count - counts[name] for name, p in studio.presenters.items()} == dict.fromkeys(counts, 0)
