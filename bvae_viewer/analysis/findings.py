"""Findings: flagged slices grouped into runs, each a lesion candidate a reviewer can name.

A radiologist reads "a lesion in the left hemisphere, slices 61 to 78, 32 x 28 x 34 mm",
not 18 flagged slices. A run is flagged slices with at most ``max_gap`` unflagged slices
between them (one lesion dips below the line on a slice); its region is the median-filtered
A_pixel above the pixel level on its slices (as the SEG sent to a PACS); its extent, side and
volume are those of the region's largest connected part, measured in scanner millimetres.
The window's queue, its opening slice, the report's first page and the PACS SR all read
these, so they say the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.display import map_levels
from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.analysis.maps import PEAK_MEDIAN_PX, MapSet
from bvae_viewer.analysis.triage import Decision

MIDLINE_MM = 5.0  # a region centred within this of the brain's midline is "midline"
BOTH_SIDES_SHARE = 0.25  # at least this share of the region on each side: "both sides"


@dataclass(frozen=True)
class Finding:
    """One run of flagged slices: where it is, how big, how anomalous."""

    number: int  # 1 = the highest peak score in the case
    positions: tuple[int, ...]  # stack positions from first to last (gaps included)
    flagged: tuple[int, ...]  # the flagged positions among them
    input_slices: tuple[int, int]  # first and last, the input's own numbering (0-based)
    peak_position: int
    peak_score: float
    extent_mm: tuple[float, float, float]  # left-right, anterior-posterior, inferior-superior
    centre_mm: tuple[float, float, float]  # scanner RAS of the region's centre
    side: str  # "left", "right", "midline", "both sides" or "" (no region above the level)
    region_ml: float

    @property
    def first(self) -> int:
        return self.positions[0]

    @property
    def last(self) -> int:
        return self.positions[-1]

    @property
    def n_slices(self) -> int:
        return len(self.positions)

    def describe(self) -> str:
        """One line: 'Finding 1: right, slices 61-78, 32 x 28 x 34 mm, peak 12.3 at 70'."""
        a, b = self.input_slices
        where = f"slice {a + 1}" if a == b else f"slices {a + 1}-{b + 1}"
        # Flagged slices whose maps hold no pixel above the level have no region to measure:
        # "0 x 0 x 0 mm" would read as a measured speck.
        size = (" x ".join(f"{v:.0f}" for v in self.extent_mm) + " mm" if any(self.extent_mm)
                else "no region above the map's level")
        side = f"{self.side}, " if self.side else ""
        return f"Finding {self.number}: {side}{where}, {size}, peak score {self.peak_score:.3g}"


def runs_of(flagged: Sequence[int], max_gap: int = 1) -> list[list[int]]:
    """Sorted positions split where more than ``max_gap`` positions lie between two."""
    runs: list[list[int]] = []
    for p in sorted(set(int(v) for v in flagged)):
        if runs and p - runs[-1][-1] <= max_gap + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def region_mask(maps: MapSet, pixel_level: float) -> np.ndarray:
    """Brain pixels whose median-filtered A_pixel exceeds the level: a lone noisy pixel is
    not a region, a lesion of a few pixels survives."""
    smooth = ndimage.median_filter(maps.pixel_score, size=PEAK_MEDIAN_PX, mode="nearest")
    return (smooth > pixel_level) & maps.brain_mask


def _side(region_x: np.ndarray, midline_x: float) -> str:
    left = float(np.mean(region_x < midline_x - MIDLINE_MM))
    right = float(np.mean(region_x > midline_x + MIDLINE_MM))
    if left >= BOTH_SIDES_SHARE and right >= BOTH_SIDES_SHARE:
        return "both sides"
    centre = float(np.mean(region_x)) - midline_x
    if abs(centre) <= MIDLINE_MM:
        return "midline"
    return "right" if centre > 0 else "left"  # RAS: x grows towards the patient's right


def _main_component(masks: np.ndarray) -> np.ndarray:
    """The largest 26-connected part of a run's region: scattered pixels above the level
    on the brain's rim would otherwise stretch a 3 cm lesion's extent across the head."""
    labels, n = ndimage.label(masks, structure=np.ones((3, 3, 3), dtype=bool))
    if n <= 1:
        return masks
    sizes = ndimage.sum_labels(masks, labels, index=np.arange(1, n + 1))
    return labels == (int(np.argmax(sizes)) + 1)


def _measure(
    positions: Sequence[int],
    maps: Mapping[int, MapSet],
    pixel_level: float,
    geometry: SliceGeometry,
    voxel_ml: float,
) -> tuple[tuple[float, float, float], tuple[float, float, float], str, float]:
    span = list(range(min(positions), max(positions) + 1))
    shape = next(m.pixel_score.shape for p in span if (m := maps.get(p)) is not None)
    region = np.zeros((len(span), *shape), dtype=bool)
    brain_x = []
    for n, p in enumerate(span):
        m = maps.get(p)
        if m is None or p not in positions:
            continue
        region[n] = region_mask(m, pixel_level)
        br, bc = np.nonzero(m.brain_mask)
        if br.size:
            brain_x.append(geometry.pixel_mm(p, br, bc)[:, 0])
    if not region.any():
        return (0.0, 0.0, 0.0), (math.nan, math.nan, math.nan), "", 0.0
    found = np.nonzero(_main_component(region))
    points = np.concatenate([
        geometry.pixel_mm(span[n], found[1][found[0] == n], found[2][found[0] == n])
        for n in np.unique(found[0])
    ])
    # One grid pixel (and one slice) of size on top of the spread of pixel centres.
    steps = np.array([geometry.grid.step_col, geometry.grid.step_row, 1.0])
    cell = np.abs(geometry.model_to_mm[:3, :3]) @ steps
    extent = tuple(float(v) for v in np.ptp(points, axis=0) + cell)
    centre = tuple(float(v) for v in points.mean(axis=0))
    midline = float(np.median(np.concatenate(brain_x))) if brain_x else centre[0]
    return extent, centre, _side(points[:, 0], midline), len(points) * voxel_ml


def find_findings(
    flagged: Sequence[int],
    scores: Mapping[int, float],
    maps: Mapping[int, MapSet],
    geometry: SliceGeometry,
    pixel_level: float,
    voxel_ml: float,
    max_gap: int = 1,
) -> list[Finding]:
    """The case's findings, highest peak score first.

    flagged: stack positions the policy flagged; scores: anomaly score by position; maps:
    the maps of (at least) the flagged positions, by position; pixel_level: the A_pixel
    above which a pixel belongs to the region (the model's calibrated display ceiling).
    Positions without maps still count in the run; they add nothing to its extent.
    """
    found = []
    for run in runs_of(flagged, max_gap):
        positions = tuple(range(run[0], run[-1] + 1))
        peak = max(run, key=lambda p: _finite(scores.get(p, math.nan)))
        extent, centre, side, ml = _measure(run, maps, pixel_level, geometry, voxel_ml)
        slices = sorted({geometry.input_slice(run[0]), geometry.input_slice(run[-1])})
        found.append(Finding(
            0, positions, tuple(run), (slices[0], slices[-1]), peak,
            float(scores.get(peak, math.nan)), extent, centre, side, ml,
        ))
    found.sort(key=lambda f: (-_finite(f.peak_score), f.first))
    return [replace(f, number=n) for n, f in enumerate(found, 1)]


def _finite(value: float) -> float:
    # A slice the model could not score is the most urgent, as in the queue.
    return value if math.isfinite(value) else math.inf


def pixel_level(levels: Mapping[str, object]) -> float:
    """The A_pixel above which a pixel belongs to a region: the model's calibrated display
    ceiling of the map (as the SEG sent to a PACS uses), else the display default."""
    return float(map_levels(levels)["pixel_score"][1])


def result_findings(
    result: CaseResult,
    maps: Mapping[int, MapSet],
    geometry: SliceGeometry,
    level: float,
    voxel_ml: float,
) -> list[Finding]:
    """The findings of a whole-case result (maps by axial index: the stack holds every axial
    slice in order, so an axial index is its stack position)."""
    flagged = [s.slice_index for s, d in zip(result.scores, result.decisions, strict=True)
               if d is Decision.FLAGGED]
    scores = {s.slice_index: s.anomaly_score for s in result.scores}
    return find_findings(flagged, scores, maps, geometry, level, voxel_ml) if flagged else []
