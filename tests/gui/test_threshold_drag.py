"""The dashed threshold lines of the profile and coverage plots can be dragged: the
threshold goes through the spin boxes' path (the document re-triages), and the spin boxes
and the lines stay in step both ways."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt

from tests.gui.qt_input import drag
from tests.gui.test_queue import type_threshold as type_threshold_box
from tests.gui.test_review_window import open_and_wait

pytestmark = pytest.mark.gui


def _line_at(plot_widget, view_box, x: float, y: float) -> QPointF:
    """Widget (viewport) pixel of a point given in a plot's data coordinates."""
    scene = view_box.mapViewToScene(QPointF(x, y))
    return QPointF(plot_widget.mapFromScene(scene))


def test_dragging_the_profile_score_line_sets_the_threshold(
    qtbot, make_window, validated_model_dir, volume_path
):
    window = make_window(validated_model_dir)
    open_and_wait(qtbot, window, volume_path)
    profile, panel = window.profile, window.review.thresholds
    score, unc = window.doc.thresholds()
    line = profile._thresholds[id(profile.score_plot)]
    assert line.isVisible() and line.value() == pytest.approx(score)

    # A hand on the mouse: press on the dashed line, drag it down, release.
    vb = profile.score_plot.vb
    (x0, x1), (y0, y1) = vb.viewRange()
    x = (x0 + x1) / 2
    target = y0 + 0.25 * (y1 - y0)
    start, end = _line_at(profile, vb, x, score), _line_at(profile, vb, x, target)
    drag(profile, start, end, Qt.MouseButton.LeftButton)
    new_score, new_unc = window.doc.thresholds()
    assert new_score == pytest.approx(target, rel=0.05)
    assert new_score != pytest.approx(score)
    assert new_unc == unc  # the other threshold is untouched
    # The spin box follows the line; the document's policy (which re-sorts) holds it.
    assert panel.score_box.threshold() == pytest.approx(new_score, rel=1e-3)
    assert window.doc.policy.score_threshold == new_score

    # Typed in the spin box, the value moves the line (the other way round).
    type_threshold_box(qtbot, panel.score_box, 0.5 * new_score)
    assert window.doc.thresholds()[0] == pytest.approx(0.5 * new_score, rel=1e-3)
    assert line.value() == pytest.approx(0.5 * new_score, rel=1e-3)


def test_dragging_the_coverage_line_sets_the_uncertainty_threshold(
    qtbot, make_window, validated_model_dir, volume_path
):
    window = make_window(validated_model_dir)
    open_and_wait(qtbot, window, volume_path)
    panel = window.review.thresholds
    line = panel._unc_line
    score, unc = window.doc.thresholds()
    assert line.isVisible() and line.value() == pytest.approx(unc)
    # The line moved as a drag moves it (setValue emits sigPositionChanged).
    line.setValue(2.5 * unc)
    assert window.doc.thresholds() == pytest.approx((score, 2.5 * unc), rel=1e-3)
    assert panel.unc_box.threshold() == pytest.approx(2.5 * unc, rel=1e-3)
    # And the profile's uncertainty line, a view of the same document, follows too.
    profile_line = window.profile._thresholds[id(window.profile.unc_plot)]
    assert profile_line.value() == pytest.approx(2.5 * unc, rel=1e-3)
    # The spin box moves the line back.
    type_threshold_box(qtbot, panel.unc_box, unc)
    assert line.value() == pytest.approx(unc, rel=1e-3)
    assert window.doc.thresholds()[1] == pytest.approx(unc, rel=1e-3)
