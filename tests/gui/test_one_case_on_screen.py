"""One case on screen, one case decided (issue 19): opening a case from outside an open batch
suspends the batch, so a decision never lands on a batch case that is not on screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from bvae_viewer import paths
from bvae_viewer.paths import data_dir
from bvae_viewer.review.store import DB_NAME, ReviewStore
from tests.gui.test_review_window import RUN_TIMEOUT_MS
from tests.volumes import brain_phantom, write_nifti

pytestmark = pytest.mark.gui


@pytest.fixture
def small_batch(tmp_path):
    folder = tmp_path / "reading_list"
    for seed in (4, 5):
        image, _seg = brain_phantom(shape=(64, 72, 12), tumour=True, seed=seed)
        write_nifti(folder / f"SYN_0000{seed}.nii.gz", image)
    return folder


def test_the_demo_opened_over_a_batch_is_what_d_decides(qtbot, make_window, model_dir, small_batch):
    window = make_window(model_dir)
    with qtbot.waitSignal(window.batch.batch_done, timeout=RUN_TIMEOUT_MS):
        assert window.opener.open_batch(small_batch)
    panel, tabs = window.batch.panel, window.review.tabs
    # The reader selects a case of the batch: it is on screen, its name on the buttons.
    tabs.setCurrentWidget(panel)
    panel.list.setFocus()
    QTest.keyClick(panel.list, Qt.Key.Key_Home)
    chosen = window.batch.slots[window.batch.selected]
    assert window.doc.case.source == chosen.case.source
    assert chosen.case.name in panel.deciding_label.text()
    assert panel.suspended.isHidden()

    # Then opens the demo: the batch is suspended, its selection cleared, and the keys act
    # on the demo's slices.
    with qtbot.waitSignal(window.analysis.done, timeout=RUN_TIMEOUT_MS):
        window.controls.actions["open_demo"].trigger()
    assert window.doc.case.source == paths.demo_case()
    assert window.batch.selected is None and panel.list.currentItem() is None
    assert not panel.suspended.isHidden() and "suspended" in panel.suspended.text()
    assert tabs.currentWidget() is window.review.queue
    assert "demo" in window.review.queue.deciding_label.text()

    QTest.keyClick(window, Qt.Key.Key_D)  # the demo's slice on screen is deferred
    demo_slice = int(window.doc.case.stack.slice_index[window.state.slice])
    # Even with the Cases tab brought to the front again, D decides no batch case.
    tabs.setCurrentWidget(panel)
    QTest.keyClick(window, Qt.Key.Key_D)
    assert "Select a case" in window.statusBar().currentMessage()

    sha = window.doc.bundle.info.sha256
    with ReviewStore(data_dir() / DB_NAME) as store:
        batch_case = store.find_session(chosen.loaded.fingerprint, sha)
        assert batch_case is None or batch_case.history() == []  # nothing on SYN_00004
        demo = store.find_session(window.doc.case.fingerprint, sha)
        assert {i: r.decision.value for i, r in demo.current().items()} == {demo_slice: "defer"}
        assert demo.case_decision() is None

    # Choosing a batch case again resumes the batch: decisions go to that case, on screen.
    panel.list.setFocus()
    QTest.keyClick(panel.list, Qt.Key.Key_End)
    resumed = window.batch.slots[window.batch.selected]
    assert window.doc.case.source == resumed.case.source
    assert panel.suspended.isHidden()
    QTest.keyClick(window, Qt.Key.Key_A)
    assert resumed.reviewer is not None and resumed.reviewer.decision.value == "abnormal"
    with ReviewStore(data_dir() / DB_NAME) as store:
        assert store.case_decision(resumed.loaded.fingerprint, sha).decision.value == "abnormal"


def test_a_batch_case_not_on_screen_is_refused(qtbot, make_window, model_dir, small_batch):
    """The last guard: a selected case that is not the one in the maps is never decided."""
    window = make_window(model_dir)
    with qtbot.waitSignal(window.batch.batch_done, timeout=RUN_TIMEOUT_MS):
        assert window.opener.open_batch(small_batch)
    window.batch.selected = 1 - window.batch.slots.index(
        next(s for s in window.batch.slots if s.case.source == window.doc.case.source)
    )
    assert window.batch_review.decide("abnormal") is None
    assert "not the case on screen" in window.statusBar().currentMessage()
    assert all(s.reviewer is None for s in window.batch.slots)
