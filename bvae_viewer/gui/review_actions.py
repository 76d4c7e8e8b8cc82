"""The reviewer's decisions on the case on screen: a slice, a whole finding, the whole case;
undo and clear. Every one goes to the review session of the case shown (ReviewSessionService)
and is said in the status bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from bvae_viewer.analysis.findings import Finding
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.gui import review_strings, strings
from bvae_viewer.gui.case_decisions import CASE_ITEM
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.queue_panel import QueuePanel
from bvae_viewer.gui.review_session import ReviewSessionService
from bvae_viewer.gui.view_state import ViewState
from bvae_viewer.review.store import DecisionRecord
from bvae_viewer.review.store_undo import Action


def incomplete_note(doc: CaseDocument, case: str, parent: QWidget | None) -> str | None:
    """Before a whole-case decision: "" when the analysis is complete; when it is not, the
    note that says so if the reviewer confirms, None if they do not."""
    if not doc.incomplete:
        return ""
    done, total = doc.analysed(), len(doc.results)
    answer = QMessageBox.question(
        parent,
        review_strings.INCOMPLETE_CONFIRM_TITLE,
        review_strings.INCOMPLETE_CONFIRM.format(done=done, total=total, case=case),
    )
    if answer != QMessageBox.StandardButton.Yes:
        return None
    return review_strings.INCOMPLETE_NOTE.format(done=done, total=total)


def with_note(*parts: str) -> str:
    return " ".join(p for p in parts if p)


class ReviewActions(QObject):
    """Decide, undo and clear on the case on screen; the queue says what comes next."""

    def __init__(
        self,
        doc: CaseDocument,
        state: ViewState,
        session: ReviewSessionService,
        queue: QueuePanel,
        findings: Callable[[], Sequence[Finding]],
        case_name: Callable[[], str],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.doc, self.state, self.session, self.queue = doc, state, session, queue
        self.findings = findings  # of the case on screen, highest peak first
        self.case_name = case_name  # its de-identified name
        self.parent_widget = parent

    def _say(self, text: str) -> None:
        self.session.message.emit(text)

    # --- slices -------------------------------------------------------------------------
    def decide(self, value: str) -> DecisionRecord | None:
        """Record the reviewer's decision on the slice on screen, then go to the next item."""
        d = self.doc
        if self.session.session is None:
            self._say(strings.STATUS_NO_SESSION)
            return None
        position = self.state.slice
        result = d.results[position] if 0 <= position < len(d.results) else None
        model = d.decisions[position] if result is not None else None
        if result is None or model in (None, Decision.EMPTY):
            self._say(strings.STATUS_NOT_DECIDABLE.format(slice=self.doc.slice_number(position)))
            return None
        following = self.queue.following(position)
        index = result.scores.slice_index
        record = self.session.record(index, value, model.value, self.queue.note())
        if record is None:
            return None
        self._say(
            strings.STATUS_DECIDED.format(
                slice=self.doc.number_of_index(record.item_index),
                decision=strings.REVIEWER_WORDS[record.decision.value],
                reviewer=record.reviewer,
            )
        )
        if following is not None:
            self.queue.choose(following)
        return record

    def finding_here(self) -> Finding | None:
        """The finding selected in the queue, else the one the slice on screen is part of."""
        current = self.queue.current_item()
        if current is not None and current.finding is not None:
            return current.finding
        return next((f for f in self.findings() if self.state.slice in f.positions), None)

    def decide_run(self) -> list[DecisionRecord] | None:
        """Shift+A: every analysed brain slice of the finding abnormal, as one action."""
        d, finding = self.doc, self.finding_here()
        if finding is None:
            self._say(review_strings.STATUS_NO_FINDING)
            return None
        items = [
            (d.results[p].scores.slice_index, "abnormal", d.decisions[p].value)
            for p in finding.positions
            if d.results[p] is not None and d.decisions[p] not in (None, Decision.EMPTY)
        ]
        current = self.queue.current_item()
        following = self.queue.step(1) if current is not None and current.finding else None
        records = self.session.record_many(items, with_note(finding.describe(), self.queue.note()))
        if not records:
            return None
        self._say(
            review_strings.STATUS_RUN_DECIDED.format(
                finding=f"Finding {finding.number}",
                count=len(records),
                reviewer=records[0].reviewer,
            )
        )
        if following is not None:
            self.queue.choose(following)
        return records

    def note_committed(self, note: str) -> None:
        """Enter in the note field: a slice already decided gets the note now."""
        current = self.doc.record_at(self.state.slice)
        if current is None or self.session.session is None or note == current.note:
            return
        record = self.session.record(
            current.item_index, current.decision.value, current.model_decision, note
        )
        if record is not None:
            self._say(strings.STATUS_NOTE_SAVED.format(slice=self.doc.number_of_index(record.item_index)))

    # --- the whole case -----------------------------------------------------------------
    def decide_case(self, value: str) -> DecisionRecord | None:
        """The reviewer's call on the whole case, beside the model's case decision; on an
        incomplete analysis only once confirmed, and saved with a note saying so."""
        if self.session.session is None:
            self._say(strings.STATUS_NO_SESSION)
            return None
        flag = incomplete_note(self.doc, self.case_name(), self.parent_widget)
        if flag is None:
            self._say(review_strings.STATUS_CASE_NOT_DECIDED)
            return None
        result = self.doc.case_result
        model = result.case.decision.value if result is not None else "pending"
        note = with_note(flag, self.queue.note())
        record = self.session.record(CASE_ITEM, value, model, note, item_kind="case")
        if record is not None:
            self._say(
                strings.STATUS_CASE_DECIDED.format(
                    decision=strings.REVIEWER_WORDS[record.decision.value],
                    reviewer=record.reviewer,
                )
            )
        return record

    # --- corrections --------------------------------------------------------------------
    def undo(self) -> Action | None:
        """Ctrl+Z: take back the last decision of the case on screen (kept on record)."""
        if self.session.session is None:
            self._say(strings.STATUS_NO_SESSION)
            return None
        action = self.session.undo()
        if action is None:
            self._say(review_strings.STATUS_NOTHING_TO_UNDO)
            return None
        what = describe_action(action, self.doc.number_of_index)
        self._say(review_strings.STATUS_UNDONE.format(what=what))
        return action

    def clear_slice(self) -> DecisionRecord | None:
        """Clear the decision on the slice on screen."""
        d, position = self.doc, self.state.slice
        result = d.results[position] if 0 <= position < len(d.results) else None
        if result is None:
            self._say(strings.STATUS_NOT_DECIDABLE.format(slice=self.doc.slice_number(position)))
            return None
        what = review_strings.UNDO_WHAT_SLICE.format(
            slice=self.doc.number_of_index(result.scores.slice_index)
        )
        return self._clear(result.scores.slice_index, "slice", what)

    def clear_case(self) -> DecisionRecord | None:
        return self._clear(CASE_ITEM, "case", review_strings.UNDO_WHAT_CASE)

    def _clear(self, index: int, kind: str, what: str) -> DecisionRecord | None:
        if self.session.session is None:
            self._say(strings.STATUS_NO_SESSION)
            return None
        cleared = self.session.clear(index, kind)
        if cleared is None and self.session.session is not None:
            self._say(
                review_strings.STATUS_NOTHING_TO_CLEAR.format(what=what[:1].upper() + what[1:])
            )
        elif cleared is not None:
            self._say(review_strings.STATUS_CLEARED.format(what=what))
        return cleared


def describe_action(action: Action, number: Callable[[int], int]) -> str:
    """What an undo took back, in the status bar's words (number: a slice's input number)."""
    if action.is_clear:
        kind, index = action.items[0]
        item = (
            review_strings.UNDO_WHAT_CASE
            if kind == "case"
            else review_strings.UNDO_WHAT_SLICE.format(slice=number(index))
        )
        return review_strings.UNDO_WHAT_CLEAR.format(what=item)
    if len(action.items) > 1:
        return review_strings.UNDO_WHAT_SLICES.format(count=len(action.items))
    kind, index = action.items[0]
    return (
        review_strings.UNDO_WHAT_CASE
        if kind == "case"
        else review_strings.UNDO_WHAT_SLICE.format(slice=number(index))
    )
