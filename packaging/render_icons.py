"""Render the application icon SVG to the hicolor PNG sizes (uses PySide6's QtSvg).

    QT_QPA_PLATFORM=offscreen python packaging/render_icons.py

Reads resources/icons/hicolor/scalable/apps/bvae-viewer.svg and writes
resources/icons/hicolor/<N>x<N>/apps/bvae-viewer.png for N in SIZES. The PNGs are committed;
run this again after changing the SVG.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 32, 48, 64, 128, 256)
APP_NAME = "bvae-viewer"
ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons" / "hicolor"


def render(svg: Path, size: int, out: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot parse {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"cannot write {out}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    svg = ICONS / "scalable" / "apps" / f"{APP_NAME}.svg"
    for size in SIZES:
        out = ICONS / f"{size}x{size}" / "apps" / f"{APP_NAME}.png"
        render(svg, size, out)
        print(f"{out.relative_to(ICONS.parent.parent.parent)} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
