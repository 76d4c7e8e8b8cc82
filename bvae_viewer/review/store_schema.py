"""The review database's tables, audit triggers and migrations."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 2

TABLES = (
    """CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    case_hash TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (case_hash, model_sha256)
)""",
    """CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    item_kind TEXT NOT NULL CHECK (item_kind IN ('slice', 'case')),
    item_index INTEGER NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('abnormal', 'normal', 'defer')),
    model_decision TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    made_at TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS decisions_item ON decisions (session_id, item_kind, item_index)",
    """CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    made_at TEXT NOT NULL
)""",
)

# The audit trail: decisions and events are only ever appended, and a session (which the
# trail points to) is never removed or re-keyed.
TRIGGERS = tuple(
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} ON {table} "
    "BEGIN SELECT RAISE(ABORT, 'the review audit trail cannot be rewritten'); END"
    for table in ("decisions", "events", "sessions")
    for action in ("UPDATE", "DELETE")
)

# Columns added after version 1, as (table, column, declaration). ADD COLUMN rewrites no row,
# so the append-only triggers are not involved; rows from before read back as NULL.
ADDED_COLUMNS = (
    ("decisions", "score_threshold", "REAL"),
    ("decisions", "uncertainty_threshold", "REAL"),
)


class NewerSchemaError(Exception):
    """The database was written by a newer release with a schema this one does not know."""


def schema_version(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def prepare(db: sqlite3.Connection) -> None:
    """Create or migrate the tables in one transaction (two processes may open at once)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        found = schema_version(db)
        if found > SCHEMA_VERSION:
            raise NewerSchemaError(str(found))
        for statement in (*TABLES, *TRIGGERS):
            db.execute(statement)
        for table, column, declaration in ADDED_COLUMNS:
            present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
