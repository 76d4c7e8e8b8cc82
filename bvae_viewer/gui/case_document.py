"""The open case and what is known of it, beside ViewState (how it is shown).

CaseDocument owns the case on screen, its slice results as they stream in, their triage
at the thresholds in force, the model (and its folder) that runs, and the reviewer's records
of the case. Services write it (analysis, review session, batch, model choice); views
observe its signals and ViewState's, and never call each other. Plain QtCore: it is tested
without a window.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.maps import SliceResult
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.analysis.report_text import SliceNumbering
from bvae_viewer.analysis.triage import Decision, TriagePolicy
from bvae_viewer.gui.case_triage import triage_results
from bvae_viewer.pipeline.case import LoadedCase
from bvae_viewer.pipeline.model import Bundle
from bvae_viewer.review.store import DecisionRecord

REFRESH_MS = 150  # while results stream in, triage_changed at most this often


class CaseDocument(QObject):
    """Case, results, triage, policy, model and reviewer's records; emits every change."""

    case_loaded = Signal(object)  # LoadedCase: a new volume, nothing analysed yet
    slice_added = Signal(int)  # stack position whose result (and decision) arrived
    model_ready = Signal(object)  # Bundle: the model of what is on screen, its policy set
    model_shown = Signal(object)  # ModelInfo: what the maps are named after
    model_chosen = Signal(object)  # Bundle: every run from now on uses it (Model menu)
    triage_changed = Signal()  # decisions, thresholds or the case call changed
    records_changed = Signal()  # the reviewer's records of the case changed
    incomplete_changed = Signal(str)  # why the analysis on screen is incomplete, or ""

    def __init__(self, model_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model_dir = Path(model_dir)
        self.bundle: Bundle | None = None
        self.policy: TriagePolicy | None = None
        self.case: LoadedCase | None = None
        self.results: list[SliceResult | None] = []  # by stack position
        self.decisions: list[Decision | None] = []
        self.case_result: CaseResult | None = None  # once every slice is analysed
        self.device_name = ""  # where the results on screen were computed (reports say it)
        self.from_cache = False  # they were read from the result cache: no model ran
        self.reviewed: dict[int, DecisionRecord] = {}  # the reviewer's, by axial slice
        self.case_record: DecisionRecord | None = None  # the reviewer's call on the case
        # Why the last run of the case on screen ended part way ("cancelled", "failed"), or
        # "": the case is marked incomplete until a run of it completes.
        self.incomplete = ""
        # Cases that keep the thresholds in force when opened (a batch is sorted by them).
        self.pinned: set[Path] = set()
        # The input's own slice numbers by stack position, as the report counts them.
        self.numbering = SliceNumbering.identity(0)
        self._refresh = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh.timeout.connect(self.triage_changed.emit)

    # --- the case -----------------------------------------------------------------------
    def load(self, case: LoadedCase) -> None:
        """A new volume on screen: no results, decisions or records yet."""
        n = len(case.stack)
        self.case = case
        self.numbering = _numbering(case)
        self.results = [None] * n
        self.decisions = [None] * n
        self.case_result = None
        self.reviewed, self.case_record = {}, None
        self.incomplete = ""
        self.case_loaded.emit(case)
        self.incomplete_changed.emit("")
        self.triage_changed.emit()

    def add_slice(self, result: SliceResult) -> None:
        """One slice's result, decided at once by the policy in force."""
        if not 0 <= result.position < len(self.results):
            return
        self.results[result.position] = result
        if self.policy is not None:
            self.decisions[result.position] = self.policy.decide_slice(result.scores)
        self.slice_added.emit(result.position)
        if not self._refresh.isActive():
            self._refresh.start()

    def complete(self) -> bool:
        """Every slice of the case on screen is analysed."""
        return bool(self.results) and all(r is not None for r in self.results)

    def analysed(self) -> int:
        return sum(r is not None for r in self.results)

    def run_ended(self, why_not_complete: str) -> None:
        """The run of the case on screen ended: incomplete (saying why) unless every slice
        is in."""
        incomplete = "" if self.complete() or not self.results else why_not_complete
        if incomplete != self.incomplete:
            self.incomplete = incomplete
            self.incomplete_changed.emit(incomplete)

    # --- slice numbers a reviewer reads ---------------------------------------------------
    def slice_number(self, position: int) -> int:
        """The input's own slice number of a stack position, counted from 1 as a viewer's
        slice counter (the report and the findings count the same way)."""
        return self.numbering.number(position)

    def number_of_index(self, slice_index: int) -> int:
        """The same for an axial index of the model's volume (what the review store keys)."""
        if self.case is not None:
            where = np.flatnonzero(np.asarray(self.case.stack.slice_index) == slice_index)
            if where.size:
                return self.slice_number(int(where[0]))
        return slice_index + 1

    def input_slice_count(self) -> int:
        """Slices of the input volume as read (0 before a case is open)."""
        if self.case is None:
            return 0
        shape = self.case.shape
        return int(shape[2]) if len(shape) > 2 else len(self.case.stack)

    # --- the model ----------------------------------------------------------------------
    def adopt_model(self, bundle: Bundle, device_label: str, from_cache: bool = False) -> None:
        """The model of what is on screen: its calibrated thresholds, unless the case keeps
        the ones in force (a case of the open batch, with the same model)."""
        same = self.bundle is not None and self.bundle.info.sha256 == bundle.info.sha256
        pinned = self.case is not None and self.case.source in self.pinned
        if not (same and pinned and self.policy is not None):
            self.policy = TriagePolicy.from_calibration(bundle.info.calibration)
        self.bundle = bundle
        self.device_name, self.from_cache = device_label, from_cache
        self.model_shown.emit(bundle.info)
        self.model_ready.emit(bundle)

    def choose_model(self, folder: Path, bundle: Bundle) -> None:
        """From now on every run (a case, a batch) uses this loaded model."""
        if self.bundle is None or self.bundle.info.sha256 != bundle.info.sha256:
            # The old model's thresholds must not carry over (adopt_model keeps a batch's
            # policy for the same model): the next case starts from the new calibration.
            self.policy = None
        self.model_dir, self.bundle = Path(folder), bundle
        self.model_shown.emit(bundle.info)
        self.model_chosen.emit(bundle)

    def show_model(self, info: ModelInfo) -> None:
        """Name the maps after a model's method (without running it)."""
        self.model_shown.emit(info)

    # --- thresholds and triage ----------------------------------------------------------
    def thresholds(self) -> tuple[float, float]:
        """The score and uncertainty thresholds in force (inf: none)."""
        if self.policy is None:
            return float("inf"), float("inf")
        return self.policy.score_threshold, self.policy.uncertainty_threshold

    def set_thresholds(self, score: float, uncertainty: float) -> None:
        """New thresholds re-sort the slices at once; the model is not run again."""
        if self.policy is None or (score, uncertainty) == self.thresholds():
            return
        self.policy = replace(self.policy, score_threshold=score, uncertainty_threshold=uncertainty)
        self.retriage()

    def retriage(self) -> None:
        """Decide every analysed slice again; with all of them in, the case call and the
        out-of-distribution check too."""
        self._refresh.stop()
        if self.case is not None and self.policy is not None and self.bundle is not None:
            triage = triage_results(
                self.case.stack, self.results, self.bundle.info.calibration, self.policy,
                self.case.prepared,
            )
            self.decisions, self.case_result = triage.decisions, triage.case
        self.triage_changed.emit()

    def counts(self) -> dict[Decision, int]:
        return {d: sum(1 for x in self.decisions if x == d) for d in Decision}

    # --- the reviewer's records ---------------------------------------------------------
    def set_records(
        self, reviewed: dict[int, DecisionRecord], case_record: DecisionRecord | None
    ) -> None:
        """The records of the case's review session (opened or resumed)."""
        self.reviewed, self.case_record = dict(reviewed), case_record
        self.records_changed.emit()

    def put_record(self, record: DecisionRecord) -> None:
        """A decision just recorded (on a slice, or on the whole case)."""
        if record.item_kind == "case":
            self.case_record = record
        else:
            self.reviewed[record.item_index] = record
        self.records_changed.emit()

    def put_records(self, records: list[DecisionRecord]) -> None:
        """Slice decisions recorded together (a whole finding): one change."""
        for record in records:
            self.reviewed[record.item_index] = record
        self.records_changed.emit()

    def record_at(self, position: int) -> DecisionRecord | None:
        """The reviewer's current decision on the slice at this stack position."""
        if not 0 <= position < len(self.results) or self.results[position] is None:
            return None
        return self.reviewed.get(self.results[position].scores.slice_index)


def _numbering(case: LoadedCase) -> SliceNumbering:
    """The input's slice numbers of the case's stack (the stack's own where its geometry
    cannot say)."""
    try:
        return SliceNumbering.from_geometry(case.geometry, len(case.stack))
    except (ValueError, IndexError, np.linalg.LinAlgError):
        return SliceNumbering.identity(len(case.stack))
