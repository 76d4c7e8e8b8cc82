"""The window's ways in: file and folder dialogs, the demo case, recent files, the batch, and
analysing again after a model switch. Everything ends in the analysis or batch service."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from bvae_viewer import paths
from bvae_viewer.gui import strings
from bvae_viewer.gui.analysis_service import AnalysisService
from bvae_viewer.gui.batch_service import BatchService
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.model_menu import ModelController
from bvae_viewer.gui.settings import GuiSettings


class Opener(QObject):
    """File > Open..., Open DICOM folder..., Open folder as batch..., the demo, recent files."""

    error = Signal(str, str)  # dialog title, sentence

    def __init__(
        self,
        doc: CaseDocument,
        analysis: AnalysisService,
        batch: BatchService,
        models: ModelController,
        settings: GuiSettings,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.doc, self.analysis, self.batch, self.models = doc, analysis, batch, models
        self.settings, self.parent_widget = settings, parent
        self.recent_menu: QMenu | None = None
        models.reanalyse.connect(self.reanalyse)

    def open_path(self, path: Path, remember: bool = True) -> None:
        """Start loading and analysing a file or DICOM folder; any previous run is cancelled.

        remember=False: not a recent file (a case opened from a batch's queue).
        """
        path = Path(path)
        # One case on screen, one case decided: a case that is not the batch's chosen one
        # suspends the batch (its Cases tab no longer decides anything until a case is
        # chosen there again).
        self.batch.leave_for(path)
        # A model being checked (chosen in the menu, or the saved one at start-up) decides
        # which model analyses this case: wait for it rather than run the one about to go.
        if self.models.defer(lambda: self.open_path(path, remember)):
            return
        if remember:
            self.settings.add_recent(path)
            self.settings.set_last_folder(path if path.is_dir() else path.parent)
            self.fill_recent_menu()
        self.analysis.start(path)

    def open_batch(self, folder: Path) -> bool:
        """Open a folder of cases as a batch: the case queue fills as the model runs.

        While a model folder is being checked the batch waits for it (True: it will open)."""
        if self.models.defer(lambda: self.batch.open_folder(Path(folder))):
            return True
        return self.batch.open_folder(Path(folder))

    def reanalyse(self) -> None:
        """After a model switch: the batch and the case on screen again, with the new model
        (the result cache answers for a case this model has analysed before)."""
        # A volume still loading is the one the reader asked for last, not the one shown.
        source = self.analysis.running_source()
        if source is None and self.doc.case is not None:
            source = self.doc.case.source
        if self.batch.reopen(source):
            return  # the batch shows the case on screen again, if it is one of its cases
        if source is not None:
            self.open_path(source, remember=False)

    def analyse_again(self) -> None:
        """Review > Analyse again: the case on screen, from the start (an incomplete run
        stays marked until one completes); a batch case through its batch."""
        case = self.doc.case
        if case is None:
            return
        if not self.batch.analyse_again(case.source):
            self.open_path(case.source, remember=False)

    # --- dialogs ------------------------------------------------------------------------
    def choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self.parent_widget, strings.OPEN_TITLE, self.settings.last_folder(), strings.OPEN_FILTER
        )
        if name:
            self.open_path(Path(name))

    def choose_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(
            self.parent_widget, strings.OPEN_DICOM_TITLE, self.settings.last_folder()
        )
        if name:
            self.open_path(Path(name))

    def choose_batch_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(
            self.parent_widget, strings.OPEN_BATCH_TITLE, self.settings.last_folder()
        )
        if name:
            self.open_batch(Path(name))

    def open_demo(self) -> None:
        demo = paths.demo_case()
        if not demo.exists():
            self.error.emit(strings.ERROR_TITLE, strings.ERROR_NO_DEMO.format(path=demo))
            return
        self.open_path(demo)

    def open_dropped(self, local_files: list[str]) -> None:
        """Drag and drop: the first local file or folder."""
        if not local_files:
            self.error.emit(strings.ERROR_TITLE, strings.ERROR_DROP)
            return
        self.open_path(Path(local_files[0]))

    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        recent = self.settings.recent_files()
        if not recent:
            menu.addAction(strings.ACT_RECENT_EMPTY).setEnabled(False)
        for path in recent:
            menu.addAction(str(path)).triggered.connect(lambda _=False, p=path: self.open_path(p))
