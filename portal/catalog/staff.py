"""What staff do to the catalog: receive, withdraw and transfer copies, correct records,
manage libraries. Each is one transaction with its audit entry, checked against the
user's role on the server, then one index update of the records it touched."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert, select, update

from portal.catalog import models
from portal.catalog.accounts import User
from portal.catalog.audit import record_action
from portal.catalog.catalog import Catalog
from portal.catalog.db import writing
from portal.catalog.holdings import HoldingsError, apply_event, expect_version

WITHDRAWAL_REASONS = ("lost", "damaged", "outdated")
MAX_COPIES = 100_000
LIBRARY_FIELDS = ("kind", "district", "address", "latitude", "longitude") + tuple(
    f"name_{lang}" for lang in models.LANGUAGES
)
RECORD_FIELDS = ("title", "publisher", "year", "work")


class PermissionDenied(Exception):
    """The signed-in user's role does not allow this action."""


def _require_holdings(user: User, library: str) -> None:
    if not user.can_edit_holdings(library):
        raise PermissionDenied(f"{user.name} may not change the holdings of {library}")


def _require_coordinator(user: User) -> None:
    if not user.is_coordinator:
        raise PermissionDenied(f"{user.name} is not a coordinator")


def _check_copies(copies: int) -> None:
    if not 1 <= copies <= MAX_COPIES:
        raise HoldingsError(f"copies must be a whole number from 1 to {MAX_COPIES}")


def _known(conn, table, column, value, what: str) -> None:
    if not conn.execute(select(column).where(column == value)).first():
        raise HoldingsError(f"unknown {what} {value!r}")


def receive(
    catalog: Catalog,
    user: User,
    record_id: str,
    library: str,
    copies: int,
    version: int,
    donor: str | None = None,
    received_on: date | None = None,
) -> int:
    """Copies received by a library (a donation event)."""
    _require_holdings(user, library)
    _check_copies(copies)
    now = datetime.now(UTC)
    with writing(catalog.engine) as conn:
        _known(conn, models.records, models.records.c.id, record_id, "record")
        _known(conn, models.libraries, models.libraries.c.code, library, "library")
        if donor:
            _known(conn, models.donors, models.donors.c.code, donor, "donor")
        before = expect_version(conn, record_id, library, version)
        after = apply_event(
            conn,
            record_id=record_id,
            library=library,
            kind="donation",
            delta=copies,
            donor=donor,
            event_date=received_on or now.date(),
            now=now,
            actor=user.name,
            note="received",
        )
        record_action(
            conn,
            user.name,
            "holdings.receive",
            f"{record_id} @ {library}",
            library,
            {"copies": before},
            {"copies": after, "donor": donor},
        )
    catalog.reindex_records([record_id])
    return after


def withdraw(
    catalog: Catalog,
    user: User,
    record_id: str,
    library: str,
    copies: int,
    reason: str,
    version: int,
) -> int:
    """Copies taken off the shelves for good (lost, damaged, outdated)."""
    _require_holdings(user, library)
    _check_copies(copies)
    if reason not in WITHDRAWAL_REASONS:
        raise HoldingsError(f"reason must be one of {', '.join(WITHDRAWAL_REASONS)}")
    now = datetime.now(UTC)
    with writing(catalog.engine) as conn:
        before = expect_version(conn, record_id, library, version)
        after = apply_event(
            conn,
            record_id=record_id,
            library=library,
            kind="withdrawal",
            delta=-copies,
            event_date=now.date(),
            now=now,
            actor=user.name,
            note=reason,
        )
        record_action(
            conn,
            user.name,
            "holdings.withdraw",
            f"{record_id} @ {library}",
            library,
            {"copies": before},
            {"copies": after, "reason": reason},
        )
    catalog.reindex_records([record_id])
    return after


def transfer(
    catalog: Catalog,
    user: User,
    record_id: str,
    source: str,
    target: str,
    copies: int,
    version: int,
) -> tuple[int, int]:
    """Move copies from one library to another: two ledger events in one transaction."""
    _require_holdings(user, source)
    _check_copies(copies)
    if source == target:
        raise HoldingsError("a transfer needs two different libraries")
    now = datetime.now(UTC)
    with writing(catalog.engine) as conn:
        _known(conn, models.libraries, models.libraries.c.code, target, "library")
        before = expect_version(conn, record_id, source, version)
        left = apply_event(
            conn,
            record_id=record_id,
            library=source,
            kind="transfer_out",
            delta=-copies,
            event_date=now.date(),
            now=now,
            actor=user.name,
            note=f"to {target}",
        )
        arrived = apply_event(
            conn,
            record_id=record_id,
            library=target,
            kind="transfer_in",
            delta=copies,
            event_date=now.date(),
            now=now,
            actor=user.name,
            note=f"from {source}",
        )
        record_action(
            conn,
            user.name,
            "holdings.transfer",
            f"{record_id} {source} -> {target}",
            source,
            {"copies": before},
            {"copies": left, "to": target, "moved": copies, "target_copies": arrived},
        )
    catalog.reindex_records([record_id])
    return left, arrived


def update_record(
    catalog: Catalog, user: User, record_id: str, changes: dict, version: int
) -> None:
    """Coordinators correct bibliographic data (title, publisher, year, work)."""
    _require_coordinator(user)
    changes = {k: v for k, v in changes.items() if k in RECORD_FIELDS}
    if "title" in changes and not str(changes["title"]).strip():
        raise HoldingsError("a record needs a title")
    with writing(catalog.engine) as conn:
        row = conn.execute(select(models.records).where(models.records.c.id == record_id)).first()
        if row is None:
            raise HoldingsError(f"unknown record {record_id!r}")
        if row.version != version:
            raise HoldingsError("this record changed meanwhile; reload and try again")
        before = {k: getattr(row, k) for k in changes}
        conn.execute(
            update(models.records)
            .where(models.records.c.id == record_id)
            .values(**changes, version=row.version + 1, updated_at=datetime.now(UTC))
        )
        record_action(
            conn, user.name, "record.update", f"record {record_id}", None, before, changes
        )
    catalog.reindex_records([record_id])


def save_library(catalog: Catalog, user: User, code: str, fields: dict) -> bool:
    """Coordinators add a library or edit one; returns True if it was new."""
    _require_coordinator(user)
    fields = {k: v for k, v in fields.items() if k in LIBRARY_FIELDS}
    if not code.isalnum() or not 2 <= len(code) <= 16 or code != code.upper():
        raise HoldingsError("a library code is 2-16 capital letters or digits")
    with writing(catalog.engine) as conn:
        if "district" in fields:
            _known(conn, models.districts, models.districts.c.code, fields["district"], "district")
        row = conn.execute(select(models.libraries).where(models.libraries.c.code == code)).first()
        if row is None:
            missing = [k for k in LIBRARY_FIELDS if k.startswith("name_") and not fields.get(k)]
            if missing or not fields.get("district"):
                raise HoldingsError("a new library needs a district and a name in every language")
            conn.execute(
                insert(models.libraries).values(
                    code=code, kind=fields.get("kind") or "branch", **fields
                )
            )
            record_action(conn, user.name, "library.add", f"library {code}", code, None, fields)
        else:
            before = {k: getattr(row, k) for k in fields}
            conn.execute(
                update(models.libraries).where(models.libraries.c.code == code).values(**fields)
            )
            record_action(
                conn, user.name, "library.update", f"library {code}", code, before, fields
            )
            held = (
                conn.execute(
                    select(models.holdings.c.record_id).where(models.holdings.c.library == code)
                )
                .scalars()
                .all()
            )
    catalog.forget_reference_data()
    if row is None:
        return True
    if before.get("district", fields.get("district")) != fields.get(
        "district", before.get("district")
    ):
        catalog.reindex_records(held)  # the district facet of those records changed
    return False
