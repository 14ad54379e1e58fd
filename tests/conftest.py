"""Shared test helpers live beside this file (tests/ is on sys.path for every test).

Qt tests draw offscreen on one desktop-sized screen (1920x1080 at 96 dpi; the offscreen
platform's own default is 800x800): the main window sizes itself to its screen, so every test
sees the window a user of a common desktop sees. A test that needs another screen passes the
available geometry to the window (``MainWindow(available=QRect(...))``).
"""
import atexit
import json
import os
import tempfile

TEST_SCREEN = {"name": "test-screen", "x": 0, "y": 0, "width": 1920, "height": 1080,
               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}

if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    _fd, _config = tempfile.mkstemp(prefix="relu-studio-test-screen-", suffix=".json")
    with os.fdopen(_fd, "w") as f:
        json.dump({"screens": [TEST_SCREEN]}, f)
    atexit.register(os.remove, _config)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_config}"
