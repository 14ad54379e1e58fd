"""Where and how large the main window opens: sized to the screen it is on.

The window fills a small screen's available geometry (a 1366x768 laptop: the timeline and the
status bar stay on screen) and takes most of a large one (1920x1080: 90 %, centred). On a small
screen the *Hidden units* dock shares the left side with *Parameters* as a tab, so the plots keep
their width. A window geometry saved at the last close is used again only if it still fits the
screen (a laptop undocked from a large monitor opens sized to the laptop).

The rules are functions of rectangles (tested without a screen); :func:`place` and
:func:`keep_on_screen` apply them to a window.
"""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication

__all__ = [
    "DECORATION",
    "LARGE_FRACTION",
    "LOSS_SHARE",
    "MIN_CANVAS_HEIGHT",
    "MIN_FRAME",
    "MIN_LOSS_HEIGHT",
    "SMALL_SCREEN",
    "available_geometry",
    "default_frame",
    "fits",
    "is_small",
    "keep_on_screen",
    "place",
    "plot_sizes",
]

#: An available geometry narrower or lower than this is "small": the window fills it and the
#: docks share the left side.
SMALL_SCREEN = QSize(1600, 960)
#: On a larger screen the window's frame takes this share of the available width and height.
LARGE_FRACTION = 0.9
#: Room for the window manager's title bar and borders, before the real frame is known (it is
#: corrected after the window is shown: :func:`keep_on_screen`).
DECORATION = QSize(8, 32)
#: A saved geometry smaller than this is not restored (it would not be a usable window).
MIN_FRAME = QSize(900, 600)
#: The loss pane's share of the height below the toolbar (the canvas has the rest), and the
#: heights under which neither is readable (the loss pane's log axis needs about three decades
#: of labels; the canvas the notebook's [-2.5, 2.5] in steps of 0.5).
LOSS_SHARE = 0.3
MIN_LOSS_HEIGHT = 160
MIN_CANVAS_HEIGHT = 300


def available_geometry(window=None) -> QRect:
    """The available geometry (without task bars and docks) of the screen ``window`` is on, or
    of the primary screen."""
    screen = window.screen() if window is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return QRect(screen.availableGeometry()) if screen is not None else QRect(0, 0, 1366, 768)


def is_small(available: QRect) -> bool:
    return available.width() < SMALL_SCREEN.width() or available.height() < SMALL_SCREEN.height()


def default_frame(available: QRect) -> QRect:
    """The frame (decorations included) a new window opens in: all of a small screen's
    available geometry, or :data:`LARGE_FRACTION` of a larger one, centred."""
    if is_small(available):
        return QRect(available)
    size = QSize(round(available.width() * LARGE_FRACTION), round(available.height() * LARGE_FRACTION))
    frame = QRect(available.topLeft(), size)
    frame.moveCenter(available.center())
    return frame


def fits(frame: QRect | None, available: QRect) -> bool:
    """True if a saved frame lies inside the available geometry and is a usable size."""
    return (frame is not None and frame.isValid() and available.contains(frame)
            and frame.width() >= MIN_FRAME.width() and frame.height() >= MIN_FRAME.height())


def plot_sizes(height: int) -> tuple[int, int]:
    """Canvas and loss pane heights sharing ``height`` pixels (see :data:`LOSS_SHARE`)."""
    loss = max(MIN_LOSS_HEIGHT, round(height * LOSS_SHARE))
    return max(0, height - loss), loss


def place(window, frame: QRect, decoration: QSize = DECORATION) -> None:
    """Move and size ``window`` so that its frame (its decorations estimated as ``decoration``
    until it is shown) covers ``frame``."""
    window.resize(max(1, frame.width() - decoration.width()),
                  max(1, frame.height() - decoration.height()))
    window.move(frame.topLeft())  # a window's position is its frame's


def keep_on_screen(window, available: QRect, fill: bool = False) -> None:
    """After the window is shown (its real frame known): shrink and move it until the frame is
    inside ``available``; with ``fill``, make the frame cover ``available`` exactly (a small
    screen, where :data:`DECORATION` was only a guess). A maximised or full-screen window is the
    window manager's."""
    if window.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
        return
    frame, client = window.frameGeometry(), window.geometry()
    extra = QSize(frame.width() - client.width(), frame.height() - client.height())
    width = available.width() if fill else min(frame.width(), available.width())
    height = available.height() if fill else min(frame.height(), available.height())
    if (width, height) != (frame.width(), frame.height()):
        window.resize(max(1, width - extra.width()), max(1, height - extra.height()))
    x = min(max(frame.x(), available.left()), available.right() + 1 - width)
    y = min(max(frame.y(), available.top()), available.bottom() + 1 - height)
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)
