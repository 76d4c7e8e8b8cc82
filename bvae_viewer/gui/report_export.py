"""File > Export report: the dialog, the ReportData the window gathers, and the writing thread."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QThread, Signal
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

from bvae_viewer.gui import strings
from bvae_viewer.pipeline.report import kept_maps, report_data
from bvae_viewer.review.deid import redact
from bvae_viewer.review.report_data import ReportData
from bvae_viewer.review.report_path import ReportError, check_report_path
from bvae_viewer.review.store import DecisionRecord

if TYPE_CHECKING:
    from bvae_viewer.gui.main_window import MainWindow

VOLUME_SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr", ".dcm")


def default_report_name(window: MainWindow) -> str:
    """<volume name>_report.pdf, with any patient identifier taken out of the name."""
    case = window.case
    name = case.source.name if case is not None else "case"
    for suffix in VOLUME_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    if case is not None:
        name = redact(name, case.identity)
    return f"{name}_report.pdf"


def export_problem(window: MainWindow) -> str | None:
    """Why a report cannot be made now, or None."""
    if window.case is None or window.bundle is None:
        return strings.EXPORT_NO_CASE
    if window.case_result is None:
        running = window.worker is not None and window.worker.isRunning()
        return strings.EXPORT_NO_CASE if running else strings.EXPORT_NOT_FINISHED
    return None


def build_report_data(
    window: MainWindow,
    reviewed: dict[int, DecisionRecord],
    case_review: DecisionRecord | None,
) -> ReportData:
    """The open case as the window shows it: current thresholds, calibrated map levels,
    the reviewer's decisions, and the maps of the slices a report shows."""
    case, bundle, result = window.case, window.bundle, window.case_result
    assert case is not None and bundle is not None and result is not None
    maps = kept_maps(window.results, result.policy, reviewed)
    return report_data(
        case, result, maps, bundle.info, window.device_name, window.grid.levels, reviewed,
        case_review, window.state.radiological,
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
