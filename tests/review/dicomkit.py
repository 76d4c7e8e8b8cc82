"""A brain-like DICOM series whose header names a (fictitious) patient, and a model that
flags every brain slice, for the end-to-end report tests."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from tests.volumes import brain_phantom

# Distinctive strings, so a search finds them and nothing else.
HEADER = {
    "PatientName": "Zyxwort^Quilla",
    "PatientID": "PID-88123",
    "PatientBirthDate": "19610417",
    "AccessionNumber": "ACC-55091",
    "InstitutionName": "Saint Elsewhere Infirmary",
    "StudyDate": "20230905",
}
IDENTIFIERS = tuple(HEADER.values())


def write_named_series(
    folder: Path, slices: int = 12, size: int = 64, step_mm: float = 2.0
) -> Path:
    """An axial T1-like series, regular spacing, the patient's details in every header."""
    folder.mkdir(parents=True, exist_ok=True)
    image, _ = brain_phantom(shape=(size, size, slices), spacing=(3.0, 3.0, step_mm))
    pixels = np.rint(image).astype("<i2")
    study, series = generate_uid(), generate_uid()
    for k in range(slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta, ds.preamble = meta, b"\0" * 128
        ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.Modality, ds.SeriesDescription = "MR", "AX T1 POST"
        for key, value in HEADER.items():
            setattr(ds, key, value)
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [-96.0, -96.0, k * step_mm]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing = [3.0, 3.0]
        ds.SliceThickness = step_mm
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        # Column c, row r of slice k: the phantom's voxel (c, r, k).
        ds.PixelData = np.ascontiguousarray(pixels[:, :, k].T).tobytes()
        ds.save_as(folder / f"IM{k:04d}.dcm", enforce_file_format=True)
    return folder


def flagging_model(folder: Path) -> Path:
    """The real fast network, untrained, calibrated so that every brain slice is flagged."""
    import torch

    from bvae_viewer.analysis.model_info import Calibration, ModelInfo
    from bvae_viewer.nn.bundle import save_bundle
    from bvae_viewer.nn.config import ModelConfig
    from bvae_viewer.nn.network import build_network

    torch.manual_seed(0)
    network = build_network(ModelConfig.fast()).eval()
    calibration = Calibration(alpha=0.5, score_threshold=0.0, uncertainty_threshold=math.inf)
    info = ModelInfo("untrained-flagging", {}, "weights.safetensors", "", calibration)
    save_bundle(network, info, folder)
    return folder
