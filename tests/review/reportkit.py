"""ReportData built in code from numpy maps (no model, no torch) for the report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bvae_viewer.analysis.case import assess_case
from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.analysis.maps import MapSet, reconstruction_maps, score_slice
from bvae_viewer.analysis.model_info import Calibration
from bvae_viewer.analysis.report_text import SliceNumbering
from bvae_viewer.data.preprocess import InPlaneGrid, SliceStack
from bvae_viewer.io.volume import PatientIdentity, VolumeMetadata
from bvae_viewer.review.report import ReportData
from bvae_viewer.review.report_data import RegionKeeper, VolumeFacts
from bvae_viewer.review.report_findings import case_findings
from bvae_viewer.review.store import ReviewStore

SIZE = 32
# The model's slice p is the input's slice p + INPUT_OFFSET (0-based): a report that printed
# stack positions would show other numbers. Voxels of 2 mm, from z = -40 mm.
INPUT_OFFSET = 10
Z0_MM, SLICE_MM, PIXEL_MM = -40.0, 2.0, 2.0
PIXEL_LEVEL = 20.0
IDENTITY = PatientIdentity(
    patient_name="Zyxwort^Quilla",
    patient_id="PID-88123",
    birth_date="19610417",
    accession_number="ACC-55091",
    institution="Saint Elsewhere Infirmary",
    study_date="20230905",
)


def _maps(n: int, seed: int = 0) -> tuple[SliceStack, list[MapSet]]:
    """n slices: brain disc, slice 0 empty; the middle ones carry a bright 'lesion'."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE] / (SIZE - 1) - 0.5
    disc = np.hypot(xx, yy) < 0.4
    images = np.where(disc, 0.6, 0.0)[None].repeat(n, 0).astype(np.float32)
    images[0] = 0.0
    lesion = np.hypot(xx - 0.1, yy) < 0.08
    for k in range(n // 2 - 1, n // 2 + 2):
        images[k][lesion] = 1.0
    masks = images > 0
    fraction = masks.reshape(n, -1).mean(axis=1).astype(np.float32)
    stack = SliceStack(
        images, masks, np.arange(n), fraction, InPlaneGrid(0.0, 1.0, 0.0, 1.0, (SIZE, SIZE)), 1.0
    )
    maps = []
    for k in range(n):
        healthy = np.where(disc, 0.6, 0.0) * (k > 0)
        means = healthy + 0.01 * rng.standard_normal((4, SIZE, SIZE))
        logvars = np.full((4, SIZE, SIZE), -6.0) + (2.0 if k == n - 2 else 0.0)
        maps.append(reconstruction_maps(images[k], means, logvars, masks[k]))
    return stack, maps


def geometry(n: int) -> SliceGeometry:
    """Model pixel (row, col) of slice p -> input voxel (col, SIZE-1-row, p + INPUT_OFFSET)
    -> mm (PIXEL_MM pixels, SLICE_MM slices)."""
    to_input = np.eye(4)
    to_input[2, 3] = INPUT_OFFSET
    affine = np.diag([PIXEL_MM, PIXEL_MM, SLICE_MM, 1.0])
    affine[2, 3] = Z0_MM
    grid = InPlaneGrid(0.0, 1.0, 0.0, 1.0, (SIZE, SIZE))
    return SliceGeometry(grid, np.arange(n), to_input, affine, (SIZE, SIZE, n + 2 * INPUT_OFFSET),
                         SIZE)


def shown(position: int) -> int:
    """The slice number a report shows for a stack position (1-based, the input's)."""
    return position + INPUT_OFFSET + 1


def make_report_data(
    n: int = 12,
    score_threshold: float = 0.02,
    uncertainty_threshold: float = 0.01,
    decisions: dict | None = None,
    case_review=None,
    identity: PatientIdentity = IDENTITY,
    label: str = "scan.nii.gz",
    keep=lambda index: True,
    ood: bool = False,
    case_rules: dict | None = None,  # further Calibration fields (the case rules)
) -> ReportData:
    stack, maps = _maps(n)
    scores = [score_slice(m, 0.5, k, float(stack.brain_fraction[k])) for k, m in enumerate(maps)]
    calibration = Calibration(
        alpha=0.5, score_threshold=score_threshold, uncertainty_threshold=uncertainty_threshold,
        **(case_rules or {}),
    )
    if ood:  # a reference this case cannot match: a brain of a cubic metre
        reference = {
            "brain_ml_range": [1e6, 2e6],
            "histogram": [1 / 32] * 32,
            "histogram_distance_max": 1.0,
            "latent_nll_max": np.inf,
            "recon_error_max": np.inf,
            "unc_total_max": np.inf,
        }
        calibration = Calibration(**{**vars(calibration), "ood": reference})
    result = assess_case(stack, scores, calibration)
    kept = {k: m for k, m in enumerate(maps) if keep(k) and not scores[k].empty}
    regions = RegionKeeper(result.policy)
    for s, m in zip(scores, maps, strict=True):
        regions.offer(s, m)
    where = geometry(n)
    findings, key_images = case_findings(stack, where, result, regions.maps, PIXEL_LEVEL)
    return ReportData(
        case_label=label,
        case_hash="ab" * 32,
        result=result,
        maps=kept,
        map_levels={
            "error": (0.0, 0.2),
            "aleatoric": (0.0, 0.01),
            "epistemic": (0.0, 1e-4),
            "total": (0.0, 0.01),
            "pixel_score": (0.0, PIXEL_LEVEL),
        },
        model_name="test-model",
        model_sha256="cd" * 32,
        device="CPU (1 threads)",
        metadata=VolumeMetadata("dicom", modality="MR", series_description="T1 post"),
        decisions=decisions or {},
        identity=identity,
        case_review=case_review,
        created_at="2026-01-02 03:04 UTC",
        findings=findings,
        key_images=key_images,
        numbering=SliceNumbering.from_geometry(where, n),
        volume=VolumeFacts((SIZE, SIZE, n + 2 * INPUT_OFFSET), (1.0, 1.0, SLICE_MM),
                           stack.brain_ml),
    )


def reviewed(tmp_path: Path, note: str = "enhancing rim") -> tuple[dict, object]:
    """Real decision records from a real store: slice 6 abnormal, slice 2 normal, the case."""
    with ReviewStore(tmp_path / "reviews.sqlite") as store:
        session = store.open_session("ab" * 32, "cd" * 32)
        session.reviewer = "Dr. Reader"
        session.record(6, "abnormal", "flagged", note=note)
        session.record(2, "normal", "normal", note="vessel")
        session.record(0, "abnormal", "flagged", item_kind="case", note="refer")
        return session.current(), session.case_decision()
