"""A series pulled from the PACS, analysed as `analyze` does, turned into result objects.

The one place where PACS work calls the analysis pipeline (load_case, analyze_loaded): when
the pipeline moves, only the imports here change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from bvae_viewer.analysis.findings import Finding, pixel_level, result_findings
from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.analysis.report_text import SliceNumbering
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.pacs.objects import read_source, result_objects
from bvae_viewer.pacs.region import flagged_region
from bvae_viewer.pacs.summary import summarise
from bvae_viewer.pipeline.analyze import CaseAnalysis, analyze_loaded
from bvae_viewer.pipeline.case import LoadedCase, load_case
from bvae_viewer.pipeline.model import Bundle, open_engine
from bvae_viewer.review.store import DecisionRecord, ReviewStoreError, stored_decisions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PacsCase:
    """An analysed series and its flagged region on the model grid, per axial slice."""

    folder: Path
    analysis: CaseAnalysis
    region: dict[int, np.ndarray]
    pixel_threshold: float
    case_review: DecisionRecord | None
    findings: tuple[Finding, ...] = ()  # the flagged runs, measured as the window and report do


def _flagged(analysis: CaseAnalysis) -> list[int]:
    result = analysis.result
    return [s.slice_index for s, d in zip(result.scores, result.decisions, strict=True)
            if d == Decision.FLAGGED]


def _flagged_maps(
    analysis: CaseAnalysis, bundle: Bundle, flagged: list[int], device: str, samples: int
) -> dict[int, MapSet]:
    """The maps of every flagged slice: those the report keeper held, the rest run again
    (the keeper holds at most a report's worth)."""
    maps = {k: analysis.maps[k] for k in flagged if k in analysis.maps}
    missing = [k for k in flagged if k not in maps]
    if missing:
        engine = open_engine(bundle, device=device, samples=samples)
        for result in engine.run(analysis.case.stack, order=missing):
            maps[result.position] = result.maps
            if all(k in maps for k in missing):
                break  # the engine streams the asked-for slices first
    return maps


def analyse_series(
    folder: Path, bundle: Bundle, device: str = "auto", samples: int = 5, use_cache: bool = True
) -> PacsCase:
    """Load and analyse a pulled series folder; the region is A_pixel above the model's
    pixel-score level (its calibrated display ceiling, the 99.5th percentile of brain
    pixels on validation data) on the flagged slices."""
    loaded = load_case(folder)
    decisions, case_review = {}, None
    try:  # the reviewer's decisions made in the window on this case and model
        decisions, case_review = stored_decisions(loaded.fingerprint, bundle.info.sha256)
    except ReviewStoreError as exc:
        log.warning("review store unreadable, the report has no reviewer decision: %s", exc)
    analysis = analyze_loaded(
        loaded, bundle, device=device, samples=samples, keep_maps=True,
        decided=decisions.keys(), use_cache=use_cache,
    )
    flagged = _flagged(analysis)
    threshold = pixel_level(analysis.map_levels)
    maps = _flagged_maps(analysis, bundle, flagged, device, samples)
    region = flagged_region(maps, flagged, threshold)
    findings = result_findings(analysis.result, maps, analysis.case.geometry, threshold,
                               analysis.case.stack.voxel_ml)
    return PacsCase(Path(folder), analysis, region, threshold, case_review, tuple(findings))


def model_volume_affine(loaded: LoadedCase) -> np.ndarray:
    """Voxel of the volume the model saw -> scanner RAS mm of the input: through the
    front end's transform when it registered the scan to the model's space (identity when it
    was skipped), so the SEG lands on the source's own pixels either way."""
    if loaded.prepared is None:
        raise ValueError("The case has no record of its preprocessing; analyse it again.")
    transform = loaded.prepared.transform
    return transform.input_affine @ transform.model_to_input


def results_for_pacs(case: PacsCase, bundle: Bundle) -> list[Dataset]:
    """The SEG (if any region) and the SR of an analysed series, built from its own files."""
    stack = case.analysis.case.stack
    numbering = SliceNumbering.from_geometry(case.analysis.case.geometry, len(stack))
    summary = summarise(
        case.analysis.result, case.case_review, case.findings, numbering, bundle.info.name,
        bundle.info.sha256,
    )
    source = read_source(case.folder)
    return result_objects(
        source, case.region, model_volume_affine(case.analysis.case), stack.grid, summary
    )
