"""The review workflow a radiologist can trust (issue 19): findings first in the queue, each
case opening on its highest finding, review slices by the calibrated probability of error
with their reason, Shift+A on a whole finding, undo in the audit trail, an incomplete
analysis marked as such, and Esc to cancel."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from bvae_viewer.analysis.review_reasons import slice_review_reason
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.gui.queue_panel import WHY_COLUMN
from bvae_viewer.paths import data_dir
from bvae_viewer.pipeline.case import load_case
from bvae_viewer.review.store import DB_NAME, ReviewStore
from tests.gui.test_review_window import RUN_TIMEOUT_MS, engine_maps, open_and_wait

pytestmark = pytest.mark.gui
ERROR_MODEL = {  # as model/model.json carries it (analysis.deferral.ErrorModel)
    "features": ["log_margin"],
    "coefficients": [-2.37],
    "intercept": 0.46,
    "review_cutoff": 0.5,
}


def calibrated_copy(model_dir, folder, scores, uncertainties):
    """The same weights with thresholds taken from a case's own scores (so it has flagged
    runs and review slices), a review band and an error model."""
    shutil.copytree(model_dir, folder)
    info = json.loads((folder / "model.json").read_text())
    info["calibration"].update(
        score_threshold=float(np.quantile(scores, 0.55)),
        uncertainty_threshold=float(np.quantile(uncertainties, 0.9)),
        review_band=1.03,
    )
    info["error_model"] = ERROR_MODEL
    (folder / "model.json").write_text(json.dumps(info))
    return folder


@pytest.fixture
def calibrated_window(qtbot, make_window, model_dir, volume_path, tmp_path):
    """A window whose model flags part of the phantom, the phantom opened on it."""
    reference = engine_maps(model_dir, load_case(volume_path).stack)
    brain = [r.scores for r in reference.values() if not r.scores.empty]
    model = calibrated_copy(
        model_dir,
        tmp_path / "calibrated",
        [s.anomaly_score for s in brain],
        [s.unc_total for s in brain],
    )
    window = make_window(model)
    open_and_wait(qtbot, window, volume_path)
    return window


def rows(queue) -> list:
    tree = queue.list
    return [tree.topLevelItem(r) for r in range(tree.topLevelItemCount())]


def stored_session(window):
    store = ReviewStore(data_dir() / DB_NAME)
    session = store.find_session(window.doc.case.fingerprint, window.doc.bundle.info.sha256)
    assert session is not None
    return store, session


def test_findings_first_opening_at_the_peak_reasons_and_order(qtbot, calibrated_window):
    window = calibrated_window
    review, queue, doc = window.review, window.review.queue, window.doc
    findings = review.findings
    assert findings, "the calibrated copy flags no run of slices"
    # The case opened on the peak slice of its highest finding, once the run ended.
    assert window.state.slice == findings[0].peak_position
    assert findings[0].peak_score == max(f.peak_score for f in findings)

    # Findings first, one row each, numbered from the highest peak; then the review slices.
    items = queue.shown_items()
    n = len(findings)
    assert [i.finding for i in items[:n]] == findings
    for row, finding in zip(rows(queue)[:n], findings, strict=True):
        assert row.text(0).startswith(finding.describe())
        assert row.text(0).startswith(f"Finding {finding.number}: ")
    rest = items[n:]
    assert rest and all(i.model == Decision.REVIEW for i in rest)  # the default filter

    # Each review row says why, in the sentence Slice details and the report use, and the
    # calibrated probability that the model is wrong, highest first.
    assert "calibrated probability" in queue.order_label.text()
    p_wrong = []
    for row, item in zip(rows(queue)[n:], rest, strict=True):
        sentence = slice_review_reason(doc.results[item.position].scores, doc.policy)
        assert sentence and row.toolTip(WHY_COLUMN) == sentence
        assert "P(wrong) " in row.text(WHY_COLUMN)
        p_wrong.append(float(row.text(WHY_COLUMN).split("P(wrong) ")[1]))
    assert p_wrong == sorted(p_wrong, reverse=True)

    # J with nothing selected goes to the top of the queue: the first finding.
    queue.select_position(None)
    QTest.keyClick(window, Qt.Key.Key_J)
    assert queue.current_item().finding == findings[0]
    assert window.state.slice == findings[0].peak_position
    QTest.keyClick(window, Qt.Key.Key_J)
    assert queue.current_item() is not None and queue.current_item().key == items[1].key


def test_a_whole_finding_then_undo_and_clear_in_the_audit_trail(qtbot, calibrated_window):
    window = calibrated_window
    queue, doc = window.review.queue, window.doc
    finding = window.review.findings[0]
    queue.select_position(None)
    QTest.keyClick(window, Qt.Key.Key_J)  # onto Finding 1
    QTest.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    indices = {
        doc.results[p].scores.slice_index
        for p in finding.positions
        if doc.results[p] is not None and not doc.results[p].scores.empty
    }
    store, session = stored_session(window)
    with store:
        current = session.current()
        assert set(current) == indices  # every slice of the run is decided...
        assert {r.decision.value for r in current.values()} == {"abnormal"}
        assert all(r.note.startswith(finding.describe()) for r in current.values())
        # Then on to the next item: the next finding, or the first review slice.
        assert queue.current_item() is not None and queue.current_item().finding != finding

        # Decide the slice on screen again, then undo: the earlier decision is back, and
        # the history keeps both decisions beside an undo entry.
        window.state.set_slice(finding.peak_position)
        peak = doc.results[finding.peak_position].scores.slice_index
        QTest.keyClick(window, Qt.Key.Key_N)
        assert session.current()[peak].decision.value == "normal"
        QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert session.current()[peak].decision.value == "abnormal"
        assert doc.reviewed[peak].decision.value == "abnormal"  # the window follows
        assert [r.decision.value for r in session.history() if r.item_index == peak] == [
            "abnormal",
            "normal",
        ]
        assert [k for k, _p, _t in session.events() if k in ("group", "undo")] == [
            "group",
            "undo",
        ]
        assert "Undone: slice" in window.statusBar().currentMessage()

        # Clear (Review > Clear decision, Del): the slice has no decision; Ctrl+Z again
        # brings it back; a second Ctrl+Z takes back the whole finding at once.
        window.controls.actions["clear_decision"].trigger()
        assert peak not in session.current() and peak not in doc.reviewed
        QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert session.current()[peak].decision.value == "abnormal"
        QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert session.current() == {} and doc.reviewed == {}
        assert len(session.history()) == len(indices) + 1  # nothing erased


def accept_next_dialog(answer: QMessageBox.StandardButton) -> None:
    """Answer the modal question the next action raises, as the reviewer would."""

    def answer_it() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.button(answer).click()
        else:
            QTimer.singleShot(20, answer_it)

    QTimer.singleShot(20, answer_it)


def test_esc_cancels_and_the_case_stays_marked_incomplete(
    qtbot, window, long_volume_path, volume_path
):
    # Esc with nothing running keeps its meaning: clear the crosshair.
    open_and_wait(qtbot, window, volume_path)
    window.state.set_crosshair((10, 12))
    QTest.keyClick(window, Qt.Key.Key_Escape)
    assert window.state.crosshair is None
    assert not window.review.queue.incomplete_banner.isVisible()

    with qtbot.waitSignal(window.analysis.done, timeout=RUN_TIMEOUT_MS) as blocker:
        window.opener.open_path(long_volume_path)
        qtbot.waitUntil(
            lambda: window.doc.case.source == long_volume_path and window.doc.analysed() > 0,
            timeout=60_000,
        )
        QTest.keyClick(window, Qt.Key.Key_Escape)
    assert blocker.args[0].cancelled
    queue, doc = window.review.queue, window.doc
    done, total = doc.analysed(), len(doc.results)
    assert 0 < done < total
    assert doc.incomplete == "cancelled"
    assert queue.incomplete_banner.isVisible()
    assert f"{done} of {total} slices" in queue.incomplete_banner.text()
    assert all("(incomplete)" in b.text() for b in queue.case_buttons.values())

    # A case decision asks first: declined, nothing is recorded; confirmed, it is, with a
    # note that the analysis was incomplete.
    accept_next_dialog(QMessageBox.StandardButton.No)
    assert window.review.decide_case("abnormal") is None
    assert doc.case_record is None
    accept_next_dialog(QMessageBox.StandardButton.Yes)
    record = window.review.decide_case("abnormal")
    assert record is not None
    assert f"[analysis incomplete: {done} of {total} slices analysed]" in record.note
    store, session = stored_session(window)
    with store:
        assert session.case_decision().note == record.note

    # Analysed again to the end (Review > Analyse again): the mark goes.
    with qtbot.waitSignal(window.analysis.done, timeout=RUN_TIMEOUT_MS) as blocker:
        window.controls.actions["analyse_again"].trigger()
    assert not blocker.args[0].cancelled and doc.complete()
    assert doc.incomplete == "" and not queue.incomplete_banner.isVisible()
    assert not any("(incomplete)" in b.text() for b in queue.case_buttons.values())
