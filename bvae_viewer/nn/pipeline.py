"""End-to-end runs over whole volumes: analyse one file, or score many cases for calibration."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from bvae_viewer.analysis.cache_store import ResultCache, default_cache
from bvae_viewer.analysis.calibrate import ValidationCase
from bvae_viewer.analysis.case import CaseResult, assess_case, write_case_outputs
from bvae_viewer.analysis.frontend_review import with_front_end
from bvae_viewer.analysis.maps import MapSet, SliceScores
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.analysis.ood import volume_features
from bvae_viewer.analysis.result_cache import CachedVolume, CacheKey, SliceRecorder, make_key
from bvae_viewer.analysis.triage import TriagePolicy
from bvae_viewer.data.brats import LabelledCase
from bvae_viewer.data.frontend import PreparedInput, prepare_input
from bvae_viewer.data.preprocess import SliceStack, preprocess_volume
from bvae_viewer.io import Volume, load_volume
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.review.deid import redact
from bvae_viewer.review.identity import case_fingerprint
from bvae_viewer.review.report_data import MapKeeper, ReportData
from bvae_viewer.review.store import DecisionRecord

log = logging.getLogger(__name__)

MAP_NAMES = ("aleatoric", "epistemic", "total", "error", "pixel_score")


@dataclass(frozen=True)
class StackRun:
    """All slices of one stack through the engine."""

    scores: tuple[SliceScores, ...]  # slice order
    map_p99: dict[str, float]
    seconds: float


def _map_values(maps: MapSet, name: str) -> np.ndarray:
    return getattr(maps, name)[maps.brain_mask]


def _detached(maps: MapSet) -> MapSet:
    """A copy that does not keep the engine's whole batch arrays alive."""
    return MapSet(*(np.array(getattr(maps, f.name)) for f in fields(MapSet)))


def _p99(samples: dict[str, list[np.ndarray]]) -> dict[str, float]:
    return {
        name: float(np.percentile(np.concatenate(v), 99.5)) if v else 1.0
        for name, v in samples.items()
    }


def run_stack(
    engine: InferenceEngine,
    stack: SliceStack,
    keeper: MapKeeper | None = None,
    recorder: SliceRecorder | None = None,
) -> StackRun:
    """Every slice of a stack; keeps scores, the brain-pixel levels of each map and, given a
    keeper, the maps of the slices a report will show (not those of every slice); given a
    recorder, every slice for the result cache."""
    start = time.perf_counter()
    scores: list[SliceScores] = [None] * len(stack)  # type: ignore[list-item]
    samples: dict[str, list[np.ndarray]] = {name: [] for name in MAP_NAMES}
    for result in engine.run(stack):
        scores[result.position] = result.scores
        if keeper is not None:
            keeper.offer(result.scores, _detached(result.maps))
        if recorder is not None:
            recorder.add(result.position, result.maps, result.scores)
        if not result.scores.empty:
            for name in MAP_NAMES:
                # A thinned sample keeps the percentile honest without holding every pixel.
                samples[name].append(_map_values(result.maps, name)[::7])
    return StackRun(tuple(scores), _p99(samples), time.perf_counter() - start)


def _cached_run(
    cached: CachedVolume, stack: SliceStack, keeper: MapKeeper | None, seconds: float
) -> StackRun:
    """A StackRun from the cache: the stored scores exactly, maps only if a report wants
    them (decoding every slice's float16 maps would waste the hit)."""
    p99 = dict(cached.map_p99)
    missing = [name for name in MAP_NAMES if name not in p99]
    if keeper is not None or missing:
        samples: dict[str, list[np.ndarray]] = {name: [] for name in missing}
        for item in cached.slices(stack):
            if keeper is not None:
                keeper.offer(item.scores, item.maps)
            if missing and not item.scores.empty:
                for name in missing:  # an entry the window wrote: levels from float16 maps
                    samples[name].append(_map_values(item.maps, name)[::7])
        p99.update(_p99(samples))
    return StackRun(cached.scores, p99, seconds)


def device_kind(device: torch.device) -> str:
    """The compute stack the result cache keys on, e.g. 'cpu AVX2, 2 threads, torch 2.13.0'.

    Results are bit-for-bit repeatable only on the same stack: CUDA kernels (cuDNN's choice
    of algorithm, TF32, reduction order) round differently from the CPU's and from another
    GPU model's, and even the CPU's thread count changes the order of sums (measured on the
    bundled model: up to 9e-7 relative between 1 and 2 threads, a changed digit in
    slices.csv). A hit must give what a fresh run here would, so all of it is in the key;
    a machine keeps its stack from run to run, so the hits are not lost in practice.
    """
    stack = f"torch {torch.__version__}"
    if device.type == "cuda":
        return (
            f"cuda {torch.cuda.get_device_name(device)}, {stack}, CUDA {torch.version.cuda}, "
            f"cuDNN {torch.backends.cudnn.version()}, TF32 {torch.backends.cuda.matmul.allow_tf32}"
            f"/{torch.backends.cudnn.allow_tf32}"
        )
    capability = torch.backends.cpu.get_cpu_capability()
    return f"{device.type} {capability}, {torch.get_num_threads()} threads, {stack}"


def cache_key_for(
    stack: SliceStack, case_hash: str, bundle: Bundle, engine: InferenceEngine
) -> CacheKey | None:
    """The result-cache key of running engine over stack; None when the result cannot be
    reused: a VAE with decoder MC dropout draws its masks per batch, so its maps depend on
    the batching and on the order the slices are asked for, which differ between the window
    and the CLI. The model's sha256 is in the key, so two models (of any methods) never
    share an entry."""
    if not engine.producer.cacheable:
        return None
    return make_key(
        case_hash=case_hash,
        stack=stack,
        model_sha256=bundle.info.sha256,
        model_config=bundle.info.config,
        alpha=engine.alpha,
        reduction=engine.reduction,
        samples=engine.samples,
        seed=engine.seed,
        device_kind=device_kind(engine.device),
    )


def validation_case(engine: InferenceEngine, case: LabelledCase) -> ValidationCase:
    """A labelled case scored for calibration."""
    run = run_stack(engine, case.stack)
    return ValidationCase(
        case.case_id, run.scores, case.labels, volume_features(case.stack, run.scores), run.map_p99
    )


@dataclass(frozen=True)
class LoadedCase:
    """A volume read and preprocessed, before any inference."""

    path: Path
    volume: Volume
    stack: SliceStack
    case_hash: str  # content fingerprint: the key of its review session
    load_s: float
    preprocess_s: float
    prepared: PreparedInput | None = None  # the front end's record (issue 17)


@dataclass(frozen=True)
class CaseAnalysis:
    """One analysed case and what a report of it needs."""

    loaded: LoadedCase
    result: CaseResult
    maps: dict[int, MapSet]  # only the slices a report shows (empty unless asked for)
    map_levels: dict[str, tuple[float, float]]  # display range per map, as in the window


def load_case(path: Path, preprocess: str | None = None) -> LoadedCase:
    """Load and preprocess a file or DICOM folder (VolumeError on bad input)."""
    t0 = time.perf_counter()
    volume = load_volume(path)
    t1 = time.perf_counter()
    prepared = prepare_input(volume, preprocess)
    stack = preprocess_volume(prepared.volume)
    t2 = time.perf_counter()
    return LoadedCase(
        Path(path), volume, stack, case_fingerprint(volume), t1 - t0, t2 - t1, prepared
    )


def _map_levels(bundle: Bundle, run: StackRun) -> dict[str, tuple[float, float]]:
    """The model's calibrated levels; where it has none, this case's 99.5th percentile."""
    levels = {name: (0.0, run.map_p99[name]) for name in MAP_NAMES}
    for name, value in bundle.info.calibration.map_levels.items():
        levels[name] = (float(value[0]), float(value[1]))
    return levels


def _cached_or_run(
    loaded: LoadedCase,
    bundle: Bundle,
    engine: InferenceEngine,
    keeper: MapKeeper | None,
    cache: ResultCache | None,
) -> tuple[StackRun, dict[str, object], dict[str, float]]:
    """The run (from the cache when it holds it), what case.json says about the cache, and
    the cache's timings."""
    key = None
    if cache is not None and cache.enabled:
        key = cache_key_for(loaded.stack, loaded.case_hash, bundle, engine)
        if key is None:
            log.info("result cache: not used, the model draws MC dropout masks per batch")
    info: dict[str, object] = {
        "enabled": key is not None, "hit": False, "key": key.digest if key else None
    }
    if cache is None or key is None:
        return run_stack(engine, loaded.stack, keeper), info, {}
    t0 = time.perf_counter()
    cached = cache.get(key)
    if cached is not None:
        run = _cached_run(cached, loaded.stack, keeper, time.perf_counter() - t0)
        log.info("result cache hit %s (computed on %s): inference skipped, read in %.3f s",
                 key.digest[:12], cached.device_label, run.seconds)
        info.update(hit=True, device=cached.device_label, device_notes=list(cached.notes))
        return run, info, {"cache_read": run.seconds}
    log.info("result cache miss %s", key.digest[:12])
    recorder = SliceRecorder(len(loaded.stack))
    first_device = engine.device
    run = run_stack(engine, loaded.stack, keeper, recorder)
    if engine.device != first_device:  # fell back to the CPU midway: a mixed result
        log.info("result cache: not storing %s, computed on two devices", key.digest[:12])
        return run, info, {}
    t1 = time.perf_counter()
    stored = cache.put(recorder.finish(key, engine.device_label, engine.notes, run.map_p99))
    write_s = time.perf_counter() - t1
    log.info("result cache %s %s in %.3f s", "stored" if stored else "did not store",
             key.digest[:12], write_s)
    return run, info, {"cache_write": write_s}


def analyze_loaded(
    loaded: LoadedCase,
    bundle: Bundle,
    device: str = "auto",
    samples: int = 5,
    keep_maps: bool = False,
    decided: Collection[int] = (),
    use_cache: bool = True,
    cache: ResultCache | None = None,
) -> CaseAnalysis:
    """Infer and triage a loaded case.

    keep_maps: also keep the maps of the flagged and review slices and of the slices in
    decided (a reviewer's), at most MAX_THUMBNAIL_SLICES of them, for a report.
    use_cache: take the engine's output from the result cache (cache, default the user's)
    when it holds this volume for this model, K, seed and device, and store it there when
    not; case.json's "cache" says which. Triage is redone either way: thresholds may change.
    """
    engine = InferenceEngine(bundle, device=device, samples=samples)
    policy = TriagePolicy.from_calibration(bundle.info.calibration)
    keeper = MapKeeper(policy, decided) if keep_maps else None
    log.info(
        "analyze %s: %d slices, model %s (%s), %s, K=%d", loaded.path, len(loaded.stack),
        bundle.info.name, bundle.info.sha256[:12], engine.device_label, samples,
    )
    store = (cache if cache is not None else default_cache()) if use_cache else None
    run, cache_info, cache_times = _cached_or_run(loaded, bundle, engine, keeper, store)
    result = assess_case(loaded.stack, run.scores, bundle.info.calibration, policy)
    if loaded.prepared is not None:
        result = with_front_end(result, loaded.prepared)
    volume = loaded.volume
    hit = bool(cache_info["hit"])
    inference_s = 0.0 if hit else run.seconds
    result.extra.update(
        {
            # A DICOM folder is often named after the patient: keep identifiers out.
            "source": redact(loaded.path.name, volume.identity),
            "n_slices": len(loaded.stack),
            "model": {
                "name": bundle.info.name,
                "sha256": bundle.info.sha256,
                "method": bundle.method,
            },
            # On a hit: where the stored result was computed (the same kind of device).
            "device": cache_info.pop("device", engine.device_label),
            "device_notes": cache_info.pop("device_notes", list(engine.notes)),
            "samples": samples,
            "timings_s": {
                "load": round(loaded.load_s, 3),
                "preprocess": round(loaded.preprocess_s, 3),
                "inference": round(inference_s, 3),
                **{name: round(value, 3) for name, value in cache_times.items()},
                "total": round(loaded.load_s + loaded.preprocess_s + run.seconds, 3),
            },
            "metadata": {
                "format": volume.metadata.format,
                "modality": volume.metadata.modality,
                "shape": list(volume.shape),
                "spacing_mm": [round(s, 4) for s in volume.spacing],
                "notes": list(volume.metadata.notes),
            },
            "cache": cache_info,
        }
    )
    log.info(
        "analyzed %s: %s, load %.2f s, preprocess %.2f s, %s %.2f s", loaded.path,
        result.case.decision.value, loaded.load_s, loaded.preprocess_s,
        "cache read" if hit else "inference", run.seconds,
    )
    maps = keeper.maps if keeper is not None else {}
    return CaseAnalysis(loaded, result, maps, _map_levels(bundle, run))


def analyze_file(
    path: Path,
    out_dir: Path | None,
    bundle: Bundle,
    device: str = "auto",
    samples: int = 5,
    use_cache: bool = True,
) -> CaseResult:
    """Load, preprocess, infer, triage; write slices.csv and case.json when out_dir is given."""
    analysis = analyze_loaded(
        load_case(path), bundle, device=device, samples=samples, use_cache=use_cache
    )
    if out_dir is not None:
        write_case_outputs(analysis.result, out_dir)
    return analysis.result


def report_data(
    analysis: CaseAnalysis,
    info: ModelInfo,
    decisions: dict[int, DecisionRecord] | None = None,
    case_review: DecisionRecord | None = None,
) -> ReportData:
    """What a report of this analysis shows, with the reviewer's decisions if there are any."""
    volume = analysis.loaded.volume
    return ReportData(
        case_label=analysis.loaded.path.name,  # reports remove identifiers from it
        case_hash=analysis.loaded.case_hash,
        result=analysis.result,
        maps=analysis.maps,
        map_levels=analysis.map_levels,
        model_name=info.name,
        model_sha256=info.sha256,
        device=analysis.result.extra["device"],
        metadata=volume.metadata,
        decisions=dict(decisions or {}),
        identity=volume.identity,
        case_review=case_review,
    )
