"""The review queue: a filtered list of the open case's slices, decision buttons and a note."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from bvae_viewer.gui import strings
from bvae_viewer.gui.list_panel import POSITION_ROLE, ListPanel, show_reviewer
from bvae_viewer.gui.profile_plot import DECISION_COLOURS
from bvae_viewer.gui.queue_items import FILTERS, QueueItem, matches
from bvae_viewer.gui.slice_info import format_value
from bvae_viewer.review.store import DecisionRecord, ReviewDecision

LIST_KEYS = {
    Qt.Key.Key_Up,
    Qt.Key.Key_Down,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
    Qt.Key.Key_PageUp,
    Qt.Key.Key_PageDown,
}
DECISION_KEYS = {
    ReviewDecision.ABNORMAL: strings.BTN_ABNORMAL,
    ReviewDecision.NORMAL: strings.BTN_NORMAL,
    ReviewDecision.DEFER: strings.BTN_DEFER,
}


class QueueList(QTreeWidget):
    """The list itself; J/K and the decision keys are window actions, so they work anywhere."""

    def __init__(
        self,
        columns: Sequence[str] = strings.QUEUE_COLUMNS,
        tip: str = strings.QUEUE_TIP,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.setColumnCount(len(columns))
        self.setHeaderLabels(list(columns))
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setToolTip(tip)
        header = self.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionsClickable(False)  # the order is the triage order, not a column's

    def keyPressEvent(self, event: QKeyEvent) -> None:
        super().keyPressEvent(event)
        # At the top or bottom the view ignores these; they must not fall through to the
        # window, where they would move the slice out of the queue.
        if event.key() in LIST_KEYS:
            event.accept()


class QueuePanel(ListPanel):
    """Shows QueueItems; reports which slice the reader picked and what they decided."""

    item_chosen = Signal(int)  # position in the stack
    case_decision_requested = Signal(str)  # ReviewDecision value, for the whole case
    reviewer_changed = Signal(str)

    def __init__(
        self, reviewer: str, filter_kind: str = "review", with_reviewer: bool = True, parent=None
    ) -> None:
        super().__init__(parent)
        self._items: list[QueueItem] = []
        self._shown: list[QueueItem] = []

        self._filter_combo(strings.QUEUE_FILTERS, FILTERS, filter_kind)
        self.reviewer_edit = QLineEdit(reviewer)
        self.reviewer_edit.setToolTip(strings.REVIEWER_TIP)
        self.reviewer_edit.editingFinished.connect(
            lambda: self.reviewer_changed.emit(self.reviewer_edit.text().strip())
        )
        self.list = QueueList()
        self.list.currentItemChanged.connect(self._current_changed)
        self.summary = QLabel(strings.QUEUE_WAITING)
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color:#9e9e9e")
        self._note_field(strings.NOTE_PLACEHOLDER)
        self.buttons = {d: self._button(text, d) for d, text in DECISION_KEYS.items()}
        self.case_label = QLabel(strings.CASE_UNDECIDED)
        # Decisions on this case made with another model (review sessions are per model).
        self.other_models = QLabel()
        self.other_models.setWordWrap(True)
        self.other_models.setStyleSheet("color:#ffb300")
        self.other_models.setVisible(False)
        self.case_buttons = {
            d: self._case_button(strings.REVIEWER_WORDS[d.value], d) for d in ReviewDecision
        }

        top = QHBoxLayout()
        top.addWidget(QLabel(strings.QUEUE_FILTER_LABEL))
        top.addWidget(self.filter_combo, 1)
        decide = QHBoxLayout()
        for button in self.buttons.values():
            decide.addWidget(button)
        case_row = QHBoxLayout()
        case_row.addWidget(QLabel(strings.CASE_LABEL))
        for button in self.case_buttons.values():
            case_row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.summary)
        layout.addLayout(decide)
        layout.addWidget(self.note_edit)
        if with_reviewer:  # else the owner shows reviewer_edit where the case queue sees it too
            layout.addLayout(reviewer_row(self.reviewer_edit))
        layout.addLayout(case_row)
        layout.addWidget(self.case_label)
        layout.addWidget(self.other_models)
        self.set_enabled(False)

    def _case_button(self, text: str, decision: ReviewDecision) -> QPushButton:
        button = QPushButton(text)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(lambda: self.case_decision_requested.emit(decision.value))
        return button

    def set_other_models(self, text: str) -> None:
        """Say that decisions exist under another model ("" hides the line)."""
        self.other_models.setText(text)
        self.other_models.setVisible(bool(text))

    def set_enabled(self, enabled: bool) -> None:
        """Decisions need a session (an open case and a loaded model)."""
        for button in (*self.buttons.values(), *self.case_buttons.values()):
            button.setEnabled(enabled)

    # --- content ------------------------------------------------------------------------
    def reviewer(self) -> str:
        return self.reviewer_edit.text().strip()

    def set_items(self, items: Sequence[QueueItem], current: int | None) -> None:
        """Rebuild the list (filtered), keeping the item of slice ``current`` selected."""
        self._items = list(items)
        self._shown = [i for i in self._items if matches(i, self.filter_kind)]
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addTopLevelItems([_row(i) for i in self._shown])
        self.list.blockSignals(False)
        self.select_position(current)
        settled = sum(i.settled for i in self._items)
        deferred = sum(
            i.reviewer is not None and i.reviewer.decision == ReviewDecision.DEFER
            for i in self._items
        )
        self.summary.setText(
            strings.QUEUE_SUMMARY.format(
                shown=len(self._shown), total=len(self._items), settled=settled, deferred=deferred
            )
            if self._items
            else strings.QUEUE_WAITING
        )

    def select_position(self, position: int | None) -> None:
        """Highlight the slice on screen if it is listed; never moves the slice itself."""
        self._highlight(position)

    def set_case_decision(self, record: DecisionRecord | None) -> None:
        self.case_label.setText(
            strings.CASE_UNDECIDED
            if record is None
            else strings.CASE_DECISION.format(
                decision=strings.REVIEWER_WORDS[record.decision.value], reviewer=record.reviewer
            )
        )

    def _chosen(self, position: int) -> None:
        self.item_chosen.emit(position)


def reviewer_row(edit: QLineEdit) -> QHBoxLayout:
    """ "Reviewer: [name]": one reviewer for slice and case decisions alike."""
    row = QHBoxLayout()
    row.addWidget(QLabel(strings.REVIEWER_LABEL))
    row.addWidget(edit, 1)
    return row


def _row(item: QueueItem) -> QTreeWidgetItem:
    reviewer = (
        strings.REVIEWER_WORDS[item.reviewer.decision.value] if item.reviewer is not None else ""
    )
    row = QTreeWidgetItem(
        [
            str(item.slice_index),
            strings.MODEL_WORDS[item.model.value],
            format_value(item.score),
            format_value(item.uncertainty),
            reviewer,
        ]
    )
    row.setData(0, POSITION_ROLE, item.position)
    row.setForeground(1, QBrush(QColor(DECISION_COLOURS[item.model])))
    for col in (0, 2, 3):
        row.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    show_reviewer(row, 4, item.reviewer)
    return row
