"""The batch worker: every case of a folder through the model, one case at a time.

One thread and one engine for the whole batch (the model is loaded once). A case that cannot
be read is reported with its reason and the batch goes on. The window may take a case out
of the batch to analyse it itself (the reader opened it before its turn) and pauses the
batch meanwhile, so the two never share the CPU.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from bvae_viewer.analysis.cache_store import default_cache
from bvae_viewer.analysis.maps import SliceResult
from bvae_viewer.gui import strings
from bvae_viewer.io import VolumeError
from bvae_viewer.pipeline.case import LoadedCase, load_case, outward_order
from bvae_viewer.pipeline.model import (
    MODEL_ERRORS,
    RUN_ERRORS,
    Bundle,
    EngineError,
    InferenceEngine,
    load_model,
    open_engine,
)
from bvae_viewer.pipeline.run import CaseRun
from bvae_viewer.review.batch import BatchCase


@dataclass(frozen=True)
class AnalysedCase:
    """A case with every slice analysed: what the window shows without running the model."""

    case: LoadedCase
    results: tuple[SliceResult, ...]  # by stack position
    device_label: str  # where the results were computed
    timings: dict[str, float] = field(default_factory=dict)
    from_cache: bool = False  # read from the result cache: no model ran for it


@dataclass
class BatchSummary:
    """How the batch ended."""

    total: int = 0
    analysed: int = 0
    failed: int = 0
    cancelled: bool = False
    seconds: float = 0.0


class BatchWorker(QThread):
    """Analyses the cases of a batch in order; take(), requeue(), pause() steer it."""

    model_ready = Signal(object, str)  # Bundle, device label
    case_started = Signal(int)  # position in the batch
    case_loaded = Signal(int, object)  # position, LoadedCase (its content hash known)
    case_done = Signal(int, object)  # position, AnalysedCase
    case_failed = Signal(int, str)  # position, one sentence
    case_released = Signal(int)  # position: left unfinished (taken by the window, or stopped)
    failed = Signal(str, str)  # dialog title, sentence: the batch cannot go on at all
    done = Signal(object)  # BatchSummary, always emitted last

    def __init__(
        self,
        cases: Sequence[BatchCase],
        model_dir: Path,
        bundle: Bundle | None = None,
        device: str = "auto",
        samples: int = 5,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.cases = list(cases)
        self.model_dir = Path(model_dir)
        self.bundle = bundle
        self.device = device
        self.samples = samples
        self.summary = BatchSummary(total=len(self.cases))
        self._lock = threading.Lock()
        self._pending = deque(range(len(self.cases)))
        self._current: int | None = None
        self._closed = False  # no more cases will be started
        self._cancel = threading.Event()
        self._case_cancel = threading.Event()  # stops the current case only
        self._resume = threading.Event()
        self._resume.set()

    # --- steering (any thread) ----------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()
        self._case_cancel.set()
        self._resume.set()  # a paused worker must wake up to stop

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def take(self, position: int) -> None:
        """The window analyses this case itself: drop it from the queue, or stop it now."""
        with self._lock:
            if position in self._pending:
                self._pending.remove(position)
            elif position == self._current:
                self._case_cancel.set()

    def requeue(self, position: int) -> bool:
        """Put a taken case back at the end; False when the batch will start no more cases."""
        with self._lock:
            if self._closed or self._cancel.is_set():
                return False
            if position not in self._pending and position != self._current:
                self._pending.append(position)
            return True

    # --- the thread ---------------------------------------------------------------------
    def run(self) -> None:
        t0 = time.perf_counter()
        try:
            self._run()
        except RUN_ERRORS as exc:  # already one clear sentence
            self.failed.emit(strings.ERROR_ANALYSIS_TITLE, str(exc))
        except Exception as exc:  # the app must survive any failure of a run
            self.failed.emit(
                strings.ERROR_ANALYSIS_TITLE, strings.ERROR_ANALYSIS.format(reason=exc)
            )
        finally:
            with self._lock:
                self._closed = True
                left, self._current = self._current, None
            if left is not None:
                self.case_released.emit(left)
            self.summary.cancelled = self._cancel.is_set()
            self.summary.seconds = time.perf_counter() - t0
            self.done.emit(self.summary)

    def _run(self) -> None:
        if self.bundle is None:
            try:
                self.bundle = load_model(self.model_dir)
            except MODEL_ERRORS as exc:
                self.failed.emit(
                    strings.ERROR_ANALYSIS_TITLE, strings.ERROR_MODEL.format(reason=exc)
                )
                return
        engine = open_engine(self.bundle, device=self.device, samples=self.samples)
        self.model_ready.emit(self.bundle, engine.device_label)
        while (position := self._next()) is not None:
            self._analyse(engine, position)

    def _next(self) -> int | None:
        self._resume.wait()  # nothing new starts while the window runs the model
        with self._lock:
            if self._cancel.is_set() or not self._pending:
                self._closed = True
                self._current = None
                return None
            self._current = self._pending.popleft()
            self._case_cancel.clear()
            return self._current

    def _analyse(self, engine: InferenceEngine, position: int) -> None:
        case = self.cases[position]
        self.case_started.emit(position)
        if case.problem:
            self._fail(position, case.problem)
            return
        try:
            loaded = load_case(case.source)
        except VolumeError as err:
            self._fail(position, str(err))
            return
        except Exception as exc:  # a damaged file may break a reader in unforeseen ways
            self._fail(position, strings.BATCH_CASE_ERROR.format(reason=exc))
            return
        self.case_loaded.emit(position, loaded)
        timings = dict(loaded.timings)
        results: list[SliceResult | None] = [None] * len(loaded.stack)
        t0 = time.perf_counter()
        try:
            order = outward_order(len(loaded.stack), loaded.start)
            run = CaseRun(engine, loaded, order, self._case_cancel, default_cache())
            for result in run:
                results[result.position] = result
                self._resume.wait()  # paused between engine batches: the window has the CPU
        except EngineError as exc:  # this case only (e.g. out of memory): the batch goes on
            self._fail(position, str(exc))
            return
        timings["cache_read" if run.from_cache else "inference"] = time.perf_counter() - t0
        if not self._case_cancel.is_set():
            run.finish()  # stored before the case is done: a batch reopened later is read
        with self._lock:
            self._current = None
        if self._case_cancel.is_set() or any(r is None for r in results):
            self.case_released.emit(position)
            return
        self.summary.analysed += 1
        finished = tuple(r for r in results if r is not None)
        analysed = AnalysedCase(loaded, finished, run.device_label, timings, run.from_cache)
        self.case_done.emit(position, analysed)

    def _fail(self, position: int, reason: str) -> None:
        with self._lock:
            self._current = None
        self.summary.failed += 1
        self.case_failed.emit(position, reason)
