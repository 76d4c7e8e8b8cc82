"""What the slice queue and the case queue share: a filtered list, decision buttons, a note.

The two lists hold different things (slices of the open case, cases of a batch) but a
reader works them the same way, so the widgets and their keyboard behaviour are one code.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton, QTreeWidgetItem, QWidget

from bvae_viewer.gui.queue_items import step_through
from bvae_viewer.review.store import DecisionRecord, ReviewDecision

POSITION_ROLE = Qt.ItemDataRole.UserRole
REVIEWER_COLOURS = {
    ReviewDecision.ABNORMAL: "#ef5350",
    ReviewDecision.NORMAL: "#66bb6a",
    ReviewDecision.DEFER: "#bdbdbd",
}


class ListPanel(QWidget):
    """Base of the queue panels: subclasses build ``self.list`` and keep ``_shown`` in order."""

    decision_requested = Signal(str)  # ReviewDecision value, for the selected entry
    note_committed = Signal(str)  # Enter in the note field
    filter_changed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._shown: list = []  # the listed entries, each with a .position

    def _filter_combo(self, labels: dict[str, str], kinds: Sequence[str], kind: str) -> QComboBox:
        combo = QComboBox()
        for k in kinds:
            combo.addItem(labels[k], k)
        combo.setCurrentIndex(max(0, combo.findData(kind)))
        combo.currentIndexChanged.connect(lambda _i: self.filter_changed.emit(self.filter_kind))
        self.filter_combo = combo
        return combo

    def _note_field(self, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(True)
        edit.returnPressed.connect(self._note_entered)
        self.note_edit = edit
        return edit

    def _button(self, text: str, decision: ReviewDecision) -> QPushButton:
        button = QPushButton(text)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep the keyboard in the list
        button.clicked.connect(lambda: self.decision_requested.emit(decision.value))
        return button

    @property
    def filter_kind(self) -> str:
        return str(self.filter_combo.currentData())

    def shown_positions(self) -> list[int]:
        return [i.position for i in self._shown]

    def _highlight(self, position: int | None) -> None:
        """Select the row of ``position`` if it is listed, without emitting a choice."""
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

    def neighbour(self, position: int | None, step: int) -> int | None:
        """The listed entry ``step`` rows after ``position`` (or the first/last)."""
        return step_through(self.shown_positions(), position, step)

    def set_note(self, text: str) -> None:
        self.note_edit.setText(text)

    def note(self) -> str:
        return self.note_edit.text().strip()

    def _current_changed(self, item: QTreeWidgetItem | None, _previous) -> None:
        if item is not None:
            self._chosen(int(item.data(0, POSITION_ROLE)))

    def _chosen(self, position: int) -> None:
        raise NotImplementedError

    def _note_entered(self) -> None:
        self.note_committed.emit(self.note())
        self.list.setFocus()  # back to the keys A/N/D and J/K


def show_reviewer(row: QTreeWidgetItem, column: int, record: DecisionRecord | None) -> None:
    """The reviewer's column: the decision in its colour, bold, the note as tooltip."""
    if record is None:
        return
    row.setForeground(column, QBrush(QColor(REVIEWER_COLOURS[record.decision])))
    bold = QFont(row.font(column))
    bold.setBold(True)
    row.setFont(column, bold)
    if record.note:
        row.setToolTip(column, record.note)
