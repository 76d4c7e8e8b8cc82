"""End-to-end runs over whole volumes: analyse one file, or score many cases for calibration."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bvae_viewer.analysis.calibrate import ValidationCase
from bvae_viewer.analysis.case import CaseResult, assess_case, write_case_outputs
from bvae_viewer.analysis.maps import MapSet, SliceScores
from bvae_viewer.analysis.ood import volume_features
from bvae_viewer.data.brats import LabelledCase
from bvae_viewer.data.preprocess import SliceStack, preprocess_volume
from bvae_viewer.io import load_volume
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.engine import InferenceEngine

MAP_NAMES = ("aleatoric", "epistemic", "total", "error", "pixel_score")


@dataclass(frozen=True)
class StackRun:
    """All slices of one stack through the engine."""

    scores: tuple[SliceScores, ...]  # slice order
    map_p99: dict[str, float]
    seconds: float


def _map_values(maps: MapSet, name: str) -> np.ndarray:
    return getattr(maps, name)[maps.brain_mask]


def run_stack(engine: InferenceEngine, stack: SliceStack) -> StackRun:
    """Every slice of a stack; keeps scores and the brain-pixel levels of each map."""
    start = time.perf_counter()
    scores: list[SliceScores] = [None] * len(stack)  # type: ignore[list-item]
    samples: dict[str, list[np.ndarray]] = {name: [] for name in MAP_NAMES}
    for result in engine.run(stack):
        scores[result.position] = result.scores
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


def analyze_file(
    path: Path, out_dir: Path | None, bundle: Bundle, device: str = "auto", samples: int = 5
) -> CaseResult:
    """Load, preprocess, infer, triage; write slices.csv and case.json when out_dir is given."""
    t0 = time.perf_counter()
    volume = load_volume(path)
    t_load = time.perf_counter()
    stack = preprocess_volume(volume)
    t_prep = time.perf_counter()
    engine = InferenceEngine(bundle, device=device, samples=samples)
    run = run_stack(engine, stack)
    result = assess_case(stack, run.scores, bundle.info.calibration)
    result.extra.update(
        {
            "source": Path(path).name,
            "n_slices": len(stack),
            "model": {"name": bundle.info.name, "sha256": bundle.info.sha256},
            "device": engine.device_label,
            "device_notes": list(engine.notes),
            "samples": samples,
            "timings_s": {
                "load": round(t_load - t0, 3),
                "preprocess": round(t_prep - t_load, 3),
                "inference": round(run.seconds, 3),
                "total": round(time.perf_counter() - t0, 3),
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
    if out_dir is not None:
        write_case_outputs(result, out_dir)
    return result
