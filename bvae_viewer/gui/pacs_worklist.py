"""The PACS worklist: studies (QIDO-RS), searched by patient and date; a study's brain MR
series opened into the window (WADO-RS, progress, cancel), or a selection as a batch."""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from bvae_viewer import paths
from bvae_viewer.gui.pacs_connection import PacsConnection
from bvae_viewer.gui.pacs_task import PacsTask
from bvae_viewer.pacs.errors import NotBrainMrError, PacsError
from bvae_viewer.pacs.pull import choose_series, pull_record, pull_series
from bvae_viewer.pacs.worklist import StudyRow, search_studies

TITLE = "PACS worklist"
COLUMNS = ("Patient", "ID", "Date", "Description", "Modality", "Series")
NOT_SET = "Set the PACS address first (PACS > Settings)."


def series_folder(series_uid: str) -> Path:
    """Where a pulled series is kept (a complete pull only: see pacs.pull)."""
    return paths.cache_dir() / "pacs" / "series" / series_uid


def pull_study(client, study_uid: str, progress, cancel) -> Path:
    """The study's brain MR series in the cache (pulled unless it is there already)."""
    series = choose_series(client, study_uid)
    folder = series_folder(series.series_uid)
    if folder.is_dir() and any(folder.iterdir()):
        return folder  # a folder there is complete: pulls appear whole or not at all
    folder.parent.mkdir(parents=True, exist_ok=True)
    return pull_series(client, study_uid, series, folder, progress, cancel)


def pull_batch(client, study_uids: list[str], progress, cancel) -> tuple[Path, list[str]]:
    """Each study's brain MR series into one new batch folder; (folder, refusals)."""
    batch = paths.cache_dir() / "pacs" / "batches" / time.strftime("%Y%m%dT%H%M%S")
    batch.mkdir(parents=True, exist_ok=True)
    refused = []
    try:
        for n, uid in enumerate(study_uids):
            try:
                series = choose_series(client, uid)
            except NotBrainMrError as exc:
                refused.append(str(exc))
                continue
            pull_series(client, uid, series, batch / f"case{n + 1:03d}", progress, cancel)
        if len(refused) == len(study_uids):
            raise NotBrainMrError(refused[0])
    except PacsError:
        shutil.rmtree(batch, ignore_errors=True)  # a batch opens whole or not at all
        raise
    return batch, refused


class PacsWorklistDialog(QDialog):
    """Opens what the reviewer picks through the window opener (open_path / open_batch)."""

    def __init__(self, connection: PacsConnection, window) -> None:
        super().__init__(window)
        self.setWindowTitle(TITLE)
        self.setObjectName("pacs_worklist")
        self.connection, self.window_ = connection, window
        self.rows: list[StudyRow] = []
        self.task: PacsTask | None = None
        self.patient = QLineEdit(placeholderText="name or ID")
        self.patient.returnPressed.connect(self.search)
        self.use_dates = QCheckBox("Dates")
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addYears(-1), calendarPopup=True,
                                   displayFormat="yyyy-MM-dd", enabled=False)
        self.date_to = QDateEdit(today, calendarPopup=True, displayFormat="yyyy-MM-dd",
                                 enabled=False)
        for edit in (self.date_from, self.date_to):
            self.use_dates.toggled.connect(edit.setEnabled)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.progress = QProgressBar(visible=False)
        self.cancel_button = QPushButton("Cancel", visible=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel(wordWrap=True)
        self.status.setObjectName("pacs_status")
        self.open_button = QPushButton("Open series")
        self.open_button.clicked.connect(self.open_selected)
        self.batch_button = QPushButton("Open selection as batch")
        self.batch_button.clicked.connect(self.open_batch)
        self._layout()
        self.resize(900, 480)

    def _layout(self) -> None:
        search = QHBoxLayout()
        for widget in (QLabel("Patient"), self.patient, self.use_dates, self.date_from,
                       QLabel("to"), self.date_to, self.search_button):
            search.addWidget(widget)
        actions = QHBoxLayout()
        for widget in (self.progress, self.cancel_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        actions.addWidget(self.open_button)
        actions.addWidget(self.batch_button)
        layout = QVBoxLayout(self)
        layout.addLayout(search)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        layout.addLayout(actions)

    # --- work ---------------------------------------------------------------------------------
    def _busy(self) -> bool:
        return self.task is not None and self.task.isRunning()

    def _start(self, work, on_done, show_progress: bool) -> None:
        if not self.connection.configured:
            self.status.setText(NOT_SET)
            return
        if self._busy():
            return
        try:
            client = self.connection.client()
        except PacsError as exc:
            self.status.setText(str(exc))
            return
        self.task = PacsTask(lambda progress, cancel: work(client, progress, cancel))
        self.task.progressed.connect(self._on_progress)
        self.task.succeeded.connect(on_done)
        self.task.failed.connect(self.status.setText)
        self.task.finished.connect(self._idle)
        for button in (self.search_button, self.open_button, self.batch_button):
            button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(show_progress)
        self.cancel_button.setVisible(show_progress)
        self.task.start()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(f"Receiving {done} of {total} images...")

    def _idle(self) -> None:
        for button in (self.search_button, self.open_button, self.batch_button):
            button.setEnabled(True)
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    # --- commands -----------------------------------------------------------------------------
    def search(self) -> None:
        start = end = None
        if self.use_dates.isChecked():
            start = date.fromisoformat(self.date_from.date().toString(Qt.DateFormat.ISODate))
            end = date.fromisoformat(self.date_to.date().toString(Qt.DateFormat.ISODate))
        patient = self.patient.text()
        self.status.setText("Searching...")
        self._start(lambda client, _p, _c: search_studies(client, patient, start, end),
                    self._show_rows, show_progress=False)

    def _show_rows(self, rows: list[StudyRow]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            date_text = row.study_date
            if len(date_text) == 8:
                date_text = f"{date_text[:4]}-{date_text[4:6]}-{date_text[6:]}"
            values = (row.patient_name, row.patient_id, date_text, row.description,
                      "/".join(row.modalities), "" if row.n_series is None else str(row.n_series))
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        self.status.setText(f"{len(rows)} stud{'y' if len(rows) == 1 else 'ies'}.")

    def selected_studies(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.rows[r].study_uid for r in rows if r < len(self.rows)]

    def open_selected(self) -> None:
        chosen = self.selected_studies()
        if len(chosen) != 1:
            self.status.setText("Select one study to open (or several to open as a batch).")
            return
        uid = chosen[0]
        self._start(lambda client, p, c: pull_study(client, uid, p, c), self._opened, True)

    def _opened(self, folder: Path) -> None:
        record = pull_record(folder) or {}
        self.status.setText(f"Opened {record.get('description') or 'the series'} of "
                            f"{record.get('study') or 'the study'}.")
        self.window_.opener.open_path(folder)

    def open_batch(self) -> None:
        chosen = self.selected_studies()
        if not chosen:
            self.status.setText("Select the studies to open as a batch.")
            return
        self._start(lambda client, p, c: pull_batch(client, chosen, p, c), self._batched, True)

    def _batched(self, result: tuple[Path, list[str]]) -> None:
        folder, refused = result
        note = f" {len(refused)} not opened: {refused[0]}" if refused else ""
        self.status.setText(f"Opened {folder.name} as a batch.{note}")
        self.window_.opener.open_batch(folder)

    def done(self, result: int) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task.wait()
        super().done(result)
