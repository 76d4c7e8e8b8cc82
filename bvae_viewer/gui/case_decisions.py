"""Whole-case decisions of a batch in the review store: the same sessions as a case opened
alone (content hash and model hash), so each view sees the other's decisions; and which
other models a case has decisions under."""

from __future__ import annotations

from bvae_viewer.gui.batch_cases import CaseSlot
from bvae_viewer.pipeline.case import LoadedCase
from bvae_viewer.review.batch import volume_name
from bvae_viewer.review.deid import redact
from bvae_viewer.review.store import DecisionRecord, ReviewStore, Thresholds

CASE_ITEM = 0  # a case decision's item_index (see ReviewSession.record)


def case_label(case: LoadedCase) -> str:
    """The case's name where decisions are made: the volume's name, identifiers removed."""
    return redact(volume_name(case.source), case.identity)


def earlier_decision(store: ReviewStore, slot: CaseSlot, model_sha: str) -> DecisionRecord | None:
    """The reviewer's latest call on this case under this model; creates nothing."""
    if slot.loaded is None or not slot.loaded.fingerprint:
        return None
    return store.case_decision(slot.loaded.fingerprint, model_sha)


def record_case(
    store: ReviewStore,
    slot: CaseSlot,
    model_sha: str,
    value: str,
    note: str,
    reviewer: str,
    thresholds: Thresholds,
) -> DecisionRecord:
    """Append the reviewer's call beside the model's (committed when this returns)."""
    assert slot.loaded is not None and slot.loaded.fingerprint
    model = slot.decision.decision.value if slot.decision is not None else "pending"
    session = store.open_session(
        slot.loaded.fingerprint, model_sha, label=redact(slot.case.name, slot.loaded.identity)
    )
    return session.record(
        CASE_ITEM,
        value,
        model,
        note=note,
        reviewer=reviewer,
        item_kind="case",
        thresholds=thresholds,
    )


def other_model_decisions(store: ReviewStore, case_hash: str, model_sha: str) -> dict[str, int]:
    """Number of decisions on this case per other model (sha256), for models that have any.

    A reviewer's decisions stay in the session of the model they were made with: that
    model's triage, queue and thresholds are what they answered. Another model does not
    inherit them, but the reader is told that they exist, and where.
    """
    return {
        s.model_sha256: s.decisions
        for s in store.sessions(case_hash)
        if s.model_sha256 != model_sha and s.decisions > 0
    }
