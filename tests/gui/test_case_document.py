"""The CaseDocument and the services that write it, without a window: a case, its slices and
their triage, the model in force, thresholds, the reviewer's records, a real run."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtWidgets import QWidget

from bvae_viewer.analysis.maps import MapSet, SliceResult, SliceScores
from bvae_viewer.analysis.model_info import Calibration, ModelInfo
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.data.preprocess import InPlaneGrid, SliceStack
from bvae_viewer.gui.analysis_service import AnalysisService
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.model_menu import ModelController
from bvae_viewer.gui.review_session import ReviewSessionService
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.io.volume import VolumeMetadata
from bvae_viewer.pipeline.case import LoadedCase
from tests.gui.test_review_window import RUN_TIMEOUT_MS

N = 6


def _case(name: str = "case.nii.gz", fingerprint: str = "f" * 64) -> LoadedCase:
    images = np.zeros((N, 8, 8), np.float32)
    images[1:5, 2:6, 2:6] = 0.5
    masks = images > 0
    fraction = masks.reshape(N, -1).mean(axis=1).astype(np.float32)
    stack = SliceStack(images, masks, np.arange(N), fraction, InPlaneGrid(0, 1, 0, 1, (8, 8)), 1.0)
    return LoadedCase(Path(name), stack, fingerprint, VolumeMetadata("nifti"))


def _model(sha: str = "a" * 64, score: float = 1.0, uncertainty: float = 0.5):
    """What the document reads of a Bundle: its model.json."""
    calibration = Calibration(alpha=0.5, score_threshold=score, uncertainty_threshold=uncertainty)
    info = ModelInfo("m", {}, "", sha, calibration=calibration)
    return SimpleNamespace(info=info)


def _result(case: LoadedCase, position: int, score: float, unc: float = 0.1) -> SliceResult:
    stack = case.stack
    empty = not stack.has_brain[position]
    nan = math.nan
    scores = SliceScores(
        slice_index=position,
        anomaly_score=nan if empty else score,
        recon_error=nan if empty else score,
        pixel_score_mean=nan,
        unc_total=nan if empty else unc,
        unc_epistemic=nan,
        unc_aleatoric=nan,
        brain_fraction=float(stack.brain_fraction[position]),
        empty=bool(empty),
    )
    maps = MapSet.empty(stack.images[position], stack.masks[position])
    return SliceResult(position, maps, scores)


@pytest.fixture
def doc(qapp, tmp_path) -> CaseDocument:
    return CaseDocument(tmp_path / "model")


def test_slices_are_decided_as_they_come_and_the_case_once_all_are_in(qtbot, doc):
    case = _case()
    with qtbot.waitSignal(doc.case_loaded):
        doc.load(case)
    assert doc.results == [None] * N and doc.case_result is None
    doc.adopt_model(_model(), "CPU (2 threads)")
    assert doc.thresholds() == (1.0, 0.5) and doc.device_name == "CPU (2 threads)"
    added = []
    doc.slice_added.connect(added.append)
    for position, score in ((1, 3.0), (2, 0.2), (0, 0.0)):
        doc.add_slice(_result(case, position, score))
    assert added == [1, 2, 0]
    assert doc.decisions[:3] == [Decision.EMPTY, Decision.FLAGGED, Decision.NORMAL]
    assert not doc.complete()
    for position in (3, 4, 5):
        doc.add_slice(_result(case, position, 0.2))
    with qtbot.waitSignal(doc.triage_changed):
        doc.retriage()
    assert doc.complete() and doc.case_result is not None
    assert doc.counts()[Decision.FLAGGED] == 1
    # New thresholds re-decide every slice at once; the model is not asked again.
    with qtbot.waitSignal(doc.triage_changed):
        doc.set_thresholds(0.1, 0.5)
    assert doc.decisions[2] == Decision.FLAGGED and doc.case_result.policy.score_threshold == 0.1


def test_a_batch_case_keeps_the_thresholds_a_new_model_does_not(doc):
    case = _case()
    doc.pinned = {case.source}
    doc.load(case)
    doc.adopt_model(_model(), "CPU")
    doc.set_thresholds(2.0, 0.4)
    doc.load(_case())  # the next case of the batch, the same model
    doc.adopt_model(_model(), "CPU")
    assert doc.thresholds() == (2.0, 0.4)
    shown = []
    doc.model_shown.connect(shown.append)
    other = _model(sha="b" * 64, score=5.0)
    doc.choose_model(Path("other"), other)
    assert doc.policy is None and doc.model_dir == Path("other") and shown == [other.info]
    doc.adopt_model(other, "CPU")
    assert doc.thresholds() == (5.0, 0.5)  # the new model's calibration


def test_the_review_session_writes_records_and_resumes_thresholds(qtbot, doc):
    session = ReviewSessionService(doc, reviewer="Dr. Test")
    case = _case()
    doc.load(case)
    with qtbot.waitSignal(session.opened):
        doc.adopt_model(_model(), "CPU")
    for position in range(N):
        doc.add_slice(_result(case, position, 3.0))
    with qtbot.waitSignal(session.decision_saved):
        record = session.record(2, "normal", "flagged", note="vessel")
    assert doc.reviewed == {2: record} and doc.record_at(2) == record
    assert record.reviewer == "Dr. Test"
    case_call = session.record(0, "abnormal", "flagged", "", item_kind="case")
    assert doc.case_record == case_call
    session.thresholds_edited(2.5, 0.3)
    assert doc.thresholds() == (2.5, 0.3)
    session.shutdown()  # logs the thresholds in force

    again = CaseDocument(doc.model_dir)
    reopened = ReviewSessionService(again)
    again.load(_case())
    with qtbot.waitSignal(reopened.opened):
        again.adopt_model(_model(), "CPU")
    assert again.thresholds() == (2.5, 0.3)  # resumed from the session's audit trail
    assert set(again.reviewed) == {2} and again.case_record.decision.value == "abnormal"
    reopened.shutdown()


def test_the_analysis_service_fills_the_document_from_a_real_run(
    qtbot, doc, model_dir, volume_path
):
    doc.model_dir = model_dir
    analysis = AnalysisService(doc, device="cpu", samples=2)
    with qtbot.waitSignal(analysis.done, timeout=RUN_TIMEOUT_MS) as blocker:
        analysis.start(volume_path)
    summary = blocker.args[0]
    assert not summary.failed and summary.analysed == len(doc.results) > 0
    assert doc.case.source == volume_path and doc.complete() and doc.case_result is not None
    assert doc.bundle is not None and doc.device_name.startswith("CPU")
    analysis.shutdown()


def test_model_choice_loads_a_folder_and_asks_for_the_case_again(qtbot, doc, model_dir, tmp_path):
    parent = QWidget()
    models = ModelController(doc, GuiSettings(tmp_path / "gui.ini"), parent, model_dir)
    asked = []
    models.reanalyse.connect(lambda: asked.append(True))
    with qtbot.waitSignal(doc.model_chosen, timeout=RUN_TIMEOUT_MS):
        models.switch_to(model_dir.parent / model_dir.name)  # same folder, no model yet
    assert doc.bundle is not None and doc.model_dir == model_dir and asked == [True]
    with qtbot.waitSignal(models.error, timeout=RUN_TIMEOUT_MS):
        models.switch_to(tmp_path / "not-a-model")
    assert doc.model_dir == model_dir  # a bad folder changes nothing
    models.shutdown()
    parent.deleteLater()
