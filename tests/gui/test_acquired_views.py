"""The three views show a scan the front end prepared as it was acquired (issue 17): its own
thick slices with skull, the model's map sampled onto them, one cursor with the six panels."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from bvae_viewer.data.frontend import prepare
from bvae_viewer.data.frontend.record import PreprocessMode
from bvae_viewer.gui import strings
from bvae_viewer.gui.acquired_plane import AcquiredPlane
from bvae_viewer.gui.ruler import through_point
from tests.data.frontend_volumes import moved_head, rotation_z
from tests.gui.qt_input import click
from tests.gui.test_review_window import open_and_wait

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture(autouse=True)
def front_end_runs(monkeypatch):
    monkeypatch.setattr(prepare, "_default_mode", PreprocessMode.AUTO)


@pytest.fixture(scope="module")
def thick_head(tmp_path_factory):
    """Colin27 with skull, turned 8 degrees, on 2 mm pixels and 5 mm axial slices."""
    volume, _ = moved_head(rotation_z(8.0), (2.0, 2.0, 5.0), (96, 112, 34))
    path = tmp_path_factory.mktemp("head") / "head.nii.gz"
    nib.save(nib.Nifti1Image(volume.data, volume.affine), str(path))
    return path, volume


def test_three_views_show_the_scan_as_acquired_and_share_the_cursor(qtbot, window, thick_head):
    path, volume = thick_head
    open_and_wait(qtbot, window, path)
    case, st = window.doc.case, window.state
    assert case.prepared is not None and case.prepared.ran
    QTest.keyClick(window, Qt.Key.Key_L)
    axial, coronal = window.ortho.image_views["axial"], window.ortho.image_views["coronal"]
    plane = axial.plane
    assert isinstance(plane, AcquiredPlane)
    view = plane.view
    # The input's own grid: 34 slices of 5 mm at the true aspect, padded to 112 x 112.
    assert view.images.shape == (34, 112, 112) and view.slice_ratio == pytest.approx(2.5)
    assert strings.ORTHO_ACQUIRED.format(plane="axial") in axial.title
    # The axial view shows the acquired slice through the cursor, skull and all.
    k = plane.section(through_point(st, plane.size))
    np.testing.assert_array_equal(axial.shown(), view.images[k])
    outside = ~case.prepared.input_mask[:, :, k]
    assert np.rot90(volume.data[:, :, k])[np.rot90(outside)].max() > 0  # the skull is there

    # A click in the acquired coronal view moves the model's cursor to the same place.
    qtbot.waitUntil(lambda: coronal.view.viewRect().width() > 0)
    target = (20.0, 50.0, 60.0)  # acquired slice 20, row 50, column 60
    x, y = coronal.plane.shown.to_view(target)
    click(coronal, coronal.scene_point(x, y))
    p, r, c = view.stack_point((20.0, coronal.plane.shown.clamp(
        view.acquired_point(tuple(float(v) for v in st.cursor)))[1], 60.0))
    assert st.cursor == pytest.approx((round(p), round(r), round(c)), abs=1)
    assert st.slice == st.cursor[0]
    assert axial.plane.section(st.cursor) == 20

    # The map row samples the model's map onto the acquired section: finite on the brain.
    error = window.ortho.map_views["axial"]
    qtbot.waitUntil(lambda: np.isfinite(error.shown()).any(), timeout=5000)
    shown = error.shown()
    assert shown.shape == (112, 112)
    brain = np.rot90(case.prepared.input_mask[:, :, 20])
    rows, cols = np.nonzero(brain)
    assert np.isfinite(shown[rows, cols + 8]).mean() > 0.9  # 8 columns of padding
    # The wheel walks the acquired slices: one step, one 5 mm slice up.
    axial.view.slice_step.emit(1)
    assert axial.plane.section(st.cursor) == 21

    # Another prepared case replaces the planes (they hold arrays: compared by identity).
    again = path.with_name("head_again.nii.gz")
    again.write_bytes(path.read_bytes())
    open_and_wait(qtbot, window, again)
    assert isinstance(axial.plane, AcquiredPlane) and axial.plane is not plane
