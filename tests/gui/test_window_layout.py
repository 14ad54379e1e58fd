"""The window on any screen: sized to the screen's available geometry, everything on screen at
1366x768 with plots of a readable height, the room used at 1920x1080, a saved geometry reused
only if it fits; the hidden-units table shows every value whole.

Readable heights (chosen, see relu_studio/ui/window_geometry.py): the canvas at least 300 px
(the notebook's y range [-2.5, 2.5] labelled every 0.5), the loss pane at least 160 px (three
decades of log-axis labels); the timeline and the status bar whole and inside the window."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QWidget

from relu_studio.core.network import Network
from relu_studio.ui import window_geometry as geometry
from relu_studio.ui.file_actions import app_settings
from relu_studio.ui.main_window import MainWindow
from relu_studio.ui.unit_table import COLUMNS, EDITABLE, format_value

LAPTOP = QRect(0, 0, 1366, 768)
DESKTOP = QRect(0, 0, 1920, 1080)
MIN_CANVAS, MIN_LOSS = 300, 160


def open_window(qtbot, available, **kw):
    win = MainWindow(ask_to_save=False, autosave=False, available=available, **kw)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win._placed)
    qtbot.wait(20)  # the frame correction after the first show
    return win


def rect_in_window(win, w: QWidget) -> QRect:
    """``w``'s rectangle in the window's coordinates."""
    return QRect(w.mapTo(win, QPoint(0, 0)), w.size())


def test_the_window_fits_a_1366x768_laptop_with_readable_plots(qtbot):
    win = open_window(qtbot, LAPTOP)
    assert LAPTOP.contains(win.frameGeometry()), win.frameGeometry()
    assert win.frameGeometry().height() >= LAPTOP.height() - 4  # and uses the screen's height
    inside = win.rect()
    for w in (win.canvas, win.loss, win.timeline, win.statusBar(), win.toolbar, win.panel.regenerate.parentWidget()):
        assert w.isVisible()
    for w in (win.canvas, win.loss, win.timeline, win.statusBar()):
        assert inside.contains(rect_in_window(win, w)), (type(w).__name__, rect_in_window(win, w))
    assert win.canvas.height() >= MIN_CANVAS and win.loss.height() >= MIN_LOSS
    assert win.timeline.height() >= win.timeline.sizeHint().height()
    assert win.canvas.width() >= 800  # the docks share the left side as tabs
    assert win.units_dock in win.tabifiedDockWidgets(win.param_dock)
    # nothing overlaps: canvas above loss pane above timeline above status bar
    order = [rect_in_window(win, w) for w in (win.canvas, win.loss, win.timeline, win.statusBar())]
    assert all(a.bottom() < b.top() for a, b in zip(order, order[1:]))


def test_the_window_uses_the_room_of_a_1920x1080_screen(qtbot):
    win = open_window(qtbot, DESKTOP)
    frame = win.frameGeometry()
    assert DESKTOP.contains(frame)
    assert frame.width() >= 0.85 * DESKTOP.width() and frame.height() >= 0.85 * DESKTOP.height()
    assert win.canvas.height() >= 500 and win.loss.height() >= 200
    assert not win.tabifiedDockWidgets(win.param_dock)  # both docks beside the plots
    assert win.units_dock.isVisible() and win.param_dock.isVisible()
    table = win.units_table
    assert table.viewport().width() >= sum(table.columnWidth(c) for c in range(len(COLUMNS)))


def test_a_saved_geometry_is_used_only_if_it_fits(qtbot):
    st = app_settings()
    try:
        win = open_window(qtbot, DESKTOP, remember_geometry=True)
        win.resize(1500, 900)
        win.move(200, 100)
        qtbot.wait(20)
        saved = win.frameGeometry()
        win.close()
        again = open_window(qtbot, DESKTOP, remember_geometry=True)
        assert again.frameGeometry() == saved
        again.close()
        laptop = open_window(qtbot, LAPTOP, remember_geometry=True)  # 1500x900 does not fit
        assert LAPTOP.contains(laptop.frameGeometry())
        laptop.close()
    finally:
        for key in ("window/frame", "window/client", "window/maximized", "window/state"):
            st.remove(key)


@pytest.mark.parametrize("available, small", [(LAPTOP, True), (QRect(0, 0, 1440, 900), True),
                                              (DESKTOP, False), (QRect(0, 0, 2560, 1440), False)])
def test_default_frames(available, small):
    frame = geometry.default_frame(available)
    assert geometry.is_small(available) == small
    assert available.contains(frame)
    if small:
        assert frame == available
    else:
        assert frame.center() == available.center()
        assert abs(frame.width() - 0.9 * available.width()) <= 1


def test_fits():
    assert geometry.fits(QRect(50, 30, 1200, 700), LAPTOP)
    assert not geometry.fits(QRect(100, 100, 1500, 900), LAPTOP)
    assert not geometry.fits(QRect(-10, 0, 1000, 700), LAPTOP)  # partly off screen
    assert not geometry.fits(QRect(0, 0, 400, 300), LAPTOP)  # too small to be of use
    assert not geometry.fits(None, LAPTOP)


def test_plot_sizes_keep_the_loss_pane_readable():
    for h in (400, 560, 800, 1000):
        canvas, loss = geometry.plot_sizes(h)
        assert canvas + loss == h and loss >= geometry.MIN_LOSS_HEIGHT


def test_unit_table_shows_every_value_whole(window):
    table = window.units_table
    model = table.model_
    # The widest values four significant digits can take, and a wide network's last index.
    w1 = np.array([-1.234e-05, -0.0001234, -9.876e+05, 0.5, -8888.8, 1e-30, -0.0009999, 3.0,
                   -1.0, 2.0, -3.0, 1.0], np.float32)
    b1 = np.array([-0.0001234, 7.777e-05, -1.111e+04, -0.25, 0.5, 0.1, -0.0007777, -1.5,
                   0.5, -0.5, 2.0, -0.2], np.float32)
    w2 = np.full(12, -0.0008888, np.float32)
    net = Network(w1, b1, w2, np.float32(-1.234e-05))
    model.set_network(net, np.zeros(12, bool))
    fm = table.fontMetrics()
    room = table.cell_margin()
    for j in range(net.width):
        for col, field in EDITABLE.items():
            text = model.data(model.index(j, col))
            value = {"elbow": net.elbows[j], "w": net.w1[j], "b": net.b1[j], "out": net.w2[j]}[field]
            assert text == format_value(float(value))  # the model's text is the whole value
            assert fm.horizontalAdvance(text) + room <= table.columnWidth(col), (text, col)
    assert fm.horizontalAdvance("99999") + room <= table.columnWidth(0)
    for col, title in enumerate(COLUMNS):
        hfm = table.horizontalHeader().fontMetrics()
        assert hfm.horizontalAdvance(title) < table.columnWidth(col)


def test_back_from_compare_the_docks_tab_in_front_stays_in_front(window, qapp):
    """Compare hides the studio's docks; coming back shows them with the same tab in front (Qt
    alone would raise the first of docks tabbed together: Parameters over Hidden units)."""
    w = window
    w.resize(1300, 700)
    w.tabifyDockWidget(w.param_dock, w.units_dock)
    w.units_dock.raise_()
    qapp.processEvents()
    in_front = lambda d: not d.visibleRegion().isEmpty()  # noqa: E731
    assert in_front(w.units_dock) and not in_front(w.param_dock)
    for compare_tab in (1, 2):  # Compare, Sweep
        w.tabs.setCurrentIndex(compare_tab)
        qapp.processEvents()
        assert not w.units_dock.isVisible()
        w.tabs.setCurrentIndex(0)
        qapp.processEvents()
        assert in_front(w.units_dock) and not in_front(w.param_dock)
        assert w.param_dock.toggleViewAction().isChecked()  # still open, behind
