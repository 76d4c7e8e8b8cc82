import sqlite3
import threading

import pytest

from bvae_viewer.review.store import (
    SCHEMA_VERSION,
    ReviewDecision,
    ReviewStore,
    ReviewStoreError,
    Thresholds,
    default_reviewer,
    stored_decisions,
)


def test_decisions_resume_and_latest_wins(tmp_path):
    db = tmp_path / "reviews.sqlite"
    with ReviewStore(db) as store:
        session = store.open_session("case", "model")
        session.record(4, ReviewDecision.ABNORMAL, "flagged", note="enhancing rim", reviewer="dr a")
        session.record(4, "normal", "flagged", note="vessel", reviewer="dr a")
        session.record(5, "defer", "review")
        session.log_event("thresholds", {"score": 1.2})
    with ReviewStore(db) as store:
        resumed = store.open_session("case", "model")
        assert resumed.id == session.id
        current = resumed.current()
        assert current[4].decision == ReviewDecision.NORMAL and current[4].note == "vessel"
        assert current[5].decision == ReviewDecision.DEFER and current[5].reviewer
        assert [r.decision.value for r in resumed.history()] == ["abnormal", "normal", "defer"]
        assert resumed.events()[0][:2] == ("thresholds", {"score": 1.2})
        other = store.open_session("case", "another-model")
        assert other.id != session.id and other.current() == {}


def test_audit_trail_cannot_be_rewritten(tmp_path):
    db = tmp_path / "reviews.sqlite"
    with ReviewStore(db) as store:
        store.open_session("case", "model").record(1, "abnormal", "flagged")
    raw = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="cannot be rewritten"):
        raw.execute("UPDATE decisions SET decision = 'normal'")
    with pytest.raises(sqlite3.DatabaseError, match="cannot be rewritten"):
        raw.execute("DELETE FROM decisions")
    raw.close()


def test_invalid_decision_is_refused(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite") as store, pytest.raises(ValueError):
        store.open_session("c", "m").record(1, "maybe", "flagged")


def test_database_is_wal_and_fully_synchronous(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite") as store:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_thresholds_are_kept_with_each_decision(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite") as store:
        session = store.open_session("case", "model")
        assert session.thresholds is None
        first = session.record(1, "abnormal", "flagged")
        assert first.score_threshold is None
        session.set_thresholds(0.8, 0.02)
        session.set_thresholds(0.8, 0.02)  # unchanged: not logged twice
        second = session.record(2, "normal", "flagged")
        session.set_thresholds(1.1, 0.03)
        third = session.record(2, "defer", "review", thresholds=Thresholds(2.0, 0.5))
    with ReviewStore(tmp_path / "r.sqlite") as store:
        resumed = store.open_session("case", "model")
        assert resumed.thresholds == Thresholds(1.1, 0.03)
        assert [e[0] for e in resumed.events()] == ["thresholds", "thresholds"]
        rows = {r.id: r for r in resumed.history()}
    assert (rows[second.id].score_threshold, rows[second.id].uncertainty_threshold) == (0.8, 0.02)
    assert (rows[third.id].score_threshold, rows[third.id].uncertainty_threshold) == (2.0, 0.5)


def test_reviewer_defaults_to_the_os_user_and_is_editable(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite") as store:
        session = store.open_session("case", "model")
        assert session.record(1, "normal", "flagged").reviewer == default_reviewer()
        session.reviewer = "Dr. Second Reader"
        assert session.record(2, "normal", "flagged").reviewer == "Dr. Second Reader"
        assert session.record(3, "normal", "flagged", reviewer="dr c").reviewer == "dr c"


def test_case_decision_and_stored_decisions(tmp_path):
    db = tmp_path / "r.sqlite"
    assert stored_decisions("case", "model", db) == ({}, None)
    assert not db.exists()  # looking does not create a database
    with ReviewStore(db) as store:
        session = store.open_session("case", "model", label="scan.nii.gz")
        session.record(7, "abnormal", "flagged", note="rim")
        session.record(0, "abnormal", "flagged", item_kind="case", note="refer")
        assert session.case_decision().note == "refer"
        assert store.find_session("case", "other") is None
        [info] = store.sessions("case")
        assert (info.label, info.decisions, info.model_sha256) == ("scan.nii.gz", 2, "model")
    slices, case = stored_decisions("case", "model", db)
    assert list(slices) == [7] and slices[7].note == "rim" and case.note == "refer"
    assert stored_decisions("case", "other-model", db) == ({}, None)


def test_sessions_cannot_be_removed_or_rekeyed(tmp_path):
    db = tmp_path / "r.sqlite"
    with ReviewStore(db) as store:
        store.open_session("case", "model").log_event("opened", {})
    raw = sqlite3.connect(db)
    for statement in (
        "DELETE FROM sessions",
        "UPDATE sessions SET case_hash = 'x'",
        "UPDATE events SET kind = 'x'",
        "DELETE FROM events",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="cannot be rewritten"):
            raw.execute(statement)
    raw.close()


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (id INTEGER PRIMARY KEY, case_hash TEXT NOT NULL,
    model_sha256 TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,
    UNIQUE (case_hash, model_sha256));
CREATE TABLE decisions (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL,
    item_kind TEXT NOT NULL, item_index INTEGER NOT NULL, decision TEXT NOT NULL,
    model_decision TEXT NOT NULL, reviewer TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
    made_at TEXT NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, kind TEXT NOT NULL,
    payload TEXT NOT NULL, made_at TEXT NOT NULL);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'the review audit trail cannot be rewritten'); END;
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO sessions VALUES (1, 'case', 'model', 'old.nii', '2025-01-01T00:00:00.000+00:00');
INSERT INTO decisions VALUES (1, 1, 'slice', 4, 'abnormal', 'flagged', 'dr a', 'old note',
    '2025-01-01T00:00:01.000+00:00');
"""


def test_a_version_1_database_is_migrated_without_rewriting_rows(tmp_path):
    db = tmp_path / "r.sqlite"
    raw = sqlite3.connect(db)
    raw.executescript(V1_SCHEMA)
    raw.close()
    with ReviewStore(db) as store:
        session = store.open_session("case", "model")
        [old] = session.history()
        assert (old.note, old.score_threshold) == ("old note", None)
        new = session.record(4, "normal", "flagged", thresholds=Thresholds(1.0, 2.0))
        assert session.current()[4].id == new.id and new.score_threshold == 1.0
        assert store._db.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)


def test_newer_or_damaged_databases_are_refused_clearly(tmp_path):
    newer = tmp_path / "newer.sqlite"
    with ReviewStore(newer) as store:
        store._db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ReviewStoreError, match="newer bvae-viewer"):
        ReviewStore(newer)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(ReviewStoreError, match="damaged or not a database"):
        ReviewStore(junk)


def test_the_default_store_lives_in_the_user_data_folder(tmp_path):
    from bvae_viewer.paths import data_dir

    with ReviewStore.open_default() as store:
        assert store.path == data_dir() / "reviews.sqlite" and store.path.is_file()


def test_one_store_serves_several_threads(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite") as store:
        session = store.open_session("case", "model")

        def write(start: int) -> None:
            for i in range(start, start + 20):
                session.record(i, "normal", "normal")

        threads = [threading.Thread(target=write, args=(k * 100,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(session.history()) == 80
