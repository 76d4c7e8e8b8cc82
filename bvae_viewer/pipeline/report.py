"""One builder of a report's data, for `analyze --report` and the window's export alike."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.findings import pixel_level
from bvae_viewer.analysis.maps import MapSet, SliceResult
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.analysis.report_text import SliceNumbering
from bvae_viewer.analysis.triage import TriagePolicy
from bvae_viewer.pipeline.analyze import CaseAnalysis
from bvae_viewer.pipeline.case import LoadedCase
from bvae_viewer.review.report_data import MapKeeper, RegionKeeper, ReportData, VolumeFacts
from bvae_viewer.review.report_findings import case_findings
from bvae_viewer.review.store import DecisionRecord


def kept_maps(
    results: Iterable[SliceResult | None], policy: TriagePolicy, decided: Collection[int] = ()
) -> dict[int, MapSet]:
    """The maps a report shows, chosen as `analyze` chooses them while slices stream in."""
    keeper = MapKeeper(policy, decided)
    for r in results:
        if r is not None:
            keeper.offer(r.scores, r.maps)
    return keeper.maps


def region_maps(results: Iterable[SliceResult | None], policy: TriagePolicy) -> dict[int, MapSet]:
    """What the findings are measured from, chosen as `analyze` keeps it."""
    keeper = RegionKeeper(policy)
    for r in results:
        if r is not None:
            keeper.offer(r.scores, r.maps)
    return keeper.maps


def report_data(
    case: LoadedCase,
    result: CaseResult,
    maps: dict[int, MapSet],
    info: ModelInfo,
    device: str,
    map_levels: Mapping[str, tuple[float, float]],
    decisions: Mapping[int, DecisionRecord] | None = None,
    case_review: DecisionRecord | None = None,
    radiological: bool = True,
    regions: Mapping[int, MapSet] | None = None,
) -> ReportData:
    """What a report of an analysed case shows: its findings (from regions, the region maps of
    the flagged slices; maps when not given), its method's panels at these levels, with the
    reviewer's decisions if there are any."""
    findings, key_images = case_findings(
        case.stack, case.geometry, result, regions if regions is not None else maps,
        pixel_level(map_levels), acquired=case.acquired_view(),
    )
    return ReportData(
        case_label=case.source.name,  # reports remove identifiers from it
        case_hash=case.fingerprint,
        result=result,
        maps=maps,
        map_levels=dict(map_levels),
        model_name=info.name,
        model_sha256=info.sha256,
        method=info.method,
        device=device,
        metadata=case.metadata,
        decisions=dict(decisions or {}),
        identity=case.identity,
        case_review=case_review,
        radiological=radiological,
        findings=findings,
        key_images=key_images,
        numbering=SliceNumbering.from_geometry(case.geometry, len(case.stack)),
        volume=VolumeFacts(tuple(case.shape), tuple(case.spacing), case.stack.brain_ml),
    )


def analysis_report_data(
    analysis: CaseAnalysis,
    info: ModelInfo,
    decisions: Mapping[int, DecisionRecord] | None = None,
    case_review: DecisionRecord | None = None,
) -> ReportData:
    """The report of an `analyze` run (model-space orientation: radiological, as saved)."""
    return report_data(
        analysis.case,
        analysis.result,
        analysis.maps,
        info,
        analysis.record.device_label,
        analysis.map_levels,
        decisions,
        case_review,
        regions=analysis.regions,
    )
