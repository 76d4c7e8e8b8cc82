"""The review queue: a filtered list of the open case's findings and slices, decision buttons
under the name of the case they decide, a note, and the banner of an incomplete analysis."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent
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

from bvae_viewer.analysis.triage import CaseDecision
from bvae_viewer.gui import review_strings, strings
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
KEY_ROLE = Qt.ItemDataRole.UserRole + 1  # QueueItem.key of a row
COLUMNS = (*strings.QUEUE_COLUMNS, review_strings.QUEUE_WHY_COLUMN)
WHY_COLUMN = len(COLUMNS) - 1
FINDING_COLOUR = "#ef5350"
BANNER_STYLE = "background:#5d4037;color:#ffcc80;padding:4px;border-radius:3px"
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
        self.list = QueueList(COLUMNS)
        self.list.currentItemChanged.connect(self._current_changed)
        self.order_label = QLabel(review_strings.QUEUE_ORDER_MARGIN)
        self.order_label.setWordWrap(True)
        self.order_label.setStyleSheet("color:#9e9e9e")
        # An analysis cancelled or failed part way: said until the case is analysed again.
        self.incomplete_banner = QLabel()
        self.incomplete_banner.setWordWrap(True)
        self.incomplete_banner.setStyleSheet(BANNER_STYLE)
        self.incomplete_banner.setVisible(False)
        self._incomplete = False
        # Whose decisions the buttons record: the case on screen, by its de-identified name.
        self.deciding_label = QLabel(review_strings.DECIDING_NONE)
        self.summary = QLabel(strings.QUEUE_WAITING)
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color:#9e9e9e")
        self._note_field(strings.NOTE_PLACEHOLDER)
        self.buttons = {d: self._button(text, d) for d, text in DECISION_KEYS.items()}
        self.case_label = QLabel(strings.CASE_UNDECIDED)
        # The model's case call and why: a reviewer deciding the case sees what it said.
        self.model_call = QLabel()
        self.model_call.setWordWrap(True)
        self.model_call.setVisible(False)
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
        layout.addWidget(self.incomplete_banner)
        layout.addLayout(top)
        layout.addWidget(self.order_label)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.deciding_label)
        layout.addLayout(decide)
        layout.addWidget(self.note_edit)
        if with_reviewer:  # else the owner shows reviewer_edit where the case queue sees it too
            layout.addLayout(reviewer_row(self.reviewer_edit))
        layout.addWidget(self.model_call)
        layout.addLayout(case_row)
        layout.addWidget(self.case_label)
        layout.addWidget(self.other_models)
        self.set_enabled(False)

    def _case_button(self, text: str, decision: ReviewDecision) -> QPushButton:
        button = QPushButton(text)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(lambda: self.case_decision_requested.emit(decision.value))
        return button

    def set_deciding(self, case: str) -> None:
        """Name the case the buttons decide ("" when none is open)."""
        self.deciding_label.setText(
            review_strings.DECIDING.format(case=case) if case else review_strings.DECIDING_NONE
        )

    def set_incomplete(self, text: str) -> None:
        """The banner of an incomplete analysis ("" hides it); the case buttons say it too."""
        self._incomplete = bool(text)
        self.incomplete_banner.setText(text)
        self.incomplete_banner.setVisible(bool(text))
        for decision, button in self.case_buttons.items():
            word = strings.REVIEWER_WORDS[decision.value]
            button.setText(review_strings.INCOMPLETE_BUTTON.format(decision=word) if text else word)

    def set_order(self, by_error_model: bool) -> None:
        """Say what orders the review slices: the calibrated P(wrong), or the margin."""
        self.order_label.setText(
            review_strings.QUEUE_ORDER_ERROR_MODEL
            if by_error_model
            else review_strings.QUEUE_ORDER_MARGIN
        )

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
        """Rebuild the list (filtered), keeping the selected row where it still shows slice
        ``current``, else the row of that slice."""
        kept = self.current_key()
        self._items = list(items)
        self._shown = [i for i in self._items if matches(i, self.filter_kind)]
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addTopLevelItems([_row(i) for i in self._shown])
        for r, i in enumerate(self._shown):  # a finding's row spans the columns (in the tree)
            self.list.topLevelItem(r).setFirstColumnSpanned(i.finding is not None)
        self.list.blockSignals(False)
        row = self._row_of(kept)
        if row is not None and self._shown[row].position == current:
            self._select_row(row)
        else:
            self.select_position(current)
        slices = [i for i in self._items if i.finding is None]
        settled = sum(i.settled for i in slices)
        deferred = sum(
            i.reviewer is not None and i.reviewer.decision == ReviewDecision.DEFER for i in slices
        )
        shown = sum(i.finding is None for i in self._shown)
        self.summary.setText(
            strings.QUEUE_SUMMARY.format(
                shown=shown, total=len(slices), settled=settled, deferred=deferred
            )
            if slices
            else strings.QUEUE_WAITING
        )

    # --- rows ---------------------------------------------------------------------------
    def shown_positions(self) -> list[int]:
        """The slices listed, top to bottom (a finding's row is not a slice of its own)."""
        return [i.position for i in self._shown if i.finding is None]

    def shown_items(self) -> list[QueueItem]:
        return list(self._shown)

    def current_item(self) -> QueueItem | None:
        row = self._current_row()
        return self._shown[row] if row is not None else None

    def current_key(self) -> tuple[str, int] | None:
        item = self.current_item()
        return item.key if item is not None else None

    def _current_row(self) -> int | None:
        row = self.list.currentItem()
        if row is None or not row.isSelected():
            return None
        index = self.list.indexOfTopLevelItem(row)
        return index if 0 <= index < len(self._shown) else None

    def _row_of(self, key: tuple[str, int] | None) -> int | None:
        return next((r for r, i in enumerate(self._shown) if i.key == key), None)

    def _select_row(self, row: int | None) -> None:
        self.list.blockSignals(True)
        if row is None:
            self.list.setCurrentItem(None)
            self.list.clearSelection()
        else:
            item = self.list.topLevelItem(row)
            self.list.setCurrentItem(item)
            item.setSelected(True)
            self.list.scrollToItem(item)
        self.list.blockSignals(False)

    def select_position(self, position: int | None) -> None:
        """Highlight the slice on screen if it is listed (a selected finding stays selected
        on its peak slice); never moves the slice itself."""
        current = self.current_item()
        if current is not None and current.position == position:
            return
        self._select_row(self._row_of(("slice", position)) if position is not None else None)

    def step(self, step: int) -> QueueItem | None:
        """The item ``step`` rows from the selected one; with none selected, the first
        (stepping forward) or the last: J starts at the top of the queue."""
        if not self._shown:
            return None
        row = self._current_row()
        if row is None:
            return self._shown[0] if step > 0 else self._shown[-1]
        row += step
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def following(self, position: int) -> QueueItem | None:
        """The item after the selected one, when the selected one is the slice on screen."""
        current = self.current_item()
        return self.step(1) if current is not None and current.position == position else None

    def choose(self, item: QueueItem) -> None:
        """Select an item's row (if still listed) and show its slice."""
        self._select_row(self._row_of(item.key))
        self.item_chosen.emit(item.position)

    def neighbour(self, position: int | None, step: int) -> int | None:
        item = self.step(step)
        return item.position if item is not None else None

    def set_case_decision(self, record: DecisionRecord | None) -> None:
        self.case_label.setText(
            strings.CASE_UNDECIDED
            if record is None
            else strings.CASE_DECISION.format(
                decision=strings.REVIEWER_WORDS[record.decision.value], reviewer=record.reviewer
            )
        )

    def set_model_call(self, call: CaseDecision | None) -> None:
        """The model's call on the whole case and its reasons (None hides the line)."""
        self.model_call.setVisible(call is not None)
        if call is None:
            return
        why = "".join(f"<br>{html.escape(r[:1].upper() + r[1:])}." for r in call.reasons)
        self.model_call.setText(review_strings.MODEL_CALL.format(
            colour=DECISION_COLOURS[call.decision],
            call=review_strings.MODEL_CALL_WORDS.get(call.decision.value, call.decision.value),
            why=why,
        ))

    def _chosen(self, position: int) -> None:
        self.item_chosen.emit(position)


def reviewer_row(edit: QLineEdit) -> QHBoxLayout:
    """ "Reviewer: [name]": one reviewer for slice and case decisions alike."""
    row = QHBoxLayout()
    row.addWidget(QLabel(strings.REVIEWER_LABEL))
    row.addWidget(edit, 1)
    return row


def _row(item: QueueItem) -> QTreeWidgetItem:
    if item.finding is not None:
        return _finding_row(item)
    reviewer = (
        strings.REVIEWER_WORDS[item.reviewer.decision.value] if item.reviewer is not None else ""
    )
    row = QTreeWidgetItem(
        [
            str(item.number or item.slice_index),
            strings.MODEL_WORDS[item.model.value],
            format_value(item.score),
            format_value(item.uncertainty),
            reviewer,
            why_text(item),
        ]
    )
    row.setData(0, POSITION_ROLE, item.position)
    row.setData(0, KEY_ROLE, item.key)
    row.setForeground(1, QBrush(QColor(DECISION_COLOURS[item.model])))
    for col in (0, 2, 3):
        row.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    show_reviewer(row, 4, item.reviewer)
    if item.reason:
        for col in (1, WHY_COLUMN):
            row.setToolTip(col, item.reason)
    return row


def why_text(item: QueueItem) -> str:
    """The row's short reason, with the error probability where the model has one."""
    parts = [item.short_reason] if item.short_reason else []
    if item.p_wrong is not None:
        parts.append(review_strings.QUEUE_P_WRONG.format(p=item.p_wrong))
    return "; ".join(parts)


def _finding_row(item: QueueItem) -> QTreeWidgetItem:
    """One row across the columns: 'Finding 1: left, slices 61-78, ..., 3 of 18 decided'."""
    f = item.finding
    assert f is not None
    decided = review_strings.QUEUE_FINDING_DECIDED.format(decided=item.decided, total=item.members)
    row = QTreeWidgetItem([f"{f.describe()} ({decided})"])
    row.setData(0, POSITION_ROLE, item.position)
    row.setData(0, KEY_ROLE, item.key)
    row.setForeground(0, QBrush(QColor(FINDING_COLOUR)))
    bold = QFont(row.font(0))
    bold.setBold(True)
    row.setFont(0, bold)
    row.setToolTip(0, review_strings.QUEUE_FINDING_TIP.format(describe=f.describe()))
    return row
