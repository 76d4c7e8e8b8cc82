"""Taking decisions back without rewriting the audit trail: undo, clear, decisions in one go.

The decisions table only grows. A correction is an event beside it: "clear" voids an item's
decisions made so far, "undo" withdraws the reviewer's last action (some decisions made
together, or a clear), "group" records decisions made as one action (a whole finding marked
abnormal), so that one undo takes them all back. The current decision on an item is its
latest decision that is neither withdrawn nor voided; every original row stays readable.

Events carry ``after``, the highest decision id of the session when they were written: the
decisions and events tables count their ids apart, and this puts both on one time line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

UNDO_EVENT = "undo"
CLEAR_EVENT = "clear"
GROUP_EVENT = "group"


@dataclass(frozen=True)
class Event:
    """One row of the events table."""

    id: int
    kind: str
    payload: dict[str, Any]
    made_at: str


@dataclass(frozen=True)
class Action:
    """What one undo takes back: decisions made together, or the clearing of one item."""

    order: tuple[int, int, int]  # (decision id or event's ``after``, 0 decision / 1 event, id)
    items: tuple[tuple[str, int], ...]  # (item_kind, item_index) it touched
    decision_ids: tuple[int, ...] = ()
    clear_event: int | None = None

    @property
    def is_clear(self) -> bool:
        return self.clear_event is not None


@dataclass(frozen=True)
class Corrections:
    """The undo and clear events of a session, read once."""

    withdrawn: frozenset[int]  # decision ids taken back by an undo
    undone_events: frozenset[int]  # clear events taken back by an undo
    voided: dict[tuple[str, int], int]  # item -> its decisions up to this id are cleared

    @classmethod
    def of(cls, events: Sequence[Event]) -> Corrections:
        withdrawn: set[int] = set()
        undone: set[int] = set()
        for e in events:
            if e.kind == UNDO_EVENT:
                withdrawn.update(int(i) for i in e.payload.get("decision_ids", ()))
                if e.payload.get("event_id") is not None:
                    undone.add(int(e.payload["event_id"]))
        voided: dict[tuple[str, int], int] = {}
        for e in events:
            if e.kind == CLEAR_EVENT and e.id not in undone:
                item = (str(e.payload["item_kind"]), int(e.payload["item_index"]))
                voided[item] = max(voided.get(item, 0), int(e.payload["after"]))
        return cls(frozenset(withdrawn), frozenset(undone), voided)

    def stands(self, record) -> bool:
        """The decision still counts: not withdrawn, not cleared since."""
        if record.id in self.withdrawn:
            return False
        return record.id > self.voided.get((record.item_kind, record.item_index), 0)


def latest_standing(records: Sequence, corrections: Corrections, item_kind: str) -> dict:
    """The latest standing decision per item of one kind (records oldest first)."""
    latest = {}
    for record in records:
        if record.item_kind == item_kind and corrections.stands(record):
            latest[record.item_index] = record
    return latest


def actions(records: Sequence, events: Sequence[Event]) -> list[Action]:
    """Every action of the session not undone yet, oldest first."""
    corrections = Corrections.of(events)
    by_id = {r.id: r for r in records}
    grouped: set[int] = set()
    found: list[Action] = []
    for e in events:
        if e.kind == GROUP_EVENT:
            ids = tuple(int(i) for i in e.payload["decision_ids"] if int(i) in by_id)
            grouped.update(ids)
            live = tuple(i for i in ids if i not in corrections.withdrawn)
            if live:
                items = tuple((by_id[i].item_kind, by_id[i].item_index) for i in live)
                found.append(Action((max(live), 0, 0), items, live))
        elif e.kind == CLEAR_EVENT and e.id not in corrections.undone_events:
            item = (str(e.payload["item_kind"]), int(e.payload["item_index"]))
            found.append(Action((int(e.payload["after"]), 1, e.id), (item,), clear_event=e.id))
    for r in records:
        if r.id not in grouped and r.id not in corrections.withdrawn:
            found.append(Action((r.id, 0, 0), ((r.item_kind, r.item_index),), (r.id,)))
    return sorted(found, key=lambda a: a.order)


class UndoableSession:
    """Undo, clear and grouped decisions for ReviewSession (which supplies the members)."""

    id: int
    reviewer: str
    _insert_decision: Any  # (db, item_index, decision, model, note, reviewer, kind, limits)
    _locked: Any  # () -> context manager over the sqlite3 connection
    history: Any  # () -> list[DecisionRecord], oldest first
    log_event: Any
    _insert_event: Any  # (db, kind, payload)

    def event_rows(self) -> list[Event]:
        """The session's events with their ids, oldest first."""
        with self._locked() as db:
            rows = db.execute(
                "SELECT id, kind, payload, made_at FROM events WHERE session_id = ? ORDER BY id",
                (self.id,),
            ).fetchall()
        return [Event(int(i), k, json.loads(p), t) for i, k, p, t in rows]

    def current(self, item_kind: str = "slice") -> dict:
        """The standing decision per item: the latest one not undone or cleared."""
        return latest_standing(self.history(), Corrections.of(self.event_rows()), item_kind)

    def _last_decision_id(self) -> int:
        with self._locked() as db:
            row = db.execute(
                "SELECT MAX(id) FROM decisions WHERE session_id = ?", (self.id,)
            ).fetchone()
        return int(row[0] or 0)

    def record_many(
        self,
        items: Sequence[tuple[int, str, str]],
        note: str = "",
        reviewer: str | None = None,
        item_kind: str = "slice",
        thresholds=None,
    ) -> list:
        """Decide several items as one action (item_index, decision, model_decision): all are
        on disk, or none is, when this returns; one undo takes them all back."""
        who = reviewer or self.reviewer
        with self._locked() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                made = [
                    self._insert_decision(db, i, d, m, note, who, item_kind, thresholds)
                    for i, d, m in items
                ]
                self._insert_event(db, GROUP_EVENT, {"decision_ids": [r.id for r in made]})
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return made

    def clear(self, item_index: int, item_kind: str = "slice", reviewer: str | None = None):
        """Void the item's decision (an audit entry; the decision itself stays on record).
        Returns the decision cleared, or None when the item had none."""
        standing = self.current(item_kind).get(int(item_index))
        if standing is None:
            return None
        self.log_event(CLEAR_EVENT, {
            "item_kind": item_kind,
            "item_index": int(item_index),
            "cleared_id": standing.id,
            "after": self._last_decision_id(),
            "reviewer": reviewer or self.reviewer,
        })
        return standing

    def undo(self, reviewer: str | None = None) -> Action | None:
        """Take back the reviewer's last action in this session (None: nothing to undo)."""
        pending = actions(self.history(), self.event_rows())
        if not pending:
            return None
        last = pending[-1]
        payload: dict[str, Any] = {
            "after": self._last_decision_id(),
            "reviewer": reviewer or self.reviewer,
        }
        if last.is_clear:
            payload["event_id"] = last.clear_event
        else:
            payload["decision_ids"] = list(last.decision_ids)
        self.log_event(UNDO_EVENT, payload)
        return last
