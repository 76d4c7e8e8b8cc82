"""From an analysed series to the objects sent back: read the source, map, build."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from bvae_viewer.data.preprocess import InPlaneGrid
from bvae_viewer.io.dicom_scan import is_dicom_file
from bvae_viewer.pacs.errors import ResultObjectError
from bvae_viewer.pacs.region import region_on_source
from bvae_viewer.pacs.results import (
    ResultSummary,
    build_report,
    build_segmentation,
    check_sources,
)


def read_source(folder: Path, series_uid: str = "") -> list[Dataset]:
    """The image datasets of the series in folder (pixel data included: highdicom checks
    the frames against them)."""
    datasets = []
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and is_dicom_file(path):
            ds = pydicom.dcmread(path)
            if "PixelData" in ds and (not series_uid or ds.SeriesInstanceUID == series_uid):
                datasets.append(ds)
    if not datasets:
        raise ResultObjectError(f"{folder} holds no DICOM images to attach results to.")
    series = {ds.SeriesInstanceUID for ds in datasets}
    if len(series) > 1:
        raise ResultObjectError(f"{folder} holds {len(series)} series; results need one.")
    return datasets


def result_objects(
    source: list[Dataset],
    region: Mapping[int, np.ndarray],
    volume_affine: np.ndarray,
    grid: InPlaneGrid,
    summary: ResultSummary,
) -> list[Dataset]:
    """The SEG of the flagged region (left out when there is none: a SEG needs a segment)
    and the SR that describes the case and points at the SEG."""
    check_sources(source)  # before the geometry: it needs one position per image
    mask = region_on_source(source, region, volume_affine, grid)
    seg = build_segmentation(source, mask, summary) if mask.any() else None
    report = build_report(source, summary, seg)
    return [ds for ds in (seg, report) if ds is not None]
