"""The change feed: every catalog change, in commit order, for every node's index to follow.

A write transaction (an import, a librarian's edit, a transfer, a coordinator's correction)
appends one row with the records it touched, as its last step before committing. Taking the
next position updates the single row of `feed_head`, which the database locks until the
transaction ends: positions are gap-free (a rolled-back change gives its number back) and
follow commit order, so an indexer that has applied position N has seen every change up to
N. On PostgreSQL the append also NOTIFYs, on commit, the nodes listening.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select, text, update

from portal.catalog import models

CHANNEL = "portal_changes"
EVERY_RECORD = "*"


@dataclass(frozen=True)
class Change:
    position: int
    kind: str
    records: frozenset[str] | None  # None: every record (a full rebuild)


def append(conn: Connection, kind: str, records: Iterable[str] | None, actor: str) -> int:
    """Record a change inside the caller's transaction; returns its position. `records`
    None means the change may touch any record."""
    head = models.feed_head
    ids = None if records is None else sorted(set(records))
    position = conn.execute(
        update(head)
        .where(head.c.id == 1)
        .values(position=head.c.position + 1)
        .returning(head.c.position)
    ).scalar_one()
    # Taken while holding the head row: later positions get later times, so "changed since"
    # questions (OAI-PMH harvests) see changes in commit order.
    at = datetime.now(UTC)
    for start in range(0, len(ids or ()), 500):
        conn.execute(
            update(models.records)
            .where(models.records.c.id.in_(ids[start : start + 500]))
            .values(changed_at=at)
        )
    conn.execute(
        insert(models.changes).values(
            position=position,
            at=at,
            kind=kind,
            actor=actor,
            records=EVERY_RECORD if ids is None else json.dumps(ids),
        )
    )
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_notify(:channel, :position)"),
            {
                "channel": CHANNEL,
                "position": str(position),
            },
        )
    return position


def head(conn: Connection) -> int:
    """The position of the newest committed change (0 before any)."""
    return conn.execute(select(models.feed_head.c.position)).scalar_one()


def since(conn: Connection, position: int, limit: int = 1000) -> list[Change]:
    """Committed changes after `position`, oldest first."""
    rows = conn.execute(
        select(models.changes.c.position, models.changes.c.kind, models.changes.c.records)
        .where(models.changes.c.position > position)
        .order_by(models.changes.c.position)
        .limit(limit)
    )
    return [
        Change(
            row.position,
            row.kind,
            None if row.records == EVERY_RECORD else frozenset(json.loads(row.records)),
        )
        for row in rows
    ]


def report_node(conn: Connection, name: str, applied: int) -> None:
    """Remember how far a node's index has come (for `portal check`)."""
    nodes = models.nodes
    now = datetime.now(UTC)
    updated = conn.execute(
        update(nodes).where(nodes.c.name == name).values(applied=applied, seen_at=now)
    ).rowcount
    if not updated:
        conn.execute(insert(nodes).values(name=name, applied=applied, seen_at=now))


def node_positions(conn: Connection) -> list[tuple[str, int, datetime]]:
    rows = conn.execute(
        select(models.nodes.c.name, models.nodes.c.applied, models.nodes.c.seen_at).order_by(
            models.nodes.c.name
        )
    )
    return [(row.name, row.applied, row.seen_at) for row in rows]


def oldest_kept(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.min(models.changes.c.position), 0))).scalar_one()
