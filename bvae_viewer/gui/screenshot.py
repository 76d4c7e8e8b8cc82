"""File > Save screenshot and `--screenshot PATH`: a PNG of the whole window."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog

from bvae_viewer.gui import strings

if TYPE_CHECKING:
    from bvae_viewer.gui.main_window import MainWindow
    from bvae_viewer.gui.worker import RunSummary

SETTLE_MS = 300  # let the last repaint land before grabbing


def choose_screenshot(window: MainWindow) -> None:
    name, _ = QFileDialog.getSaveFileName(
        window, strings.SCREENSHOT_TITLE, window.settings.last_folder(), strings.SCREENSHOT_FILTER
    )
    if name:
        save_screenshot(window, Path(name))


def save_screenshot(window: MainWindow, path: Path) -> bool:
    """PNG of the whole window as it is on screen."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_suffix(".png")
    ok = path.parent.is_dir() and window.grab().save(str(path), "PNG")
    if ok:
        window.statusBar().showMessage(strings.SCREENSHOT_SAVED.format(path=path))
    else:
        window.show_error(strings.ERROR_TITLE, strings.ERROR_SCREENSHOT.format(path=path))
    return bool(ok)


def finish_screenshot(window: MainWindow, summary: RunSummary) -> None:
    """After a `--screenshot` run: show the most anomalous slice, save, quit with a code."""
    app = QApplication.instance()
    if summary.failed or summary.cancelled:
        window.exit_code = 1
        QTimer.singleShot(0, lambda: app.exit(1))
        return
    window.jump_to_top_score()
    path = window.screenshot_path

    def save_and_quit() -> None:
        window.exit_code = 0 if save_screenshot(window, path) else 1
        app.exit(window.exit_code)

    QTimer.singleShot(SETTLE_MS, save_and_quit)
