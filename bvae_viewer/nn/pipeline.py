"""End-to-end runs over whole volumes: analyse one file, or score many cases for calibration."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from bvae_viewer.analysis.calibrate import ValidationCase
from bvae_viewer.analysis.case import CaseResult, assess_case, write_case_outputs
from bvae_viewer.analysis.maps import MapSet, SliceScores
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.analysis.ood import volume_features
from bvae_viewer.analysis.triage import TriagePolicy
from bvae_viewer.data.brats import LabelledCase
from bvae_viewer.data.preprocess import SliceStack, preprocess_volume
from bvae_viewer.io import Volume, load_volume
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.review.deid import redact
from bvae_viewer.review.identity import case_fingerprint
from bvae_viewer.review.report_data import MapKeeper, ReportData
from bvae_viewer.review.store import DecisionRecord

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


def run_stack(
    engine: InferenceEngine, stack: SliceStack, keeper: MapKeeper | None = None
) -> StackRun:
    """Every slice of a stack; keeps scores, the brain-pixel levels of each map and, given a
    keeper, the maps of the slices a report will show (not those of every slice)."""
    start = time.perf_counter()
    scores: list[SliceScores] = [None] * len(stack)  # type: ignore[list-item]
    samples: dict[str, list[np.ndarray]] = {name: [] for name in MAP_NAMES}
    for result in engine.run(stack):
        scores[result.position] = result.scores
        if keeper is not None:
            keeper.offer(result.scores, _detached(result.maps))
        if not result.scores.empty:
            for name in MAP_NAMES:
                # A thinned sample keeps the percentile honest without holding every pixel.
                samples[name].append(_map_values(result.maps, name)[::7])
    p99 = {
        name: float(np.percentile(np.concatenate(v), 99.5)) if v else 1.0
        for name, v in samples.items()
    }
    return StackRun(tuple(scores), p99, time.perf_counter() - start)


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


@dataclass(frozen=True)
class CaseAnalysis:
    """One analysed case and what a report of it needs."""

    loaded: LoadedCase
    result: CaseResult
    maps: dict[int, MapSet]  # only the slices a report shows (empty unless asked for)
    map_levels: dict[str, tuple[float, float]]  # display range per map, as in the window


def load_case(path: Path) -> LoadedCase:
    """Load and preprocess a file or DICOM folder (VolumeError on bad input)."""
    t0 = time.perf_counter()
    volume = load_volume(path)
    t1 = time.perf_counter()
    stack = preprocess_volume(volume)
    t2 = time.perf_counter()
    return LoadedCase(Path(path), volume, stack, case_fingerprint(volume), t1 - t0, t2 - t1)


def _map_levels(bundle: Bundle, run: StackRun) -> dict[str, tuple[float, float]]:
    """The model's calibrated levels; where it has none, this case's 99.5th percentile."""
    levels = {name: (0.0, run.map_p99[name]) for name in MAP_NAMES}
    for name, value in bundle.info.calibration.map_levels.items():
        levels[name] = (float(value[0]), float(value[1]))
    return levels


def analyze_loaded(
    loaded: LoadedCase,
    bundle: Bundle,
    device: str = "auto",
    samples: int = 5,
    keep_maps: bool = False,
    decided: Collection[int] = (),
) -> CaseAnalysis:
    """Infer and triage a loaded case.

    keep_maps: also keep the maps of the flagged and review slices and of the slices in
    decided (a reviewer's), at most MAX_THUMBNAIL_SLICES of them, for a report.
    """
    engine = InferenceEngine(bundle, device=device, samples=samples)
    policy = TriagePolicy.from_calibration(bundle.info.calibration)
    keeper = MapKeeper(policy, decided) if keep_maps else None
    run = run_stack(engine, loaded.stack, keeper)
    result = assess_case(loaded.stack, run.scores, bundle.info.calibration, policy)
    volume = loaded.volume
    result.extra.update(
        {
            # A DICOM folder is often named after the patient: keep identifiers out.
            "source": redact(loaded.path.name, volume.identity),
            "n_slices": len(loaded.stack),
            "model": {"name": bundle.info.name, "sha256": bundle.info.sha256},
            "device": engine.device_label,
            "device_notes": list(engine.notes),
            "samples": samples,
            "timings_s": {
                "load": round(loaded.load_s, 3),
                "preprocess": round(loaded.preprocess_s, 3),
                "inference": round(run.seconds, 3),
                "total": round(loaded.load_s + loaded.preprocess_s + run.seconds, 3),
            },
            "metadata": {
                "format": volume.metadata.format,
                "modality": volume.metadata.modality,
                "shape": list(volume.shape),
                "spacing_mm": [round(s, 4) for s in volume.spacing],
                "notes": list(volume.metadata.notes),
            },
        }
    )
    maps = keeper.maps if keeper is not None else {}
    return CaseAnalysis(loaded, result, maps, _map_levels(bundle, run))


def analyze_file(
    path: Path, out_dir: Path | None, bundle: Bundle, device: str = "auto", samples: int = 5
) -> CaseResult:
    """Load, preprocess, infer, triage; write slices.csv and case.json when out_dir is given."""
    analysis = analyze_loaded(load_case(path), bundle, device=device, samples=samples)
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
