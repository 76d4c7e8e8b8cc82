"""The review queue and thresholds: keyboard triage into the store, resume, live re-triage."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from bvae_viewer.analysis.display import PANELS, panel_image
from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.triage import Decision, TriagePolicy
from bvae_viewer.gui.queue_items import (
    ValidationSlices,
    case_coverage,
    queue_items,
    triage_counts,
    validation_preview,
    validation_slices,
)
from bvae_viewer.gui.threshold_panel import OFF
from bvae_viewer.nn.bundle import load_bundle
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.paths import data_dir
from bvae_viewer.review.store import DB_NAME, ReviewStore
from tests.gui.test_review_window import open_and_wait

pytestmark = pytest.mark.gui
BY_KEY = {p.key: p for p in PANELS}


def brain_scores(window, field: str) -> np.ndarray:
    return np.array(
        [getattr(r.scores, field) for r in window.doc.results if not r.scores.empty], dtype=float
    )


def type_threshold(qtbot, box, value: float) -> None:
    """Type a value into a threshold box and press Enter, as a reader would."""
    box.setFocus()
    box.lineEdit().selectAll()
    QTest.keyClicks(box.lineEdit(), f"{value:.6g}")
    QTest.keyClick(box.lineEdit(), Qt.Key.Key_Return)


def split_thresholds(qtbot, window) -> tuple[float, float]:
    """Thresholds from the case's own scores, so all three decisions occur."""
    panel = window.review.thresholds
    score = float(np.median(brain_scores(window, "anomaly_score")))
    unc = float(np.quantile(brain_scores(window, "unc_total"), 0.3))
    type_threshold(qtbot, panel.score_box, score)
    type_threshold(qtbot, panel.unc_box, unc)
    return window.doc.thresholds()


def stored(case_hash: str, model_sha: str) -> dict:
    with ReviewStore(data_dir() / DB_NAME) as store:
        session = store.find_session(case_hash, model_sha)
        assert session is not None
        return session.current()


def test_keyboard_triage_lands_in_the_store_and_resumes(
    qtbot, make_window, model_dir, volume_path, tmp_path
):
    window = make_window(model_dir)
    open_and_wait(qtbot, window, volume_path)
    score_t, unc_t = split_thresholds(qtbot, window)
    queue = window.review.queue
    assert queue.filter_kind == "review"  # the default: what the model is unsure about
    listed = queue.shown_positions()
    assert len(listed) >= 3, "too few slices went to review at these thresholds"
    assert all(window.doc.decisions[p] == Decision.REVIEW for p in listed)
    queue.reviewer_edit.setText("dr-test")
    queue.reviewer_edit.editingFinished.emit()

    # Keyboard only: into the list, Home selects the first item, and the maps follow it.
    queue.list.setFocus()
    QTest.keyClick(queue.list, Qt.Key.Key_Home)
    first = listed[0]
    assert window.state.slice == first
    np.testing.assert_array_equal(
        window.grid.panels["error"].shown(),
        panel_image(window.doc.results[first].maps, BY_KEY["error"]),
    )
    QTest.keyClick(queue.list, Qt.Key.Key_A)  # abnormal, then on to the next item
    assert window.state.slice == listed[1]
    queue.note_edit.setFocus()
    QTest.keyClicks(queue.note_edit, "rim enhancement?")
    queue.list.setFocus()
    QTest.keyClick(queue.list, Qt.Key.Key_N)
    assert window.state.slice == listed[2]
    QTest.keyClick(queue.list, Qt.Key.Key_D)

    case = window.doc.case
    sha = window.doc.bundle.info.sha256
    index = {p: int(case.stack.slice_index[p]) for p in listed[:3]}
    records = stored(case.fingerprint, sha)
    assert {k: r.decision.value for k, r in records.items()} == {
        index[listed[0]]: "abnormal",
        index[listed[1]]: "normal",
        index[listed[2]]: "defer",
    }
    second = records[index[listed[1]]]
    assert second.note == "rim enhancement?"
    assert second.reviewer == "dr-test"
    assert second.model_decision == "review"
    assert second.score_threshold == pytest.approx(score_t)
    assert second.uncertainty_threshold == pytest.approx(unc_t)
    # The slice text shows the reviewer's decision beside the model's.
    window.state.set_slice(listed[1])
    assert "normal (dr-test)" in window.info.text()
    window.close()

    # A renamed copy of the same scan, in a new window: the same session comes back.
    copy = tmp_path / "renamed_copy.nii.gz"
    shutil.copy(volume_path, copy)
    again = make_window(model_dir)
    open_and_wait(qtbot, again, copy)
    assert again.doc.case.fingerprint == case.fingerprint
    assert again.doc.thresholds() == pytest.approx((score_t, unc_t))  # resumed, not calibrated
    decided = {r.slice_index: r.reviewer for r in queue_items_of(again) if r.reviewer}
    assert {k: v.decision.value for k, v in decided.items()} == {
        index[listed[0]]: "abnormal",
        index[listed[1]]: "normal",
        index[listed[2]]: "defer",
    }
    again.review.queue.filter_combo.setCurrentIndex(
        again.review.queue.filter_combo.findData("undecided")
    )
    shown = again.review.queue.shown_positions()
    # Deferred is still to do; abnormal and normal are done.
    assert listed[2] in shown and listed[0] not in shown and listed[1] not in shown
    rows = again.review.queue.list
    texts = {rows.topLevelItem(i).text(0): rows.topLevelItem(i).text(4) for i in range(len(shown))}
    # The Slice column counts as the input does, from 1 (as the findings and the report).
    assert texts[str(again.doc.slice_number(listed[2]))] == "deferred"
    again.close()

    # The same weights recalibrated (another alpha: another scale of the score): the saved
    # thresholds mean nothing there, so they are not resumed.
    recalibrated = tmp_path / "recalibrated"
    shutil.copytree(model_dir, recalibrated)
    info = json.loads((recalibrated / "model.json").read_text())
    info["calibration"]["alpha"] = 0.123 if info["calibration"]["alpha"] != 0.123 else 0.5
    (recalibrated / "model.json").write_text(json.dumps(info))
    third = make_window(recalibrated)
    open_and_wait(qtbot, third, copy)
    assert third.doc.bundle.info.sha256 == sha
    assert third.doc.thresholds() != pytest.approx((score_t, unc_t))  # not resumed
    assert len(stored(case.fingerprint, sha)) == 3  # the decisions stay with the weights


def queue_items_of(window):
    return queue_items(window.doc.results, window.doc.decisions, window.doc.reviewed)


def test_thresholds_retriage_without_running_the_model(
    qtbot, make_window, validated_model_dir, volume_path, monkeypatch
):
    runs = []
    real_run = InferenceEngine.run

    def counting_run(self, *args, **kwargs):  # the real engine, counted
        runs.append(1)
        yield from real_run(self, *args, **kwargs)

    monkeypatch.setattr(InferenceEngine, "run", counting_run)
    window = make_window(validated_model_dir)
    open_and_wait(qtbot, window, volume_path)
    assert len(runs) == 1
    panel = window.review.thresholds
    cal = window.doc.bundle.info.calibration
    assert panel.thresholds() == (cal.score_threshold, cal.uncertainty_threshold)
    results_before = list(window.doc.results)
    worker = window.analysis.worker

    # Everything flagged: a threshold under every score.
    low = float(brain_scores(window, "anomaly_score").min()) * 0.5
    type_threshold(qtbot, panel.score_box, low)
    type_threshold(qtbot, panel.unc_box, OFF)
    counts = triage_counts(window.doc.decisions)
    brain = len(brain_scores(window, "anomaly_score"))
    assert counts[Decision.FLAGGED] == brain and counts[Decision.REVIEW] == 0
    assert f"<b>{brain}</b> flagged" in panel.counts_label.text()
    assert window.doc.thresholds()[0] == pytest.approx(low, rel=1e-5)
    line = window.profile._thresholds[id(window.profile.score_plot)]
    assert line.value() == window.doc.thresholds()[0]
    # The model's call on the whole case follows, with the rule that made it.
    call = window.review.queue.model_call
    assert window.doc.case_result.case.decision == Decision.FLAGGED and not call.isHidden()
    assert "flagged</b>" in call.text() and "consecutive slices above" in call.text()

    # Now the uncertainty threshold at the median: about half go to review, review first.
    unc = brain_scores(window, "unc_total")
    type_threshold(qtbot, panel.unc_box, float(np.median(unc)))
    counts = triage_counts(window.doc.decisions)
    expected_review = int((unc > window.doc.thresholds()[1]).sum())
    assert counts[Decision.REVIEW] == expected_review > 0
    assert counts[Decision.FLAGGED] == brain - expected_review
    for r, d in zip(window.doc.results, window.doc.decisions, strict=True):
        if not r.scores.empty:
            assert d == window.doc.policy.decide_slice(r.scores)
    coverage = case_coverage(window.doc.decisions)
    assert f"{coverage.automatic} of {brain} brain slices" in panel.case_label.text()
    items = queue_items_of(window)
    assert items[0].model == Decision.REVIEW and items[-1].model == Decision.FLAGGED
    # The validation preview follows the thresholds too (model.json carries the slices).
    validation = validation_slices(window.doc.bundle.info.metrics)
    expected = validation_preview(validation, window.doc.policy)
    assert f"the model decides {100 * expected.coverage:.0f} %" in panel.validation_label.text()

    # Back to calibrated with one click.
    qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert window.doc.thresholds() == (cal.score_threshold, cal.uncertainty_threshold)

    # Not one more inference: same run, same result objects, no thread started.
    assert len(runs) == 1
    assert window.analysis.worker is worker and not worker.isRunning()
    assert all(a is b for a, b in zip(results_before, window.doc.results, strict=True))


def test_open_case_only_preview_says_so(qtbot, window, volume_path):
    open_and_wait(qtbot, window, volume_path)
    panel = window.review.thresholds
    assert "this case only" in panel.validation_label.text()
    # The untrained test model has no calibrated thresholds: shown as "off", all normal.
    assert panel.score_box.text() == "off" and math.isinf(window.doc.thresholds()[0])
    counts = triage_counts(window.doc.decisions)
    assert counts[Decision.FLAGGED] == counts[Decision.REVIEW] == 0


def test_queue_click_and_keys_jump_the_slice(qtbot, window, volume_path):
    open_and_wait(qtbot, window, volume_path)
    queue = window.review.queue
    queue.filter_combo.setCurrentIndex(queue.filter_combo.findData("all"))
    shown = queue.shown_positions()
    assert len(shown) == len(brain_scores(window, "anomaly_score"))
    # Sorted by anomaly score, highest first, at these (no) thresholds: all normal.
    scores = [window.doc.results[p].scores.anomaly_score for p in shown]
    assert scores == sorted(scores, reverse=True)

    target_row = 5
    item = queue.list.topLevelItem(target_row)
    rect = queue.list.visualItemRect(item)
    QTest.mouseClick(
        queue.list.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        rect.center(),
    )
    target = shown[target_row]
    assert window.state.slice == target
    result = window.doc.results[target]
    for key in ("original", "reconstruction", "aleatoric", "epistemic", "total", "error"):
        shown_image = window.grid.panels[key].shown()
        np.testing.assert_array_equal(shown_image, panel_image(result.maps, BY_KEY[key]))
    assert window.slider.value() == target

    QTest.keyClick(window, Qt.Key.Key_J)
    assert window.state.slice == shown[target_row + 1]
    QTest.keyClick(window, Qt.Key.Key_K)
    QTest.keyClick(window, Qt.Key.Key_K)
    assert window.state.slice == shown[target_row - 1]
    # Scrolling elsewhere highlights the matching row without moving anything else.
    window.state.set_slice(shown[0])
    assert queue.list.currentItem() is queue.list.topLevelItem(0)


def test_export_report_dialog_writes_a_deidentified_report(qtbot, window, volume_path, tmp_path):
    pytest.importorskip("bvae_viewer.gui.report_writer")  # written by another developer
    open_and_wait(qtbot, window, volume_path)
    queue = window.review.queue
    queue.filter_combo.setCurrentIndex(queue.filter_combo.findData("all"))
    queue.list.setFocus()
    QTest.keyClick(queue.list, Qt.Key.Key_Home)
    decided = int(window.doc.case.stack.slice_index[window.state.slice])
    QTest.keyClick(queue.list, Qt.Key.Key_A)

    window.reports.export_report()
    dialog = window.reports.export_dialog
    assert dialog.isVisible() and not dialog.identifiers.isChecked()
    dialog.path_edit.setText(str(tmp_path / "report.txt"))
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert dialog.isVisible() and ".pdf, .html, .csv or .json" in dialog.problem.text()

    for name in ("report.json", "report.pdf"):
        dialog.path_edit.setText(str(tmp_path / name))
        with qtbot.waitSignal(window.reports.report_done, timeout=60_000) as blocker:
            dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
        assert blocker.args == [str(tmp_path / name), ""]
        if not dialog.isVisible():
            window.reports.export_report()
            dialog = window.reports.export_dialog
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["case_fingerprint"] == window.doc.case.fingerprint
    assert "patient" not in report
    text = json.dumps(report)
    assert "abnormal" in text and str(decided) in text
    assert (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"


def test_validation_reader_ignores_what_it_cannot_use(validated_model_dir):
    info = load_bundle(validated_model_dir).info
    data = validation_slices(info.metrics)
    assert data is not None and data.anomaly_score.shape == (400,)
    assert validation_slices({}) is None
    assert validation_slices({"validation": {"slices": {"anomaly_score": [1.0]}}}) is None
    assert validation_slices({"validation": {"roc_auc": 0.8}}) is None


def test_validation_preview_counts_like_the_triage():
    data = ValidationSlices(
        anomaly_score=np.array([3.0, 1.0, 3.0, 1.0]),
        unc_total=np.array([0.01, 0.01, 0.5, np.nan]),  # NaN: not trusted, so review
        abnormal=np.array([True, True, True, False]),
    )
    preview = validation_preview(data, TriagePolicy(score_threshold=2.0, uncertainty_threshold=0.1))
    assert preview.coverage == 0.5  # slices 0 and 1 decided by the model
    assert preview.error_rate == 0.5  # slice 1 abnormal, called normal
    assert preview.abnormal_in_review == pytest.approx(1 / 3)  # slice 2
    everything = validation_preview(data, TriagePolicy(2.0, math.inf))
    assert everything.coverage == 0.75 and everything.abnormal_in_review == 0.0
    # A band around the score threshold: 1.0 and 3.0 sit within 3x of 2.0, so every
    # finite slice goes to review, just as decide_slice says.
    banded = TriagePolicy(2.0, math.inf, review_band=3.0)
    assert validation_preview(data, banded).coverage == 0.0
    for score, unc in zip(data.anomaly_score, data.unc_total, strict=True):
        s = SliceScores(0, float(score), 0.0, 0.0, float(unc), 0.0, 0.0, 0.5)
        assert banded.decide_slice(s) == Decision.REVIEW


def test_coverage_curve_counts_slices_that_go_to_review_regardless():
    from bvae_viewer.gui.queue_items import coverage_curve, review_regardless

    policy = TriagePolicy(2.0, math.inf, review_band=1.5)
    unc = [0.1, 0.2, 0.3, 0.4]
    scores = [0.5, 1.8, math.nan, 5.0]  # 1.8 is near the line, NaN is never trusted
    curve_x, curve_y = coverage_curve(review_regardless(unc, scores, policy))
    assert list(curve_x) == [0.1, 0.4]
    assert list(curve_y) == [0.25, 0.5]  # at most half the slices can be decided alone


def test_step_through_walks_the_listed_order_and_stops_at_its_ends():
    from bvae_viewer.gui.queue_items import step_through

    shown = [7, 3, 9]
    assert step_through(shown, 3, 1) == 9 and step_through(shown, 3, -1) == 7
    assert step_through(shown, 9, 1) is None and step_through(shown, 7, -1) is None
    assert step_through(shown, 42, 1) == 7 and step_through(shown, None, -1) == 9
    assert step_through([], 3, 1) is None
