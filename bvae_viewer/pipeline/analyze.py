"""`analyze`: a loaded case read through its run to the end, triaged, described for case.json."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from bvae_viewer.analysis.cache_store import ResultCache, default_cache
from bvae_viewer.analysis.case import CaseResult, assess_case, write_case_outputs
from bvae_viewer.analysis.display import map_levels
from bvae_viewer.analysis.frontend_review import with_front_end
from bvae_viewer.analysis.maps import MapSet, SliceScores
from bvae_viewer.analysis.triage import TriagePolicy
from bvae_viewer.pipeline.case import LoadedCase, load_case
from bvae_viewer.pipeline.model import Bundle, EngineOptions, open_engine
from bvae_viewer.pipeline.run import CaseRun, RunRecord
from bvae_viewer.review.deid import redact
from bvae_viewer.review.report_data import MapKeeper, RegionKeeper

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaseAnalysis:
    """One analysed case and what a report of it needs."""

    case: LoadedCase
    result: CaseResult
    maps: dict[int, MapSet]  # only the slices a report shows (empty unless asked for)
    map_levels: dict[str, tuple[float, float]]  # display range per map (analysis.display)
    record: RunRecord
    # The region maps of every flagged slice, for the findings (empty unless asked for).
    regions: dict[int, MapSet] = field(default_factory=dict)


def case_facts(
    case: LoadedCase, bundle: Bundle, record: RunRecord, samples: int
) -> dict[str, object]:
    """What case.json says beside the triage: source, model, device, timings, cache."""
    load, prep = case.timings.get("load", 0.0), case.timings.get("preprocess", 0.0)
    inference = 0.0 if record.from_cache else record.seconds
    timings = {"load": load, "preprocess": prep, "inference": inference}
    if record.from_cache:
        timings["cache_read"] = record.seconds
    if record.cache_write_s is not None:
        timings["cache_write"] = record.cache_write_s
    timings["total"] = load + prep + record.seconds
    return {
        # A DICOM folder is often named after the patient: keep identifiers out.
        "source": redact(case.source.name, case.identity),
        "n_slices": len(case.stack),
        "model": {
            "name": bundle.info.name,
            "sha256": bundle.info.sha256,
            "method": bundle.method,
        },
        # On a hit: where the stored result was computed (the same kind of device).
        "device": record.device_label,
        "device_notes": list(record.notes),
        "samples": samples,
        "timings_s": {name: round(value, 3) for name, value in timings.items()},
        "metadata": {
            "format": case.metadata.format,
            "modality": case.metadata.modality,
            "shape": list(case.shape),
            "spacing_mm": [round(s, 4) for s in case.spacing],
            "notes": list(case.metadata.notes),
        },
        "cache": record.cache_info(),
    }


def analyze_loaded(
    loaded: LoadedCase,
    bundle: Bundle,
    device: str = "auto",
    samples: int = 5,
    keep_maps: bool = False,
    decided: Collection[int] = (),
    use_cache: bool = True,
    cache: ResultCache | None = None,
    options: EngineOptions | None = None,
) -> CaseAnalysis:
    """Infer and triage a loaded case.

    keep_maps: also keep the maps of the flagged and review slices and of the slices in
    decided (a reviewer's), at most MAX_THUMBNAIL_SLICES of them, and the region maps of
    every flagged slice (its findings), for a report.
    use_cache: take the engine's output from the result cache (cache, default the user's)
    when it holds this volume for this model, K, seed and device, and store it there when
    not; case.json's "cache" says which. Triage is redone either way: thresholds may change.
    """
    engine = open_engine(bundle, device=device, samples=samples, options=options)
    policy = TriagePolicy.from_calibration(bundle.info.calibration)
    keeper = MapKeeper(policy, decided) if keep_maps else None
    regions = RegionKeeper(policy) if keep_maps else None
    log.info(
        "analyze %s: %d slices, model %s (%s), %s, K=%d",
        loaded.source,
        len(loaded.stack),
        bundle.info.name,
        bundle.info.sha256[:12],
        engine.device_label,
        samples,
    )
    store = (cache if cache is not None else default_cache()) if use_cache else None
    run = CaseRun(engine, loaded, cache=store)
    scores: list[SliceScores] = [None] * len(loaded.stack)  # type: ignore[list-item]
    for item in run:
        scores[item.position] = item.scores
        if keeper is not None and regions is not None:
            keeper.offer(item.scores, item.maps)
            regions.offer(item.scores, item.maps)
    record = run.finish()
    result = assess_case(loaded.stack, scores, bundle.info.calibration, policy)
    if loaded.prepared is not None:  # its review reason, and calls on the input's slices
        result = with_front_end(result, loaded.prepared)
    result.extra.update(case_facts(loaded, bundle, record, samples))
    result.extra["engine_options"] = engine.options.label
    log.info(
        "analyzed %s: %s, load %.2f s, preprocess %.2f s, %s %.2f s",
        loaded.source,
        result.case.decision.value,
        loaded.timings["load"],
        loaded.timings["preprocess"],
        "cache read" if record.from_cache else "inference",
        record.seconds,
    )
    levels = map_levels(bundle.info.calibration.map_levels, record.map_p99)
    return CaseAnalysis(
        loaded, result, keeper.maps if keeper else {}, levels, record,
        regions.maps if regions else {},
    )


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
