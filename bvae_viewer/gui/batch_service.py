"""A folder of cases opened as a batch: its cases, its worker, and the case queue's contents.

It shows a case through the analysis service: at once when the batch analysed it (no model
run), else by the window's own run (open_case), streaming as for any volume, while the batch
waits. Whole-case decisions are batch_review's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from bvae_viewer.analysis.triage import TriagePolicy
from bvae_viewer.gui import review_strings, strings
from bvae_viewer.gui.analysis_service import AnalysisService
from bvae_viewer.gui.batch_cases import CaseSlot, case_items, redecide, settle
from bvae_viewer.gui.batch_worker import AnalysedCase, BatchSummary, BatchWorker
from bvae_viewer.gui.case_decisions import earlier_decision
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.case_queue_panel import CaseQueuePanel
from bvae_viewer.gui.review_docks import ReviewDocks
from bvae_viewer.gui.review_session import ReviewSessionService
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.gui.worker import RunSummary
from bvae_viewer.pipeline.case import LoadedCase
from bvae_viewer.review.batch import (
    CASE_FILTERS,
    BatchError,
    CaseItem,
    CaseStatus,
    find_batch_cases,
)
from bvae_viewer.review.store import ReviewStoreError


class BatchService(QObject):
    """Owns the open batch: its cases, its worker, the Cases tab of the queue dock."""

    batch_done = Signal(object)  # BatchSummary
    message = Signal(str)
    error = Signal(str, str)  # dialog title, sentence

    def __init__(
        self,
        doc: CaseDocument,
        analysis: AnalysisService,
        session: ReviewSessionService,
        docks: ReviewDocks,
        settings: GuiSettings,
        open_case: Callable[[Path], None],
        unattended: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(docks)
        self.doc, self.analysis, self.session, self.docks = doc, analysis, session, docks
        self.settings = settings
        self.open_case = open_case  # the window analyses a case itself (opening waits on a model)
        self.unattended = unattended  # `--screenshot`: nobody chooses a case
        self.folder: Path | None = None
        self.slots: list[CaseSlot] = []
        self.bundle = None
        self.worker: BatchWorker | None = None
        self._workers: list[BatchWorker] = []
        self.selected: int | None = None
        self._opened_any = False
        self._window_run: tuple[int, object] | None = None  # position, the window's worker
        self._thresholds: tuple[float, float] | None = None
        self._batch_over = True  # the worker has said done (it may still be winding down)
        # Parented (hidden) from the start: a widget without a parent would outlive the
        # window and be deleted by Python after the application, which Qt does not survive.
        self.panel = CaseQueuePanel(settings.case_filter(CASE_FILTERS), docks.tabs)
        self.panel.hide()  # until a batch opens: then it becomes the first tab
        self.panel.case_chosen.connect(self.choose)
        self.panel.filter_changed.connect(self._filter_changed)
        self.panel.stop_requested.connect(self.stop)
        analysis.started.connect(self._window_run_starting)
        analysis.done.connect(self._window_run_done)
        doc.triage_changed.connect(self._maybe_retriage)

    # --- opening ------------------------------------------------------------------------
    def open_folder(self, folder: Path) -> bool:
        """Start a batch over the cases of a folder; False (and one sentence) if it has none."""
        folder = Path(folder)
        try:
            cases = find_batch_cases(folder)
        except (BatchError, OSError) as exc:
            self.error.emit(strings.BATCH_ERROR_TITLE, str(exc))
            return False
        if not cases:
            self.error.emit(strings.BATCH_ERROR_TITLE, strings.BATCH_EMPTY.format(path=folder))
            return False
        self._retire()
        self.folder = folder
        self.slots = [CaseSlot(c) for c in cases]
        self.doc.pinned = {c.source for c in cases}  # the batch keeps one set of thresholds
        self.selected, self._opened_any = None, False
        self.settings.set_last_folder(folder)
        self.docks.show_case_tab(self.panel, strings.TAB_CASES)
        self.panel.set_suspended("")
        self.panel.set_folder(strings.BATCH_FOLDER.format(name=folder.name, count=len(cases)))
        d, a = self.doc, self.analysis
        worker = BatchWorker(cases, d.model_dir, d.bundle, a.device, a.samples)
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
        self.message.emit(strings.BATCH_STARTED.format(count=len(cases)))
        worker.start()
        self.refresh()
        return True

    def reopen(self, shown: Path | None) -> bool:
        """The model changed: analyse the open batch again with it (from the result cache
        where that holds a case). True when ``shown`` (the case on screen) is one of the
        batch's and the batch shows it again; False when the caller must see to it itself."""
        if self.folder is None or not self.open_folder(self.folder):
            return False
        position = next((i for i, s in enumerate(self.slots) if s.case.source == shown), None)
        if position is None:
            return False
        self.choose(position)
        return True

    def active(self) -> bool:
        """The Cases tab is in front: the decision and queue keys act on cases."""
        return bool(self.slots) and self.docks.tabs.currentWidget() is self.panel

    def leave_for(self, source: Path) -> None:
        """A volume is being opened: unless it is the case chosen in the batch, the batch
        is suspended, so no key or button of the Cases tab decides a case not on screen."""
        chosen = self.slots[self.selected] if self.selected is not None else None
        if chosen is not None and chosen.case.source == Path(source):
            return
        if not self.slots:
            return
        self._leave_window_run()
        self.selected = None
        self.panel.set_suspended(review_strings.BATCH_SUSPENDED)
        self.panel.select_position(None)
        self.panel.set_note("")
        if self.docks.tabs.currentWidget() is self.panel:  # the keys act on the slices shown
            self.docks.tabs.setCurrentWidget(self.docks.queue)

    def analyse_again(self, source: Path) -> bool:
        """Show the chosen batch case again, from its batch results or by a window run of it
        (True); False when ``source`` is not that case."""
        if self.selected is None or self.slots[self.selected].case.source != Path(source):
            return False
        self.choose(self.selected)
        return True

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

    def _window_run_starting(self, _source: Path) -> None:
        """The window analyses a volume: the batch waits, so the case on screen comes first
        and the two never split the CPU. Any end of that run resumes it."""
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
        if self.doc.bundle is None:
            self.doc.adopt_model(bundle, device_label)  # thresholds panel, status bar

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
        if not self._opened_any and not self.unattended():
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
            self.error.emit(title, message)

    def _on_batch_done(self, summary: BatchSummary) -> None:
        if not self._current():
            return
        self._batch_over = True
        for slot in self.slots:
            if slot.status in (CaseStatus.PENDING, CaseStatus.ANALYSING) and not slot.in_window:
                slot.status = CaseStatus.STOPPED
        self.refresh()
        self.message.emit(
            strings.BATCH_DONE.format(
                analysed=summary.analysed, failed=summary.failed, total=summary.total
            )
            if not summary.cancelled
            else strings.BATCH_CANCELLED
        )
        self.batch_done.emit(summary)
        if self.unattended():
            self._show_first()

    def _show_first(self) -> None:
        """`--screenshot FOLDER`: show the first analysed case of the queue (which then saves)."""
        done = [p for p in self.panel.shown_positions() if self.slots[p].analysed is not None]
        if done:
            self.choose(done[0])
        else:
            self.error.emit(strings.BATCH_ERROR_TITLE, strings.BATCH_NOTHING_ANALYSED)

    # --- a case's results -----------------------------------------------------------------
    def _loaded(self, slot: CaseSlot, loaded: LoadedCase) -> None:
        """Known content hash: find the reviewer's earlier decision on the case."""
        slot.loaded = loaded
        if self.bundle is None:
            return
        try:
            slot.reviewer = earlier_decision(
                self.session.open_store(), slot, self.bundle.info.sha256
            )
        except (ReviewStoreError, sqlite3.Error) as exc:
            self.session.store_failed(exc)

    def _finish(self, slot: CaseSlot, analysed: AnalysedCase) -> None:
        if slot.loaded is not analysed.case:
            self._loaded(slot, analysed.case)
        settle(slot, analysed, self.bundle.info.calibration, self.policy())

    def policy(self) -> TriagePolicy:
        if self.doc.policy is not None:
            return self.doc.policy
        return TriagePolicy.from_calibration(self.bundle.info.calibration)

    def _maybe_retriage(self) -> None:
        """New thresholds re-decide every analysed case from its kept scores; no model run."""
        thresholds = self.doc.thresholds()
        if thresholds == self._thresholds or not self.slots or self.bundle is None:
            return
        self._thresholds = thresholds
        redecide(self.slots, self.policy())
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
        slot, d = self.slots[position], self.doc
        self.selected, self._opened_any = position, True
        self.panel.set_suspended("")
        self.panel.select_position(position)
        self.panel.set_note(slot.reviewer.note if slot.reviewer is not None else "")
        if slot.status == CaseStatus.FAILED:
            self.message.emit(strings.BATCH_CANNOT_OPEN.format(reason=slot.reason))
            if d.case is not None:  # so the maps are not taken for this case's
                shown = strings.BATCH_STILL_SHOWN.format(name=self._name_of(d.case))
                self.panel.detail.setText(f"{self.panel.detail.text()} {shown}")
            return
        if slot.analysed is not None:
            if d.case is not slot.analysed.case:
                self._leave_window_run()
                a = slot.analysed
                self.analysis.show_analysed(
                    a.case, a.results, self.bundle, a.device_label, a.timings, a.from_cache
                )
            return
        if slot.in_window:
            return  # already being analysed on screen
        self._leave_window_run()
        slot.in_window, slot.status = True, CaseStatus.ANALYSING
        if self.worker is not None:
            self.worker.take(position)  # the window's run pauses the batch meanwhile
        self.open_case(slot.case.source)
        self._window_run = (position, self.analysis.worker)
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
        slot, d = self.slots[position], self.doc
        ours = self.analysis.worker is run
        complete = (
            ours
            and not summary.cancelled
            and not summary.failed
            and d.case is not None
            and d.case.source == slot.case.source
            and d.complete()
        )
        if complete:
            slot.in_window = False
            analysed = AnalysedCase(
                d.case, tuple(d.results), d.device_name, summary.timings, summary.from_cache
            )
            self._finish(slot, analysed)
            self.refresh()
        elif ours and summary.failed:  # unreadable after all: the window said why
            slot.in_window, slot.status = False, CaseStatus.FAILED
            slot.reason = summary.error or strings.BATCH_UNREADABLE
            self.refresh()
        else:
            self._give_back(slot)

    def _filter_changed(self, kind: str) -> None:
        self.settings.set_case_filter(kind)
        self.refresh()
