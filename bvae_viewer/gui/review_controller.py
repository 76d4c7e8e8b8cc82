"""The review side of the window: queue, thresholds, decisions in the store, report export.

It observes the window (case_loaded, model_ready, triage_changed, the ViewState) and calls
back only through MainWindow.set_thresholds and the ViewState: the maps never know about it.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QMenu, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from bvae_viewer.analysis.ood import ood_reasons
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.gui import strings
from bvae_viewer.gui.case_decisions import other_model_decisions
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
from bvae_viewer.gui.report_export import (
    ExportDialog,
    ReportWorker,
    build_report_data,
    default_report_name,
    export_problem,
)
from bvae_viewer.gui.threshold_panel import ThresholdPanel
from bvae_viewer.review.deid import redact
from bvae_viewer.review.store import (
    DecisionRecord,
    ReviewSession,
    ReviewStore,
    ReviewStoreError,
    Thresholds,
    default_reviewer,
)

if TYPE_CHECKING:
    from bvae_viewer.gui.batch_controller import BatchController
    from bvae_viewer.gui.main_window import MainWindow

THRESHOLD_LOG_DELAY_MS = 1000  # one audit entry per pause, not one per arrow press


class ReviewController(QObject):
    """Owns the review store and session of the open case and the two left-hand docks."""

    decision_saved = Signal(object)  # DecisionRecord
    report_done = Signal(str, str)  # path, error sentence ("" when written)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.store: ReviewStore | None = None
        self.session: ReviewSession | None = None
        self.reviewed: dict[int, DecisionRecord] = {}  # by axial slice index
        self.case_record: DecisionRecord | None = None
        self.validation = None
        self.export_dialog: ExportDialog | None = None
        self._report_workers: list = []
        self.case_keys: BatchController | None = None  # set when the window can open batches

        settings = window.settings
        self.queue = QueuePanel(
            settings.reviewer(default_reviewer()), settings.queue_filter(FILTERS), False
        )
        self.thresholds = ThresholdPanel()
        # Slices of the open case, and (once a folder is opened as a batch) its cases: tabs
        # over one reviewer field. A single tab shows no tab bar.
        self.tabs = QTabWidget()
        self.tabs.setTabBarAutoHide(True)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.queue, strings.TAB_SLICES)
        self.tabs.currentChanged.connect(self._retitle_keys)
        dock_body = QWidget()
        column = QVBoxLayout(dock_body)
        column.setContentsMargins(0, 0, 0, 4)
        column.addWidget(self.tabs, 1)
        who = reviewer_row(self.queue.reviewer_edit)
        who.setContentsMargins(6, 0, 6, 0)
        column.addLayout(who)
        self.queue_dock = window.add_queue_dock(dock_body, strings.QUEUE_DOCK_TITLE)
        # Scrolls rather than squeezes its wrapped text when the window is short.
        scroll = QScrollArea()
        scroll.setWidget(self.thresholds)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.threshold_dock = window.add_side_dock(
            scroll, strings.THRESH_DOCK_TITLE, "threshold_dock"
        )
        self._log_timer = QTimer(self, singleShot=True, interval=THRESHOLD_LOG_DELAY_MS)
        self._log_timer.timeout.connect(self._log_thresholds)
        self._build_menu()
        self._wire()

    # --- wiring -------------------------------------------------------------------------
    def _build_menu(self) -> None:
        bar = self.window.menuBar()
        menu = QMenu(strings.MENU_REVIEW, bar)
        bar.insertMenu(bar.actions()[-1], menu)  # before Help
        self.actions: dict[str, QAction] = {}
        entries = (
            ("abnormal", strings.ACT_ABNORMAL, "A", lambda: self._decide_key("abnormal")),
            ("normal", strings.ACT_NORMAL, "N", lambda: self._decide_key("normal")),
            ("defer", strings.ACT_DEFER, "D", lambda: self._decide_key("defer")),
            ("next", strings.ACT_NEXT_ITEM, "J", lambda: self._step_key(1)),
            ("previous", strings.ACT_PREVIOUS_ITEM, "K", lambda: self._step_key(-1)),
            ("switch", strings.ACT_SWITCH_QUEUE, "C", self.switch_queue),
        )
        for key, text, shortcut, slot in entries:
            action = QAction(text, self.window)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            self.window.addAction(action)  # active while the window has focus, menu or not
            menu.addAction(action)
            self.actions[key] = action
        menu.addSeparator()
        for value, text in (
            ("abnormal", strings.ACT_CASE_ABNORMAL),
            ("normal", strings.ACT_CASE_NORMAL),
            ("defer", strings.ACT_CASE_DEFER),
        ):
            menu.addAction(text).triggered.connect(lambda _=False, v=value: self.decide_case(v))

    # --- the keys: on cases while the Cases tab is in front, else on slices ----------------
    def _decide_key(self, value: str) -> None:
        if self.case_keys is not None and self.case_keys.active():
            self.case_keys.decide(value)
        else:
            self.decide(value)

    def _step_key(self, step: int) -> None:
        if self.case_keys is not None and self.case_keys.active():
            self.case_keys.step(step)
        else:
            self.step_item(step)

    def switch_queue(self) -> None:
        """C: between the case queue and the slice queue (when a batch is open)."""
        if self.tabs.count() > 1:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + 1) % self.tabs.count())
            current = self.tabs.currentWidget()
            getattr(current, "list", current).setFocus()

    def _retitle_keys(self, _index: int = 0) -> None:
        """The Review menu says what A/N/D/J/K act on now: cases or slices."""
        cases = self.case_keys is not None and self.case_keys.active()
        titles = strings.KEY_TITLES_CASES if cases else strings.KEY_TITLES_SLICES
        for key, text in titles.items():
            self.actions[key].setText(text)

    def show_case_tab(self, panel: QWidget, title: str) -> None:
        """The case queue of a batch: the first tab, in front."""
        if self.tabs.indexOf(panel) < 0:
            self.tabs.insertTab(0, panel, title)
        self.tabs.setCurrentWidget(panel)
        self._retitle_keys()

    def _wire(self) -> None:
        w, q = self.window, self.queue
        w.case_loaded.connect(self._case_loaded)
        w.model_ready.connect(self._model_ready)
        w.triage_changed.connect(self.refresh)
        w.state.slice_changed.connect(self._slice_changed)
        q.item_chosen.connect(w.state.set_slice)
        q.decision_requested.connect(self.decide)
        q.case_decision_requested.connect(self.decide_case)
        q.note_committed.connect(self._note_committed)
        q.filter_changed.connect(self._filter_changed)
        q.reviewer_changed.connect(self._reviewer_changed)
        self.thresholds.thresholds_changed.connect(self._thresholds_edited)

    # --- the case and its session ---------------------------------------------------------
    def _case_loaded(self, _case) -> None:
        """A new volume: nothing is decided until its session is open."""
        self._log_thresholds()
        self.session = None
        self.reviewed = {}
        self.case_record = None
        self.queue.set_enabled(False)
        self.queue.set_case_decision(None)
        self.queue.set_other_models("")
        self.refresh()

    def _model_ready(self, bundle) -> None:
        w, case = self.window, self.window.case
        cal = bundle.info.calibration
        self.thresholds.set_calibrated(cal.score_threshold, cal.uncertainty_threshold)
        self.thresholds.show_thresholds(*w.thresholds())
        self.validation = validation_slices(bundle.info.metrics)
        if case is None or not case.fingerprint:
            return
        try:
            store = self.open_store()
            session = store.open_session(
                case.fingerprint, bundle.info.sha256, label=redact(case.source.name, case.identity)
            )
            session.reviewer = self.reviewer()
            self.reviewed = session.current()
            self.case_record = session.case_decision()
            resumed = session.thresholds
            elsewhere = other_model_decisions(store, case.fingerprint, bundle.info.sha256)
        except (ReviewStoreError, sqlite3.Error) as exc:
            self.store_failed(exc)
            return
        self.session = session
        # A batch keeps one set of thresholds for all its cases: the queue is sorted by them.
        in_batch = self.case_keys is not None and self.case_keys.holds(case)
        # Thresholds saved on another scale of the score (the same weights recalibrated, or
        # saved before the scale was recorded) would mis-sort every slice: not resumed.
        if (
            resumed is not None
            and not in_batch
            and resumed.scoring == cal.scoring
            and (resumed.score, resumed.uncertainty) != w.thresholds()
        ):
            w.set_thresholds(resumed.score, resumed.uncertainty)
            w.statusBar().showMessage(strings.THRESH_RESUMED)
        self.thresholds.show_thresholds(*w.thresholds())
        self.queue.set_enabled(True)
        self.queue.set_case_decision(self.case_record)
        self.queue.set_other_models(self._say_elsewhere(elsewhere))
        if self.reviewed:
            w.statusBar().showMessage(
                strings.STATUS_SESSION_RESUMED.format(count=len(self.reviewed))
            )
        self.refresh()

    def _say_elsewhere(self, elsewhere: dict[str, int]) -> str:
        if not elsewhere:
            return ""
        models = ", ".join(self.window.models.describe(sha) for sha in elsewhere)
        return strings.OTHER_MODEL_DECISIONS.format(count=sum(elsewhere.values()), models=models)

    def open_store(self) -> ReviewStore:
        """The review database (opened on first use), shared with the batch's case queue."""
        if self.store is None:
            self.store = ReviewStore.open_default()  # under paths.data_dir()
        return self.store

    def store_failed(self, exc: Exception) -> None:
        self.session = None
        self.queue.set_enabled(False)
        self.window.show_error(strings.ERROR_STORE_TITLE, strings.ERROR_STORE.format(reason=exc))

    def record_at(self, position: int) -> DecisionRecord | None:
        """The reviewer's current decision on the slice at this stack position."""
        results = self.window.results
        if not 0 <= position < len(results) or results[position] is None:
            return None
        return self.reviewed.get(results[position].scores.slice_index)

    # --- decisions ----------------------------------------------------------------------
    def decide(self, value: str) -> DecisionRecord | None:
        """Record the reviewer's decision on the slice on screen, then go to the next item."""
        w = self.window
        if self.session is None:
            w.statusBar().showMessage(strings.STATUS_NO_SESSION)
            return None
        position = w.state.slice
        result = w.results[position] if 0 <= position < len(w.results) else None
        model = w.decisions[position] if result is not None else None
        if result is None or model in (None, Decision.EMPTY):
            w.statusBar().showMessage(strings.STATUS_NOT_DECIDABLE.format(slice=position))
            return None
        listed = position in self.queue.shown_positions()
        following = self.queue.neighbour(position, 1) if listed else None
        record = self._record(result.scores.slice_index, value, model.value, self.queue.note())
        if record is None:
            return None
        self.reviewed[record.item_index] = record
        self.refresh()
        w.refresh_slice_info()
        w.statusBar().showMessage(
            strings.STATUS_DECIDED.format(
                slice=record.item_index,
                decision=strings.REVIEWER_WORDS[record.decision.value],
                reviewer=record.reviewer,
            )
        )
        self.decision_saved.emit(record)
        if following is not None:
            w.state.set_slice(following)
        return record

    def decide_case(self, value: str) -> DecisionRecord | None:
        """The reviewer's call on the whole case, beside the model's case decision."""
        w = self.window
        if self.session is None:
            w.statusBar().showMessage(strings.STATUS_NO_SESSION)
            return None
        model = w.case_result.case.decision.value if w.case_result is not None else "pending"
        record = self._record(0, value, model, self.queue.note(), item_kind="case")
        if record is None:
            return None
        self.show_case_record(record)
        w.statusBar().showMessage(
            strings.STATUS_CASE_DECIDED.format(
                decision=strings.REVIEWER_WORDS[record.decision.value], reviewer=record.reviewer
            )
        )
        self.decision_saved.emit(record)
        return record

    def _record(
        self, index: int, value: str, model: str, note: str, item_kind: str = "slice"
    ) -> DecisionRecord | None:
        assert self.session is not None
        self._log_thresholds()
        try:
            return self.session.record(
                index,
                value,
                model,
                note=note,
                reviewer=self.reviewer(),
                item_kind=item_kind,
                thresholds=Thresholds(*self.window.thresholds()),
            )
        except (ReviewStoreError, sqlite3.Error) as exc:
            self.store_failed(exc)
            return None

    def show_case_record(self, record: DecisionRecord) -> None:
        """The reviewer's latest call on the open case (made here or in the case queue)."""
        self.case_record = record
        self.queue.set_case_decision(record)

    def _note_committed(self, note: str) -> None:
        """Enter in the note field: a slice already decided gets the note now."""
        w = self.window
        current = self.record_at(w.state.slice)
        if current is None or self.session is None or note == current.note:
            return
        record = self._record(
            current.item_index, current.decision.value, current.model_decision, note
        )
        if record is not None:
            self.reviewed[record.item_index] = record
            self.refresh()
            w.refresh_slice_info()
            w.statusBar().showMessage(strings.STATUS_NOTE_SAVED.format(slice=record.item_index))

    def reviewer(self) -> str:
        return self.queue.reviewer() or default_reviewer()

    def _reviewer_changed(self, name: str) -> None:
        self.window.settings.set_reviewer(name)
        if self.session is not None:
            self.session.reviewer = name or default_reviewer()

    # --- the queue ----------------------------------------------------------------------
    def step_item(self, step: int) -> None:
        position = self.queue.neighbour(self.window.state.slice, step)
        if position is not None:
            self.window.state.set_slice(position)

    def _slice_changed(self, position: int) -> None:
        self.queue.select_position(position)
        record = self.record_at(position)
        self.queue.set_note(record.note if record is not None else "")

    def _filter_changed(self, kind: str) -> None:
        self.window.settings.set_queue_filter(kind)
        self.refresh()

    def refresh(self) -> None:
        """Queue, counts and preview from the window's current results and decisions."""
        w = self.window
        self.queue.set_items(queue_items(w.results, w.decisions, self.reviewed), w.state.slice)
        self.thresholds.set_counts(triage_counts(w.decisions))
        shown = [
            r.scores
            for r, d in zip(w.results, w.decisions, strict=True)
            if r is not None and d not in (None, Decision.EMPTY)
        ]
        uncertainties = np.array([s.unc_total for s in shown], dtype=float)
        if w.policy is not None:
            uncertainties = review_regardless(
                uncertainties, [s.anomaly_score for s in shown], w.policy
            )
        ood = False
        if w.case_result is not None and w.bundle is not None:
            ood = bool(ood_reasons(w.case_result.features, w.bundle.info.calibration.ood))
        self.thresholds.set_case_preview(case_coverage(w.decisions), uncertainties, ood)
        if self.validation is not None and w.policy is not None:
            preview = validation_preview(self.validation, w.policy)
            curve = review_regardless(
                self.validation.unc_total, self.validation.anomaly_score, w.policy
            )
            self.thresholds.set_validation_preview(preview, curve)
        else:
            self.thresholds.set_validation_preview(None, None)

    # --- thresholds ---------------------------------------------------------------------
    def _thresholds_edited(self, score: float, uncertainty: float) -> None:
        self.window.set_thresholds(score, uncertainty)
        self._log_timer.start()

    def _log_thresholds(self) -> None:
        """Put the thresholds in force into the session's audit trail (if they changed)."""
        self._log_timer.stop()
        if self.session is None or self.window.policy is None:
            return
        score, uncertainty = self.window.thresholds()
        if not (math.isnan(score) or math.isnan(uncertainty)):
            try:
                scoring = self.window.bundle.info.calibration.scoring if self.window.bundle else ""
                self.session.set_thresholds(score, uncertainty, scoring)
            except (ReviewStoreError, sqlite3.Error) as exc:
                self.store_failed(exc)

    # --- report -------------------------------------------------------------------------
    def export_report(self) -> None:
        """File > Export report: ask where, and whether identifiers may go in; then write."""
        w = self.window
        problem = export_problem(w)
        if problem is not None:
            w.show_error(strings.ERROR_EXPORT_TITLE, problem)
            return
        dialog = ExportDialog(w, w.settings.report_folder(), default_report_name(w))
        dialog.accepted.connect(
            lambda: self.write_report(dialog.path(), dialog.include_identifiers())
        )
        self.export_dialog = dialog
        dialog.open()

    def write_report(self, path: Path, include_identifiers: bool = False) -> ReportWorker | None:
        """Gather the report's data here (fast) and write it in a thread (slow for a PDF)."""
        w = self.window
        problem = export_problem(w)
        if problem is not None:
            w.show_error(strings.ERROR_EXPORT_TITLE, problem)
            return None
        self._log_thresholds()
        data = build_report_data(w, self.reviewed, self.case_record)
        worker = ReportWorker(data, Path(path), include_identifiers, self)
        worker.written.connect(self._report_written)
        worker.finished.connect(
            lambda: self._report_workers.remove(worker) if worker in self._report_workers else None
        )
        self._report_workers.append(worker)
        w.statusBar().showMessage(strings.STATUS_EXPORTING.format(name=Path(path).name))
        worker.start()
        return worker

    def _report_written(self, path: str, error: str) -> None:
        if error:
            self.window.show_error(strings.ERROR_EXPORT_TITLE, error)
        else:
            self.window.statusBar().showMessage(strings.STATUS_EXPORTED.format(path=path))
            self.window.settings.set_report_folder(Path(path).parent)
        self.report_done.emit(path, error)

    # --- closing ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Finish writing reports, log the last thresholds, close the database."""
        for worker in list(self._report_workers):
            worker.wait()
        self._report_workers.clear()
        self._log_thresholds()
        self.session = None
        if self.store is not None:
            self.store.close()
            self.store = None
