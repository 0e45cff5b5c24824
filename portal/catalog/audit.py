"""The audit log: who did what, when, before and after. Append-only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select

from portal.catalog import models


def record_action(
    conn: Connection,
    actor: str,
    action: str,
    target: str,
    library: str | None,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    """Write one entry inside the caller's transaction (so it commits with the change)."""
    conn.execute(
        insert(models.audit_log).values(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            target=target,
            library=library,
            before=json.dumps(before, ensure_ascii=False, default=str) if before else None,
            after=json.dumps(after, ensure_ascii=False, default=str) if after else None,
        )
    )


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    library: str | None
    target: str
    before: dict | None
    after: dict | None


def entries(
    engine: Engine,
    *,
    library: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    table = models.audit_log
    query = select(table).order_by(table.c.id.desc()).limit(limit)
    if library:
        query = query.where(table.c.library == library)
    if actor:
        query = query.where(table.c.actor == actor)
    if action:
        query = query.where(table.c.action.startswith(action))
    with engine.connect() as conn:
        return [
            AuditEntry(
                r.id,
                r.at,
                r.actor,
                r.action,
                r.library,
                r.target,
                json.loads(r.before) if r.before else None,
                json.loads(r.after) if r.after else None,
            )
            for r in conn.execute(query)
        ]
