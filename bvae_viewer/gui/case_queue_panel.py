"""The case queue of a batch: cases review-first, progress, decision buttons and a note."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidgetItem,
    QVBoxLayout,
)

from bvae_viewer.gui import review_strings, strings
from bvae_viewer.gui.list_panel import POSITION_ROLE, ListPanel, show_reviewer
from bvae_viewer.gui.profile_plot import DECISION_COLOURS
from bvae_viewer.gui.queue_panel import QueueList
from bvae_viewer.gui.slice_info import format_value
from bvae_viewer.review.batch import CASE_FILTERS, CaseItem, CaseStatus, case_matches
from bvae_viewer.review.store import ReviewDecision

FAILED_COLOUR = "#ff7043"
WAITING_COLOUR = "#9e9e9e"


class CaseQueuePanel(ListPanel):
    """Shows CaseItems; reports which case the reader picked and what they decided."""

    case_chosen = Signal(int)  # position in the batch
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
        self._filter_combo(strings.CASE_FILTERS, CASE_FILTERS, filter_kind)
        self.list = QueueList(strings.CASE_COLUMNS, strings.CASE_QUEUE_TIP)
        self.list.currentItemChanged.connect(self._current_changed)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        # Opening a case from outside the batch suspends it: said here until a case is chosen.
        self.suspended = QLabel("")
        self.suspended.setWordWrap(True)
        self.suspended.setStyleSheet("color:#ffb300")
        self.suspended.setVisible(False)
        self.deciding_label = QLabel(review_strings.DECIDING_BATCH_NONE)
        self.summary = QLabel(strings.BATCH_WAITING)
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color:#9e9e9e")
        self._note_field(strings.CASE_NOTE_PLACEHOLDER)
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
        layout.addWidget(self.suspended)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.detail)
        layout.addWidget(self.summary)
        layout.addWidget(self.deciding_label)
        layout.addLayout(decide)
        layout.addWidget(self.note_edit)

    # --- content ------------------------------------------------------------------------
    def set_folder(self, text: str) -> None:
        self.folder_label.setText(text)

    def set_suspended(self, text: str) -> None:
        """Say the batch is suspended ("" when it is not)."""
        self.suspended.setText(text)
        self.suspended.setVisible(bool(text))

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

    def select_position(self, position: int | None) -> None:
        """Highlight a case if it is listed, and say why the model decided as it did."""
        self._highlight(position)
        item = self.item(position)
        self.detail.setText(_detail(item) if item is not None else "")
        self.deciding_label.setText(
            review_strings.DECIDING.format(case=item.name)
            if item is not None
            else review_strings.DECIDING_BATCH_NONE
        )
        self.detail.setStyleSheet(
            f"color:{FAILED_COLOUR}" if item and item.status == CaseStatus.FAILED else ""
        )

    def _chosen(self, position: int) -> None:
        self.case_chosen.emit(position)


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
    show_reviewer(row, 4, item.reviewer)
    return row
