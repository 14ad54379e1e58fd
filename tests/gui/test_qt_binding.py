"""Guards against Qt binding releases that break the app in ways its own tests would miss."""
import sys

import pytest
from PySide6.QtGui import QColor, QPen


@pytest.mark.skipif(not hasattr(sys, "getrefcount") or sys.version_info >= (3, 12),
                    reason="None is immortal from Python 3.12 on: such a leak cannot crash there")
def test_pen_setters_do_not_decrement_none_refcount():
    # PySide6 6.12.0 released a reference to None on every QPen setter call; pyqtgraph calls them
    # on every paint, so a few seconds of live drawing ended in "Fatal Python error: none_dealloc".
    pen = QPen(QColor(1, 2, 3))
    before = sys.getrefcount(None)
    for _ in range(1000):
        pen.setWidthF(2.0)
        pen.setCosmetic(True)
    assert abs(sys.getrefcount(None) - before) < 50
