"""Undo and clear in the review store: the audit trail keeps every original decision and adds
the correction; current() reports the state after it."""

import sqlite3

import pytest

from bvae_viewer.review.store import ReviewDecision, ReviewStore, stored_decisions


def kinds(session) -> list[str]:
    return [kind for kind, _payload, _at in session.events()]


def test_undo_restores_the_earlier_decision_and_keeps_both(tmp_path):
    db = tmp_path / "reviews.sqlite"
    with ReviewStore(db) as store:
        session = store.open_session("case", "model")
        first = session.record(7, "defer", "review", reviewer="dr a")
        second = session.record(7, "abnormal", "review", reviewer="dr a")
        assert session.current()[7].id == second.id
        undone = session.undo(reviewer="dr a")
        assert undone is not None and undone.decision_ids == (second.id,)
        # Both decisions stay in the history; the undo is an entry of its own.
        assert [r.id for r in session.history()] == [first.id, second.id]
        assert kinds(session) == ["undo"]
        assert session.events()[0][1]["decision_ids"] == [second.id]
        assert session.current()[7].decision == ReviewDecision.DEFER
        session.undo()
        assert session.current() == {}  # nothing left standing on slice 7
        assert session.undo() is None  # nothing more to take back
    # Read again from disk (a new process): the same state.
    current, case = stored_decisions("case", "model", db)
    assert current == {} and case is None


def test_clear_voids_the_item_and_undo_brings_it_back(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite") as store:
        session = store.open_session("case", "model")
        session.record(3, "normal", "flagged")
        case = session.record(0, "abnormal", "flagged", item_kind="case")
        assert session.clear(3) is not None
        assert 3 not in session.current()
        assert session.clear(3) is None  # nothing standing: nothing to clear, nothing logged
        assert session.case_decision() == case  # another item is untouched
        assert session.clear(0, item_kind="case").id == case.id
        assert session.case_decision() is None
        # A new decision after a clear stands; undo takes back the newest action first.
        session.record(3, "abnormal", "flagged")
        assert session.current()[3].decision == ReviewDecision.ABNORMAL
        session.undo()  # the new decision
        assert 3 not in session.current()
        session.undo()  # the clearing of the case
        assert session.case_decision() == case
        session.undo()  # the clearing of slice 3
        assert session.current()[3].decision == ReviewDecision.NORMAL
        assert len(session.history()) == 3
        assert kinds(session) == ["clear", "clear", "undo", "undo", "undo"]


def test_decisions_made_together_are_one_action(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite") as store:
        session = store.open_session("case", "model")
        session.record(1, "defer", "review")
        made = session.record_many(
            [(i, "abnormal", "flagged") for i in (1, 2, 3)], note="finding 1", reviewer="dr b"
        )
        assert [r.item_index for r in made] == [1, 2, 3]
        assert all(r.note == "finding 1" and r.reviewer == "dr b" for r in made)
        assert {i: r.decision.value for i, r in session.current().items()} == {
            1: "abnormal", 2: "abnormal", 3: "abnormal"
        }
        undone = session.undo()
        assert undone.items == (("slice", 1), ("slice", 2), ("slice", 3))
        assert {i: r.decision.value for i, r in session.current().items()} == {1: "defer"}


def test_decisions_made_together_are_all_or_none(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite") as store:
        session = store.open_session("case", "model")
        with pytest.raises(ValueError):
            session.record_many([(1, "abnormal", "flagged"), (2, "maybe", "flagged")])
        assert session.history() == [] and session.events() == []
        session.record(4, "normal", "normal")  # the connection is usable after the rollback
        assert len(session.history()) == 1


def test_corrections_cannot_be_rewritten_either(tmp_path):
    db = tmp_path / "r.sqlite"
    with ReviewStore(db) as store:
        session = store.open_session("case", "model")
        session.record(1, "abnormal", "flagged")
        session.undo()
    raw = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="cannot be rewritten"):
        raw.execute("DELETE FROM events WHERE kind = 'undo'")
    raw.close()
