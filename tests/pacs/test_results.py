"""The SEG and SR built from a source series: on its grid, in its frame of reference and
study, with its identifiers; the flagged region lands where the model grid put it."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pydicom
import pytest

from bvae_viewer.data.preprocess import preprocess_volume
from bvae_viewer.io import load_volume
from bvae_viewer.pacs.errors import ResultObjectError
from bvae_viewer.pacs.objects import read_source, result_objects
from bvae_viewer.pacs.region import region_on_source
from bvae_viewer.pacs.results import RESEARCH_USE, ResultSummary, build_report
from tests.pacs.series import PATIENT, series_datasets, study
from tests.volumes import brain_phantom

SUMMARY = ResultSummary(
    case_decision="flagged", reasons=("7 consecutive slices above the anomaly threshold",),
    findings=("Flagged slices 10-16 (highest anomaly score 3.2 at slice 12).",),
    reviewer_decision="abnormal (by dr.test, 2026-12-06T10:00:00Z)",
    model_name="bvae-fast", model_sha256="ab" * 32,
)


@pytest.fixture
def tumour_series(tmp_path):
    """A phantom with a bright, off-centre tumour, written as DICOM; also its enhancing part
    per source image (what the region should find)."""
    image, seg = brain_phantom(shape=(64, 72, 30), spacing=(2.0, 2.0, 2.0), tumour=True)
    datasets = series_datasets(image, (2.0, 2.0, 2.0), study())
    folder = tmp_path / "series"
    folder.mkdir()
    for ds in datasets:
        ds.save_as(folder / f"{ds.InstanceNumber:03d}.dcm", enforce_file_format=True)
    enhancing = np.stack([(seg[:, :, k] == 4).T for k in range(seg.shape[2])])
    return folder, enhancing


def _bright_region(folder):
    """What the analysis would hand over: model-grid pixels of the bright tumour, per slice."""
    volume = load_volume(folder)
    stack = preprocess_volume(volume)
    region = {int(k): stack.images[k] > 0.95 for k in stack.slice_index
              if (stack.images[k] > 0.95).any()}
    return volume, stack, region


def test_region_lands_on_the_source_pixels_it_came_from(tumour_series):
    folder, enhancing = tumour_series
    volume, stack, region = _bright_region(folder)
    assert region, "the phantom's tumour should be the brightest thing on its slices"
    source = sorted(read_source(folder), key=lambda ds: int(ds.InstanceNumber))
    mask = region_on_source(source, region, volume.affine, stack.grid)
    assert mask.shape == (len(source), source[0].Rows, source[0].Columns)
    # The phantom is symmetric but its tumour is not: a flipped axis would miss it.
    overlap = (mask & enhancing).sum() / mask.sum()
    recall = (mask & enhancing).sum() / enhancing.sum()
    assert overlap > 0.8 and recall > 0.5, (overlap, recall)


def test_seg_and_sr_reference_the_source_and_carry_its_identifiers(tumour_series):
    folder, _ = tumour_series
    volume, stack, region = _bright_region(folder)
    source = read_source(folder)
    seg, sr = result_objects(source, region, volume.affine, stack.grid, SUMMARY)
    first = source[0]
    for obj in (seg, sr):
        obj = pydicom.dcmread(pydicom.filebase.DicomBytesIO(_bytes(obj)))  # survives a write
        assert obj.StudyInstanceUID == first.StudyInstanceUID
        assert obj.SeriesInstanceUID != first.SeriesInstanceUID
        assert (obj.PatientID, str(obj.PatientName)) == (PATIENT["PatientID"],
                                                         PATIENT["PatientName"])
        assert obj.AccessionNumber == PATIENT["AccessionNumber"]
        assert "RESEARCH USE ONLY" in obj.SeriesDescription
    assert seg.Modality == "SEG" and seg.FrameOfReferenceUID == first.FrameOfReferenceUID
    referenced = {item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
                  for item in seg.PerFrameFunctionalGroupsSequence}
    assert referenced <= {ds.SOPInstanceUID for ds in source} and referenced
    assert (seg.Rows, seg.Columns) == (first.Rows, first.Columns)
    text = _sr_text(sr)
    assert RESEARCH_USE in text and "Model case decision: flagged" in text
    assert "Reviewer's decision: abnormal (by dr.test" in text and "slices 10-16" in text
    assert seg.SOPInstanceUID in {
        item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for item in sr.ContentSequence if item.ValueType == "COMPOSITE"
    }


def test_no_region_sends_the_report_alone_and_a_series_without_frame_is_refused(tumour_series):
    folder, _ = tumour_series
    volume, stack, _ = _bright_region(folder)
    source = read_source(folder)
    (sr,) = result_objects(source, {}, volume.affine, stack.grid, SUMMARY)
    assert sr.Modality == "SR"
    for ds in source:
        del ds.FrameOfReferenceUID
    with pytest.raises(ResultObjectError, match="no FrameOfReferenceUID"):
        build_report(source, SUMMARY)


def test_seg_and_sr_pass_the_standards_validator(tumour_series, tmp_path):
    """dciodvfy (dicom3tools) checks every module and attribute the IODs require."""
    validator = shutil.which("dciodvfy")
    if validator is None:
        pytest.skip("dciodvfy is not installed (apt-get install dicom3tools)")
    folder, _ = tumour_series
    volume, stack, region = _bright_region(folder)
    for obj in result_objects(read_source(folder), region, volume.affine, stack.grid, SUMMARY):
        path = tmp_path / f"{obj.Modality}.dcm"
        obj.save_as(path, enforce_file_format=True)
        said = subprocess.run([validator, str(path)], capture_output=True, text=True).stderr
        problems = [line for line in said.splitlines() if line.startswith(("Error", "Warning"))]
        assert problems == [], (obj.Modality, problems)


def _bytes(ds) -> bytes:
    buffer = pydicom.filebase.DicomBytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _sr_text(sr) -> str:
    return "\n".join(str(item.TextValue) for item in sr.ContentSequence
                     if item.ValueType == "TEXT")
