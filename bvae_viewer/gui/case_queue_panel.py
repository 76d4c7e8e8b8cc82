"""The case queue of a batch: cases review-first, progress, decision buttons and a note."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bvae_viewer.gui import strings
from bvae_viewer.gui.profile_plot import DECISION_COLOURS
from bvae_viewer.gui.queue_items import step_through
from bvae_viewer.gui.queue_panel import POSITION_ROLE, REVIEWER_COLOURS, QueueList
from bvae_viewer.gui.slice_info import format_value
from bvae_viewer.review.batch import CASE_FILTERS, CaseItem, CaseStatus, case_matches
from bvae_viewer.review.store import ReviewDecision

FAILED_COLOUR = "#ff7043"
WAITING_COLOUR = "#9e9e9e"


class CaseQueuePanel(QWidget):
    """Shows CaseItems; reports which case the reader picked and what they decided."""

    case_chosen = Signal(int)  # position in the batch
    decision_requested = Signal(str)  # ReviewDecision value, for the selected case
    note_committed = Signal(str)
    filter_changed = Signal(str)
    stop_requested = Signal()

    def __init__(self, filter_kind: str = "all", parent=None) -> None:
        super().__init__(parent)
        self._items: list[CaseItem] = []
        self._shown: list[CaseItem] = []

        self.folder_label = QLabel("")
        self.folder_label.setStyleSheet("color:#9e9e9e")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.stop_button = QPushButton(strings.BATCH_STOP)
        self.stop_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self.filter_combo = QComboBox()
        for kind in CASE_FILTERS:
            self.filter_combo.addItem(strings.CASE_FILTERS[kind], kind)
        self.filter_combo.setCurrentIndex(max(0, self.filter_combo.findData(filter_kind)))
        self.filter_combo.currentIndexChanged.connect(
            lambda _i: self.filter_changed.emit(self.filter_kind)
        )
        self.list = QueueList(strings.CASE_COLUMNS, strings.CASE_QUEUE_TIP)
        self.list.currentItemChanged.connect(self._current_changed)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.summary = QLabel(strings.BATCH_WAITING)
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color:#9e9e9e")
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText(strings.CASE_NOTE_PLACEHOLDER)
        self.note_edit.setClearButtonEnabled(True)
        self.note_edit.returnPressed.connect(self._note_entered)
        self.buttons = {d: self._button(strings.CASE_BUTTONS[d.value], d) for d in ReviewDecision}

        running = QHBoxLayout()
        running.addWidget(self.progress, 1)
        running.addWidget(self.stop_button)
        top = QHBoxLayout()
        top.addWidget(QLabel(strings.QUEUE_FILTER_LABEL))
        top.addWidget(self.filter_combo, 1)
        decide = QHBoxLayout()
        for button in self.buttons.values():
            decide.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.folder_label)
        layout.addLayout(running)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.detail)
        layout.addWidget(self.summary)
        layout.addLayout(decide)
        layout.addWidget(self.note_edit)

    def _button(self, text: str, decision: ReviewDecision) -> QPushButton:
        button = QPushButton(text)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep the keyboard in the list
        button.clicked.connect(lambda: self.decision_requested.emit(decision.value))
        return button

    # --- content ------------------------------------------------------------------------
    @property
    def filter_kind(self) -> str:
        return str(self.filter_combo.currentData())

    def set_folder(self, text: str) -> None:
        self.folder_label.setText(text)

    def set_progress(self, analysed: int, failed: int, total: int, running: bool) -> None:
        """n of N analysed; the bar counts unreadable cases as done (nothing more will come)."""
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(analysed + failed)
        text = strings.BATCH_PROGRESS.format(done=analysed, total=total)
        if failed:
            text += strings.BATCH_PROGRESS_FAILED.format(failed=failed)
        self.progress.setFormat(text)
        self.stop_button.setVisible(running)
        self.stop_button.setEnabled(running)

    def set_items(self, items: Sequence[CaseItem], current: int | None) -> None:
        """Rebuild the list (filtered, in the given order), keeping case ``current`` selected."""
        self._items = list(items)
        self._shown = [i for i in self._items if case_matches(i, self.filter_kind)]
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addTopLevelItems([_row(i) for i in self._shown])
        self.list.blockSignals(False)
        self.select_position(current)
        failed = sum(i.status == CaseStatus.FAILED for i in self._items)
        self.summary.setText(
            strings.CASE_SUMMARY.format(
                shown=len(self._shown),
                total=len(self._items),
                settled=sum(i.settled for i in self._items),
                failed=failed,
            )
        )
        self.summary.setStyleSheet(f"color:{FAILED_COLOUR if failed else WAITING_COLOUR}")

    def item(self, position: int | None) -> CaseItem | None:
        return next((i for i in self._items if i.position == position), None)

    def shown_positions(self) -> list[int]:
        return [i.position for i in self._shown]

    def select_position(self, position: int | None) -> None:
        """Highlight a case if it is listed, and say why the model decided as it did."""
        self.list.blockSignals(True)
        shown = self.shown_positions()
        if position in shown:
            row = self.list.topLevelItem(shown.index(position))
            self.list.setCurrentItem(row)
            self.list.scrollToItem(row)
        else:
            self.list.setCurrentItem(None)
            self.list.clearSelection()
        self.list.blockSignals(False)
        item = self.item(position)
        self.detail.setText(_detail(item) if item is not None else "")
        self.detail.setStyleSheet(
            f"color:{FAILED_COLOUR}" if item and item.status == CaseStatus.FAILED else ""
        )

    def neighbour(self, position: int | None, step: int) -> int | None:
        """The listed case ``step`` rows after ``position`` (or the first/last)."""
        return step_through(self.shown_positions(), position, step)

    def set_note(self, text: str) -> None:
        self.note_edit.setText(text)

    def note(self) -> str:
        return self.note_edit.text().strip()

    # --- signals out ---------------------------------------------------------------------
    def _current_changed(self, item: QTreeWidgetItem | None, _previous) -> None:
        if item is not None:
            self.case_chosen.emit(int(item.data(0, POSITION_ROLE)))

    def _note_entered(self) -> None:
        self.note_committed.emit(self.note())
        self.list.setFocus()  # back to A/N/D and J/K


def model_text(item: CaseItem) -> str:
    """What the Model column says: the case decision, or where the case stands."""
    if item.status == CaseStatus.DONE and item.model is not None:
        return strings.MODEL_WORDS.get(item.model.value, item.model.value)
    return strings.CASE_STATUS_WORDS[item.status.value]


def _detail(item: CaseItem) -> str:
    if item.status == CaseStatus.FAILED:
        return strings.CASE_FAILED_DETAIL.format(name=item.name, reason=item.reason)
    if item.status != CaseStatus.DONE or item.model is None:
        return strings.CASE_PENDING_DETAIL.format(
            name=item.name, status=strings.CASE_STATUS_WORDS[item.status.value]
        )
    because = item.reason or strings.CASE_NO_REASON
    because = because[0].upper() + because[1:]  # the analysis writes clauses, not sentences
    if not because.endswith("."):
        because += "."
    return strings.CASE_DETAIL.format(name=item.name, model=model_text(item), reason=because)


def _row(item: CaseItem) -> QTreeWidgetItem:
    reviewer = (
        strings.REVIEWER_WORDS[item.reviewer.decision.value] if item.reviewer is not None else ""
    )
    row = QTreeWidgetItem(
        [
            item.name,
            model_text(item),
            format_value(item.score) if item.status == CaseStatus.DONE else "",
            format_value(item.uncertainty) if item.status == CaseStatus.DONE else "",
            reviewer,
        ]
    )
    row.setData(0, POSITION_ROLE, item.position)
    row.setToolTip(0, item.name)
    if item.status == CaseStatus.DONE and item.model is not None:
        colour = DECISION_COLOURS[item.model]
    else:
        colour = FAILED_COLOUR if item.status == CaseStatus.FAILED else WAITING_COLOUR
    row.setForeground(1, QBrush(QColor(colour)))
    row.setToolTip(1, _detail(item))
    for col in (2, 3):
        row.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if item.reviewer is not None:
        row.setForeground(4, QBrush(QColor(REVIEWER_COLOURS[item.reviewer.decision])))
        bold = QFont(row.font(4))
        bold.setBold(True)
        row.setFont(4, bold)
        if item.reviewer.note:
            row.setToolTip(4, item.reviewer.note)
    return row
