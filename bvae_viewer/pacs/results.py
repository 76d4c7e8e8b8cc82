"""The DICOM objects that go back to the PACS, built with highdicom from the source images:
a Segmentation of the flagged region and a Comprehensive SR with the decisions.

They carry the study's patient and study identifiers (copied from the source images by
highdicom): a PACS files objects by them. File exports keep their own de-identification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from bvae_viewer import __version__
from bvae_viewer.pacs.errors import ResultObjectError

RESEARCH_USE = "RESEARCH USE ONLY, not for diagnosis"
MANUFACTURER = "bvae-viewer"
SEG_SERIES_NUMBER = 9901
SR_SERIES_NUMBER = 9902
_REPORT_TITLE = hd.sr.CodedConcept("18748-4", "LN", "Diagnostic imaging report")
_REVIEW = hd.sr.CodedConcept("121074", "DCM", "Conclusion of review")  # reviewer's call
_CONTAINS = hd.sr.RelationshipTypeValues.CONTAINS


@dataclass(frozen=True)
class ResultSummary:
    """What the report says: the model's case call, its findings, the reviewer's call."""

    case_decision: str  # normal | flagged | review
    reasons: tuple[str, ...]
    findings: tuple[str, ...]  # one sentence each
    reviewer_decision: str  # e.g. "abnormal (by dr.a, 2026-12-06T10:00Z): note", or "not reviewed"
    model_name: str
    model_sha256: str


def check_sources(source: Sequence[Dataset]) -> None:
    if not source:
        raise ResultObjectError("There are no source images to attach the results to.")
    if any(int(ds.get("NumberOfFrames", 1) or 1) > 1 for ds in source):
        raise ResultObjectError(
            "Results for an enhanced (multi-frame) series cannot be sent to the PACS yet; "
            "export them as a report instead."
        )
    missing = [k for k in ("FrameOfReferenceUID", "StudyInstanceUID", "SeriesInstanceUID")
               if not source[0].get(k)]
    if missing:
        raise ResultObjectError(
            f"The source series has no {', '.join(missing)}, which DICOM results must "
            "reference; its results can be exported as files only."
        )


def build_segmentation(
    source: Sequence[Dataset], mask: np.ndarray, summary: ResultSummary
) -> hd.seg.Segmentation:
    """A binary SEG of the flagged region, one frame per source image that has any of it,
    on the source's own grid and frame of reference."""
    check_sources(source)
    if mask.shape != (len(source), int(source[0].Rows), int(source[0].Columns)):
        raise ValueError(f"mask {mask.shape} does not match {len(source)} source images")
    algorithm = hd.AlgorithmIdentificationSequence(
        name=summary.model_name,
        version=summary.model_sha256[:12],
        family=codes.DCM.ArtificialIntelligence,
    )
    segment = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label="Flagged region",
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Lesion,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=algorithm,
        anatomic_regions=[codes.SCT.Brain],
    )
    seg = hd.seg.Segmentation(
        source_images=list(source),
        pixel_array=mask.astype(bool),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment],
        series_instance_uid=hd.UID(),
        series_number=SEG_SERIES_NUMBER,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=summary.model_name,
        software_versions=__version__,
        device_serial_number=summary.model_sha256[:16] or "unknown",
        content_label="FLAGGED",
        content_description=f"Anomaly score above threshold. {RESEARCH_USE}"[:64],
        series_description="bvae-viewer flagged region (RESEARCH USE ONLY)",
    )
    return seg


def _text(name: hd.sr.CodedConcept, value: str) -> hd.sr.TextContentItem:
    return hd.sr.TextContentItem(name=name, value=value[:1024], relationship_type=_CONTAINS)


def build_report(
    source: Sequence[Dataset], summary: ResultSummary, seg: Dataset | None = None
) -> hd.sr.ComprehensiveSR:
    """A Comprehensive SR: research-use notice, the case decision and why, each finding,
    the reviewer's decision, and a reference to the SEG when there is one."""
    check_sources(source)
    impression = f"Model case decision: {summary.case_decision}"
    if summary.reasons:
        impression += f" ({'; '.join(summary.reasons)})"
    items = [
        _text(codes.DCM.Comment, RESEARCH_USE),
        _text(codes.DCM.Impression, impression),
        *(_text(codes.DCM.Finding, finding) for finding in summary.findings),
        _text(_REVIEW, f"Reviewer's decision: {summary.reviewer_decision}"),
        _text(codes.DCM.AlgorithmName,
              f"{summary.model_name} (sha256 {summary.model_sha256[:12]}), "
              f"bvae-viewer {__version__}"),
    ]
    evidence = list(source)
    if seg is not None:
        items.append(hd.sr.CompositeContentItem(
            name=codes.DCM.Segmentation,
            referenced_sop_class_uid=seg.SOPClassUID,
            referenced_sop_instance_uid=seg.SOPInstanceUID,
            relationship_type=_CONTAINS,
        ))
        evidence.append(seg)
    root = hd.sr.ContainerContentItem(name=_REPORT_TITLE)
    root.ContentSequence = hd.sr.ContentSequence(items)
    return hd.sr.ComprehensiveSR(
        evidence=evidence,
        content=root,
        series_instance_uid=hd.UID(),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
        series_description="bvae-viewer report (RESEARCH USE ONLY)",
    )
