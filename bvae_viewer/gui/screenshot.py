"""File > Save screenshot and `--screenshot PATH`: a PNG of the whole window."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from bvae_viewer.gui import strings
from bvae_viewer.gui.worker import RunSummary

SETTLE_MS = 300  # let the last repaint land before grabbing


def ask_screenshot_path(parent: QWidget, folder: str) -> Path | None:
    """File > Save screenshot: where to (None: cancelled)."""
    name, _ = QFileDialog.getSaveFileName(
        parent, strings.SCREENSHOT_TITLE, folder, strings.SCREENSHOT_FILTER
    )
    return Path(name) if name else None


def png_path(path: Path) -> Path:
    path = Path(path)
    return path if path.suffix.lower() == ".png" else path.with_suffix(".png")


def save_screenshot(widget: QWidget, path: Path) -> bool:
    """PNG of the whole window as it is on screen; False when it could not be written."""
    path = png_path(path)
    return bool(path.parent.is_dir() and widget.grab().save(str(path), "PNG"))


class UnattendedScreenshot:
    """`--screenshot PATH`: when the run ends, the most anomalous slice, a PNG, then exit
    with a code (0 when the PNG was written)."""

    def __init__(
        self, widget: QWidget, path: Path, jump_to_top: Callable[[], None]
    ) -> None:
        self.widget, self.path, self.jump_to_top = widget, Path(path), jump_to_top
        self.exit_code = 0

    def fail(self) -> None:
        self.exit_code = 1
        QTimer.singleShot(0, lambda: QApplication.instance().exit(1))

    def run_done(self, summary: RunSummary) -> None:
        if summary.failed or summary.cancelled:
            self.fail()
            return
        self.jump_to_top()
        QTimer.singleShot(SETTLE_MS, self._save_and_quit)

    def _save_and_quit(self) -> None:
        self.exit_code = 0 if save_screenshot(self.widget, self.path) else 1
        if self.exit_code:
            print(strings.ERROR_SCREENSHOT.format(path=png_path(self.path)), file=sys.stderr)
        QApplication.instance().exit(self.exit_code)
