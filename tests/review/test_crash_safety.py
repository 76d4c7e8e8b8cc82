"""Writers killed with SIGKILL at random moments lose no acknowledged decision."""

import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from bvae_viewer.review.store import ReviewDecision, ReviewStore

KILLS = 120
CASE, MODEL = "case-crash", "model-crash"
DECISIONS = ("abnormal", "normal", "defer")

# Acknowledges a decision on stdout only after record() has returned (i.e. committed).
# Every seventh decision also appends an audit event, so kills land in both tables.
WRITER = f"""
import sys
from bvae_viewer.review.store import ReviewStore, Thresholds
store = ReviewStore(sys.argv[1])
session = store.open_session({CASE!r}, {MODEL!r}, label="crash test")
start = int(sys.argv[2])
for i in range(start, start + 1_000_000):
    if i % 7 == 0:
        session.log_event("note", {{"i": i, "text": "x" * (i % 500)}})
    session.record(i, {DECISIONS!r}[i % 3], "flagged", note=f"note {{i}}", reviewer=f"r{{i % 5}}",
                   thresholds=Thresholds(i / 10, 0.5))
    print(i, flush=True)
"""


def _expected(i: int) -> tuple:
    return (DECISIONS[i % 3], "flagged", f"note {i}", f"r{i % 5}", i / 10, 0.5)


def _complete_lines(out: str) -> list[int]:
    """Acknowledged indices; a line cut off by the kill (no newline) was not acknowledged."""
    return [int(line) for line in out.split("\n")[:-1]]


@pytest.mark.slow
def test_acknowledged_decisions_survive_sigkill(tmp_path):
    """120 writers on one database, each killed at a random moment (often mid-commit)."""
    db = tmp_path / "reviews.sqlite"
    rng = random.Random(20240611)
    acknowledged: set[int] = set()
    waited = 0
    started = time.monotonic()
    for kill in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(kill * 1_000_000)],
            stdout=subprocess.PIPE,
            text=True,
        )
        # Most kills land while decisions are being written, whatever the machine's load:
        # wait for the first acknowledgement. Every fifth lands anywhere from 0 s, often in
        # start-up or in the schema's creation.
        first = ""
        if kill % 5:
            first = proc.stdout.readline()
            assert first.endswith("\n"), "the writer ended before it was killed"
        time.sleep(rng.uniform(0.0, 0.15 if first else 0.35))
        proc.send_signal(signal.SIGKILL)  # no cleanup, no atexit, no rollback
        out, _ = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, "the writer ended before it was killed"
        acks = _complete_lines(first + out)
        acknowledged.update(acks)
        waited += bool(first)

        with ReviewStore(db) as store:
            assert store.integrity_ok()
            session = store.find_session(CASE, MODEL)
            rows = {} if session is None else {r.item_index: r for r in session.history()}
        missing = sorted(acknowledged - rows.keys())
        assert not missing, f"kill {kill}: lost acknowledged decisions {missing[:5]}"
        for i in acks:
            r = rows[i]
            got = (
                r.decision.value,
                r.model_decision,
                r.note,
                r.reviewer,
                r.score_threshold,
                r.uncertainty_threshold,
            )
            assert got == _expected(i), f"kill {kill}: decision {i} came back as {got}"

    assert len(acknowledged) >= waited >= KILLS * 3 // 4  # decisions did get through
    raw = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="cannot be rewritten"):
        raw.execute("DELETE FROM decisions")
    raw.close()
    print(f"{KILLS} kills, {len(acknowledged)} acknowledged, {time.monotonic() - started:.1f} s")


def test_acknowledged_record_is_in_the_file_before_the_process_dies(tmp_path):
    """The simplest case, fast: one decision, then SIGKILL with nothing left to flush."""
    db = tmp_path / "reviews.sqlite"
    script = (
        "import os, signal, sys\n"
        "from bvae_viewer.review.store import ReviewStore\n"
        f"s = ReviewStore(sys.argv[1]).open_session({CASE!r}, {MODEL!r})\n"
        "s.record(3, 'abnormal', 'flagged', note='rim')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(db)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    with ReviewStore(db) as store:
        current = store.find_session(CASE, MODEL).current()
    assert current[3].decision == ReviewDecision.ABNORMAL and current[3].note == "rim"
