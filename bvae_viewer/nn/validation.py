"""Labelled cases through the engine for calibration and metrics (whole stacks, no cache).

A case to be reviewed travels through bvae_viewer.pipeline instead (cache, order, report).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bvae_viewer.analysis.calibrate import ValidationCase
from bvae_viewer.analysis.display import LevelSampler
from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.ood import volume_features
from bvae_viewer.data.brats import LabelledCase
from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.nn.engine import InferenceEngine


@dataclass(frozen=True)
class StackRun:
    """All slices of one stack through the engine."""

    scores: tuple[SliceScores, ...]  # slice order
    map_p99: dict[str, float]  # 99.5th percentile over brain pixels of each map
    seconds: float


def run_stack(engine: InferenceEngine, stack: SliceStack) -> StackRun:
    """Every slice of a stack: its scores and the brain-pixel levels of each map."""
    start = time.perf_counter()
    scores: list[SliceScores] = [None] * len(stack)  # type: ignore[list-item]
    levels = LevelSampler()
    for result in engine.run(stack):
        scores[result.position] = result.scores
        levels.add(result.maps, result.scores)
    return StackRun(tuple(scores), levels.levels(), time.perf_counter() - start)


def validation_case(engine: InferenceEngine, case: LabelledCase) -> ValidationCase:
    """A labelled case scored for calibration."""
    run = run_stack(engine, case.stack)
    return ValidationCase(
        case.case_id, run.scores, case.labels, volume_features(case.stack, run.scores), run.map_p99
    )
