"""The review window's ways in: file and folder dialogs, the demo case, recent files, drops.

A mixin of MainWindow (kept apart so the window's module holds the analysis flow only):
everything here ends in MainWindow.open_path or open_batch.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from bvae_viewer import paths
from bvae_viewer.gui import strings


class OpeningMixin:
    """File > Open..., Open DICOM folder..., Open folder as batch..., the demo, drag and drop."""

    def choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, strings.OPEN_TITLE, self.settings.last_folder(), strings.OPEN_FILTER
        )
        if name:
            self.open_path(Path(name))

    def choose_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(
            self, strings.OPEN_DICOM_TITLE, self.settings.last_folder()
        )
        if name:
            self.open_path(Path(name))

    def choose_batch_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(
            self, strings.OPEN_BATCH_TITLE, self.settings.last_folder()
        )
        if name:
            self.open_batch(Path(name))

    def open_demo(self) -> None:
        demo = paths.demo_case()
        if not demo.exists():
            self.show_error(strings.ERROR_TITLE, strings.ERROR_NO_DEMO.format(path=demo))
            return
        self.open_path(demo)

    def _fill_recent_menu(self) -> None:
        menu = self.controls.recent_menu if hasattr(self, "controls") else None
        if menu is None:
            return
        menu.clear()
        recent = self.settings.recent_files()
        if not recent:
            menu.addAction(strings.ACT_RECENT_EMPTY).setEnabled(False)
        for path in recent:
            menu.addAction(str(path)).triggered.connect(lambda _=False, p=path: self.open_path(p))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        local = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not local:
            self.show_error(strings.ERROR_TITLE, strings.ERROR_DROP)
            return
        event.acceptProposedAction()
        self.open_path(Path(local[0]))
