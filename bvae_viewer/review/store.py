"""Review sessions in SQLite: every decision is committed the moment it is made.

The decisions table is an append-only audit trail (triggers refuse UPDATE and DELETE); the
current decision on an item is simply its latest row. WAL with synchronous=FULL means an
acknowledged decision survives a crash or a killed process.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from bvae_viewer.review.store_schema import SCHEMA_VERSION, NewerSchemaError, prepare
from bvae_viewer.review.store_undo import UndoableSession

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "DecisionRecord",
    "ReviewDecision",
    "ReviewSession",
    "ReviewStore",
    "ReviewStoreError",
    "SessionInfo",
    "Thresholds",
    "default_reviewer",
    "default_store_path",
    "stored_decisions",
]

DB_NAME = "reviews.sqlite"
THRESHOLDS_EVENT = "thresholds"
_COLUMNS = (
    "id, item_kind, item_index, decision, model_decision, reviewer, note, made_at, "
    "score_threshold, uncertainty_threshold"
)


class ReviewStoreError(Exception):
    """The review database cannot be used (said in one sentence)."""


class ReviewDecision(StrEnum):
    ABNORMAL = "abnormal"
    NORMAL = "normal"
    DEFER = "defer"


@dataclass(frozen=True)
class Thresholds:
    """The triage thresholds in force when a decision was made."""

    score: float
    uncertainty: float
    # The score's scale they were set on (Calibration.scoring): a threshold means nothing
    # under another alpha or reduction, even with the same weights. "" when not known.
    scoring: str = ""


@dataclass(frozen=True)
class DecisionRecord:
    """One row of the audit trail; item_index is the axial slice index (SliceScores)."""

    id: int
    item_kind: str  # "slice" or "case"
    item_index: int
    decision: ReviewDecision
    model_decision: str  # what the model said about the same item
    reviewer: str
    note: str
    made_at: str  # ISO 8601, UTC
    score_threshold: float | None = None  # None: recorded before thresholds were kept
    uncertainty_threshold: float | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> DecisionRecord:
        return cls(row[0], row[1], row[2], ReviewDecision(row[3]), *row[4:])


@dataclass(frozen=True)
class SessionInfo:
    """A session as listed, without opening it."""

    id: int
    case_hash: str
    model_sha256: str
    label: str
    created_at: str
    decisions: int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def default_reviewer() -> str:
    """The OS user name: the reviewer unless the user types another."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def default_store_path() -> Path:
    """reviews.sqlite in the per-user data folder (platformdirs' user_data_dir)."""
    from bvae_viewer.paths import data_dir

    return data_dir() / DB_NAME


class ReviewStore:
    """The SQLite file holding every review session of this user."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: each statement below is its own durable transaction. One connection may
        # serve several threads (a worker exports while the window records); the lock orders them.
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, timeout=10.0, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise ReviewStoreError(f"The review database {self.path} cannot be opened.") from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            if sys.platform == "darwin":
                # macOS fsync does not reach the platter; F_FULLFSYNC does.
                self._db.execute("PRAGMA fullfsync=ON")
            self._db.execute("PRAGMA foreign_keys=ON")
            prepare(self._db)
        except NewerSchemaError as exc:
            self._db.close()
            raise ReviewStoreError(
                f"The review database {self.path} was written by a newer bvae-viewer "
                f"(schema {exc}, this one knows {SCHEMA_VERSION}); please update."
            ) from None
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ReviewStoreError(
                f"The review database {self.path} is damaged or not a database ({exc})."
            ) from exc

    @classmethod
    def open_default(cls) -> ReviewStore:
        """The store in the per-user data folder."""
        return cls(default_store_path())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    def open_session(self, case_hash: str, model_sha256: str, label: str = "") -> ReviewSession:
        """The session of this case under this model: resumed if it exists, else created."""
        with self._locked() as db:
            db.execute(
                "INSERT OR IGNORE INTO sessions (case_hash, model_sha256, label, created_at) "
                "VALUES (?, ?, ?, ?)",
                (case_hash, model_sha256, label, _now()),
            )
        found = self.find_session(case_hash, model_sha256)
        assert found is not None  # inserted just above, and sessions are never deleted
        return found

    def find_session(self, case_hash: str, model_sha256: str) -> ReviewSession | None:
        """The existing session of this case under this model, or None (nothing is created)."""
        with self._locked() as db:
            row = db.execute(
                "SELECT id FROM sessions WHERE case_hash = ? AND model_sha256 = ?",
                (case_hash, model_sha256),
            ).fetchone()
        if row is None:
            return None
        return ReviewSession(self, int(row[0]), case_hash, model_sha256)

    def case_decision(self, case_hash: str, model_sha256: str) -> DecisionRecord | None:
        """The reviewer's latest call on a whole case under this model, or None; looking
        creates nothing (a batch asks this of every case it lists)."""
        session = self.find_session(case_hash, model_sha256)
        return session.case_decision() if session is not None else None

    def sessions(self, case_hash: str | None = None) -> list[SessionInfo]:
        """Sessions (of one case, or all), newest first, with their number of decisions."""
        query = (
            "SELECT s.id, s.case_hash, s.model_sha256, s.label, s.created_at, "
            "(SELECT COUNT(*) FROM decisions d WHERE d.session_id = s.id) FROM sessions s"
        )
        args: tuple[str, ...] = ()
        if case_hash is not None:
            query += " WHERE s.case_hash = ?"
            args = (case_hash,)
        with self._locked() as db:
            rows = db.execute(query + " ORDER BY s.id DESC", args).fetchall()
        return [SessionInfo(*row) for row in rows]

    def integrity_ok(self) -> bool:
        with self._locked() as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


class ReviewSession(UndoableSession):
    """Decisions on the slices (and the whole) of one case; undo, clear and decisions made
    together are UndoableSession's (review.store_undo)."""

    def __init__(
        self, store: ReviewStore | sqlite3.Connection, session_id: int, case_hash: str, model: str
    ):
        # A bare connection is accepted for callers of the first version of this class.
        self._store = store
        self.id = session_id
        self.case_hash = case_hash
        self.model_sha256 = model
        self.reviewer = default_reviewer()  # editable: used when record() is given none

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        if isinstance(self._store, ReviewStore):
            with self._store._locked() as db:
                yield db
        else:
            yield self._store

    def record(
        self,
        item_index: int,
        decision: ReviewDecision | str,
        model_decision: str,
        note: str = "",
        reviewer: str | None = None,
        item_kind: str = "slice",
        thresholds: Thresholds | None = None,
    ) -> DecisionRecord:
        """Append one decision; it is on disk when this returns.

        item_kind "slice": item_index is the axial slice index; "case": use item_index 0.
        thresholds: those in force (default: the session's latest, see set_thresholds).
        """
        with self._locked() as db:
            return self._insert_decision(
                db, item_index, decision, model_decision, note, reviewer or self.reviewer,
                item_kind, thresholds,
            )

    def _insert_decision(
        self,
        db: sqlite3.Connection,
        item_index: int,
        decision: ReviewDecision | str,
        model_decision: str,
        note: str,
        reviewer: str,
        item_kind: str,
        thresholds: Thresholds | None,
    ) -> DecisionRecord:
        limits = thresholds or self.thresholds
        row = (
            self.id,
            item_kind,
            int(item_index),
            ReviewDecision(decision).value,
            str(model_decision),
            reviewer,
            note,
            _now(),
            None if limits is None else float(limits.score),
            None if limits is None else float(limits.uncertainty),
        )
        cur = db.execute(
            "INSERT INTO decisions (session_id, item_kind, item_index, decision,"
            " model_decision, reviewer, note, made_at, score_threshold,"
            " uncertainty_threshold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        return DecisionRecord.from_row((int(cur.lastrowid or 0), *row[1:]))

    def log_event(self, kind: str, payload: dict[str, Any]) -> None:
        """Audit entries such as threshold changes."""
        with self._locked() as db:
            self._insert_event(db, kind, payload)

    def _insert_event(self, db: sqlite3.Connection, kind: str, payload: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO events (session_id, kind, payload, made_at) VALUES (?, ?, ?, ?)",
            (self.id, kind, json.dumps(payload, sort_keys=True), _now()),
        )

    @property
    def thresholds(self) -> Thresholds | None:
        """The thresholds last set in this session, or None if none were."""
        with self._locked() as db:
            row = db.execute(
                "SELECT payload FROM events WHERE session_id = ? AND kind = ? "
                "ORDER BY id DESC LIMIT 1",
                (self.id, THRESHOLDS_EVENT),
            ).fetchone()
        if row is None:
            return None
        payload = json.loads(row[0])
        return Thresholds(
            float(payload["score"]), float(payload["uncertainty"]), payload.get("scoring", "")
        )

    def set_thresholds(self, score: float, uncertainty: float, scoring: str = "") -> Thresholds:
        """Log the thresholds in force (only when they change); later decisions carry them."""
        wanted = Thresholds(float(score), float(uncertainty), scoring)
        if self.thresholds != wanted:
            payload = {"score": wanted.score, "uncertainty": wanted.uncertainty}
            if scoring:
                payload["scoring"] = scoring
            self.log_event(THRESHOLDS_EVENT, payload)
        return wanted

    def history(self) -> list[DecisionRecord]:
        """Every decision ever made in this session, oldest first (undone ones included:
        current() says which still stand)."""
        with self._locked() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM decisions WHERE session_id = ? ORDER BY id", (self.id,)
            ).fetchall()
        return [DecisionRecord.from_row(r) for r in rows]

    def case_decision(self) -> DecisionRecord | None:
        """The reviewer's standing decision on the whole case (item_kind "case"), if any."""
        cases = self.current("case").values()
        return max(cases, key=lambda r: r.id) if cases else None

    def events(self) -> list[tuple[str, dict[str, Any], str]]:
        with self._locked() as db:
            rows = db.execute(
                "SELECT kind, payload, made_at FROM events WHERE session_id = ? ORDER BY id",
                (self.id,),
            ).fetchall()
        return [(k, json.loads(p), t) for k, p, t in rows]


def stored_decisions(
    case_hash: str, model_sha256: str, path: Path | None = None
) -> tuple[dict[int, DecisionRecord], DecisionRecord | None]:
    """The reviewer's current slice decisions and case decision, read without creating a
    database or a session where none exists (e.g. for a report written from the CLI)."""
    path = Path(path) if path is not None else default_store_path()
    if not path.is_file():
        return {}, None
    with ReviewStore(path) as store:
        session = store.find_session(case_hash, model_sha256)
        if session is None:
            return {}, None
        return session.current(), session.case_decision()
