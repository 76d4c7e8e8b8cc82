"""A folder of cases reviewed as a batch: which cases it holds, and the case queue's order.

Plain Python (no Qt, no torch), so the ordering a radiologist works through is tested
without a display. The GUI fills in each case's analysis as it arrives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.data.brats import IMAGE_SUFFIXES, DatasetError, find_cases
from bvae_viewer.review.store import DecisionRecord, ReviewDecision

# Files that are one case each when they lie directly in the batch folder.
VOLUME_SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr")
# Segmentations and other label maps are not cases, whatever their format.
LABEL_MARKERS = ("_seg.", "_mask.", "_label.")
CASE_FILTERS = ("all", "review", "flagged", "undecided", "failed")
# Loose files that do not make a folder one DICOM series: notes, tables, reports, and the
# pixel files that sit beside their MetaImage headers.
NOT_DICOM = (".txt", ".md", ".csv", ".tsv", ".json", ".pdf", ".html", ".raw", ".zraw")


class BatchError(Exception):
    """The folder cannot be opened as a batch (said in one sentence)."""


class CaseStatus(StrEnum):
    PENDING = "pending"  # waiting for the batch worker
    ANALYSING = "analysing"  # in the batch worker or the window right now
    DONE = "done"  # every slice analysed: the case has its decision
    FAILED = "failed"  # could not be read; the reason says why
    STOPPED = "stopped"  # the batch was cancelled before this case was finished


@dataclass(frozen=True)
class BatchCase:
    """One case of the folder: a volume file, a BraTS case folder or a DICOM series folder."""

    name: str
    source: Path
    problem: str = ""  # known before loading (e.g. a BraTS folder without its T1ce)


def volume_name(path: Path) -> str:
    """A volume file's name without its suffix (.nii.gz, .mha, ...); a folder's name."""
    lower = path.name.lower()
    for suffix in VOLUME_SUFFIXES:
        if lower.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.name


def _is_case_file(path: Path) -> bool:
    lower = path.name.lower()
    return lower.endswith(VOLUME_SUFFIXES) and not any(m in lower for m in LABEL_MARKERS)


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def find_batch_cases(folder: Path) -> list[BatchCase]:
    """The cases of a folder, by name: BraTS case folders (CASE/CASE_t1ce.nii.gz, found
    two levels deep), volume files lying in the folder, and other sub-folders, which are
    taken for DICOM series (the loader says why when one is not)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"The folder {folder} does not exist.")
    try:
        brats = {c.image.parent: c for c in find_cases(folder)}
    except DatasetError:
        brats = {}
    cases = [BatchCase(c.case_id, c.image) for c in brats.values()]
    nested_parents = {p.parent for p in brats if p.parent != folder}
    for entry in sorted(filter(_visible, folder.iterdir())):
        if entry in brats or entry in nested_parents:
            continue
        if entry.is_file() and _is_case_file(entry):
            cases.append(BatchCase(volume_name(entry), entry))
        elif entry.is_dir():
            problem = _folder_problem(entry)
            if problem is not None:
                cases.append(BatchCase(entry.name, entry, problem))
    return sorted(cases, key=lambda c: (c.name.lower(), str(c.source)))


def _folder_problem(folder: Path) -> str | None:
    """ "" for a folder that may hold a DICOM series, a sentence for a BraTS-like folder
    without its T1ce image, None for a folder with no files at all (not a case)."""
    files = [p for p in folder.iterdir() if p.is_file() and _visible(p)]
    if not files:
        return None
    if any(p.name.lower().endswith((".nii", ".nii.gz")) for p in files):
        wanted = " or ".join(folder.name + s for s in IMAGE_SUFFIXES)
        return f"The case folder {folder.name} has no T1ce image ({wanted})."
    return ""


def is_batch_folder(folder: Path) -> bool:
    """Whether a folder given on the command line is a folder of cases rather than one
    DICOM series: it holds case folders or volume files, and no loose image files."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    loose = [p for p in folder.iterdir() if p.is_file() and _visible(p)]
    if any(not p.name.lower().endswith((*VOLUME_SUFFIXES, *NOT_DICOM)) for p in loose):
        return False  # DICOM files (often without a suffix) lie in the folder itself
    try:
        return bool(find_batch_cases(folder))
    except (BatchError, OSError):
        return False


def case_scores(scores: Sequence[SliceScores]) -> tuple[float, float]:
    """A case's score and uncertainty: its most anomalous brain slice (a lesion is local,
    so the mean would dilute it) and the mean total uncertainty of its brain slices."""
    brain = [s for s in scores if not s.empty]
    if not brain:
        return math.nan, math.nan
    return (
        max(s.anomaly_score for s in brain),
        sum(s.unc_total for s in brain) / len(brain),
    )


@dataclass(frozen=True)
class CaseItem:
    """One row of the case queue."""

    position: int  # index in the batch (find_batch_cases order)
    name: str
    status: CaseStatus
    model: Decision | None = None  # the model's case decision, once analysed
    score: float = math.nan
    uncertainty: float = math.nan
    reason: str = ""  # why it failed, or the model's reasons for its decision
    reviewer: DecisionRecord | None = None

    @property
    def settled(self) -> bool:
        return self.reviewer is not None and self.reviewer.decision != ReviewDecision.DEFER


def _group(item: CaseItem) -> int:
    # Review first: the model cannot decide. A case that could not be read is the same for
    # the reader (no help from the model), so it follows at once. Then flagged, normal, and
    # what is not analysed yet.
    if item.status == CaseStatus.DONE and item.model == Decision.REVIEW:
        return 0
    if item.status == CaseStatus.FAILED:
        return 1
    if item.status == CaseStatus.DONE and item.model == Decision.FLAGGED:
        return 2
    if item.status == CaseStatus.DONE:
        return 3
    return 4


def _urgency(value: float) -> float:
    return -value if math.isfinite(value) else -math.inf


def order_cases(items: Sequence[CaseItem]) -> list[CaseItem]:
    """Review, unreadable, flagged, normal, not yet analysed; the highest score first in
    each group, and batch order among cases without one."""
    return sorted(items, key=lambda i: (_group(i), _urgency(i.score), i.position))


def case_matches(item: CaseItem, kind: str) -> bool:
    """Whether a case passes one of CASE_FILTERS."""
    if kind == "review":
        return item.status == CaseStatus.DONE and item.model == Decision.REVIEW
    if kind == "flagged":
        return item.status == CaseStatus.DONE and item.model == Decision.FLAGGED
    if kind == "undecided":
        return not item.settled
    if kind == "failed":
        return item.status == CaseStatus.FAILED
    return True
