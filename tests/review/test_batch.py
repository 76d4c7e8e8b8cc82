"""A folder of cases as a batch, without a display or a model: which cases it holds, the
case queue's order and filters, and case decisions read back from the store."""

from __future__ import annotations

import math
from pathlib import Path

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.review.batch import (
    CaseItem,
    CaseStatus,
    case_matches,
    case_scores,
    find_batch_cases,
    is_batch_folder,
    order_cases,
)
from bvae_viewer.review.store import ReviewStore
from tests.review.dicomkit import write_named_series
from tests.volumes import brain_phantom, write_brats_case, write_nifti


def _names(folder: Path) -> dict[str, tuple[str, str]]:
    return {
        c.name: (c.source.relative_to(folder).as_posix(), c.problem)
        for c in find_batch_cases(folder)
    }


def test_a_mixed_folder_lists_every_case_once(tmp_path):
    root = tmp_path / "batch"
    write_brats_case(root, "BraTS_001", tumour=True)
    write_brats_case(root / "more", "BraTS_002", tumour=False)  # two levels deep
    image, seg = brain_phantom(shape=(32, 32, 12))
    write_nifti(root / "plain.nii.gz", image)
    write_nifti(root / "plain_seg.nii.gz", seg)  # a label map: not a case
    write_named_series(root / "series_a", slices=6, size=32)
    write_nifti(root / "flair_only" / "flair_only_flair.nii.gz", image)
    (root / "empty").mkdir()
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.nii.gz").write_bytes(b"")
    (root / "README.txt").write_text("not a case")

    found = _names(root)
    assert found == {
        "BraTS_001": ("BraTS_001/BraTS_001_t1ce.nii.gz", ""),
        "BraTS_002": ("more/BraTS_002/BraTS_002_t1ce.nii.gz", ""),
        "plain": ("plain.nii.gz", ""),
        "series_a": ("series_a", ""),
        "flair_only": ("flair_only", found["flair_only"][1]),
    }
    assert "no T1ce image" in found["flair_only"][1]
    assert is_batch_folder(root)


def test_a_dicom_series_folder_is_not_a_batch(tmp_path):
    series = write_named_series(tmp_path / "series", slices=6, size=32)
    assert not is_batch_folder(series)  # opened as one volume, as before
    assert not is_batch_folder(tmp_path / "missing")
    assert not is_batch_folder(tmp_path / "series" / "IM0000.dcm")


def test_an_empty_folder_has_no_cases(tmp_path):
    assert find_batch_cases(tmp_path) == []
    assert not is_batch_folder(tmp_path)


def _scores(index: int, score: float, unc: float, empty: bool = False) -> SliceScores:
    nan = math.nan
    return SliceScores(
        slice_index=index,
        anomaly_score=nan if empty else score,
        recon_error=nan,
        pixel_score_mean=nan,
        unc_total=nan if empty else unc,
        unc_epistemic=nan,
        unc_aleatoric=nan,
        latent_nll=nan,
        brain_fraction=0.0 if empty else 0.4,
        empty=empty,
    )


def test_case_score_is_the_top_slice_and_uncertainty_the_mean():
    scores = [_scores(0, 0, 0, empty=True), _scores(1, 2.0, 0.1), _scores(2, 5.0, 0.3)]
    assert case_scores(scores) == (5.0, 0.2)
    assert all(math.isnan(v) for v in case_scores([_scores(0, 0, 0, empty=True)]))


def test_review_first_then_unreadable_flagged_normal_each_by_score():
    done = CaseStatus.DONE
    items = [
        CaseItem(0, "normal-high", done, Decision.NORMAL, 9.0),
        CaseItem(1, "pending", CaseStatus.PENDING),
        CaseItem(2, "flagged-low", done, Decision.FLAGGED, 2.0),
        CaseItem(3, "review-low", done, Decision.REVIEW, 1.0),
        CaseItem(4, "unreadable", CaseStatus.FAILED, reason="damaged"),
        CaseItem(5, "flagged-high", done, Decision.FLAGGED, 3.0),
        CaseItem(6, "review-nan", done, Decision.REVIEW, math.nan),
        CaseItem(7, "stopped", CaseStatus.STOPPED),
    ]
    assert [i.name for i in order_cases(items)] == [
        "review-nan",  # a score that cannot be ranked is the most urgent
        "review-low",
        "unreadable",
        "flagged-high",
        "flagged-low",
        "normal-high",
        "pending",
        "stopped",
    ]
    kinds = {k: [i.position for i in items if case_matches(i, k)] for k in ("review", "failed")}
    assert kinds == {"review": [3, 6], "failed": [4]}
    assert len([i for i in items if case_matches(i, "all")]) == len(items)


def test_case_decisions_are_read_back_without_creating_sessions(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite") as store:
        assert store.case_decision("case", "model") is None
        assert store.sessions() == []  # looking created nothing
        session = store.open_session("case", "model")
        session.record(3, "abnormal", "flagged")  # a slice decision is not the case's
        assert store.case_decision("case", "model") is None
        session.record(0, "defer", "review", item_kind="case", note="prior?")
        session.record(0, "normal", "review", item_kind="case")
        latest = store.case_decision("case", "model")
        assert latest.decision.value == "normal" and latest.model_decision == "review"
        assert store.case_decision("case", "other-model") is None
