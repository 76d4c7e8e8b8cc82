import random
import sqlite3
import subprocess
import sys
import time

import pytest

from bvae_viewer.review.store import ReviewDecision, ReviewStore

WRITER = """
import sys
from bvae_viewer.review.store import ReviewStore
store = ReviewStore(sys.argv[1])
session = store.open_session("case-abc", "model-123")
start = int(sys.argv[2])
for i in range(start, start + 100000):
    session.record(i, ("abnormal", "normal", "defer")[i % 3], "flagged", note=f"n{i}", reviewer="r")
    print(i, flush=True)
"""


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


@pytest.mark.slow
def test_acknowledged_decisions_survive_sigkill(tmp_path):
    """120 writers killed at random moments: every acknowledged decision is on disk."""
    db = tmp_path / "reviews.sqlite"
    rng = random.Random(1234)
    acknowledged: set[int] = set()
    next_index = 0
    for _ in range(120):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(next_index)],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(rng.uniform(0.0, 0.25))
        proc.kill()  # SIGKILL: no cleanup, no atexit
        out, _ = proc.communicate()
        acks = [int(line) for line in out.split()]
        acknowledged.update(acks)
        next_index = (max(acks) + 1) if acks else next_index
        with ReviewStore(db) as store:
            assert store.integrity_ok()
            stored = {r.item_index for r in store.open_session("case-abc", "model-123").history()}
        missing = acknowledged - stored
        assert not missing, f"lost acknowledged decisions: {sorted(missing)[:5]}"
    assert len(acknowledged) > 100  # the writers did get decisions through
