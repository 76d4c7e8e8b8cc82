"""One case through the model, streaming: the result cache first, else the engine.

A run looks its key up on construction (on the caller's thread: hashing the stack and
reading an entry move tens of megabytes), then yields every slice in the order asked for:
the stored slices on a hit, the engine's as they come on a miss. finish() stores a complete
fresh run and returns the RunRecord: where the results came from. `analyze` reads a run to
the end; the window's and the batch's workers emit each slice as a signal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bvae_viewer.analysis.cache_store import ResultCache
from bvae_viewer.analysis.display import LevelSampler
from bvae_viewer.analysis.maps import SliceResult
from bvae_viewer.analysis.result_cache import CacheKey, SliceRecorder, make_key
from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.nn.device import device_kind
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.pipeline.case import LoadedCase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunRecord:
    """Where a case's results came from, and what the run cost."""

    from_cache: bool  # read from the result cache: no model ran
    device_label: str  # where they were computed (on a hit: the stored entry's device)
    notes: tuple[str, ...]  # the engine's (batch size halved, fell back to the CPU, ...)
    cache_key: str | None  # None: no cache, or a model whose results cannot be reused
    seconds: float  # inference, or the cache read on a hit
    cache_write_s: float | None  # None: nothing was stored
    map_p99: dict[str, float]  # 99.5th percentile over brain pixels of each map
    complete: bool  # every slice came

    def cache_info(self) -> dict[str, object]:
        """What case.json says about the cache."""
        key = self.cache_key
        return {"enabled": key is not None, "hit": self.from_cache, "key": key}


def cache_key_for(stack: SliceStack, fingerprint: str, engine: InferenceEngine) -> CacheKey | None:
    """The result-cache key of running engine over stack; None when the result cannot be
    reused: a VAE with decoder MC dropout draws its masks per batch, so its maps depend on
    the batching and on the order the slices are asked for. The model's sha256 is in the
    key, so two models (of any methods) never share an entry."""
    if not engine.producer.cacheable:
        return None
    info = engine.bundle.info
    options = engine.options  # test-time views change the maps: part of the key
    return make_key(
        case_hash=fingerprint,
        stack=stack,
        model_sha256=info.sha256 if options.voices == 1 else f"{info.sha256}+{options.label}",
        model_config=info.config,
        alpha=engine.alpha,
        reduction=engine.reduction,
        samples=engine.samples,
        seed=engine.seed,
        device_kind=device_kind(engine.device),
    )


class CaseRun:
    """One case through the result cache and the engine: iterate for the slices, then
    finish()."""

    def __init__(
        self,
        engine: InferenceEngine,
        case: LoadedCase,
        order: Sequence[int] | None = None,
        cancel: threading.Event | None = None,
        cache: ResultCache | None = None,
    ) -> None:
        self.engine, self.case = engine, case
        self.order = list(order) if order is not None else None
        self.cancel = cancel
        self.cache = cache
        self.key: CacheKey | None = None
        if cache is not None and cache.enabled:
            self.key = cache_key_for(case.stack, case.fingerprint, engine)
            if self.key is None:
                log.info("result cache: not used, the model draws MC dropout masks per batch")
        t0 = time.perf_counter()
        self.cached = cache.get(self.key) if cache is not None and self.key is not None else None
        self._lookup_s = time.perf_counter() - t0
        if self.key is not None:
            if self.cached is not None:
                log.info(
                    "result cache hit %s (computed on %s)",
                    self.key.digest[:12],
                    self.cached.device_label,
                )
            else:
                log.info("result cache miss %s", self.key.digest[:12])
        missed = self.key is not None and self.cached is None
        self._recorder = SliceRecorder(len(case.stack)) if missed else None
        self._levels = LevelSampler()
        # A run that falls back from the GPU to the CPU midway mixes two devices' rounding:
        # such a result is shown but not stored (a hit must equal a fresh run here).
        self._first_device = engine.device
        self._count = 0
        self._seconds = 0.0

    @property
    def from_cache(self) -> bool:
        """The slices come from the cache: no model runs."""
        return self.cached is not None

    @property
    def device_label(self) -> str:
        """Where the slices are (or were) computed, e.g. 'CPU (2 threads)'."""
        return self.cached.device_label if self.cached is not None else self.engine.device_label

    def __iter__(self) -> Iterator[SliceResult]:
        start = time.perf_counter()
        stack = self.case.stack
        if self.cached is not None:
            source = self.cached.slices(stack, order=self.order)
        else:
            source = self.engine.run(stack, order=self.order, cancel=self.cancel)
        try:
            for result in source:
                self._count += 1
                if self.cached is None:
                    self._levels.add(result.maps, result.scores)
                    if self._recorder is not None:
                        self._recorder.add(result.position, result.maps, result.scores)
                yield result
                if self.cancel is not None and self.cancel.is_set():
                    return
        finally:
            self._seconds += time.perf_counter() - start

    def finish(self) -> RunRecord:
        """Store a complete fresh run in the cache (not a hit, a cancelled run or one that
        changed device midway), and say where the results came from."""
        hit = self.cached
        levels = dict(hit.map_p99) if hit is not None else self._levels.levels()
        complete = self._count == len(self.case.stack)
        write_s = self._store(levels) if complete else None
        return RunRecord(
            from_cache=hit is not None,
            device_label=self.device_label,
            notes=tuple(hit.notes if hit is not None else self.engine.notes),
            cache_key=self.key.digest if self.key is not None else None,
            seconds=self._seconds + (self._lookup_s if hit is not None else 0.0),
            cache_write_s=write_s,
            map_p99=levels,
            complete=complete,
        )

    def _store(self, levels: dict[str, float]) -> float | None:
        recorder, self._recorder = self._recorder, None  # stored at most once
        if recorder is None or self.key is None or not recorder.complete:
            return None
        if self.engine.device != self._first_device:
            log.info("result cache: not storing %s, computed on two devices", self.key.digest[:12])
            return None
        t0 = time.perf_counter()
        entry = recorder.finish(self.key, self.engine.device_label, self.engine.notes, levels)
        stored = self.cache is not None and self.cache.put(entry)
        seconds = time.perf_counter() - t0
        log.info(
            "result cache %s %s in %.3f s",
            "stored" if stored else "did not store",
            self.key.digest[:12],
            seconds,
        )
        return seconds
