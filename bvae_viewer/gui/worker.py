"""Load -> preprocess -> inference off the GUI thread, results streamed slice by slice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal

from bvae_viewer.analysis.model_info import ModelInfoError
from bvae_viewer.data.frontend import PreparedInput, prepare_input
from bvae_viewer.data.preprocess import SliceStack, preprocess_volume
from bvae_viewer.gui import strings
from bvae_viewer.gui.cached_run import CachedRun
from bvae_viewer.io import VolumeError, load_volume
from bvae_viewer.io.volume import PatientIdentity, VolumeMetadata
from bvae_viewer.nn.bundle import Bundle, WeightsError, load_bundle
from bvae_viewer.nn.device import DeviceError
from bvae_viewer.nn.engine import EngineError, InferenceEngine
from bvae_viewer.review.identity import case_fingerprint

# What loading a model folder can raise; each becomes one sentence for the user.
MODEL_ERRORS = (ModelInfoError, WeightsError, OSError, ValueError)


@dataclass(frozen=True)
class LoadedCase:
    """What the window needs before any slice is analysed."""

    source: Path
    stack: SliceStack
    start: int  # the slice shown first (and analysed first)
    notes: tuple[str, ...] = ()
    fingerprint: str = ""  # content hash: the key of the case's review session
    metadata: VolumeMetadata | None = None
    identity: PatientIdentity = field(default_factory=PatientIdentity)  # reports only, on request
    prepared: PreparedInput | None = None  # the front end's record (issue 17)


@dataclass
class RunSummary:
    """How a run ended, for the status bar and for tests."""

    cancelled: bool = False
    failed: bool = False
    analysed: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    from_cache: bool = False  # the slices were read from the result cache: no model ran


def start_slice(stack: SliceStack) -> int:
    """The slice with the largest brain section: the natural first view of a head."""
    if len(stack) == 0:
        return 0
    return int(np.argmax(stack.brain_fraction))


def outward_order(n: int, start: int) -> list[int]:
    """start, start+1, start-1, start+2, ...: the slice on screen is analysed first."""
    return sorted(range(n), key=lambda i: (abs(i - start), i < start))


def prepare_case(
    source: Path,
    stage: Callable[[str], object] | None = None,
    timings: dict[str, float] | None = None,
) -> LoadedCase:
    """Load, preprocess and fingerprint one volume (raises VolumeError): all a window needs
    before the first slice is analysed. Shared by the one-case and the batch workers."""
    say = stage or (lambda _text: None)
    times = timings if timings is not None else {}
    t0 = time.perf_counter()
    say(strings.STATUS_LOADING.format(name=source.name))
    volume = load_volume(source)
    times["load"] = time.perf_counter() - t0
    say(strings.STATUS_PREPROCESSING)
    t1 = time.perf_counter()
    prepared = prepare_input(volume)  # issue 17: the front end (skipped if already prepared)
    stack = preprocess_volume(prepared.volume)
    times["preprocess"] = time.perf_counter() - t1
    return LoadedCase(
        source,
        stack,
        start_slice(stack),
        tuple(volume.metadata.notes),
        case_fingerprint(volume),  # hashed here, off the GUI thread: tens of MB of voxels
        volume.metadata,
        volume.identity,
        prepared,
    )


class AnalysisWorker(QThread):
    """One volume, one run; cancel() stops it within one engine batch."""

    stage = Signal(str)
    loaded = Signal(object)  # LoadedCase
    # Bundle, device label (where the results are or were computed), from the result cache
    model_ready = Signal(object, str, bool)
    slice_done = Signal(object)  # SliceResult or CachedSlice (position, maps, scores)
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
    ) -> None:
        super().__init__(parent)
        self.source = Path(source)
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
        except (EngineError, DeviceError) as exc:  # already one clear sentence
            self.summary.failed = True
            self.failed.emit(strings.ERROR_ANALYSIS_TITLE, str(exc))
        except Exception as exc:  # the app must survive any failure of a run
            self.summary.failed = True
            message = strings.ERROR_ANALYSIS.format(reason=exc)
            self.failed.emit(strings.ERROR_ANALYSIS_TITLE, message)
        finally:
            self.summary.cancelled = self._cancel.is_set()
            self.done.emit(self.summary)

    def _run(self) -> None:
        try:
            case = prepare_case(self.source, self.stage.emit, self.summary.timings)
        except VolumeError as err:
            self.summary.failed = True
            self.failed.emit(strings.ERROR_TITLE, str(err))
            return
        first = case.start
        stack = case.stack
        self.loaded.emit(case)
        if self._cancel.is_set() or not self._ensure_bundle():
            return
        timings = self.summary.timings
        t2 = time.perf_counter()
        engine = InferenceEngine(self.bundle, device=self.device, samples=self.samples)
        self.order = outward_order(len(stack), first)
        self.stage.emit(strings.STATUS_CACHE_LOOKUP)
        run = CachedRun(engine, stack, case.fingerprint, self.order, self._cancel)
        self.device_label = run.device_label
        self.summary.from_cache = run.from_cache
        self.model_ready.emit(self.bundle, run.device_label, run.from_cache)
        total = len(stack)
        self.progress.emit(0, total)
        for result in run:
            self.summary.analysed += 1
            self.slice_done.emit(result)
            self.progress.emit(self.summary.analysed, total)
            if self._cancel.is_set():
                break
        timings["cache_read" if run.from_cache else "inference"] = time.perf_counter() - t2
        if not self._cancel.is_set():  # a cancelled run has slices missing: nothing to keep
            run.store()  # a complete fresh run, off the GUI thread (some 25 MB)

    def _ensure_bundle(self) -> bool:
        if self.bundle is not None:
            return True
        self.stage.emit(strings.STATUS_MODEL)
        try:
            self.bundle = load_bundle(self.model_dir, device="cpu")
        except MODEL_ERRORS as exc:
            self.summary.failed = True
            self.failed.emit(strings.ERROR_ANALYSIS_TITLE, strings.ERROR_MODEL.format(reason=exc))
            return False
        return True
