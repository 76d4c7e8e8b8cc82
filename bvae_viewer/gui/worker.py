"""Load -> preprocess -> inference off the GUI thread, results streamed slice by slice.

The run itself is bvae_viewer.pipeline's (the one `analyze` reads to the end); this thread
only turns it into signals.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from bvae_viewer.analysis.cache_store import ResultCache, default_cache
from bvae_viewer.gui import strings
from bvae_viewer.io import VolumeError
from bvae_viewer.pipeline.case import LoadedCase, load_case, outward_order
from bvae_viewer.pipeline.model import MODEL_ERRORS, RUN_ERRORS, Bundle, load_model, open_engine
from bvae_viewer.pipeline.run import CaseRun


@dataclass
class RunSummary:
    """How a run ended, for the status bar and for tests."""

    cancelled: bool = False
    failed: bool = False
    analysed: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    from_cache: bool = False  # the slices were read from the result cache: no model ran
    error: str = ""  # the sentence said when it failed


def stage_text(source: Path):
    """The status bar's words for the pipeline's load steps."""
    words = {
        "load": strings.STATUS_LOADING.format(name=source.name),
        "preprocess": strings.STATUS_PREPROCESSING,
    }
    return lambda step: words.get(step, step)


class AnalysisWorker(QThread):
    """One volume, one run; cancel() stops it within one engine batch."""

    stage = Signal(str)
    loaded = Signal(object)  # LoadedCase
    # Bundle, device label (where the results are or were computed), from the result cache
    model_ready = Signal(object, str, bool)
    slice_done = Signal(object)  # SliceResult (position, maps, scores)
    progress = Signal(int, int)  # done, total
    failed = Signal(str, str)  # dialog title, one clear sentence
    done = Signal(object)  # RunSummary, always emitted last

    def __init__(
        self,
        source: Path,
        model_dir: Path,
        bundle: Bundle | None = None,
        device: str = "auto",
        samples: int = 5,
        parent=None,
        case: LoadedCase | None = None,
        cache: ResultCache | None = None,
    ) -> None:
        """case: already loaded (nothing is read); cache: where results are looked up and
        kept (None: the user's result cache)."""
        super().__init__(parent)
        self.source = Path(source)
        self.case, self.cache = case, cache
        self.model_dir = Path(model_dir)
        self.bundle = bundle
        self.device = device
        self.samples = samples
        self.order: list[int] = []
        self.device_label = ""
        self._cancel = threading.Event()
        self.summary = RunSummary()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        try:
            self._run()
        except RUN_ERRORS as exc:  # already one clear sentence
            self._fail(strings.ERROR_ANALYSIS_TITLE, str(exc))
        except Exception as exc:  # the app must survive any failure of a run
            self._fail(strings.ERROR_ANALYSIS_TITLE, strings.ERROR_ANALYSIS.format(reason=exc))
        finally:
            self.summary.cancelled = self._cancel.is_set()
            self.done.emit(self.summary)

    def _run(self) -> None:
        say = stage_text(self.source)
        try:
            case = self.case or load_case(self.source, lambda step: self.stage.emit(say(step)))
        except VolumeError as err:
            self._fail(strings.ERROR_TITLE, str(err))
            return
        timings = self.summary.timings
        timings.update(case.timings)
        self.loaded.emit(case)
        if self._cancel.is_set() or not self._ensure_bundle():
            return
        t2 = time.perf_counter()
        engine = open_engine(self.bundle, device=self.device, samples=self.samples)
        self.order = outward_order(len(case.stack), case.start)
        self.stage.emit(strings.STATUS_CACHE_LOOKUP)
        cache = self.cache if self.cache is not None else default_cache()
        run = CaseRun(engine, case, self.order, self._cancel, cache)
        self.device_label = run.device_label
        self.summary.from_cache = run.from_cache
        self.model_ready.emit(self.bundle, run.device_label, run.from_cache)
        total = len(case.stack)
        self.progress.emit(0, total)
        for result in run:
            self.summary.analysed += 1
            self.slice_done.emit(result)
            self.progress.emit(self.summary.analysed, total)
        timings["cache_read" if run.from_cache else "inference"] = time.perf_counter() - t2
        if not self._cancel.is_set():  # a cancelled run has slices missing: nothing to keep
            run.finish()  # stores a complete fresh run, off the GUI thread (some 25 MB)

    def _ensure_bundle(self) -> bool:
        if self.bundle is not None:
            return True
        self.stage.emit(strings.STATUS_MODEL)
        try:
            self.bundle = load_model(self.model_dir)
        except MODEL_ERRORS as exc:
            self._fail(strings.ERROR_ANALYSIS_TITLE, strings.ERROR_MODEL.format(reason=exc))
            return False
        return True

    def _fail(self, title: str, message: str) -> None:
        self.summary.failed, self.summary.error = True, message
        self.failed.emit(title, message)
