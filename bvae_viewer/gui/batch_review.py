"""The reviewer's whole-case decisions in a batch's case queue: decide, note, next case.

They go to the same review sessions as a case opened alone (content hash and model hash),
so the slice tab's "Whole case" line and the case queue always agree.
"""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import QObject, Signal

from bvae_viewer.gui import review_strings, strings
from bvae_viewer.gui.batch_cases import CaseSlot
from bvae_viewer.gui.batch_service import BatchService
from bvae_viewer.gui.case_decisions import record_case
from bvae_viewer.gui.review_actions import incomplete_note, with_note
from bvae_viewer.review.batch import CaseStatus
from bvae_viewer.review.store import DecisionRecord, ReviewStoreError, Thresholds


class BatchReview(QObject):
    """Decisions on the cases of the open batch (A/N/D, notes, J/K on the case queue)."""

    case_decided = Signal(object)  # DecisionRecord

    def __init__(self, batch: BatchService) -> None:
        super().__init__(batch)
        self.batch = batch
        p = batch.panel
        p.decision_requested.connect(self.decide)
        p.note_committed.connect(self._note_committed)
        batch.session.decision_saved.connect(self._review_saved)
        batch.session.corrected.connect(self._corrected)

    def decide(self, value: str) -> DecisionRecord | None:
        """The reviewer's call on the selected case, beside the model's; then the next case."""
        b = self.batch
        slot = b.slots[b.selected] if b.selected is not None else None
        if slot is None:
            b.message.emit(strings.BATCH_NO_CASE)
            return None
        if slot.status == CaseStatus.FAILED:
            b.message.emit(strings.BATCH_NOT_DECIDABLE.format(reason=slot.reason))
            return None
        # A decision belongs to the case on screen: never to one only selected in the list.
        if b.doc.case is None or b.doc.case.source != slot.case.source:
            b.message.emit(review_strings.BATCH_NOT_ON_SCREEN.format(name=slot.case.name))
            return None
        flag = incomplete_note(b.doc, slot.case.name, b.docks.tabs.window())
        if flag is None:
            b.message.emit(review_strings.STATUS_CASE_NOT_DECIDED)
            return None
        following = b.panel.neighbour(b.selected, 1)
        listed = b.selected in b.panel.shown_positions()
        record = self._record(slot, value, with_note(flag, b.panel.note()))
        if record is not None and listed and following is not None:
            b.choose(following)
        return record

    def _record(self, slot: CaseSlot, value: str, note: str) -> DecisionRecord | None:
        b, d = self.batch, self.batch.doc
        if slot.loaded is None or not slot.loaded.fingerprint or b.bundle is None:
            b.message.emit(strings.BATCH_NOT_LOADED.format(name=slot.case.name))
            return None
        try:
            record = record_case(
                b.session.open_store(),
                slot,
                b.bundle.info.sha256,
                value,
                note,
                b.session.reviewer,
                Thresholds(*d.thresholds()),
            )
        except (ReviewStoreError, sqlite3.Error) as exc:
            b.session.store_failed(exc)
            return None
        slot.reviewer = record
        if d.case is not None and d.case.fingerprint == slot.loaded.fingerprint:
            d.put_record(record)  # the slice tab's "Whole case" line agrees
        b.refresh()
        b.message.emit(
            strings.BATCH_DECIDED.format(
                name=slot.case.name,
                decision=strings.REVIEWER_WORDS[record.decision.value],
                reviewer=record.reviewer,
            )
        )
        self.case_decided.emit(record)
        return record

    def _note_committed(self, note: str) -> None:
        """Enter in the note field: a case already decided gets the note now."""
        b = self.batch
        if b.selected is None:
            return
        slot = b.slots[b.selected]
        if slot.reviewer is not None and note != slot.reviewer.note:
            self._record(slot, slot.reviewer.decision.value, note)

    def _review_saved(self, record: DecisionRecord) -> None:
        """A whole-case decision made from the slice tab shows in the case queue too."""
        b, case = self.batch, self.batch.doc.case
        if record.item_kind != "case" or case is None:
            return
        for slot in b.slots:
            if slot.loaded is not None and slot.loaded.fingerprint == case.fingerprint:
                slot.reviewer = record
        b.refresh()

    def _corrected(self, case_record: DecisionRecord | None) -> None:
        """An undo or clear on the case on screen: its row says what stands now."""
        b, case = self.batch, self.batch.doc.case
        if case is None:
            return
        for slot in b.slots:
            if slot.loaded is not None and slot.loaded.fingerprint == case.fingerprint:
                slot.reviewer = case_record
        b.refresh()

    def step(self, step: int) -> None:
        """J/K on the case queue: the next or previous listed case."""
        b = self.batch
        position = b.panel.neighbour(b.selected, step)
        if position is not None:
            b.choose(position)
