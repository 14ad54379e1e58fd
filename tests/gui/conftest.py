"""GUI tests run offscreen, with their own settings and autosave folders; every test must leave
no training thread or timer running."""
import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = tempfile.mkdtemp(prefix="relu-studio-gui-tests-")
atexit.register(shutil.rmtree, _TMP, True)
os.environ["RELU_STUDIO_DATA_DIR"] = os.path.join(_TMP, "data")  # autosaves

import pytest  # noqa: E402
from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, os.path.join(_TMP, "settings"))


@pytest.fixture(autouse=True)
def full_speed_preference():
    """Windows open at full speed (the app's default is a watchable pace, which would make every
    run here take seconds); a test of the pace sets its own."""
    prefs = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "relu-studio", "relu-studio")
    for group in ("pace", "playback"):  # nothing left over from an earlier test
        prefs.remove(group)
    prefs.setValue("pace/rate", "full")
    prefs.sync()


@pytest.fixture(autouse=True)
def no_leftover_threads_or_timers(qapp):
    yield
    from relu_studio.training_worker import TrainingBridge

    for w in QApplication.topLevelWidgets():
        if w.isVisible():
            w.close()
    qapp.processEvents()
    running = [b for b in list(TrainingBridge.instances) if b.thread.isRunning()]
    # Our timers are named "relu-..."; Qt's own (e.g. a status-bar message's timeout) are not ours.
    timers = [t for w in QApplication.topLevelWidgets() for t in w.findChildren(QTimer)
              if t.isActive() and t.objectName().startswith("relu-")]
    for b in running:  # do not let one failure cascade into the next tests
        b.shutdown()
    for t in timers:
        t.stop()
    assert not running, f"{len(running)} training thread(s) still running after the test"
    assert not timers, "timers still active after the test: " + ", ".join(
        f"{t.objectName() or 'unnamed'} in {type(t.parent()).__name__}" for t in timers)


@pytest.fixture
def window(qtbot):
    """The main window as a user opens it, except that closing it never asks to save."""
    from relu_studio.ui.main_window import MainWindow

    win = MainWindow(ask_to_save=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
