"""File > Export report: the dialog, the ReportData of the open case, the writing thread, and
the service that runs them for the window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bvae_viewer.analysis.display import map_levels
from bvae_viewer.gui import strings
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.pipeline.report import kept_maps, region_maps, report_data
from bvae_viewer.review.report_data import ReportData
from bvae_viewer.review.report_names import report_file_name
from bvae_viewer.review.report_path import ReportError, check_report_path


def default_report_name(doc: CaseDocument, day: date | None = None) -> str:
    """'<case>_<date>_report.pdf': the file's own name, or 'case-<fingerprint>' for a case
    that carries patient identifiers (never the identifiers, never '[removed]')."""
    case = doc.case
    if case is None:
        return f"case_{(day or date.today()).isoformat()}_report.pdf"
    return report_file_name(case.source.name, case.identity, case.fingerprint, day)


def export_problem(doc: CaseDocument, running: bool) -> str | None:
    """Why a report cannot be made now (running: the case is still being analysed), or None."""
    if doc.case is None or doc.bundle is None:
        return strings.EXPORT_NO_CASE
    if doc.case_result is None:
        return strings.EXPORT_NO_CASE if running else strings.EXPORT_NOT_FINISHED
    return None


def build_report_data(doc: CaseDocument, radiological: bool) -> ReportData:
    """The open case as the window shows it: current thresholds, calibrated map levels,
    the reviewer's decisions, the maps of the slices a report shows and the region maps of
    every flagged slice (its findings)."""
    case, bundle, result = doc.case, doc.bundle, doc.case_result
    assert case is not None and bundle is not None and result is not None
    maps = kept_maps(doc.results, result.policy, doc.reviewed)
    levels = map_levels(bundle.info.calibration.map_levels)  # as the window shows them
    return report_data(
        case,
        result,
        maps,
        bundle.info,
        doc.device_name,
        levels,
        doc.reviewed,
        doc.case_record,
        radiological,
        regions=region_maps(doc.results, result.policy),
    )


class ExportDialog(QDialog):
    """Where to write the report and whether it may name the patient (off by default)."""

    def __init__(self, parent: QWidget, folder: str, name: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(strings.EXPORT_TITLE)
        self.setObjectName("export_dialog")
        self.path_edit = QLineEdit(str(Path(folder) / name))
        self.path_edit.setMinimumWidth(420)
        browse = QPushButton(strings.EXPORT_BROWSE)
        browse.clicked.connect(self._browse)
        self.identifiers = QCheckBox(strings.EXPORT_IDENTIFIERS)
        self.identifiers.setChecked(False)
        self.identifiers.setToolTip(strings.EXPORT_IDENTIFIERS_TIP)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color:#ef5350")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        row = QHBoxLayout()
        row.addWidget(QLabel(strings.EXPORT_PATH_LABEL))
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        hint = QLabel(strings.EXPORT_FORMATS_HINT)
        hint.setStyleSheet("color:#9e9e9e")
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(hint)
        layout.addWidget(self.identifiers)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

    def path(self) -> Path:
        return Path(self.path_edit.text().strip()).expanduser()

    def include_identifiers(self) -> bool:
        return self.identifiers.isChecked()

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, strings.EXPORT_TITLE, str(self.path()), strings.EXPORT_FILTER
        )
        if name:
            self.path_edit.setText(name)

    def accept(self) -> None:
        """Checked before the dialog closes: a wrong name is fixed here, not after the fact."""
        try:
            check_report_path(self.path())
        except ReportError as exc:
            self.problem.setText(str(exc))
            return
        super().accept()


class ReportWorker(QThread):
    """Writes one report off the GUI thread (a PDF with many thumbnails takes a while)."""

    written = Signal(str, str)  # path, error sentence ("" when it worked)

    def __init__(self, data: ReportData, path: Path, include_identifiers: bool, parent=None):
        super().__init__(parent)
        self.data, self.path, self.include_identifiers = data, Path(path), include_identifiers

    def run(self) -> None:
        try:
            from bvae_viewer.gui.report_writer import write_report
        except ImportError as exc:
            self.written.emit(str(self.path), strings.EXPORT_UNAVAILABLE.format(reason=exc))
            return
        try:
            write_report(self.data, self.path, include_identifiers=self.include_identifiers)
        except (ReportError, OSError, ValueError) as exc:
            self.written.emit(str(self.path), str(exc))
            return
        except Exception as exc:  # a report failing must not take the window with it
            self.written.emit(str(self.path), f"{type(exc).__name__}: {exc}")
            return
        self.written.emit(str(self.path), "")


class ReportService(QObject):
    """Export report: ask where (and whether identifiers may go in), gather, write in a
    thread. Failures are one sentence (error); success a status line (message)."""

    report_done = Signal(str, str)  # path, error sentence ("" when written)
    message = Signal(str)
    error = Signal(str, str)  # dialog title, sentence

    def __init__(
        self,
        doc: CaseDocument,
        settings: GuiSettings,
        parent_widget: QWidget,
        running: Callable[[], bool],
        radiological: Callable[[], bool],
        before_writing: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(parent_widget)
        self.doc, self.settings, self.parent_widget = doc, settings, parent_widget
        self.running, self.radiological = running, radiological
        self.before_writing = before_writing  # e.g. log the thresholds in force
        self.export_dialog: ExportDialog | None = None
        self._workers: list[ReportWorker] = []

    def export_report(self) -> None:
        """File > Export report: the dialog, then the writing."""
        problem = export_problem(self.doc, self.running())
        if problem is not None:
            self.error.emit(strings.ERROR_EXPORT_TITLE, problem)
            return
        dialog = ExportDialog(
            self.parent_widget, self.settings.report_folder(), default_report_name(self.doc)
        )
        dialog.accepted.connect(
            lambda: self.write_report(dialog.path(), dialog.include_identifiers())
        )
        self.export_dialog = dialog
        dialog.open()

    def write_report(self, path: Path, include_identifiers: bool = False) -> ReportWorker | None:
        """Gather the report's data here (fast) and write it in a thread (slow for a PDF)."""
        problem = export_problem(self.doc, self.running())
        if problem is not None:
            self.error.emit(strings.ERROR_EXPORT_TITLE, problem)
            return None
        self.before_writing()
        data = build_report_data(self.doc, self.radiological())
        worker = ReportWorker(data, Path(path), include_identifiers, self)
        worker.written.connect(self._written)
        worker.finished.connect(
            lambda: self._workers.remove(worker) if worker in self._workers else None
        )
        self._workers.append(worker)
        self.message.emit(strings.STATUS_EXPORTING.format(name=Path(path).name))
        worker.start()
        return worker

    def _written(self, path: str, error: str) -> None:
        if error:
            self.error.emit(strings.ERROR_EXPORT_TITLE, error)
        else:
            self.message.emit(strings.STATUS_EXPORTED.format(path=path))
            self.settings.set_report_folder(Path(path).parent)
        self.report_done.emit(path, error)

    def shutdown(self) -> None:
        """Finish writing reports."""
        for worker in list(self._workers):
            worker.wait()
        self._workers.clear()
