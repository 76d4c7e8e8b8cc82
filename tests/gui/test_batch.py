"""A folder of cases opened as a batch, with the real bundled model: the case queue's order,
the unreadable case and its reason, keyboard triage of cases into the store, resuming, and
opening an analysed case without running the model again."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from bvae_viewer import paths
from bvae_viewer.analysis.display import PANELS, panel_image
from bvae_viewer.gui.queue_items import queue_items
from bvae_viewer.io import VolumeError, load_volume
from bvae_viewer.review.batch import CaseStatus
from bvae_viewer.review.store import DB_NAME, ReviewStore
from tests.gui.batchkit import CORRUPT_NAME, write_batch
from tests.gui.test_queue import type_threshold
from tests.gui.test_review_window import engine_maps

pytestmark = pytest.mark.gui
BATCH_TIMEOUT_MS = 240_000
GROUPS = {"review": 0, "unreadable": 1, "flagged": 2, "normal": 3}


@pytest.fixture(scope="module")
def batch_folder(tmp_path_factory):
    return write_batch(tmp_path_factory.mktemp("batch") / "reading_list")


def open_batch_and_wait(qtbot, window, folder):
    with qtbot.waitSignal(window.batch.batch_done, timeout=BATCH_TIMEOUT_MS) as blocker:
        assert window.opener.open_batch(folder)
    return blocker.args[0]


def rows(window) -> list[dict[str, str]]:
    """The case queue as the reader sees it, top to bottom."""
    tree = window.batch.panel.list
    names = [tree.headerItem().text(c) for c in range(tree.columnCount())]
    return [
        {n: tree.topLevelItem(r).text(c) for c, n in enumerate(names)}
        | {"tip": tree.topLevelItem(r).toolTip(1)}
        for r in range(tree.topLevelItemCount())
    ]


def assert_review_order(listed: list[dict[str, str]]) -> None:
    """Review, unreadable, flagged, normal; inside a group the highest score first."""
    groups = [GROUPS[r["Model"]] for r in listed]
    assert groups == sorted(groups), [r["Model"] for r in listed]
    for group in set(groups):
        scores = [float(r["Score"]) for r in listed if GROUPS[r["Model"]] == group and r["Score"]]
        assert scores == sorted(scores, reverse=True)


def slot_of(window, name: str):
    return next(s for s in window.batch.slots if s.case.name == name)


def stored_case(window, name: str):
    slot = slot_of(window, name)
    with ReviewStore(paths.data_dir() / DB_NAME) as store:
        return store.case_decision(slot.loaded.fingerprint, window.doc.bundle.info.sha256)


def test_batch_queue_triage_store_and_resume(qtbot, make_window, batch_folder, engine_runs):
    window = make_window(paths.model_dir())
    summary = open_batch_and_wait(qtbot, window, batch_folder)
    assert (summary.total, summary.analysed, summary.failed) == (4, 3, 1)
    assert len(engine_runs) == 3  # one run per readable case, the model loaded once
    panel = window.batch.panel
    assert window.review.tabs.currentWidget() is panel
    assert panel.progress.text().startswith("3 of 4 cases analysed, 1 unreadable")
    assert not panel.stop_button.isVisible()

    # The unreadable case is listed with the loader's own sentence; the app runs on.
    with pytest.raises(VolumeError) as err:
        load_volume(batch_folder / CORRUPT_NAME)
    listed = rows(window)
    assert {r["Case"] for r in listed} == {"broken", "case_thin6", "case_thin8", "phantom"}
    bad = next(r for r in listed if r["Case"] == "broken")
    assert bad["Model"] == "unreadable" and str(err.value) in bad["tip"]
    assert_review_order(listed)
    assert listed[0]["Model"] == "review"  # the model is unsure about at least one case

    # Lower the anomaly threshold under every score: the cases are re-decided from their
    # kept scores (no model run) and the flagged ones follow the review and unreadable ones.
    lowest = min(
        min(r.scores.anomaly_score for r in s.analysed.results if not r.scores.empty)
        for s in window.batch.slots
        if s.analysed is not None
    )
    type_threshold(qtbot, window.review.thresholds.score_box, lowest * 0.5)
    listed = rows(window)
    assert_review_order(listed)
    assert [r["Model"] for r in listed].count("flagged") >= 2
    assert len(engine_runs) == 3

    # Keyboard only, in the case list: Home opens the first case in the six maps at once.
    window.review.queue.reviewer_edit.setText("dr-batch")
    window.review.queue.reviewer_edit.editingFinished.emit()
    panel.list.setFocus()
    QTest.keyClick(panel.list, Qt.Key.Key_Home)
    first = slot_of(window, listed[0]["Case"])
    assert window.doc.case is first.analysed.case
    assert all(a is b for a, b in zip(window.doc.results, first.analysed.results, strict=True))
    assert window.doc.case_result.case.decision.value == listed[0]["Model"]
    QTest.keyClick(panel.list, Qt.Key.Key_A)  # abnormal, then the next case
    assert panel.list.currentItem().text(0) == listed[1]["Case"]
    if listed[1]["Model"] == "unreadable":
        QTest.keyClick(panel.list, Qt.Key.Key_N)  # refused: nothing to key the decision on
        assert "cannot be decided" in window.statusBar().currentMessage()
        assert bad["tip"].split(": ", 1)[1] in panel.detail.text()
        QTest.keyClick(panel.list, Qt.Key.Key_J)
    second = panel.list.currentItem().text(0)
    panel.note_edit.setFocus()
    QTest.keyClicks(panel.note_edit, "compare with prior")
    panel.list.setFocus()
    QTest.keyClick(panel.list, Qt.Key.Key_N)
    third = panel.list.currentItem().text(0)
    QTest.keyClick(panel.list, Qt.Key.Key_D)
    assert len(engine_runs) == 3  # every case opened came from the batch's results

    decided = {listed[0]["Case"]: "abnormal", second: "normal", third: "defer"}
    model_said = {r["Case"]: r["Model"] for r in listed}
    for name, value in decided.items():
        record = stored_case(window, name)
        assert record is not None and record.decision.value == value
        assert record.item_kind == "case" and record.reviewer == "dr-batch"
        assert record.model_decision == model_said[name]
        assert (record.score_threshold, record.uncertainty_threshold) == pytest.approx(
            window.doc.thresholds()
        )
    assert stored_case(window, second).note == "compare with prior"
    shown = {r["Case"]: r["Reviewer"] for r in rows(window)}
    assert shown == {
        **{n: "" for n in shown},
        **{n: v.replace("defer", "deferred") for n, v in decided.items()},
    }
    window.close()

    # The same folder in a new window: the decisions made are shown again.
    again = make_window(paths.model_dir())
    open_batch_and_wait(qtbot, again, batch_folder)
    resumed = {r["Case"]: r["Reviewer"] for r in rows(again)}
    assert resumed == shown


def test_opening_a_case_shows_the_batch_maps_without_inference(
    qtbot, make_window, batch_folder, engine_runs
):
    window = make_window(paths.model_dir())
    open_batch_and_wait(qtbot, window, batch_folder)
    runs = len(engine_runs)
    slot = slot_of(window, "case_thin8")
    position = window.batch.slots.index(slot)
    panel = window.batch.panel
    row = panel.shown_positions().index(position)
    rect = panel.list.visualItemRect(panel.list.topLevelItem(row))
    QTest.mouseClick(
        panel.list.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        rect.center(),
    )
    assert window.doc.case is slot.analysed.case and window.analysis.worker is None
    assert len(engine_runs) == runs

    # What the six panels show is what the engine computes for this stack (same seed, K).
    reference = engine_maps(paths.model_dir(), window.doc.case.stack)
    for index in (window.state.slice, int(np.argmax(window.doc.case.stack.brain_fraction)) - 2):
        window.state.set_slice(index)
        for spec in PANELS:
            np.testing.assert_allclose(
                window.grid.panels[spec.key].shown(),
                panel_image(reference[index].maps, spec),
                rtol=1e-4,
                atol=1e-6,
                err_msg=spec.key,
            )
    # The case's slice queue is there as for any opened volume, and its case call agrees.
    brain = [r for r in window.doc.results if not r.scores.empty]
    d = window.doc
    assert len(queue_items(d.results, d.decisions, d.reviewed)) == len(brain)
    assert window.doc.case_result.case.decision == slot.decision.decision


def test_a_stopped_batch_case_is_analysed_by_the_window_once(
    qtbot, make_window, batch_folder, engine_runs
):
    window = make_window(paths.model_dir())
    batch = window.batch
    with qtbot.waitSignal(batch.batch_done, timeout=BATCH_TIMEOUT_MS) as blocker:
        assert window.opener.open_batch(batch_folder)
        # Stop as soon as the first case is analysed: the rest stay "not analysed".
        qtbot.waitUntil(lambda: any(s.analysed for s in batch.slots), timeout=BATCH_TIMEOUT_MS)
        qtbot.mouseClick(batch.panel.stop_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].cancelled
    stopped = [s for s in batch.slots if s.status == CaseStatus.STOPPED]
    assert stopped, "the batch finished before it could be stopped"
    target = stopped[0]
    runs = len(engine_runs)

    # Selecting it analyses it in the window (streaming as usual); the batch keeps the result.
    with qtbot.waitSignal(window.analysis.done, timeout=BATCH_TIMEOUT_MS):
        batch.choose(batch.slots.index(target))
    assert len(engine_runs) == runs + 1
    assert target.status == CaseStatus.DONE and target.analysed.case is window.doc.case
    other = next(s for s in batch.slots if s.analysed is not None and s is not target)
    batch.choose(batch.slots.index(other))
    batch.choose(batch.slots.index(target))
    assert window.doc.case is target.analysed.case and len(engine_runs) == runs + 1
    assert any(r["Case"] == target.case.name and r["Model"] in GROUPS for r in rows(window))
