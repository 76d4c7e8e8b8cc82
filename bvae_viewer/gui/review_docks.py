"""The review side of the window: the slice queue (left) and the thresholds (right).

A view: it observes the CaseDocument and ViewState, and records decisions through the
review session service (gui.review_actions); the maps never know about it. It also opens
each case on the peak of its highest finding, once the findings are known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from bvae_viewer.analysis.findings import Finding
from bvae_viewer.analysis.ood import ood_reasons
from bvae_viewer.analysis.review_reasons import whole_case_reason
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.gui import review_strings, strings
from bvae_viewer.gui.case_decisions import case_label
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.findings_queue import CaseFindings, opening_slice
from bvae_viewer.gui.queue_items import (
    FILTERS,
    ReviewOrder,
    case_coverage,
    queue_items,
    review_regardless,
    triage_counts,
    validation_preview,
    validation_slices,
)
from bvae_viewer.gui.queue_panel import QueuePanel, reviewer_row
from bvae_viewer.gui.review_actions import ReviewActions
from bvae_viewer.gui.review_session import ReviewSessionService
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.gui.threshold_panel import ThresholdPanel
from bvae_viewer.gui.window_layout import WindowLayout
from bvae_viewer.gui.worker import RunSummary
from bvae_viewer.pipeline.model import Bundle


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
        self.case_findings = CaseFindings()
        self.findings: list[Finding] = []  # of the case on screen, highest peak first
        self.opened_at: int | None = None  # the slice the case opened on
        self.actions = ReviewActions(
            doc, self.state, session, self.queue, lambda: self.findings, self.case_name, layout
        )
        # A/N/D, Shift+A, the whole case, undo and clear: all on the case on screen.
        a = self.actions
        self.decide, self.decide_run, self.decide_case = a.decide, a.decide_run, a.decide_case
        self.undo, self.clear_slice, self.clear_case = a.undo, a.clear_slice, a.clear_case
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
        d.incomplete_changed.connect(self._incomplete_changed)
        self.state.slice_changed.connect(self._slice_changed)
        s.opened.connect(self._session_opened)
        s.closed.connect(lambda: q.set_enabled(False))
        q.item_chosen.connect(self.state.set_slice)
        q.decision_requested.connect(self.decide)
        q.case_decision_requested.connect(self.decide_case)
        q.note_committed.connect(self.actions.note_committed)
        q.filter_changed.connect(self._filter_changed)
        q.reviewer_changed.connect(self._reviewer_changed)
        self.thresholds.thresholds_changed.connect(s.thresholds_edited)

    # --- the case and its session -------------------------------------------------------
    def _case_loaded(self, case) -> None:
        self.queue.set_enabled(False)
        self.queue.set_other_models("")
        self.queue.set_deciding(case_label(case))
        self.opened_at = case.start

    def case_name(self) -> str:
        """The de-identified name of the case on screen ("" when none)."""
        return case_label(self.doc.case) if self.doc.case is not None else ""

    def _incomplete_changed(self, why: str) -> None:
        d = self.doc
        self.queue.set_incomplete(
            review_strings.INCOMPLETE_BANNER.format(
                why=review_strings.INCOMPLETE_WHY.get(why, why),
                done=d.analysed(),
                total=len(d.results),
            )
            if why
            else ""
        )
        self.refresh()

    def open_on_peak(self, summary: RunSummary) -> None:
        """A run ended: show the peak of the highest finding, unless the reviewer has moved
        since the case opened (or the run ended part way)."""
        if summary.cancelled or summary.failed or self.doc.case is None:
            return
        if self.state.slice != self.opened_at:
            return
        self.refresh()  # the findings of every slice, at the thresholds in force
        target = opening_slice(self.findings)
        if target is not None:
            self.opened_at = target  # still "not moved" for a later run's done
            self.state.set_slice(target)

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

    # --- decisions (gui.review_actions) ---------------------------------------------------
    def _reviewer_changed(self, name: str) -> None:
        self.settings.set_reviewer(name)
        self.session.set_reviewer(name)

    # --- the queue ----------------------------------------------------------------------
    def step_item(self, step: int) -> None:
        """J/K: the next or previous queue item (from the top when none is selected)."""
        item = self.queue.step(step)
        if item is not None:
            self.queue.choose(item)

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

    def review_order(self) -> ReviewOrder:
        """The error model and the policy that order the review slices and say why."""
        d = self.doc
        error_model = d.bundle.info.deferral if d.bundle is not None else None
        reasons: list[str] = []
        if d.case_result is not None and d.case_result.case.decision == Decision.REVIEW:
            reasons = list(d.case_result.case.reasons)
        elif d.case is not None and d.case.prepared is not None:
            reasons = [r for r in (d.case.prepared.review_reason,) if r]
        return ReviewOrder(d.policy, error_model, whole_case_reason(reasons))

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
        self.queue.set_model_call(d.case_result.case if d.case_result is not None else None)
        # Findings once the run has ended (complete or not): while slices stream in, a run
        # is cut by the slices still to come, and measuring it each time costs.
        calibration = d.bundle.info.calibration if d.bundle is not None else None
        ended = d.complete() or bool(d.incomplete)
        self.findings = (
            self.case_findings.of(d.case, d.results, d.decisions, calibration) if ended else []
        )
        order = self.review_order()
        self.queue.set_order(order.error_model is not None)
        items = [
            replace(item, number=d.slice_number(item.position))
            for item in queue_items(d.results, d.decisions, d.reviewed, order, self.findings)
        ]
        self.queue.set_items(items, self.state.slice)
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
