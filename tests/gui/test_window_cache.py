"""The per-volume result cache in the window: a reopened case (or a batch) is shown from
the cache without running the model, a fresh run stores its result, a cancelled one does not.

Every test has its own state folder (tests/conftest.py), hence its own, empty cache.
"""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest
from PySide6.QtCore import Qt

from bvae_viewer import paths
from bvae_viewer.analysis.cache_store import default_cache
from bvae_viewer.analysis.display import PANELS
from bvae_viewer.gui import strings
from tests.gui.batchkit import write_batch
from tests.gui.test_batch import open_batch_and_wait, rows, slot_of
from tests.gui.test_review_window import RUN_TIMEOUT_MS, open_and_wait

pytestmark = pytest.mark.gui
CACHED_WORDS = strings.DEVICE_FROM_CACHE.split("{")[0]  # "from cache, computed on "


def stored_entries() -> int:
    return len(default_cache().entries())


def score_table(results) -> np.ndarray:
    """Every score of every slice, as floats (NaN for the empty slices' scores)."""
    return np.array([astuple(r.scores) for r in results], dtype=float)


def queue_calls(window) -> list[tuple[str, str, str]]:
    """The case queue top to bottom: case, the model's call, score."""
    return [(r["Case"], r["Model"], r["Score"]) for r in rows(window)]


def panels_at(window, indices) -> dict[int, dict[str, np.ndarray]]:
    """What the six panels show at each slice index."""
    shown = {}
    for index in indices:
        window.state.set_slice(index)
        shown[index] = {spec.key: window.grid.panels[spec.key].shown().copy() for spec in PANELS}
    return shown


def test_a_reopened_volume_is_shown_from_the_cache(
    qtbot, make_window, model_dir, volume_path, engine_runs
):
    first = make_window(model_dir)
    summary = open_and_wait(qtbot, first, volume_path)
    assert not summary.failed and not summary.from_cache
    assert len(engine_runs) == 1 and stored_entries() == 1  # the fresh run was stored
    assert CACHED_WORDS not in first.device_label.text()
    assert "analysis" in first.timing_label.text()
    start = first.doc.case.start
    indices = (start, start - 2, 0)
    fresh = panels_at(first, indices)
    fresh_scores = score_table(first.doc.results)
    fresh_decisions = list(first.doc.decisions)
    fresh_device = first.doc.device_name
    first.close()

    again = make_window(model_dir)
    summary = open_and_wait(qtbot, again, volume_path)
    assert not summary.failed and summary.from_cache
    assert len(engine_runs) == 1, "the model ran again"
    assert summary.analysed == len(again.doc.results)
    # The user is told that no model ran, and where the result was computed.
    assert again.device_label.text() == strings.STATUS_DEVICE.format(
        device=strings.DEVICE_FROM_CACHE.format(device=fresh_device)
    )
    assert again.statusBar().currentMessage().startswith("Stored result shown")
    assert "read from cache" in again.timing_label.text()
    assert again.doc.device_name == fresh_device  # what a report says: the computing device
    # The same scores, bit for bit, hence the same decisions and the same case call.
    np.testing.assert_array_equal(score_table(again.doc.results), fresh_scores)
    assert again.doc.decisions == fresh_decisions
    # The same panels: the input exactly, the maps to the cache's float16 precision
    # (2^-11 of each map's largest value; "total" adds two such maps).
    cached = panels_at(again, indices)
    for index in indices:
        for spec in PANELS:
            want, got = fresh[index][spec.key], cached[index][spec.key]
            if spec.key == "original":
                np.testing.assert_array_equal(got, want)
                continue
            scale = float(np.max(np.abs(want))) if want.size else 0.0
            np.testing.assert_allclose(
                got, want, rtol=0, atol=scale * 2**-10 + 1e-12, err_msg=f"{spec.key}@{index}"
            )


def test_a_cancelled_run_stores_nothing(qtbot, window, long_volume_path, engine_runs):
    with qtbot.waitSignal(window.analysis.done, timeout=RUN_TIMEOUT_MS) as blocker:
        window.opener.open_path(long_volume_path)
        qtbot.waitUntil(lambda: any(r is not None for r in window.doc.results), timeout=60_000)
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].cancelled
    assert any(r is None for r in window.doc.results), "the run finished before the cancel"
    assert window.analysis.worker.wait(10_000)
    assert stored_entries() == 0

    # Opened again, it is analysed in full (nothing partial was kept) and stored this time.
    summary = open_and_wait(qtbot, window, long_volume_path)
    assert not summary.cancelled and not summary.from_cache
    assert len(engine_runs) == 2 and stored_entries() == 1
    assert all(r is not None for r in window.doc.results)


def test_a_reopened_batch_is_served_from_the_cache(qtbot, make_window, tmp_path, engine_runs):
    folder = write_batch(tmp_path / "reading_list")
    model = paths.model_dir()

    # One case opened on its own first: the batch takes its result from the cache.
    window = make_window(model)
    open_and_wait(qtbot, window, folder / "phantom.nii.gz")
    assert len(engine_runs) == 1 and stored_entries() == 1
    summary = open_batch_and_wait(qtbot, window, folder)
    assert (summary.total, summary.analysed, summary.failed) == (4, 3, 1)
    assert len(engine_runs) == 3 and stored_entries() == 3  # the two others ran and stored
    assert slot_of(window, "phantom").analysed.from_cache
    assert not slot_of(window, "case_thin6").analysed.from_cache
    listed = queue_calls(window)
    scores = {
        s.case.name: score_table(s.analysed.results)
        for s in window.batch.slots
        if s.analysed is not None
    }
    window.close()

    # The batch reopened in a new window: every case from the cache, not one model run.
    again = make_window(model)
    summary = open_batch_and_wait(qtbot, again, folder)
    assert (summary.total, summary.analysed, summary.failed) == (4, 3, 1)
    assert len(engine_runs) == 3
    analysed = [s for s in again.batch.slots if s.analysed is not None]
    assert analysed and all(s.analysed.from_cache for s in analysed)
    assert {s.case.name for s in analysed} == set(scores)
    for slot in analysed:
        np.testing.assert_array_equal(score_table(slot.analysed.results), scores[slot.case.name])
    assert queue_calls(again) == listed  # the same queue, in the same order, with the same calls
    # A case opened from the queue says where its maps come from.
    again.batch.choose(again.batch.slots.index(slot_of(again, "case_thin8")))
    assert again.doc.case is slot_of(again, "case_thin8").analysed.case
    assert CACHED_WORDS in again.device_label.text()
    assert again.statusBar().currentMessage().startswith("Stored result shown")
