"""A brain extraction the front end found implausible sends the case to review in the window
and the batch too (not only in `analyze`), and clears no slice as normal."""

from dataclasses import replace

import numpy as np

from bvae_viewer.analysis.maps import MapSet, SliceResult, SliceScores
from bvae_viewer.analysis.model_info import Calibration
from bvae_viewer.analysis.triage import Decision, TriagePolicy
from bvae_viewer.gui.case_triage import triage_results
from bvae_viewer.pipeline.case import load_case
from tests.volumes import brain_phantom, write_nifti

REASON = "The brain extraction looks wrong: the brain touches the edge of the scan."


def _results(stack):
    """A quiet result per slice: every brain slice far below the line, so normal."""
    out = []
    for p in range(len(stack)):
        empty = not stack.has_brain[p]
        nan = float("nan")
        scores = SliceScores(int(stack.slice_index[p]), nan if empty else 0.1, 0.001, 0.1,
                             nan if empty else 0.001, 0.0001, 0.0009,
                             float(stack.brain_fraction[p]), empty=empty)
        out.append(SliceResult(p, MapSet.empty(stack.images[p], stack.masks[p]), scores))
    return out


def test_an_implausible_extraction_reviews_the_case(tmp_path):
    image, _ = brain_phantom(shape=(64, 72, 20))
    case = load_case(write_nifti(tmp_path / "case.nii.gz", image), preprocess="never")
    policy = TriagePolicy(score_threshold=1.0, uncertainty_threshold=1.0)
    calibration = Calibration(score_threshold=1.0, uncertainty_threshold=1.0)
    results = _results(case.stack)

    plain = triage_results(case.stack, results, calibration, policy, case.prepared)
    assert plain.case.case.decision == Decision.NORMAL
    assert Decision.NORMAL in plain.decisions

    doubtful = replace(case.prepared, review_reason=REASON)
    whole = triage_results(case.stack, results, calibration, policy, doubtful)
    assert whole.case.case.decision == Decision.REVIEW
    assert whole.case.case.reasons[0] == REASON
    assert Decision.NORMAL not in whole.decisions

    partial = [r if i % 2 else None for i, r in enumerate(results)]
    half = triage_results(case.stack, partial, calibration, policy, doubtful)
    assert half.case is None and Decision.NORMAL not in half.decisions
    assert np.count_nonzero([d == Decision.REVIEW for d in half.decisions]) > 0


def test_slice_details_say_why_a_slice_is_in_review(qtbot, window, volume_path):
    with qtbot.waitSignal(window.analysis.done, timeout=120_000):
        window.opener.open_path(volume_path)
    doc = window.doc
    index = window.state.slice
    unc = doc.results[index].scores.unc_total
    # An uncertainty threshold below this slice's uncertainty sends it to review.
    doc.set_thresholds(doc.thresholds()[0], unc / 2)
    qtbot.waitUntil(lambda: doc.decisions[index] == Decision.REVIEW, timeout=5_000)
    window.display.refresh_slice_info()
    text = window.info.text()
    assert "Why in review:" in text and "above its threshold" in text
    doc.set_thresholds(doc.thresholds()[0], unc * 100)
    qtbot.waitUntil(lambda: doc.decisions[index] != Decision.REVIEW, timeout=5_000)
    window.display.refresh_slice_info()
    assert "Why in review:" not in window.info.text()
