"""Where the app's data files are: ``resources/`` next to the package in a source checkout, or
inside the bundle when frozen (PyInstaller's ``sys._MEIPASS``)."""
from __future__ import annotations

import os
import sys

__all__ = ["resource_path"]


def resource_path(*parts: str) -> str:
    """A file under ``resources/``: next to the package from source, in the bundle when frozen."""
    base = getattr(sys, "_MEIPASS", None) or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(base, "resources", *parts)
