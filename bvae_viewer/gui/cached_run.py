"""The per-volume result cache for the window's workers: a stack's slices from the cache
when it holds them, else from the engine, recorded so that a complete run is stored.

Both workers (one case, a batch) go through here, keyed as `analyze` keys its entries
(nn/pipeline.cache_key_for), so a case analysed by either, or by the command line, opens in
any of them without running the model. Everything here runs on a worker thread: hashing the
stack and reading or writing an entry move tens of megabytes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from bvae_viewer.analysis.cache_store import ResultCache, default_cache
from bvae_viewer.analysis.result_cache import CachedSlice, SliceRecorder
from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.nn.engine import InferenceEngine, SliceResult
from bvae_viewer.nn.pipeline import cache_key_for

# What a slice source yields: the engine's results, or the cache's with the same fields.
AnySlice = SliceResult | CachedSlice


class CachedRun:
    """One stack through the result cache: iterate for the slices, then store().

    The lookup happens on construction (on the worker thread). A hit yields the stored
    slices in the requested order, as the engine would stream them; a miss runs the engine
    and records each slice, so that store() can keep a complete run for next time.
    """

    def __init__(
        self,
        engine: InferenceEngine,
        stack: SliceStack,
        fingerprint: str,
        order: Sequence[int],
        cancel: threading.Event,
        cache: ResultCache | None = None,
    ) -> None:
        self.engine = engine
        self.stack = stack
        self.order = list(order)
        self.cancel = cancel
        self.cache = cache if cache is not None else default_cache()
        # No key: a disabled cache, or an MC-dropout model whose maps depend on the batching.
        self.key = (
            cache_key_for(stack, fingerprint, engine.bundle, engine) if self.cache.enabled else None
        )
        self.cached = self.cache.get(self.key) if self.key is not None else None
        missed = self.key is not None and self.cached is None
        self._recorder = SliceRecorder(len(stack)) if missed else None
        # A run that falls back from the GPU to the CPU midway mixes two devices' rounding:
        # such a result is shown but not stored (a hit must equal a fresh run here).
        self._first_device = engine.device

    @property
    def from_cache(self) -> bool:
        """The slices come from the cache: no model runs."""
        return self.cached is not None

    @property
    def device_label(self) -> str:
        """Where the slices are (or were) computed, e.g. 'CPU (2 threads)'."""
        return self.cached.device_label if self.cached is not None else self.engine.device_label

    def __iter__(self) -> Iterator[AnySlice]:
        if self.cached is not None:
            yield from self.cached.slices(self.stack, order=self.order)
            return
        for result in self.engine.run(self.stack, order=self.order, cancel=self.cancel):
            if self._recorder is not None:
                self._recorder.add(result.position, result.maps, result.scores)
            yield result

    def store(self) -> bool:
        """Keep a complete fresh run in the cache; False when nothing was stored (a hit,
        no key, a cancelled or unfinished run, a device fallback, a cache that refused)."""
        recorder, self._recorder = self._recorder, None  # stored at most once
        if recorder is None or self.key is None or not recorder.complete:
            return False
        if self.engine.device != self._first_device:
            return False
        entry = recorder.finish(self.key, self.engine.device_label, self.engine.notes)
        return self.cache.put(entry)
