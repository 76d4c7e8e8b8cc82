"""A folder of cases opened as a batch: the case queue, its worker, and case decisions.

It observes the window (analysis_done, triage_changed) and the review controller
(decision_saved), and shows a case through MainWindow.show_analysed (analysed in the batch:
no model run) or MainWindow.open_path (not analysed yet: the window analyses it, streaming
as for any volume, while the batch waits).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from bvae_viewer.analysis.triage import TriagePolicy
from bvae_viewer.gui import strings
from bvae_viewer.gui.batch_cases import CaseSlot, case_items, redecide, settle
from bvae_viewer.gui.batch_worker import AnalysedCase, BatchSummary, BatchWorker
from bvae_viewer.gui.case_decisions import earlier_decision, record_case
from bvae_viewer.gui.case_queue_panel import CaseQueuePanel
from bvae_viewer.pipeline.case import LoadedCase
from bvae_viewer.review.batch import (
    CASE_FILTERS,
    BatchError,
    CaseItem,
    CaseStatus,
    find_batch_cases,
)
from bvae_viewer.review.store import DecisionRecord, ReviewStoreError, Thresholds

if TYPE_CHECKING:
    from bvae_viewer.gui.main_window import MainWindow
    from bvae_viewer.gui.worker import AnalysisWorker, RunSummary


class BatchController(QObject):
    """Owns the open batch: its cases, its worker, the Cases tab of the queue dock."""

    batch_done = Signal(object)  # BatchSummary
    case_decided = Signal(object)  # DecisionRecord

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.review = window.review
        self.folder: Path | None = None
        self.slots: list[CaseSlot] = []
        self.bundle = None
        self.worker: BatchWorker | None = None
        self._workers: list[BatchWorker] = []
        self.selected: int | None = None
        self._opened_any = False
        self._window_run: tuple[int, AnalysisWorker | None] | None = None
        self._thresholds: tuple[float, float] | None = None
        self._batch_over = True  # the worker has said done (it may still be winding down)
        # Parented (hidden) from the start: a widget without a parent would outlive the
        # window and be deleted by Python after the application, which Qt does not survive.
        self.panel = CaseQueuePanel(window.settings.case_filter(CASE_FILTERS), self.review.tabs)
        self.panel.hide()  # until a batch opens: then it becomes the first tab
        p = self.panel
        p.case_chosen.connect(self.choose)
        p.decision_requested.connect(self.decide)
        p.note_committed.connect(self._note_committed)
        p.filter_changed.connect(self._filter_changed)
        p.stop_requested.connect(self.stop)
        window.analysis_done.connect(self._window_run_done)
        window.triage_changed.connect(self._maybe_retriage)
        self.review.decision_saved.connect(self._review_saved)
        self.review.case_keys = self  # A/N/D/J/K act on cases while the Cases tab is in front

    # --- opening ------------------------------------------------------------------------
    def open_folder(self, folder: Path) -> bool:
        """Start a batch over the cases of a folder; False (and one sentence) if it has none."""
        folder = Path(folder)
        try:
            cases = find_batch_cases(folder)
        except (BatchError, OSError) as exc:
            self.window.show_error(strings.BATCH_ERROR_TITLE, str(exc))
            return False
        if not cases:
            self.window.show_error(
                strings.BATCH_ERROR_TITLE, strings.BATCH_EMPTY.format(path=folder)
            )
            return False
        self._retire()
        self.folder = folder
        self.slots = [CaseSlot(c) for c in cases]
        self.selected, self._opened_any = None, False
        self.window.settings.set_last_folder(folder)
        self.review.show_case_tab(self.panel, strings.TAB_CASES)
        self.panel.set_folder(strings.BATCH_FOLDER.format(name=folder.name, count=len(cases)))
        w = self.window
        worker = BatchWorker(cases, w.model_dir, w.bundle, w.device, w.samples)
        worker.model_ready.connect(self._on_model)
        worker.case_started.connect(self._on_started)
        worker.case_loaded.connect(self._on_loaded)
        worker.case_done.connect(self._on_done)
        worker.case_failed.connect(self._on_failed)
        worker.case_released.connect(self._on_released)
        worker.failed.connect(self._on_batch_failed)
        worker.done.connect(self._on_batch_done)
        worker.finished.connect(self._reap)
        self.worker, self._batch_over = worker, False
        self._workers.append(worker)
        w.statusBar().showMessage(strings.BATCH_STARTED.format(count=len(cases)))
        worker.start()
        self.refresh()
        return True

    def reopen(self, shown: Path | None) -> bool:
        """The window's model changed: analyse the open batch again with it (from the result
        cache where that holds a case). True when ``shown`` (the case on screen) is one of the
        batch's and the batch shows it again; False when the window must see to it itself."""
        if self.folder is None or not self.open_folder(self.folder):
            return False
        position = next((i for i, s in enumerate(self.slots) if s.case.source == shown), None)
        if position is None:
            return False
        self.choose(position)
        return True

    def holds(self, case: LoadedCase | None) -> bool:
        """Whether a case on screen belongs to the open batch (which keeps its thresholds)."""
        return case is not None and any(s.case.source == case.source for s in self.slots)

    def active(self) -> bool:
        """The Cases tab is in front: the decision and queue keys act on cases."""
        return bool(self.slots) and self.review.tabs.currentWidget() is self.panel

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.panel.stop_button.setEnabled(False)

    def _retire(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.worker = None
        self._window_run = None

    def _reap(self) -> None:
        self._workers = [w for w in self._workers if not w.isFinished()]

    def window_run_starting(self) -> None:
        """The window analyses a volume: the batch waits, so the case on screen comes first
        and the two never split the CPU. Any end of that run (analysis_done) resumes it."""
        if self.worker is not None:
            self.worker.pause()

    def shutdown(self) -> None:
        """Stop the batch and wait for its thread: nothing keeps running after the window."""
        for worker in list(self._workers):
            worker.cancel()
        for worker in list(self._workers):
            worker.wait()
        self._workers.clear()
        self.worker = None

    # --- the worker's signals (ignored when they come from a replaced batch) -----------------
    def _current(self) -> bool:
        return self.worker is not None and self.sender() is self.worker

    def _on_model(self, bundle, device_label: str) -> None:
        if not self._current():
            return
        self.bundle = bundle
        if self.window.bundle is None:
            self.window.adopt_model(bundle, device_label)  # thresholds panel, status bar

    def _on_started(self, position: int) -> None:
        if self._current() and not self.slots[position].in_window:
            self.slots[position].status = CaseStatus.ANALYSING
            self.refresh()

    def _on_loaded(self, position: int, loaded: LoadedCase) -> None:
        if self._current():
            self._loaded(self.slots[position], loaded)
            self.refresh()

    def _on_done(self, position: int, analysed: AnalysedCase) -> None:
        if not self._current():
            return
        self._finish(self.slots[position], analysed)
        self.refresh()
        if not self._opened_any and self.window.screenshot_path is None:
            self.choose(position)  # something to look at while the rest is analysed

    def _on_failed(self, position: int, reason: str) -> None:
        if self._current():
            slot = self.slots[position]
            slot.status, slot.reason = CaseStatus.FAILED, reason
            self.refresh()

    def _on_released(self, position: int) -> None:
        slot = self.slots[position]
        if self._current() and not slot.in_window and slot.status == CaseStatus.ANALYSING:
            slot.status = CaseStatus.STOPPED
            self.refresh()

    def _on_batch_failed(self, title: str, message: str) -> None:
        if self._current():
            self.window.show_error(title, message)

    def _on_batch_done(self, summary: BatchSummary) -> None:
        if not self._current():
            return
        self._batch_over = True
        for slot in self.slots:
            if slot.status in (CaseStatus.PENDING, CaseStatus.ANALYSING) and not slot.in_window:
                slot.status = CaseStatus.STOPPED
        self.refresh()
        self.window.statusBar().showMessage(
            strings.BATCH_DONE.format(
                analysed=summary.analysed, failed=summary.failed, total=summary.total
            )
            if not summary.cancelled
            else strings.BATCH_CANCELLED
        )
        self.batch_done.emit(summary)
        if self.window.screenshot_path is not None:
            self._screenshot_first()

    def _screenshot_first(self) -> None:
        """`--screenshot FOLDER`: show the first analysed case of the queue (which then saves)."""
        done = [p for p in self.panel.shown_positions() if self.slots[p].analysed is not None]
        if done:
            self.choose(done[0])
        else:
            self.window.show_error(strings.BATCH_ERROR_TITLE, strings.BATCH_NOTHING_ANALYSED)

    # --- a case's results and decision ----------------------------------------------------
    def _loaded(self, slot: CaseSlot, loaded: LoadedCase) -> None:
        """Known content hash: find the reviewer's earlier decision on the case."""
        slot.loaded = loaded
        if self.bundle is None:
            return
        try:
            slot.reviewer = earlier_decision(
                self.review.open_store(), slot, self.bundle.info.sha256
            )
        except (ReviewStoreError, sqlite3.Error) as exc:
            self.review.store_failed(exc)

    def _finish(self, slot: CaseSlot, analysed: AnalysedCase) -> None:
        if slot.loaded is not analysed.case:
            self._loaded(slot, analysed.case)
        settle(slot, analysed, self.bundle.info.calibration, self._policy())

    def _policy(self) -> TriagePolicy:
        if self.window.policy is not None:
            return self.window.policy
        return TriagePolicy.from_calibration(self.bundle.info.calibration)

    def _maybe_retriage(self) -> None:
        """New thresholds re-decide every analysed case from its kept scores; no model run."""
        thresholds = self.window.thresholds()
        if thresholds == self._thresholds or not self.slots or self.bundle is None:
            return
        self._thresholds = thresholds
        redecide(self.slots, self._policy())
        self.refresh()

    def items(self) -> list[CaseItem]:
        """The case queue in review order."""
        return case_items(self.slots)

    def refresh(self) -> None:
        analysed = sum(s.status == CaseStatus.DONE for s in self.slots)
        failed = sum(s.status == CaseStatus.FAILED for s in self.slots)
        running = self.worker is not None and not self._batch_over
        self.panel.set_progress(analysed, failed, len(self.slots), running)
        self.panel.set_items(self.items(), self.selected)

    # --- showing a case -------------------------------------------------------------------
    def choose(self, position: int) -> None:
        """Show a case in the six maps: at once if analysed, else analysed by the window."""
        if not 0 <= position < len(self.slots):
            return
        slot, w = self.slots[position], self.window
        self.selected, self._opened_any = position, True
        self.panel.select_position(position)
        self.panel.set_note(slot.reviewer.note if slot.reviewer is not None else "")
        if slot.status == CaseStatus.FAILED:
            w.statusBar().showMessage(strings.BATCH_CANNOT_OPEN.format(reason=slot.reason))
            if w.case is not None:  # so the maps are not taken for this case's
                shown = strings.BATCH_STILL_SHOWN.format(name=self._name_of(w.case))
                self.panel.detail.setText(f"{self.panel.detail.text()} {shown}")
            return
        if slot.analysed is not None:
            if w.case is not slot.analysed.case:
                self._leave_window_run()
                a = slot.analysed
                w.show_analysed(
                    a.case, a.results, self.bundle, a.device_label, a.timings, a.from_cache
                )
            return
        if slot.in_window:
            return  # already being analysed on screen
        self._leave_window_run()
        slot.in_window, slot.status = True, CaseStatus.ANALYSING
        if self.worker is not None:
            self.worker.take(position)  # open_path pauses the batch while the window runs
        w.open_path(slot.case.source, remember=False)
        self._window_run = (position, w.worker)
        self.refresh()

    def _name_of(self, case: LoadedCase) -> str:
        slot = next((s for s in self.slots if s.case.source == case.source), None)
        return slot.case.name if slot is not None else case.source.name

    def _leave_window_run(self) -> None:
        """The case the window was analysing is left unfinished: back to the batch."""
        if self._window_run is None:
            return
        position, _run = self._window_run
        self._window_run = None
        self._give_back(self.slots[position])

    def _give_back(self, slot: CaseSlot) -> None:
        slot.in_window = False
        if slot.status != CaseStatus.DONE:
            queued = self.worker is not None and self.worker.requeue(self.slots.index(slot))
            slot.status = CaseStatus.PENDING if queued else CaseStatus.STOPPED
        if self.worker is not None:
            self.worker.resume()
        self.refresh()

    def _window_run_done(self, summary: RunSummary) -> None:
        """A window run ended (the batch goes on); a batch case's results join the batch."""
        run_of_batch, self._window_run = self._window_run, None
        if run_of_batch is not None:
            self._settle_window_run(run_of_batch, summary)
        if self.worker is not None:
            self.worker.resume()

    def _settle_window_run(self, run_of_batch: tuple, summary: RunSummary) -> None:
        position, run = run_of_batch
        slot, w = self.slots[position], self.window
        ours = w.worker is run
        complete = (
            ours
            and not summary.cancelled
            and not summary.failed
            and w.case is not None
            and w.case.source == slot.case.source
            and bool(w.results)
            and all(r is not None for r in w.results)
        )
        if complete:
            slot.in_window = False
            analysed = AnalysedCase(
                w.case, tuple(w.results), w.device_name, summary.timings, summary.from_cache
            )
            self._finish(slot, analysed)
            self.refresh()
        elif ours and summary.failed:  # unreadable after all: the window said why
            slot.in_window, slot.status = False, CaseStatus.FAILED
            slot.reason = w.last_error or strings.BATCH_UNREADABLE
            self.refresh()
        else:
            self._give_back(slot)

    # --- decisions ------------------------------------------------------------------------
    def decide(self, value: str) -> DecisionRecord | None:
        """The reviewer's call on the selected case, beside the model's; then the next case."""
        w = self.window
        slot = self.slots[self.selected] if self.selected is not None else None
        if slot is None:
            w.statusBar().showMessage(strings.BATCH_NO_CASE)
            return None
        if slot.status == CaseStatus.FAILED:
            w.statusBar().showMessage(strings.BATCH_NOT_DECIDABLE.format(reason=slot.reason))
            return None
        following = self.panel.neighbour(self.selected, 1)
        listed = self.selected in self.panel.shown_positions()
        record = self._record(slot, value, self.panel.note())
        if record is not None and listed and following is not None:
            self.choose(following)
        return record

    def _record(self, slot: CaseSlot, value: str, note: str) -> DecisionRecord | None:
        w = self.window
        if slot.loaded is None or not slot.loaded.fingerprint or self.bundle is None:
            w.statusBar().showMessage(strings.BATCH_NOT_LOADED.format(name=slot.case.name))
            return None
        try:
            record = record_case(
                self.review.open_store(),
                slot,
                self.bundle.info.sha256,
                value,
                note,
                self.review.reviewer(),
                Thresholds(*w.thresholds()),
            )
        except (ReviewStoreError, sqlite3.Error) as exc:
            self.review.store_failed(exc)
            return None
        slot.reviewer = record
        if w.case is not None and w.case.fingerprint == slot.loaded.fingerprint:
            self.review.show_case_record(record)  # the slice tab's "Whole case" line agrees
        self.refresh()
        w.statusBar().showMessage(
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
        if self.selected is None:
            return
        slot = self.slots[self.selected]
        if slot.reviewer is not None and note != slot.reviewer.note:
            self._record(slot, slot.reviewer.decision.value, note)

    def _review_saved(self, record: DecisionRecord) -> None:
        """A whole-case decision made from the slice tab shows in the case queue too."""
        case = self.window.case
        if record.item_kind != "case" or case is None:
            return
        for slot in self.slots:
            if slot.loaded is not None and slot.loaded.fingerprint == case.fingerprint:
                slot.reviewer = record
        self.refresh()

    def step(self, step: int) -> None:
        """J/K on the case queue: the next or previous listed case."""
        position = self.panel.neighbour(self.selected, step)
        if position is not None:
            self.choose(position)

    def _filter_changed(self, kind: str) -> None:
        self.window.settings.set_case_filter(kind)
        self.refresh()
