"""DICOM series written with pydicom: ordering, geometry, identity, series choice, damage."""

from __future__ import annotations

import shutil

import nibabel as nib
import numpy as np
import pytest
from pydicom.data import get_testdata_file

from bvae_viewer.io import (
    DuplicateSliceError,
    GeometryError,
    IrregularSeriesError,
    NoDicomError,
    NotAnImageError,
    NotThreeDimensionalError,
    SeriesNotFoundError,
    SliceGapError,
    VaryingSpacingError,
    VolumeSizeError,
    load_volume,
)
from tests.io.helpers import AXIAL, PATIENT, slice_positions, write_series

SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # rows run to the back, columns downwards


def _assert_every_pixel_in_place(volume, pixels, positions, orientation, spacing):
    """Each written pixel sits at the voxel whose RAS position DICOM's definition gives."""
    k, row, column = np.indices(pixels.shape).reshape(3, -1)
    row_cos, col_cos = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    lps = (
        np.asarray(positions)[k]
        + (column * spacing[1])[:, None] * row_cos
        + (row * spacing[0])[:, None] * col_cos
    )
    ras = np.c_[lps * [-1, -1, 1], np.ones(len(k))]
    index = (np.linalg.inv(volume.affine) @ ras.T)[:3]
    np.testing.assert_allclose(index, np.rint(index), atol=1e-4)
    found = volume.data[tuple(np.rint(index).astype(int))]
    np.testing.assert_array_equal(found, pixels[k, row, column])


@pytest.mark.parametrize("orientation", [AXIAL, SAGITTAL])
def test_series_loads_in_ras_with_every_pixel_in_place(tmp_path, orientation):
    positions = slice_positions(10, 2.0, orientation=orientation)
    pixels, _ = write_series(tmp_path / "series", positions, orientation=orientation)

    volume = load_volume(tmp_path / "series")

    assert sorted(volume.shape) == [10, 12, 16]
    assert nib.aff2axcodes(volume.affine) == ("R", "A", "S")
    np.testing.assert_allclose(sorted(volume.spacing), [1.0, 1.5, 2.0])
    _assert_every_pixel_in_place(volume, pixels, positions, orientation, (1.5, 1.0))
    assert volume.metadata.format == "dicom"
    assert volume.metadata.modality == "MR"
    assert volume.metadata.series_description == "T1 post"
    assert volume.metadata.original_shape == (16, 12, 10)
    assert volume.metadata.notes == ()


def test_shuffled_files_load_in_position_order(tmp_path):
    positions = slice_positions(10, 2.0)
    shuffled = [int(i) for i in np.random.default_rng(3).permutation(10)]
    pixels, _ = write_series(tmp_path / "s", positions, file_order=shuffled)
    volume = load_volume(tmp_path / "s")
    _assert_every_pixel_in_place(volume, pixels, positions, AXIAL, (1.5, 1.0))
    # Axial LPS slices: RAS data is the pixel stack with rows and columns flipped.
    np.testing.assert_array_equal(volume.data, pixels.transpose(2, 1, 0)[::-1, ::-1, :])


def test_descending_positions_are_sorted_ascending(tmp_path):
    positions = slice_positions(10, -2.0)  # written head to feet
    pixels, _ = write_series(tmp_path / "s", positions)
    volume = load_volume(tmp_path / "s")
    np.testing.assert_array_equal(volume.data[..., 0], pixels[-1].T[::-1, ::-1])


def test_identity_is_kept_apart_and_filled(tmp_path):
    write_series(tmp_path / "s", slice_positions(10, 2.0))
    volume = load_volume(tmp_path / "s")
    identity = volume.identity
    assert identity.patient_name == PATIENT["PatientName"]
    assert identity.patient_id == PATIENT["PatientID"]
    assert identity.birth_date == PATIENT["PatientBirthDate"]
    assert identity.accession_number == PATIENT["AccessionNumber"]
    assert identity.institution == PATIENT["InstitutionName"]
    assert identity.study_date == PATIENT["StudyDate"]
    exported = repr(volume.metadata)
    assert not any(value in exported for value in PATIENT.values())


def test_single_file_loads_its_whole_series(tmp_path):
    pixels, _ = write_series(tmp_path / "s", slice_positions(10, 2.0))
    write_series(tmp_path / "s", slice_positions(12, 2.0), description="other", prefix="OT")
    volume = load_volume(tmp_path / "s" / "IM0003.dcm")
    assert volume.shape[2] == 10
    assert volume.metadata.series_description == "T1 post"
    np.testing.assert_array_equal(np.sort(volume.data.ravel()), np.sort(pixels.ravel()))


def test_largest_series_is_chosen_and_notes_say_which(tmp_path):
    write_series(tmp_path / "s", slice_positions(10, 2.0), description="T2 axial", prefix="A")
    write_series(tmp_path / "s", slice_positions(14, 1.0), description="T1 post", prefix="B")
    _, small_uid = write_series(
        tmp_path / "s", slice_positions(9, 3.0), description="FLAIR", prefix="C"
    )

    volume = load_volume(tmp_path / "s")
    assert volume.shape[2] == 14
    assert volume.metadata.notes == ("3 series in folder; loaded 'T1 post' (14 slices)",)

    chosen = load_volume(tmp_path / "s", series=small_uid)
    assert chosen.shape[2] == 9
    assert chosen.metadata.series_description == "FLAIR"
    assert "loaded 'FLAIR' (9 slices)" in chosen.metadata.notes[0]


def test_unknown_series_uid(tmp_path):
    write_series(tmp_path / "s", slice_positions(10, 2.0))
    with pytest.raises(SeriesNotFoundError, match=r"1\.2\.3\.4"):
        load_volume(tmp_path / "s", series="1.2.3.4")


def test_missing_slice_is_a_gap(tmp_path):
    positions = slice_positions(12, 2.0)
    del positions[6]
    write_series(tmp_path / "s", positions)
    with pytest.raises(SliceGapError, match="missing 1 slice") as error:
        load_volume(tmp_path / "s")
    assert str(tmp_path / "s") in str(error.value)


def test_duplicate_position(tmp_path):
    positions = slice_positions(10, 2.0)
    positions[4] = positions[5].copy()
    write_series(tmp_path / "s", positions)
    with pytest.raises(DuplicateSliceError, match="same position"):
        load_volume(tmp_path / "s")


def test_varying_spacing(tmp_path):
    positions = slice_positions(10, 2.0)
    positions[4] = positions[4] + [0, 0, 0.3]
    write_series(tmp_path / "s", positions)
    with pytest.raises(VaryingSpacingError, match="unevenly spaced"):
        load_volume(tmp_path / "s")


def test_rounding_in_positions_is_tolerated(tmp_path):
    jitter = [np.array([0, 0, 0.004 * (-1) ** k]) for k in range(10)]
    positions = [p + d for p, d in zip(slice_positions(10, 2.0), jitter, strict=True)]
    write_series(tmp_path / "s", positions)
    assert load_volume(tmp_path / "s").shape[2] == 10


def test_mixed_orientations_in_one_series(tmp_path):
    write_series(tmp_path / "s", slice_positions(10, 2.0))
    first = tmp_path / "s" / "IM0000.dcm"
    import pydicom

    ds = pydicom.dcmread(first)
    ds.ImageOrientationPatient = list(SAGITTAL)
    ds.save_as(first)
    with pytest.raises(IrregularSeriesError, match="orientations"):
        load_volume(tmp_path / "s")


def test_too_few_slices(tmp_path):
    write_series(tmp_path / "s", slice_positions(4, 2.0))
    with pytest.raises(VolumeSizeError, match="too small"):
        load_volume(tmp_path / "s")


def test_folder_without_dicom(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to see")
    (tmp_path / "sub").mkdir()
    with pytest.raises(NoDicomError, match="no DICOM images"):
        load_volume(tmp_path)


def test_bundled_pydicom_files(tmp_path):
    # A multi-frame RT dose grid: 10 x 10 pixels, 15 frames 5 mm apart, with a patient name.
    dose = shutil.copy(get_testdata_file("rtdose.dcm", download=False), tmp_path / "dose.dcm")
    volume = load_volume(dose)
    assert volume.shape == (10, 10, 15)
    assert volume.metadata.modality == "RTDOSE"
    np.testing.assert_allclose(volume.spacing, (10.0, 10.0, 5.0))
    assert volume.identity.patient_name == "Lastname^Firstname"
    # A single CT slice is not a volume.
    single = shutil.copy(get_testdata_file("CT_small.dcm", download=False), tmp_path / "ct.dcm")
    with pytest.raises(NotThreeDimensionalError, match="single 2D image"):
        load_volume(single)


def test_dicom_without_position(tmp_path):
    source = get_testdata_file("MR_small.dcm", download=False)
    import pydicom

    for k in range(10):
        ds = pydicom.dcmread(source)
        del ds.ImagePositionPatient
        ds.SOPInstanceUID = f"{ds.SOPInstanceUID}.{k}"
        ds.save_as(tmp_path / f"{k}.dcm")
    with pytest.raises(GeometryError, match="ImagePositionPatient"):
        load_volume(tmp_path)


def test_corrupt_dcm_file(tmp_path):
    path = tmp_path / "broken.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + np.random.default_rng(0).bytes(500))
    with pytest.raises(NotAnImageError, match=r"broken\.dcm"):
        load_volume(path)
