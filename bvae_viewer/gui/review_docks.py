"""The review side of the window: the slice queue (left) and the thresholds (right).

A view: it observes the CaseDocument and ViewState, and records decisions through the
review session service; the maps never know about it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from bvae_viewer.analysis.ood import ood_reasons
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.gui import strings
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.queue_items import (
    FILTERS,
    case_coverage,
    queue_items,
    review_regardless,
    triage_counts,
    validation_preview,
    validation_slices,
)
from bvae_viewer.gui.queue_panel import QueuePanel, reviewer_row
from bvae_viewer.gui.review_session import ReviewSessionService
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.gui.threshold_panel import ThresholdPanel
from bvae_viewer.gui.window_layout import WindowLayout
from bvae_viewer.pipeline.model import Bundle
from bvae_viewer.review.store import DecisionRecord


class ReviewDocks(QObject):
    """The queue of the open case's slices and the threshold panel, in two docks."""

    def __init__(
        self,
        layout: WindowLayout,
        doc: CaseDocument,
        session: ReviewSessionService,
        settings: GuiSettings,
        describe_model: Callable[[str], str],
    ) -> None:
        super().__init__(layout)
        self.doc, self.state, self.session = doc, layout.state, session
        self.settings = settings
        self.describe_model = describe_model  # a model's name and hash, by sha256
        self.validation = None
        self.queue = QueuePanel(session.reviewer, settings.queue_filter(FILTERS), False)
        self.thresholds = ThresholdPanel()
        # Slices of the open case, and (once a folder is opened as a batch) its cases: tabs
        # over one reviewer field. A single tab shows no tab bar.
        self.tabs = QTabWidget()
        self.tabs.setTabBarAutoHide(True)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.queue, strings.TAB_SLICES)
        dock_body = QWidget()
        column = QVBoxLayout(dock_body)
        column.setContentsMargins(0, 0, 0, 4)
        column.addWidget(self.tabs, 1)
        who = reviewer_row(self.queue.reviewer_edit)
        who.setContentsMargins(6, 0, 6, 0)
        column.addLayout(who)
        self.queue_dock = layout.add_queue_dock(dock_body, strings.QUEUE_DOCK_TITLE)
        # Scrolls rather than squeezes its wrapped text when the window is short.
        scroll = QScrollArea()
        scroll.setWidget(self.thresholds)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.threshold_dock = layout.add_side_dock(
            scroll, strings.THRESH_DOCK_TITLE, "threshold_dock"
        )
        self._wire()

    def _wire(self) -> None:
        d, q, s = self.doc, self.queue, self.session
        d.case_loaded.connect(self._case_loaded)
        d.model_ready.connect(self._model_ready)
        d.triage_changed.connect(self.refresh)
        d.records_changed.connect(self.refresh)
        self.state.slice_changed.connect(self._slice_changed)
        s.opened.connect(self._session_opened)
        s.closed.connect(lambda: q.set_enabled(False))
        q.item_chosen.connect(self.state.set_slice)
        q.decision_requested.connect(self.decide)
        q.case_decision_requested.connect(self.decide_case)
        q.note_committed.connect(self._note_committed)
        q.filter_changed.connect(self._filter_changed)
        q.reviewer_changed.connect(self._reviewer_changed)
        self.thresholds.thresholds_changed.connect(s.thresholds_edited)

    # --- the case and its session -------------------------------------------------------
    def _case_loaded(self, _case) -> None:
        self.queue.set_enabled(False)
        self.queue.set_other_models("")

    def _model_ready(self, bundle: Bundle) -> None:
        cal = bundle.info.calibration
        self.thresholds.set_calibrated(cal.score_threshold, cal.uncertainty_threshold)
        self.validation = validation_slices(bundle.info.metrics)
        self.refresh()

    def _session_opened(self, elsewhere: dict[str, int]) -> None:
        self.queue.set_enabled(True)
        self.queue.set_other_models(self._say_elsewhere(elsewhere))
        self.refresh()

    def _say_elsewhere(self, elsewhere: dict[str, int]) -> str:
        if not elsewhere:
            return ""
        models = ", ".join(self.describe_model(sha) for sha in elsewhere)
        return strings.OTHER_MODEL_DECISIONS.format(count=sum(elsewhere.values()), models=models)

    # --- decisions ----------------------------------------------------------------------
    def decide(self, value: str) -> DecisionRecord | None:
        """Record the reviewer's decision on the slice on screen, then go to the next item."""
        d = self.doc
        if self.session.session is None:
            self.session.message.emit(strings.STATUS_NO_SESSION)
            return None
        position = self.state.slice
        result = d.results[position] if 0 <= position < len(d.results) else None
        model = d.decisions[position] if result is not None else None
        if result is None or model in (None, Decision.EMPTY):
            self.session.message.emit(strings.STATUS_NOT_DECIDABLE.format(slice=position))
            return None
        listed = position in self.queue.shown_positions()
        following = self.queue.neighbour(position, 1) if listed else None
        index = result.scores.slice_index
        record = self.session.record(index, value, model.value, self.queue.note())
        if record is None:
            return None
        self.session.message.emit(
            strings.STATUS_DECIDED.format(
                slice=record.item_index,
                decision=strings.REVIEWER_WORDS[record.decision.value],
                reviewer=record.reviewer,
            )
        )
        if following is not None:
            self.state.set_slice(following)
        return record

    def decide_case(self, value: str) -> DecisionRecord | None:
        """The reviewer's call on the whole case, beside the model's case decision."""
        result = self.doc.case_result
        model = result.case.decision.value if result is not None else "pending"
        record = self.session.record(0, value, model, self.queue.note(), item_kind="case")
        if record is not None:
            self.session.message.emit(
                strings.STATUS_CASE_DECIDED.format(
                    decision=strings.REVIEWER_WORDS[record.decision.value],
                    reviewer=record.reviewer,
                )
            )
        return record

    def _note_committed(self, note: str) -> None:
        """Enter in the note field: a slice already decided gets the note now."""
        current = self.doc.record_at(self.state.slice)
        if current is None or self.session.session is None or note == current.note:
            return
        record = self.session.record(
            current.item_index, current.decision.value, current.model_decision, note
        )
        if record is not None:
            self.session.message.emit(strings.STATUS_NOTE_SAVED.format(slice=record.item_index))

    def _reviewer_changed(self, name: str) -> None:
        self.settings.set_reviewer(name)
        self.session.set_reviewer(name)

    # --- the queue ----------------------------------------------------------------------
    def step_item(self, step: int) -> None:
        position = self.queue.neighbour(self.state.slice, step)
        if position is not None:
            self.state.set_slice(position)

    def switch_queue(self) -> None:
        """C: between the case queue and the slice queue (when a batch is open)."""
        if self.tabs.count() > 1:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + 1) % self.tabs.count())
            current = self.tabs.currentWidget()
            getattr(current, "list", current).setFocus()

    def show_case_tab(self, panel: QWidget, title: str) -> None:
        """The case queue of a batch: the first tab, in front."""
        if self.tabs.indexOf(panel) < 0:
            self.tabs.insertTab(0, panel, title)
        self.tabs.setCurrentWidget(panel)

    def _slice_changed(self, position: int) -> None:
        self.queue.select_position(position)
        record = self.doc.record_at(position)
        self.queue.set_note(record.note if record is not None else "")

    def _filter_changed(self, kind: str) -> None:
        self.settings.set_queue_filter(kind)
        self.refresh()

    def refresh(self) -> None:
        """Queue, counts, thresholds and previews from the document."""
        d = self.doc
        self.queue.set_case_decision(d.case_record)
        self.queue.set_items(queue_items(d.results, d.decisions, d.reviewed), self.state.slice)
        if self.thresholds.thresholds() != d.thresholds():  # set elsewhere (resumed, reset)
            self.thresholds.show_thresholds(*d.thresholds())
        self.thresholds.set_counts(triage_counts(d.decisions))
        shown = [
            r.scores
            for r, x in zip(d.results, d.decisions, strict=True)
            if r is not None and x not in (None, Decision.EMPTY)
        ]
        uncertainties = np.array([s.unc_total for s in shown], dtype=float)
        if d.policy is not None:
            uncertainties = review_regardless(
                uncertainties, [s.anomaly_score for s in shown], d.policy
            )
        ood = False
        if d.case_result is not None and d.bundle is not None:
            ood = bool(ood_reasons(d.case_result.features, d.bundle.info.calibration.ood))
        self.thresholds.set_case_preview(case_coverage(d.decisions), uncertainties, ood)
        if self.validation is not None and d.policy is not None:
            preview = validation_preview(self.validation, d.policy)
            curve = review_regardless(
                self.validation.unc_total, self.validation.anomaly_score, d.policy
            )
            self.thresholds.set_validation_preview(preview, curve)
        else:
            self.thresholds.set_validation_preview(None, None)
