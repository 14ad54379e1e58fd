"""Draw ReLU Studio's application icon: a ReLU elbow on a dark tile, with its elbow handle and data.

    python scripts/make_icons.py [resources/icons]

Writes ``hicolor/<N>x<N>/apps/relu-studio.png`` for N in 16 32 48 64 128 256 and
``hicolor/scalable/apps/relu-studio.svg`` (the freedesktop icon-theme layout, so the folder can be
copied into ``~/.local/share/icons/``). The PNGs are painted with QPainter (offscreen); small sizes
drop the grid and data points and thicken the curve so the glyph stays crisp. The SVG is the same
drawing as the 256 px PNG.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import (QColor, QGuiApplication, QImage, QLinearGradient, QPainter,  # noqa: E402
                           QPainterPath, QPen)

SIZES = (16, 32, 48, 64, 128, 256)
NAME = "relu-studio"

# Geometry in a unit square (y down). The palette follows the app: prediction green, elbow grey,
# data orange (brightened a little to read on the dark tile).
TILE_INSET = 1 / 32
TILE_RADIUS = 0.20
TILE_TOP, TILE_BOTTOM = "#2b3a4d", "#151d28"
GRID = (0.25, 0.5, 0.75)
CURVE = [(0.15, 0.70), (0.45, 0.70), (0.85, 0.25)]
ELBOW = CURVE[1]
GREEN = "#46c35f"
ELBOW_FILL = "#d0d0d0"
ORANGE = "#ff9a1f"
DATA = [(0.22, 0.63), (0.33, 0.77), (0.55, 0.50), (0.67, 0.53), (0.76, 0.30)]


def _detail(size: int) -> dict:
    """Stroke widths and which elements to draw, per pixel size (unit-square units)."""
    if size <= 16:
        return dict(curve=0.15, elbow=0.12, grid=False, data=False, inset=0.0, radius=0.18)
    if size <= 32:
        return dict(curve=0.11, elbow=0.095, grid=False, data=False, inset=TILE_INSET, radius=TILE_RADIUS)
    if size <= 48:
        return dict(curve=0.085, elbow=0.075, grid=False, data=True, inset=TILE_INSET, radius=TILE_RADIUS)
    return dict(curve=0.07, elbow=0.065, grid=True, data=True, inset=TILE_INSET, radius=TILE_RADIUS)


def render_png(size: int) -> QImage:
    d = _detail(size)
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(size, size)
    tile = QRectF(d["inset"], d["inset"], 1 - 2 * d["inset"], 1 - 2 * d["inset"])
    grad = QLinearGradient(0, tile.top(), 0, tile.bottom())
    grad.setColorAt(0, QColor(TILE_TOP))
    grad.setColorAt(1, QColor(TILE_BOTTOM))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(grad)
    p.drawRoundedRect(tile, d["radius"], d["radius"])
    if d["grid"]:
        p.setPen(QPen(QColor(255, 255, 255, 26), 1.0 / size * 1.5))
        for g in GRID:
            p.drawLine(QPointF(tile.left() + 0.08, g), QPointF(tile.right() - 0.08, g))
            p.drawLine(QPointF(g, tile.top() + 0.08), QPointF(g, tile.bottom() - 0.08))
    path = QPainterPath(QPointF(*CURVE[0]))
    for pt in CURVE[1:]:
        path.lineTo(QPointF(*pt))
    pen = QPen(QColor(GREEN), d["curve"])
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(path)
    if d["data"]:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(ORANGE))
        for x, y in DATA:
            p.drawEllipse(QPointF(x, y), 0.032, 0.032)
    p.setPen(QPen(QColor(TILE_BOTTOM), d["elbow"] * 0.35))
    p.setBrush(QColor(ELBOW_FILL))
    p.drawEllipse(QPointF(*ELBOW), d["elbow"], d["elbow"])
    p.end()
    return img


def svg_text() -> str:
    d = _detail(256)
    s = 256.0

    def f(v):
        return f"{v * s:.2f}".rstrip("0").rstrip(".")

    t = d["inset"]
    grid = "".join(
        f'\n    <line x1="{f(t + 0.08)}" y1="{f(g)}" x2="{f(1 - t - 0.08)}" y2="{f(g)}"/>'
        f'\n    <line x1="{f(g)}" y1="{f(t + 0.08)}" x2="{f(g)}" y2="{f(1 - t - 0.08)}"/>' for g in GRID)
    pts = " ".join(f"{f(x)},{f(y)}" for x, y in CURVE)
    dots = "".join(f'\n    <circle cx="{f(x)}" cy="{f(y)}" r="{f(0.032)}"/>' for x, y in DATA)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <title>ReLU Studio</title>
  <defs>
    <linearGradient id="tile" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="{TILE_TOP}"/>
      <stop offset="1" stop-color="{TILE_BOTTOM}"/>
    </linearGradient>
  </defs>
  <rect x="{f(t)}" y="{f(t)}" width="{f(1 - 2 * t)}" height="{f(1 - 2 * t)}" rx="{f(d['radius'])}" fill="url(#tile)"/>
  <g stroke="#ffffff" stroke-opacity="0.1" stroke-width="1.5">{grid}
  </g>
  <polyline points="{pts}" fill="none" stroke="{GREEN}" stroke-width="{f(d['curve'])}" stroke-linecap="round" stroke-linejoin="round"/>
  <g fill="{ORANGE}">{dots}
  </g>
  <circle cx="{f(ELBOW[0])}" cy="{f(ELBOW[1])}" r="{f(d['elbow'])}" fill="{ELBOW_FILL}" stroke="{TILE_BOTTOM}" stroke-width="{f(d['elbow'] * 0.35)}"/>
</svg>
"""


def main(out_dir: str = "resources/icons") -> int:
    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (QPainter needs it)
    root = Path(out_dir) / "hicolor"
    for size in SIZES:
        target = root / f"{size}x{size}" / "apps" / f"{NAME}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not render_png(size).save(str(target)):
            print(f"could not write {target}", file=sys.stderr)
            return 1
        print(f"wrote {target}")
    svg = root / "scalable" / "apps" / f"{NAME}.svg"
    svg.parent.mkdir(parents=True, exist_ok=True)
    svg.write_text(svg_text(), encoding="utf-8")
    print(f"wrote {svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
