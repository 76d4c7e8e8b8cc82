"""Analysing a volume for the window: a worker thread per run, its results into the document.

Only the latest run writes the document; a replaced or cancelled run's late signals are
ignored. A case analysed elsewhere (in a batch) is shown the same way, without a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from bvae_viewer.analysis.cache_store import ResultCache
from bvae_viewer.analysis.maps import SliceResult
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.worker import AnalysisWorker, RunSummary
from bvae_viewer.pipeline.case import LoadedCase
from bvae_viewer.pipeline.model import Bundle


class AnalysisService(QObject):
    """Starts, cancels and reaps the window's analysis runs; writes the CaseDocument."""

    started = Signal(object)  # Path: a run of this volume begins
    stage = Signal(str)  # what the run is doing, for the status bar
    progress = Signal(int, int)  # done, total
    failed = Signal(str, str)  # dialog title, one clear sentence
    done = Signal(object)  # RunSummary of the run on screen, always its last word

    def __init__(
        self, doc: CaseDocument, device: str = "auto", samples: int = 5, parent=None
    ) -> None:
        super().__init__(parent)
        self.doc = doc
        self.device, self.samples = device, samples
        self.cache: ResultCache | None = None  # None: the user's result cache
        self.worker: AnalysisWorker | None = None
        self._workers: list[AnalysisWorker] = []  # running or finishing; joined on shutdown
        self._loaded_case = False  # the latest run put its volume on screen

    def start(self, path: Path, case: LoadedCase | None = None) -> AnalysisWorker:
        """Load and analyse a file or DICOM folder (or a case loaded already); any previous
        run is cancelled."""
        self.retire()
        self._loaded_case = False
        d = self.doc
        worker = AnalysisWorker(
            Path(path),
            d.model_dir,
            d.bundle,
            self.device,
            self.samples,
            case=case,
            cache=self.cache,
        )
        worker.stage.connect(self._on_stage)
        worker.loaded.connect(self._on_loaded)
        worker.model_ready.connect(self._on_model)
        worker.slice_done.connect(self._on_slice)
        worker.progress.connect(self._on_progress)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_done)
        worker.finished.connect(self._reap)
        self.worker = worker
        self._workers.append(worker)
        self.started.emit(worker.source)
        worker.start()
        return worker

    # --- the worker's signals (ignored when they come from a cancelled, replaced run) -------
    def _ours(self) -> bool:
        return self.worker is not None and self.sender() is self.worker

    def _on_stage(self, text: str) -> None:
        if self._ours():
            self.stage.emit(text)

    def _on_loaded(self, case: LoadedCase) -> None:
        if self._ours():
            self._loaded_case = True
            self.doc.load(case)

    def _on_model(self, bundle: Bundle, device_label: str, from_cache: bool) -> None:
        if self._ours():
            self.doc.adopt_model(bundle, device_label, from_cache)

    def _on_slice(self, result: SliceResult) -> None:
        if self._ours():
            self.doc.add_slice(result)

    def _on_progress(self, done: int, total: int) -> None:
        if self._ours():
            self.progress.emit(done, total)

    def _on_failed(self, title: str, message: str) -> None:
        if self._ours():
            self.failed.emit(title, message)

    def _on_done(self, summary: RunSummary) -> None:
        if self._ours():
            self._finish(summary)

    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def running_source(self) -> Path | None:
        """The volume being loaded or analysed now (the one the reader asked for last)."""
        return self.worker.source if self.running() else None

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def retire(self) -> None:
        """Stop listening to the current run (it is cancelled and reaped in the background)."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker = None

    def _reap(self) -> None:
        self._workers = [w for w in self._workers if not w.isFinished()]

    def show_analysed(
        self,
        case: LoadedCase,
        results: Sequence[SliceResult],
        bundle: Bundle,
        device_label: str,
        timings: dict[str, float] | None = None,
        from_cache: bool = False,
    ) -> None:
        """Show a case whose every slice was analysed elsewhere (in a batch): no model run."""
        self.retire()
        self._loaded_case = True
        self.doc.load(case)
        self.doc.adopt_model(bundle, device_label, from_cache)
        for result in results:
            self.doc.add_slice(result)
        summary = RunSummary(
            analysed=len(results), timings=dict(timings or {}), from_cache=from_cache
        )
        self._finish(summary)

    def _finish(self, summary: RunSummary) -> None:
        self.doc.retriage()  # with every slice in: the case call and the OOD check
        if self._loaded_case:  # else the case on screen is another run's, and stays as it was
            self.doc.run_ended("failed" if summary.failed else "cancelled")
        self.done.emit(summary)

    def shutdown(self) -> None:
        """Cancel every run and wait for its thread: nothing keeps running after the window."""
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            worker.wait()
        self._workers.clear()
        self.worker = None
