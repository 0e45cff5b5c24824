"""The holdings ledger: every change of copies is an event; current copies are their sum."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, bindparam, insert, select, tuple_, update

from portal.catalog import models
from portal.errors import Conflict, nmsg


class HoldingsError(Conflict):
    """A change that would break the ledger (more copies taken than a library holds)."""


class ChangedMeanwhile(Conflict):
    """Someone else changed this holding after it was shown: nothing was written."""


def holding_version(conn: Connection, record_id: str, library: str) -> tuple[int, int]:
    """(copies, version) of a holding; (0, 0) if the library never held the record."""
    return holding_versions(conn, [record_id], library).get(record_id, (0, 0))


def lock_holdings(conn: Connection, record_id: str, libraries: list[str]) -> None:
    """Lock a record's holdings in these libraries until the transaction ends, in one order
    (two opposite transfers must not each wait for the other). On SQLite the write
    transaction holds the whole database already."""
    table = models.holdings
    conn.execute(
        select(table.c.library)
        .where(table.c.record_id == record_id, table.c.library.in_(sorted(set(libraries))))
        .order_by(table.c.library)
        .with_for_update()
    ).all()


def holding_versions(
    conn: Connection, record_ids: list[str], library: str
) -> dict[str, tuple[int, int]]:
    """(copies, version) of a library's holdings of many records, in one query."""
    table = models.holdings
    if not record_ids:
        return {}
    rows = conn.execute(
        select(table.c.record_id, table.c.copies, table.c.version).where(
            table.c.record_id.in_(record_ids), table.c.library == library
        )
    )
    return {row.record_id: (row.copies, row.version) for row in rows}


def expect_version(conn: Connection, record_id: str, library: str, expected: int) -> int:
    """Refuse to go on if the holding's version is not the one the editor saw (read under a
    row lock held to the end of the transaction, so it cannot change before the write)."""
    lock_holdings(conn, record_id, [library])
    copies, version = holding_version(conn, record_id, library)
    if version != expected:
        raise ChangedMeanwhile(
            nmsg(
                "The holding changed meanwhile (%(library)s now has %(n)s copy); nothing was "
                "saved. Check the numbers and try again.",
                "The holding changed meanwhile (%(library)s now has %(n)s copies); nothing was "
                "saved. Check the numbers and try again.",
                copies,
                library=library,
            )
        )
    return copies


def _not_enough(library: str, held: int, taken: int) -> HoldingsError:
    return HoldingsError(
        nmsg(
            "%(library)s holds %(n)s copy; %(taken)s cannot be taken away",
            "%(library)s holds %(n)s copies; %(taken)s cannot be taken away",
            held,
            library=library,
            taken=taken,
        )
    )


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
    """Append one event and move the running total with it; returns the new copy count.

    The holding is read with a row lock, so no other transaction moves it between this read
    and this write (a new holding inserted by two at once: the database refuses the second,
    which runs again)."""
    table = models.holdings
    current = conn.execute(
        select(table.c.copies, table.c.version, table.c.first_added, table.c.last_added)
        .where(table.c.record_id == record_id, table.c.library == library)
        .with_for_update()
    ).first()
    copies = (current.copies if current else 0) + delta
    if copies < 0:
        raise _not_enough(library, current.copies if current else 0, -delta)
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


@dataclass
class Event:
    record_id: str
    library: str
    kind: str
    delta: int
    event_date: date
    donor: str | None = None
    source_key: str | None = None
    batch_id: int | None = None
    note: str = ""


def apply_events(conn: Connection, events: list[Event], now: datetime, actor: str) -> None:
    """Append many events and move the running totals in a few statements (imports).

    Same rules as `apply_event`: a holding never goes below zero.
    """
    if not events:
        return
    table = models.holdings
    pairs = sorted({(e.record_id, e.library) for e in events})
    current: dict[tuple[str, str], dict] = {}
    for start in range(0, len(pairs), 400):
        chunk = pairs[start : start + 400]
        query = (  # locked, in one order, until the import commits
            select(table)
            .where(tuple_(table.c.record_id, table.c.library).in_(chunk))
            .order_by(table.c.record_id, table.c.library)
            .with_for_update()
        )
        for row in conn.execute(query).mappings():
            current[(row["record_id"], row["library"])] = dict(row)
    created: dict[tuple[str, str], dict] = {}
    for e in events:
        key = (e.record_id, e.library)
        state = current.get(key) or created.get(key)
        if state is None:
            state = created[key] = {
                "record_id": e.record_id,
                "library": e.library,
                "copies": 0,
                "version": 0,
                "first_added": e.event_date,
                "last_added": e.event_date,
            }
        if state["copies"] + e.delta < 0:
            raise _not_enough(e.library, state["copies"], -e.delta)
        state["copies"] += e.delta
        state["version"] += 1
        state["first_added"] = min(state["first_added"], e.event_date)
        if e.delta > 0:
            state["last_added"] = max(state["last_added"], e.event_date)
        state["changed"] = True
    conn.execute(
        insert(models.holding_events),
        [
            {
                "record_id": e.record_id,
                "library": e.library,
                "kind": e.kind,
                "delta": e.delta,
                "donor": e.donor,
                "event_date": e.event_date,
                "source_key": e.source_key,
                "batch_id": e.batch_id,
                "note": e.note,
                "actor": actor,
                "created_at": now,
            }
            for e in events
        ],
    )
    if created:
        conn.execute(
            insert(table),
            [{k: v for k, v in state.items() if k != "changed"} for state in created.values()],
        )
    changed = [state for state in current.values() if state.get("changed")]
    if changed:
        conn.execute(
            update(table)
            .where(
                table.c.record_id == bindparam("b_record"),
                table.c.library == bindparam("b_library"),
            )
            .values(
                copies=bindparam("b_copies"),
                version=bindparam("b_version"),
                first_added=bindparam("b_first"),
                last_added=bindparam("b_last"),
            ),
            [
                {
                    "b_record": s["record_id"],
                    "b_library": s["library"],
                    "b_copies": s["copies"],
                    "b_version": s["version"],
                    "b_first": s["first_added"],
                    "b_last": s["last_added"],
                }
                for s in changed
            ],
        )
