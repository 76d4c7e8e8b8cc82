"""DICOM series built in code: a brain MR (the demo volume or a phantom) and a chest CT."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

PATIENT = {
    "PatientName": "Testpatient^Orla",
    "PatientID": "PACS-0007",
    "PatientBirthDate": "19580214",
    "PatientSex": "F",
    "AccessionNumber": "ACC-2101",
    "StudyDate": "20241105",
    "StudyTime": "093000",
    "StudyID": "S1",
    "ReferringPhysicianName": "Referrer^Rita",
    "StudyDescription": "MR BRAIN W CONTRAST",
}


def study(**changes: str) -> dict[str, str]:
    """A new study's shared header fields (a fresh Study Instance UID)."""
    return {**PATIENT, "StudyInstanceUID": generate_uid(), **changes}


def series_datasets(
    volume: np.ndarray,
    spacing: tuple[float, float, float],
    study_fields: dict[str, str],
    modality: str = "MR",
    body_part: str = "BRAIN",
    description: str = "AX T1 POST",
) -> list[Dataset]:
    """Axial slices of a (X, Y, Z) array whose i runs to the patient's left and j to the
    back (LPS, as DICOM counts): pixel (row r, column c) of slice k is volume[c, r, k]."""
    sop_class = MRImageStorage if modality == "MR" else CTImageStorage
    series_uid, frame_uid = generate_uid(), generate_uid()
    pixels = np.rint(volume).astype("<i2")
    out = []
    for k in range(volume.shape[2]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta, ds.preamble = meta, b"\0" * 128
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
        for key, value in study_fields.items():
            setattr(ds, key, value)
        ds.SeriesInstanceUID, ds.FrameOfReferenceUID = series_uid, frame_uid
        ds.SeriesNumber, ds.InstanceNumber = 3, k + 1
        ds.Modality, ds.BodyPartExamined, ds.SeriesDescription = modality, body_part, description
        ds.Manufacturer = "Test"
        ds.PositionReferenceIndicator = ""
        ds.ImagePositionPatient = [0.0, 0.0, k * spacing[2]]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing = [spacing[1], spacing[0]]  # between rows (j), between columns (i)
        ds.SliceThickness = spacing[2]
        ds.Rows, ds.Columns = volume.shape[1], volume.shape[0]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.PixelData = np.ascontiguousarray(pixels[:, :, k].T).tobytes()
        out.append(ds)
    return out


def demo_series(study_fields: dict[str, str]) -> list[Dataset]:
    """The bundled demo case (a synthetic brain with a tumour) as a DICOM MR series."""
    import nibabel as nib

    from bvae_viewer.paths import demo_case

    image = nib.load(demo_case())
    # Its affine is diag(-1, -1, 1): voxel i runs to the left, j to the back, as LPS does.
    assert np.allclose(np.diag(image.affine)[:3], (-1, -1, 1)), image.affine
    return series_datasets(np.asarray(image.dataobj), (1.0, 1.0, 1.0), study_fields)


def phantom_series(study_fields: dict[str, str], slices: int = 24) -> list[Dataset]:
    """A small brain-like phantom MR series (fast to send and to analyse)."""
    from tests.volumes import brain_phantom

    image, _ = brain_phantom(shape=(64, 72, slices), spacing=(3.0, 3.0, 3.0))
    return series_datasets(image, (3.0, 3.0, 3.0), study_fields)


def chest_ct_series(study_fields: dict[str, str], slices: int = 4) -> list[Dataset]:
    """A tiny CT of the chest: not for the model."""
    volume = np.random.default_rng(0).integers(-1000, 400, (32, 32, slices)).astype(np.float32)
    return series_datasets(volume, (2.0, 2.0, 5.0), study_fields, modality="CT",
                           body_part="CHEST", description="CT CHEST")
