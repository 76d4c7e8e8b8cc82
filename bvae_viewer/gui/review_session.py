"""The review session of the open case: the decisions database, the reviewer's records and
the audit trail of thresholds. It writes the CaseDocument; the queue dock shows it."""

from __future__ import annotations

import math
import sqlite3

from PySide6.QtCore import QObject, QTimer, Signal

from bvae_viewer.gui import strings
from bvae_viewer.gui.case_decisions import other_model_decisions
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.pipeline.model import Bundle
from bvae_viewer.review.deid import redact
from bvae_viewer.review.store import (
    DecisionRecord,
    ReviewSession,
    ReviewStore,
    ReviewStoreError,
    Thresholds,
    default_reviewer,
)
from bvae_viewer.review.store_undo import Action

THRESHOLD_LOG_DELAY_MS = 1000  # one audit entry per pause, not one per arrow press


class ReviewSessionService(QObject):
    """Owns the review store and the open case's session."""

    opened = Signal(object)  # {other model sha256: decisions}: the session is open
    closed = Signal()  # no session (a new case, or the store failed)
    decision_saved = Signal(object)  # DecisionRecord
    corrected = Signal(object)  # an undo or clear: the case's standing case decision, or None
    message = Signal(str)  # for the status bar
    error = Signal(str, str)  # dialog title, one sentence

    def __init__(self, doc: CaseDocument, reviewer: str = "", parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.store: ReviewStore | None = None
        self.session: ReviewSession | None = None
        self._reviewer = reviewer
        self._log_timer = QTimer(self, singleShot=True, interval=THRESHOLD_LOG_DELAY_MS)
        self._log_timer.timeout.connect(self.log_thresholds)
        doc.case_loaded.connect(self._case_loaded)
        doc.model_ready.connect(self._model_ready)

    # --- the store and the session ------------------------------------------------------
    def open_store(self) -> ReviewStore:
        """The review database (opened on first use), shared with the batch's case queue."""
        if self.store is None:
            self.store = ReviewStore.open_default()  # under paths.data_dir()
        return self.store

    def store_failed(self, exc: Exception) -> None:
        self.session = None
        self.closed.emit()
        self.error.emit(strings.ERROR_STORE_TITLE, strings.ERROR_STORE.format(reason=exc))

    def _case_loaded(self, _case) -> None:
        """A new volume: nothing is decided until its session is open."""
        self.log_thresholds()
        self.session = None
        self.closed.emit()

    def _model_ready(self, bundle: Bundle) -> None:
        d, case = self.doc, self.doc.case
        if case is None or not case.fingerprint:
            return
        try:
            store = self.open_store()
            session = store.open_session(
                case.fingerprint, bundle.info.sha256, label=redact(case.source.name, case.identity)
            )
            session.reviewer = self.reviewer
            reviewed, case_record = session.current(), session.case_decision()
            resumed = session.thresholds
            elsewhere = other_model_decisions(store, case.fingerprint, bundle.info.sha256)
        except (ReviewStoreError, sqlite3.Error) as exc:
            self.store_failed(exc)
            return
        self.session = session
        d.set_records(reviewed, case_record)
        # A batch keeps one set of thresholds for all its cases: the queue is sorted by them.
        # Thresholds saved on another scale of the score (the same weights recalibrated, or
        # saved before the scale was recorded) would mis-sort every slice: not resumed.
        if (
            resumed is not None
            and case.source not in d.pinned
            and resumed.scoring == bundle.info.calibration.scoring
            and (resumed.score, resumed.uncertainty) != d.thresholds()
        ):
            d.set_thresholds(resumed.score, resumed.uncertainty)
            self.message.emit(strings.THRESH_RESUMED)
        self.opened.emit(elsewhere)
        if reviewed:
            self.message.emit(strings.STATUS_SESSION_RESUMED.format(count=len(reviewed)))

    # --- records ------------------------------------------------------------------------
    @property
    def reviewer(self) -> str:
        return self._reviewer or default_reviewer()

    def set_reviewer(self, name: str) -> None:
        self._reviewer = name
        if self.session is not None:
            self.session.reviewer = self.reviewer

    def record(
        self, index: int, value: str, model: str, note: str, item_kind: str = "slice"
    ) -> DecisionRecord | None:
        """Append the reviewer's decision beside the model's (committed when this returns);
        None when there is no session or the store failed."""
        if self.session is None:
            self.message.emit(strings.STATUS_NO_SESSION)
            return None
        self.log_thresholds()
        try:
            record = self.session.record(
                index,
                value,
                model,
                note=note,
                reviewer=self.reviewer,
                item_kind=item_kind,
                thresholds=Thresholds(*self.doc.thresholds()),
            )
        except (ReviewStoreError, sqlite3.Error) as exc:
            self.store_failed(exc)
            return None
        self.doc.put_record(record)
        self.decision_saved.emit(record)
        return record

    def record_many(
        self, items: list[tuple[int, str, str]], note: str
    ) -> list[DecisionRecord] | None:
        """Slice decisions (slice index, decision, model's) made as one action: all saved or
        none, one undo takes them back; None when there is no session or the store failed."""
        if self.session is None:
            self.message.emit(strings.STATUS_NO_SESSION)
            return None
        self.log_thresholds()
        try:
            records = self.session.record_many(
                items, note=note, reviewer=self.reviewer,
                thresholds=Thresholds(*self.doc.thresholds()),
            )
        except (ReviewStoreError, sqlite3.Error) as exc:
            self.store_failed(exc)
            return None
        self.doc.put_records(records)
        return records

    def undo(self) -> Action | None:
        """Take back the last decision (or clear) made on the case on screen."""
        if self.session is None:
            self.message.emit(strings.STATUS_NO_SESSION)
            return None
        return self._correct(lambda s: s.undo(reviewer=self.reviewer))

    def clear(self, index: int, item_kind: str = "slice") -> DecisionRecord | None:
        """Clear the standing decision on a slice (axial index) or the case (index 0)."""
        if self.session is None:
            self.message.emit(strings.STATUS_NO_SESSION)
            return None
        return self._correct(lambda s: s.clear(index, item_kind, reviewer=self.reviewer))

    def _correct(self, change):
        """Write a correction, then read back what stands (the document shows that)."""
        assert self.session is not None
        try:
            done = change(self.session)
            reviewed, case_record = self.session.current(), self.session.case_decision()
        except (ReviewStoreError, sqlite3.Error) as exc:
            self.store_failed(exc)
            return None
        if done is not None:
            self.doc.set_records(reviewed, case_record)
            self.corrected.emit(case_record)
        return done

    # --- thresholds ---------------------------------------------------------------------
    def thresholds_edited(self, score: float, uncertainty: float) -> None:
        """The reader moved a threshold: re-sort now, log it once the reader pauses."""
        self.doc.set_thresholds(score, uncertainty)
        self._log_timer.start()

    def log_thresholds(self) -> None:
        """Put the thresholds in force into the session's audit trail (if they changed)."""
        self._log_timer.stop()
        if self.session is None or self.doc.policy is None:
            return
        score, uncertainty = self.doc.thresholds()
        if not (math.isnan(score) or math.isnan(uncertainty)):
            bundle = self.doc.bundle
            try:
                scoring = bundle.info.calibration.scoring if bundle is not None else ""
                self.session.set_thresholds(score, uncertainty, scoring)
            except (ReviewStoreError, sqlite3.Error) as exc:
                self.store_failed(exc)

    def shutdown(self) -> None:
        """Log the last thresholds and close the database."""
        self.log_thresholds()
        self.session = None
        if self.store is not None:
            self.store.close()
            self.store = None
