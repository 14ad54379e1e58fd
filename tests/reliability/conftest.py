"""Reliability tests: bad files, huge declarations, faults and interruptions. Each case gets a
clear message and loses nothing; GUI cases run offscreen with their own data and settings folders."""
import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = tempfile.mkdtemp(prefix="relu-studio-reliability-")
atexit.register(shutil.rmtree, _TMP, True)
os.environ["RELU_STUDIO_DATA_DIR"] = os.path.join(_TMP, "data")

import pytest  # noqa: E402

try:
    from PySide6.QtCore import QSettings  # noqa: E402

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, os.path.join(_TMP, "settings"))
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(autouse=True)
def full_speed_preference():
    """Windows open at full speed (the app's default pace is for watching, not for testing)."""
    try:
        from PySide6.QtCore import QSettings
    except ImportError:  # pragma: no cover
        return
    prefs = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "relu-studio", "relu-studio")
    prefs.setValue("pace/rate", "full")
    prefs.sync()


@pytest.fixture
def window(qtbot):
    from relu_studio.ui.main_window import MainWindow

    win = MainWindow(ask_to_save=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
