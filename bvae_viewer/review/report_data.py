"""What a report shows, and which slices it shows."""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from bvae_viewer import __version__
from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.findings import Finding
from bvae_viewer.analysis.maps import MapSet, SliceScores
from bvae_viewer.analysis.report_text import SliceNumbering
from bvae_viewer.analysis.triage import Decision, TriagePolicy
from bvae_viewer.io.volume import PatientIdentity, VolumeMetadata
from bvae_viewer.review.store import DecisionRecord

RESEARCH_ONLY = (
    "Research use only. Not a medical device. These results are not a diagnosis and must not "
    "guide the care of a patient."
)
# A report is read, not scrolled: beyond this many slices only the table lists the rest.
MAX_THUMBNAIL_SLICES = 30
REPORTED = (Decision.FLAGGED, Decision.REVIEW)


@dataclass(frozen=True)
class VolumeFacts:
    """The volume as read: what the report's "Volume" row says."""

    shape: tuple[int, ...]
    spacing_mm: tuple[float, ...]
    brain_ml: float  # the brain (foreground) the model saw, in millilitres

    def describe(self) -> str:
        shape = " × ".join(str(n) for n in self.shape)
        spacing = " × ".join(f"{s:.3g}" for s in self.spacing_mm)
        text = f"{shape} voxels" + (f" of {spacing} mm" if spacing else "")
        return text + (f"; brain {self.brain_ml:.0f} ml" if math.isfinite(self.brain_ml) else "")


@dataclass(frozen=True)
class KeyImage:
    """A finding's peak slice, with the finding's region on it: as the model saw it, or
    (``acquired_slice`` set) the input's own slice through the region, as acquired."""

    position: int
    image: np.ndarray  # (S, S) in [0, 1], display orientation (col 0: the patient's left)
    region: np.ndarray  # (S, S) bool
    acquired_slice: int | None = None  # the input's axial slice (0-based) the image is
    acquired_z_mm: float = math.nan  # scanner z of that slice's centre


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows, gathered by the caller (CLI or window)."""

    case_label: str  # e.g. the file name; never a patient name
    case_hash: str
    result: CaseResult
    maps: dict[int, MapSet]  # slice index -> maps, for flagged and reviewed slices
    map_levels: dict[str, tuple[float, float]]  # display range per map key, as in the window
    model_name: str
    model_sha256: str
    device: str
    metadata: VolumeMetadata
    decisions: dict[int, DecisionRecord] = field(default_factory=dict)  # reviewer's, by slice
    identity: PatientIdentity = field(default_factory=PatientIdentity)
    created_at: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    case_review: DecisionRecord | None = None  # the reviewer's decision on the whole case
    radiological: bool = True  # thumbnails with the patient's right on the image's left
    method: str = "bvae"  # the model's method (analysis.methods): names the map panels
    app_version: str = __version__
    findings: tuple[Finding, ...] = ()  # analysis.findings, highest peak first
    key_images: dict[int, KeyImage] = field(default_factory=dict)  # by finding number
    numbering: SliceNumbering | None = None  # None: the model's slices are the input's
    volume: VolumeFacts | None = None

    def numbers(self) -> SliceNumbering:
        """Slice numbers and heights as the reader's viewer has them."""
        return self.numbering or SliceNumbering.identity(len(self.result.scores))


def _priority(scores: SliceScores, decided: bool) -> tuple[int, float]:
    """Reviewer-decided slices first, then the most anomalous (non-finite: most urgent)."""
    score = scores.anomaly_score
    return (int(decided), score if math.isfinite(score) else math.inf)


def wants_maps(policy: TriagePolicy, scores: SliceScores, decided: Collection[int] = ()) -> bool:
    """Whether a report shows this slice: flagged or uncertain on its own, or reviewed."""
    return scores.slice_index in decided or policy.decide_slice(scores) in REPORTED


class MapKeeper:
    """The maps a report will show, kept while slices stream in, never more than limit."""

    def __init__(
        self,
        policy: TriagePolicy,
        decided: Collection[int] = (),
        limit: int = MAX_THUMBNAIL_SLICES,
    ) -> None:
        self.policy = policy
        self.decided = frozenset(decided)
        self.limit = limit
        self._heap: list[tuple[tuple[int, float], int]] = []  # lowest priority on top
        self.maps: dict[int, MapSet] = {}

    def offer(self, scores: SliceScores, maps: MapSet) -> None:
        index = scores.slice_index
        if self.limit <= 0 or not wants_maps(self.policy, scores, self.decided):
            return
        item = (_priority(scores, index in self.decided), index)
        if len(self._heap) >= self.limit:
            if item <= self._heap[0]:
                return
            _, dropped = heapq.heapreplace(self._heap, item)
            del self.maps[dropped]
        else:
            heapq.heappush(self._heap, item)
        self.maps[index] = maps


def region_only(maps: MapSet) -> MapSet:
    """What a finding is measured from (A_pixel and the brain mask), the pictures blank: a
    155-slice case's worth costs about 12 MB instead of 70."""
    blank = np.broadcast_to(np.float32(0.0), maps.pixel_score.shape)  # no memory of its own
    return MapSet(blank, blank, blank, blank, blank, maps.pixel_score.copy(), maps.brain_mask)


class RegionKeeper:
    """The region maps of every flagged slice, kept while slices stream in: findings span
    all of them, while a report's thumbnails (MapKeeper) keep only a few."""

    def __init__(self, policy: TriagePolicy) -> None:
        self.policy = policy
        self.maps: dict[int, MapSet] = {}

    def offer(self, scores: SliceScores, maps: MapSet) -> None:
        if self.policy.decide_slice(scores) is Decision.FLAGGED:
            self.maps[scores.slice_index] = region_only(maps)


def reported_slices(data: ReportData) -> list[int]:
    """Slices flagged or uncertain by their own scores, and any a reviewer decided on.

    A case sent to review as a whole (unlike the training data) marks every slice "review";
    the report still shows the slices that stand out by themselves, not all of them.
    """
    scores = {s.slice_index: s for s in data.result.scores}
    chosen = {i for i, s in scores.items() if wants_maps(data.result.policy, s)}
    return sorted(chosen | (set(data.decisions) & set(scores)))


def thumbnail_slices(data: ReportData) -> list[int]:
    """Reported slices with maps, at most MAX_THUMBNAIL_SLICES of them, in slice order."""
    scores = {s.slice_index: s for s in data.result.scores}
    ranked = sorted(
        (i for i in reported_slices(data) if i in data.maps),
        key=lambda i: _priority(scores[i], i in data.decisions),
        reverse=True,
    )
    return sorted(ranked[:MAX_THUMBNAIL_SLICES])
