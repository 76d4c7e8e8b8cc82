"""The series' descriptive header fields (the window's header, the contrast check) are read
into the de-identified metadata; files without them leave them empty."""

from __future__ import annotations

import pydicom

from bvae_viewer.io import load_volume
from tests.io.helpers import slice_positions, write_series
from tests.volumes import brain_phantom, write_nifti

FIELDS = {
    "StudyDescription": "MRI BRAIN W/WO CONTRAST",
    "ProtocolName": "t1_mprage_tra_post",
    "SequenceName": "*tfl3d1_16ns",
    "ContrastBolusAgent": "GADOBUTROL",
    "PatientSex": "F",
    "RepetitionTime": "2300",
    "EchoTime": "2.98",
}


def test_the_series_fields_are_read_from_the_dicom_header(tmp_path):
    folder = tmp_path / "series"
    write_series(folder, slice_positions(10, 2.0), description="AX T1 MPRAGE POST")
    for path in sorted(folder.iterdir()):
        ds = pydicom.dcmread(path)
        for key, value in FIELDS.items():
            setattr(ds, key, value)
        ds.ScanningSequence = ["GR", "IR"]
        ds.SliceThickness = 1.2
        ds.save_as(path, enforce_file_format=True)
    meta = load_volume(folder).metadata
    assert meta.series_description == "AX T1 MPRAGE POST"
    assert meta.study_description == FIELDS["StudyDescription"]
    assert meta.sequence == "t1_mprage_tra_post / *tfl3d1_16ns / GR\\IR"
    assert meta.contrast_agent == "GADOBUTROL" and meta.patient_sex == "F"
    assert meta.slice_thickness == 1.2
    assert (meta.repetition_time, meta.echo_time) == (2300.0, 2.98)


def test_a_series_without_them_and_a_nifti_leave_them_empty(tmp_path):
    folder = tmp_path / "plain"
    write_series(folder, slice_positions(10, 2.0))
    meta = load_volume(folder).metadata
    assert (meta.study_description, meta.sequence, meta.patient_sex) == ("", "", "")
    assert meta.slice_thickness == 2.0  # the helper writes it
    image, _ = brain_phantom(shape=(16, 16, 8))
    nifti = load_volume(write_nifti(tmp_path / "a.nii.gz", image)).metadata
    assert (nifti.series_description, nifti.slice_thickness, nifti.sequence) == ("", 0.0, "")
