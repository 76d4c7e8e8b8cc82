"""Who is this, and real views (issue 19): the patient header from DICOM, the input's contrast
in the Original titles with a warning, the three-view layout with one linked 3D cursor, the
readout in scanner mm, and the ruler."""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from bvae_viewer.data.frontend import prepare
from bvae_viewer.data.frontend.record import PreprocessMode
from bvae_viewer.gui import strings
from bvae_viewer.gui.planes import ras_text
from tests.gui.qt_input import click, drag
from tests.gui.test_review_window import open_and_wait
from tests.review.dicomkit import HEADER, write_named_series
from tests.volumes import brain_phantom

pytestmark = pytest.mark.gui
# Scanner mm of voxel (i, j, k): 1.2 x 1.2 x 2.5 mm voxels, the origin away from voxel 0.
AFFINE = np.array(
    [[1.2, 0, 0, -40.0], [0, 1.2, 0, -52.0], [0, 0, 2.5, -31.0], [0, 0, 0, 1.0]]
)


@pytest.fixture(autouse=True)
def as_given(monkeypatch):
    """The volumes here are stripped phantoms: analysed as given, on their own affine."""
    monkeypatch.setattr(prepare, "_default_mode", PreprocessMode.NEVER)


@pytest.fixture(scope="module")
def scanner_volume(tmp_path_factory):
    image, _ = brain_phantom(shape=(64, 64, 24), spacing=(1.2, 1.2, 2.5), tumour=True, seed=3)
    path = tmp_path_factory.mktemp("vol") / "scan.nii.gz"
    nib.save(nib.Nifti1Image(image, AFFINE), str(path))
    return path


def _set_header(folder, **fields) -> None:
    for path in sorted(folder.iterdir()):
        ds = pydicom.dcmread(path)
        for key, value in fields.items():
            setattr(ds, key, value)
        ds.save_as(path, enforce_file_format=True)


def test_the_header_shows_who_and_what_from_dicom(qtbot, window, tmp_path):
    folder = write_named_series(tmp_path / "series", slices=12, size=48)
    _set_header(folder, PatientSex="F", StudyDescription="MRI BRAIN W/WO")
    open_and_wait(qtbot, window, folder)
    header = window.header
    assert header.value(strings.HEADER_PATIENT) == "Zyxwort, Quilla"
    assert header.value(strings.HEADER_ID) == HEADER["PatientID"]
    assert header.value(strings.HEADER_SEX) == "F"
    assert header.value(strings.HEADER_BORN) == "1961-04-17"
    assert header.value(strings.HEADER_STUDY) == "2023-09-05 MRI BRAIN W/WO"
    assert header.value(strings.HEADER_SERIES) == "AX T1 POST"
    assert header.value(strings.HEADER_MODALITY) == "MR"
    assert header.value(strings.HEADER_THICKNESS) == "2 mm"
    assert "Zyxwort" in header.fields_label.text() and header.isVisible()
    # A T1 post-contrast series: the Original panel says so, and nothing warns.
    assert window.grid.titles()["original"] == "Original (T1ce)"
    assert not header.warning_label.isVisible()
    # The window title names the folder, as before; the identity stays in the header.
    assert "Zyxwort" not in window.windowTitle()


def test_another_contrast_is_named_and_warned_about(qtbot, window, tmp_path):
    folder = write_named_series(tmp_path / "flair", slices=12, size=48)
    _set_header(folder, SeriesDescription="AX T2 FLAIR")
    open_and_wait(qtbot, window, folder)
    assert window.grid.titles()["original"] == "Original (FLAIR)"
    assert window.ortho.image_views["axial"].title.startswith("Original (FLAIR)")
    warning = window.header.warning_label
    assert warning.isVisible() and "FLAIR" in warning.text()
    # Unknown fields show a dash, never an empty gap.
    assert window.header.value(strings.HEADER_SEX) == "—"


def test_layout_switch_and_a_click_in_coronal_moves_every_view(qtbot, window, scanner_volume):
    open_and_wait(qtbot, window, scanner_volume)
    st, stack = window.state, window.doc.case.stack
    assert window.views.currentWidget() is window.grid
    QTest.keyClick(window, Qt.Key.Key_L)  # View > Three views
    assert st.layout == "three" and window.views.currentWidget() is window.ortho
    assert window.controls.actions["three_views"].isChecked()
    coronal = window.ortho.image_views["coronal"]
    plane = coronal.plane
    assert plane is not None and plane.slice_ratio == pytest.approx(stack.slice_mm / stack.pixel_mm)
    qtbot.waitUntil(lambda: coronal.view.viewRect().width() > 0)

    # Click the coronal view at slice 5, column 40.
    x, y = plane.to_view((5.0, 0.0, 40.0))
    click(coronal, coronal.scene_point(x, y))
    assert st.slice == 5
    position, row, col = st.cursor
    assert (position, col) == (5, 40)
    assert row == stack.images.shape[1] // 2  # the coronal section shown: the centre
    # The axial views show slice 5, with the crosshair at the clicked column.
    axial = window.ortho.image_views["axial"]
    np.testing.assert_array_equal(axial.shown(), stack.images[5])
    np.testing.assert_array_equal(window.grid.panels["original"].shown(), stack.images[5])
    assert window.grid.panels["error"]._cross[0].value() == pytest.approx(40.5)
    # The sagittal view moved to column 40 and marks slice 5.
    sagittal = window.ortho.image_views["sagittal"]
    np.testing.assert_array_equal(sagittal.shown(), stack.images[::-1, :, 40])
    assert sagittal._cross[1].value() == pytest.approx(plane.to_view((5.0, 0.0, 0.0))[1])
    # The wheel in the sagittal view walks the columns, not the axial slices.
    sagittal.view.slice_step.emit(2)
    assert st.cursor == (5, row, 42) and st.slice == 5
    QTest.keyClick(window, Qt.Key.Key_L)
    assert st.layout == "grid" and window.views.currentWidget() is window.grid


def test_the_readout_gives_input_slice_and_scanner_mm(qtbot, make_window, model_dir,
                                                      scanner_volume):
    window = make_window(model_dir)
    window.resize(1280, 800)
    open_and_wait(qtbot, window, scanner_volume)
    geometry = window.doc.case.geometry
    window.state.set_cursor(9, 50, 70)
    readout = window.readout
    mm = geometry.pixel_mm(9, np.array([50]), np.array([70]))[0]
    assert readout.value(strings.READOUT_POSITION) == "  ".join(ras_text(mm)) + " mm"
    number, count = geometry.input_slice(9) + 1, geometry.input_shape[2]  # from 1
    assert readout.value(strings.READOUT_INPUT_SLICE) == f"{number} / {count}"
    # Against the affine itself: the input voxel under the cursor, in scanner mm.
    voxel = geometry.pixel_input_voxel(9, np.array([50]), np.array([70]))[0]
    np.testing.assert_allclose(mm, AFFINE[:3, :3] @ voxel + AFFINE[:3, 3], atol=1e-4)
    value = window.doc.case.stack.images[9, 50, 70]
    assert readout.value(strings.READOUT_INTENSITY).startswith(f"{value:.3g}")
    error = window.doc.results[9].maps.error[50, 70]
    titles = window.grid.titles()
    assert readout.value(titles["error"]) != "-"
    assert float(readout.value(titles["error"])) == pytest.approx(error, rel=1e-3, abs=1e-9)
    # At 1280 x 800 the readout is whole: as tall as its wrapped text needs.
    qtbot.wait(50)
    assert readout.isVisible() and readout.width() > 200
    assert readout.height() >= readout.heightForWidth(readout.width())


def test_the_ruler_measures_in_mm_and_clears(qtbot, window, scanner_volume):
    open_and_wait(qtbot, window, scanner_volume)
    st, stack = window.state, window.doc.case.stack
    QTest.keyClick(window, Qt.Key.Key_L)
    QTest.keyClick(window, Qt.Key.Key_U)  # View > Ruler
    assert st.ruler_tool and window.controls.actions["ruler"].isChecked()
    st.set_cursor(12, 64, 64)
    coronal = window.ortho.image_views["coronal"]
    plane = coronal.plane
    qtbot.waitUntil(lambda: coronal.view.viewRect().width() > 0)
    # Drag from (slice 4, col 30) to (slice 16, col 90) in the coronal view.
    a, b = plane.to_view((4.0, 64.0, 30.0)), plane.to_view((16.0, 64.0, 90.0))
    drag(coronal, coronal.scene_point(*a), coronal.scene_point(*b), Qt.MouseButton.LeftButton)
    ruler = st.ruler
    assert ruler is not None and ruler.plane == "coronal"
    # Within a screen pixel (a slice is a few view units tall; events land on whole pixels).
    np.testing.assert_allclose(ruler.start, (4.0, 64.0, 30.0), atol=0.6)
    np.testing.assert_allclose(ruler.end, (16.0, 64.0, 90.0), atol=0.6)
    # Known geometry: in-plane pixels of pixel_mm, slices slice_mm apart (an axis-aligned
    # affine), so the length is Pythagoras' on the dragged grid offsets.
    dp, dc = ruler.end[0] - ruler.start[0], ruler.end[2] - ruler.start[2]
    expected = math.hypot(dp * stack.slice_mm, dc * stack.pixel_mm)
    shown = strings.RULER_TEXT.format(mm=expected)
    assert coronal.ruler.label.isVisible() and coronal.ruler.label.textItem.toPlainText() == shown
    assert window.readout.ruler == shown
    assert not window.ortho.image_views["axial"].ruler.line.isVisible()  # not its plane
    assert st.cursor == (12, 64, 64)  # measuring did not move the cursor or pan
    # The command again clears it; clearing the crosshair (Esc) does too.
    QTest.keyClick(window, Qt.Key.Key_U)
    assert st.ruler is None and not st.ruler_tool and not coronal.ruler.line.isVisible()
    QTest.keyClick(window, Qt.Key.Key_U)
    drag(coronal, coronal.scene_point(*a), coronal.scene_point(*b), Qt.MouseButton.LeftButton)
    assert st.ruler is not None
    window.controls.actions["clear_crosshair"].trigger()
    assert st.ruler is None and not st.ruler_tool and window.readout.ruler == ""
