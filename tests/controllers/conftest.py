"""Controller tests: the Qt adapters (signals, undo stack, worker threads) with no widget at all;
views are mocked by recorders of the signals a view would listen to."""
import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "RELU_STUDIO_DATA_DIR" not in os.environ:
    _TMP = tempfile.mkdtemp(prefix="relu-ctl-")
    atexit.register(shutil.rmtree, _TMP, True)
    os.environ["RELU_STUDIO_DATA_DIR"] = os.path.join(_TMP, "data")

import pytest  # noqa: E402


class Recorder:
    """A mock view: records every signal it is connected to, in order, with its arguments."""

    def __init__(self, obj, names):
        self.events = []
        for name in names:
            getattr(obj, name).connect(lambda *args, n=name: self.events.append((n, *args)))

    def names(self):
        return [e[0] for e in self.events]

    def count(self, name):
        return sum(e[0] == name for e in self.events)

    def clear(self):
        self.events.clear()


@pytest.fixture
def recorder():
    return Recorder
