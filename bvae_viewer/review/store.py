"""Review sessions in SQLite: every decision is committed the moment it is made.

The decisions table is an append-only audit trail (triggers refuse UPDATE and DELETE); the
current decision on an item is simply its latest row. WAL with synchronous=FULL means an
acknowledged decision survives a crash or a killed process.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
DB_NAME = "reviews.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    case_hash TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (case_hash, model_sha256)
);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    item_kind TEXT NOT NULL CHECK (item_kind IN ('slice', 'case')),
    item_index INTEGER NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('abnormal', 'normal', 'defer')),
    model_decision TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    made_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_item ON decisions (session_id, item_kind, item_index);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    made_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'the review audit trail cannot be rewritten'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'the review audit trail cannot be rewritten'); END;
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the review audit trail cannot be rewritten'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the review audit trail cannot be rewritten'); END;
"""


class ReviewDecision(StrEnum):
    ABNORMAL = "abnormal"
    NORMAL = "normal"
    DEFER = "defer"


@dataclass(frozen=True)
class DecisionRecord:
    id: int
    item_kind: str
    item_index: int
    decision: ReviewDecision
    model_decision: str
    reviewer: str
    note: str
    made_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class ReviewStore:
    """The SQLite file holding every review session of this user."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: each statement below is its own durable transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript("BEGIN;" + SCHEMA + "COMMIT;")
        self._db.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_session(self, case_hash: str, model_sha256: str, label: str = "") -> ReviewSession:
        """The session of this case under this model: resumed if it exists, else created."""
        self._db.execute(
            "INSERT OR IGNORE INTO sessions (case_hash, model_sha256, label, created_at) "
            "VALUES (?, ?, ?, ?)",
            (case_hash, model_sha256, label, _now()),
        )
        (session_id,) = self._db.execute(
            "SELECT id FROM sessions WHERE case_hash = ? AND model_sha256 = ?",
            (case_hash, model_sha256),
        ).fetchone()
        return ReviewSession(self._db, int(session_id), case_hash, model_sha256)

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


class ReviewSession:
    """Decisions on the slices (and the whole) of one case."""

    def __init__(self, db: sqlite3.Connection, session_id: int, case_hash: str, model: str):
        self._db = db
        self.id = session_id
        self.case_hash = case_hash
        self.model_sha256 = model

    def record(
        self,
        item_index: int,
        decision: ReviewDecision | str,
        model_decision: str,
        note: str = "",
        reviewer: str | None = None,
        item_kind: str = "slice",
    ) -> DecisionRecord:
        """Append one decision; it is on disk when this returns."""
        row = (
            self.id,
            item_kind,
            int(item_index),
            ReviewDecision(decision).value,
            model_decision,
            reviewer or default_reviewer(),
            note,
            _now(),
        )
        cur = self._db.execute(
            "INSERT INTO decisions (session_id, item_kind, item_index, decision, model_decision,"
            " reviewer, note, made_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        return DecisionRecord(int(cur.lastrowid), *row[1:3], ReviewDecision(row[3]), *row[4:])

    def log_event(self, kind: str, payload: dict[str, Any]) -> None:
        """Audit entries such as threshold changes."""
        self._db.execute(
            "INSERT INTO events (session_id, kind, payload, made_at) VALUES (?, ?, ?, ?)",
            (self.id, kind, json.dumps(payload, sort_keys=True), _now()),
        )

    def history(self) -> list[DecisionRecord]:
        """Every decision ever made in this session, oldest first."""
        rows = self._db.execute(
            "SELECT id, item_kind, item_index, decision, model_decision, reviewer, note, made_at "
            "FROM decisions WHERE session_id = ? ORDER BY id",
            (self.id,),
        ).fetchall()
        return [DecisionRecord(r[0], r[1], r[2], ReviewDecision(r[3]), *r[4:]) for r in rows]

    def current(self, item_kind: str = "slice") -> dict[int, DecisionRecord]:
        """The latest decision per item."""
        latest: dict[int, DecisionRecord] = {}
        for record in self.history():
            if record.item_kind == item_kind:
                latest[record.item_index] = record
        return latest

    def events(self) -> list[tuple[str, dict[str, Any], str]]:
        rows = self._db.execute(
            "SELECT kind, payload, made_at FROM events WHERE session_id = ? ORDER BY id",
            (self.id,),
        ).fetchall()
        return [(k, json.loads(p), t) for k, p, t in rows]
