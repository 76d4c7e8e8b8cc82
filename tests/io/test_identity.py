"""Patient identity from DICOM headers: read in full, and kept apart from the metadata."""

from dataclasses import asdict

from bvae_viewer.io import load_volume
from tests.review.dicomkit import HEADER, IDENTIFIERS, write_named_series
from tests.volumes import brain_phantom, write_nifti


def test_all_six_identifiers_are_read_from_the_header(tmp_path):
    folder = write_named_series(tmp_path / "series", slices=8, size=16)
    for path in (folder, folder / "IM0002.dcm"):  # the folder, or one file of the series
        identity = load_volume(path).identity
        assert identity.patient_name == HEADER["PatientName"]
        assert identity.patient_id == HEADER["PatientID"]
        assert identity.birth_date == HEADER["PatientBirthDate"]
        assert identity.accession_number == HEADER["AccessionNumber"]
        assert identity.institution == HEADER["InstitutionName"]
        assert identity.study_date == HEADER["StudyDate"]


def test_the_exportable_metadata_holds_no_identifier(tmp_path):
    volume = load_volume(write_named_series(tmp_path / "series", slices=8, size=16))
    text = repr(asdict(volume.metadata))
    assert volume.metadata.modality == "MR" and "AX T1 POST" in text
    assert not [v for v in IDENTIFIERS if v in text]


def test_files_without_a_patient_header_have_an_empty_identity(tmp_path):
    image, _ = brain_phantom(shape=(16, 16, 8))
    assert load_volume(write_nifti(tmp_path / "a.nii.gz", image)).identity.is_empty()
