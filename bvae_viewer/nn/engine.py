"""Inference: slices -> the method's maps (nn.producers) -> the slice scores, streamed in the
order asked for, in batches, cancellable, shrinking the batch (then leaving CUDA) on OOM."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from bvae_viewer.analysis.maps import MapSet, SliceResult, score_slice
from bvae_viewer.analysis.methods import BVAE
from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.device import choose_device, device_label
from bvae_viewer.nn.producers import MapProducer, producer_for
from bvae_viewer.nn.producers import slice_noise as slice_noise  # where callers look for it
from bvae_viewer.nn.voices import (
    EngineOptions,
    VoicesError,
    VoicesMaps,
    geometric_views,
    score_spread,
    voice_scores,
)

log = logging.getLogger(__name__)

FIRST_BATCH = 1  # the slice on screen comes back alone, before the first full batch


class EngineError(Exception):
    """The engine cannot analyse the slices (said in one sentence)."""


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "not enough memory" in text
    )


class InferenceEngine:
    """Streams SliceResults for a SliceStack, the requested slices first."""

    def __init__(
        self,
        bundle: Bundle,
        device: str | torch.device = "auto",
        samples: int = 5,
        batch_size: int = 16,
        seed: int = 0,
        options: EngineOptions | None = None,
    ) -> None:
        if samples < 1:
            raise EngineError("The number of samples must be at least 1.")
        self.options = options or EngineOptions()
        self.bundle = bundle
        self.network = bundle.network
        self.samples = samples
        self.batch_size = max(1, batch_size)
        self.seed = seed
        self.alpha = float(bundle.info.calibration.alpha)
        self.reduction = bundle.info.calibration.reduction
        self.notes: list[str] = []
        self.producer = self._producer(bundle, samples, seed)
        self._move_to(choose_device(device))

    def _producer(self, bundle: Bundle, samples: int, seed: int) -> MapProducer:
        """The method's own producer, or the VAE's voices (members x views) when asked."""
        options = self.options
        if options.voices == 1:
            return producer_for(bundle.method, bundle.network, samples, seed)
        if bundle.method != BVAE:
            raise EngineError("Ensembles and test-time views are options of the Bayesian VAE.")
        if options.members > 1 + len(bundle.members):
            raise EngineError(
                f"The model has {1 + len(bundle.members)} ensemble member(s), "
                f"not {options.members}."
            )
        try:
            views = geometric_views(options.views, bundle.image_size)
        except VoicesError as exc:
            raise EngineError(str(exc)) from None
        networks = [bundle.network, *bundle.members[: options.members - 1]]
        return VoicesMaps(networks, views, samples, seed)

    def _move_to(self, device: torch.device) -> None:
        self.device = device
        self.producer.to(device)
        self.device_label = device_label(device)
        log.debug("engine on %s, K=%d, batch %d", self.device_label, self.samples,
                  self.batch_size)

    # --- one batch of brain slices -------------------------------------------------------
    def _infer_batch(self, stack: SliceStack, positions: list[int]) -> list[SliceResult]:
        images = torch.from_numpy(np.ascontiguousarray(stack.images[positions]))
        with torch.inference_mode():
            x = images.to(self.device).unsqueeze(1)
            maps, latent_nll = self.producer(x, positions)
            maps = {k: v.float().cpu().numpy() for k, v in maps.items()}
            latent_nll = latent_nll.cpu().numpy()
        voice_error, voice_pixel = maps.get("voice_error"), maps.get("voice_pixel_score")
        results = []
        for i, p in enumerate(positions):
            mapset = MapSet(
                original=stack.images[p].astype(np.float32, copy=False),
                reconstruction=maps["reconstruction"][i],
                aleatoric=maps["aleatoric"][i],
                epistemic=maps["epistemic"][i],
                error=maps["error"][i],
                pixel_score=maps["pixel_score"][i],
                brain_mask=stack.masks[p].astype(bool, copy=False),
            )
            result = self._result(stack, p, mapset, float(latent_nll[i]))
            if voice_error is not None:
                result = self._with_spread(result, voice_error[i], voice_pixel[i])
            results.append(result)
        return results

    def _with_spread(
        self, result: SliceResult, error: np.ndarray, pixel: np.ndarray
    ) -> SliceResult:
        """The voices' disagreement on the slice's score, beside the pooled score."""
        voices = voice_scores(error, pixel, result.maps.brain_mask, self.alpha, self.reduction)
        scores = dataclasses.replace(result.scores, score_spread=score_spread(voices))
        return SliceResult(result.position, result.maps, scores)

    def _result(self, stack: SliceStack, p: int, maps: MapSet, nll: float) -> SliceResult:
        scores = score_slice(
            maps,
            self.alpha,
            int(stack.slice_index[p]),
            float(stack.brain_fraction[p]),
            nll,
            reduction=self.reduction,
        )
        return SliceResult(p, maps, scores)

    def _infer(self, stack: SliceStack, positions: list[int]) -> list[SliceResult]:
        """Brain slices in sub-batches of the current batch size, shrinking on out-of-memory."""
        out: list[SliceResult] = []
        i = 0
        while i < len(positions):
            n = min(self.batch_size, len(positions) - i)
            try:
                out += self._infer_batch(stack, positions[i : i + n])
                i += n
            except RuntimeError as exc:
                if not _is_oom(exc):
                    raise
                self._recover_from_oom(n)
        return out

    def _recover_from_oom(self, n: int) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        if n > 1:
            self.batch_size = max(1, n // 2)
            where = "CUDA" if self.device.type == "cuda" else "CPU"
            self.notes.append(f"{where} out of memory: batch size halved to {self.batch_size}")
            log.warning("engine: %s", self.notes[-1])
        elif self.device.type != "cpu":
            failed_on = self.device_label
            self._move_to(torch.device("cpu"))
            self.notes.append("CUDA out of memory at batch size 1: fell back to CPU")
            log.warning("engine: out of memory on %s at batch size 1: fell back to %s",
                        failed_on, self.device_label)
        else:
            log.error("engine: out of memory on %s at batch size 1", self.device_label)
            raise EngineError("There is not enough memory to analyse even one slice.")

    # --- streaming -----------------------------------------------------------------------
    def _ordered(self, n: int, order: Sequence[int] | None) -> list[int]:
        seen: set[int] = set()
        out: list[int] = []
        for p in [*(order or ()), *range(n)]:
            p = int(p)
            if not 0 <= p < n:
                raise EngineError(f"Slice position {p} is outside the volume (0..{n - 1}).")
            if p not in seen:
                seen.add(p)
                out.append(p)
        return out

    def _chunks(self, stack: SliceStack, ordered: list[int]) -> Iterator[list[int]]:
        """Runs of the order holding FIRST_BATCH, then batch_size, brain slices each."""
        has_brain = stack.has_brain
        chunk: list[int] = []
        brain = 0
        target = FIRST_BATCH
        for p in ordered:
            chunk.append(p)
            brain += bool(has_brain[p])
            if brain >= target:
                yield chunk
                chunk, brain, target = [], 0, self.batch_size
        if chunk:
            yield chunk

    def run(
        self,
        stack: SliceStack,
        order: Sequence[int] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[SliceResult]:
        """Yield one SliceResult per slice: ``order`` first, then the rest by position."""
        size = self.bundle.image_size
        if stack.images.shape[1:] != (size, size):
            raise EngineError(
                f"The slices are {stack.images.shape[1]}x{stack.images.shape[2]} pixels but "
                f"the model expects {size}x{size}."
            )
        has_brain = stack.has_brain
        for chunk in self._chunks(stack, self._ordered(len(stack), order)):
            if cancel is not None and cancel.is_set():
                return
            brain = [p for p in chunk if has_brain[p]]
            done = {r.position: r for r in self._infer(stack, brain)}
            for p in chunk:
                if p not in done:
                    # Empty by definition (an empty mask), even if a few brain pixels remain.
                    no_brain = np.zeros(stack.masks[p].shape, dtype=bool)
                    maps = MapSet.empty(stack.images[p].astype(np.float32), no_brain)
                    done[p] = self._result(stack, p, maps, float("nan"))
                yield done[p]
