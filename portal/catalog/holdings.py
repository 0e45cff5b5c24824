"""The holdings ledger: every change of copies is an event; current copies are their sum."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, insert, select, update

from portal.catalog import models


class HoldingsError(ValueError):
    """A change that would break the ledger (negative copies, unknown holding)."""


def apply_event(
    conn: Connection,
    *,
    record_id: str,
    library: str,
    kind: str,
    delta: int,
    event_date: date,
    now: datetime,
    actor: str,
    donor: str | None = None,
    source_key: str | None = None,
    batch_id: int | None = None,
    note: str = "",
) -> int:
    """Append one event and move the running total with it; returns the new copy count."""
    table = models.holdings
    current = conn.execute(
        select(table.c.copies, table.c.version, table.c.first_added, table.c.last_added).where(
            table.c.record_id == record_id, table.c.library == library
        )
    ).first()
    copies = (current.copies if current else 0) + delta
    if copies < 0:
        raise HoldingsError(
            f"{library} holds {current.copies if current else 0} copies of {record_id}; "
            f"cannot remove {-delta}"
        )
    conn.execute(
        insert(models.holding_events).values(
            record_id=record_id,
            library=library,
            kind=kind,
            delta=delta,
            donor=donor,
            event_date=event_date,
            source_key=source_key,
            batch_id=batch_id,
            note=note,
            actor=actor,
            created_at=now,
        )
    )
    if current is None:
        conn.execute(
            insert(table).values(
                record_id=record_id,
                library=library,
                copies=copies,
                version=1,
                first_added=event_date,
                last_added=event_date,
            )
        )
    else:
        conn.execute(
            update(table)
            .where(table.c.record_id == record_id, table.c.library == library)
            .values(
                copies=copies,
                version=current.version + 1,
                first_added=min(current.first_added, event_date),
                last_added=max(current.last_added, event_date) if delta > 0 else current.last_added,
            )
        )
    return copies
